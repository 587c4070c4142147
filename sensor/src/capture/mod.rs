//! Packet sources: capture files and live interfaces, both through libpcap.

pub mod file;
pub mod live;

use crate::decode::LinkType;

/// The link type of a capture, or an error naming the capture and the link type.
pub fn link_type(dlt: pcap::Linktype, source: &str) -> Result<LinkType, String> {
    LinkType::from_dlt(dlt.0).ok_or_else(|| {
        let name = dlt.get_name().unwrap_or_else(|_| "unknown".into());
        let description = dlt.get_description().unwrap_or_default();
        format!(
            "{source}: unsupported link type {} ({name}{}); supported: Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback",
            dlt.0,
            if description.is_empty() { String::new() } else { format!(", {description}") }
        )
    })
}
