//! The bidirectional flow key.

use std::net::IpAddr;

/// Addresses, ports, IP protocol and VLANs of a flow, the same whichever way a packet travels:
/// the (address, port) pair that sorts lower is always side `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    proto: u8,
    vlan: [u16; 2],
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is side `a`.
    pub fn new(src: (IpAddr, u16), dst: (IpAddr, u16), proto: u8, vlan: [u16; 2]) -> (Self, bool) {
        let src_is_a = src <= dst;
        let (a, b) = if src_is_a { (src, dst) } else { (dst, src) };
        (FlowKey { a, b, proto, vlan }, src_is_a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_one_key() {
        let x = (IpAddr::from([10, 0, 0, 1]), 40000);
        let y = (IpAddr::from([10, 0, 0, 2]), 502);
        let (k1, a1) = FlowKey::new(x, y, 6, [0, 0]);
        let (k2, a2) = FlowKey::new(y, x, 6, [0, 0]);
        assert_eq!(k1, k2);
        assert_ne!(a1, a2);
        assert_ne!(k1, FlowKey::new(x, y, 6, [5, 0]).0);
        assert_ne!(k1, FlowKey::new(x, y, 17, [0, 0]).0);
    }
}
