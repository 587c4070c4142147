//! What an SSH handshake tells, kept per flow: each side's banner and HASSH, copied once.

/// How far a side's handshake has come: what a rule may inspect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Progress {
    /// The banner: protocol and software versions.
    Banner,
    /// The KEXINIT: HASSH.
    Kex,
}

/// One side of the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    /// `2.0`, `1.99`.
    pub proto: Vec<u8>,
    /// `OpenSSH_9.2p1`.
    pub software: Vec<u8>,
    pub comments: Vec<u8>,
    /// The HASSH (client) or HASSH-server string, and its MD5.
    pub hassh: Vec<u8>,
    pub hassh_hash: Vec<u8>,
    pub seen_banner: bool,
    pub seen_kex: bool,
    /// `NEWKEYS` sent: what follows is encrypted.
    pub encrypted: bool,
}

/// An SSH handshake: the client's side and the server's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ssh {
    /// Indexed by [`crate::Direction::index`] of the way the side sends: 0 the client.
    pub sides: [Side; 2],
}

impl Ssh {
    pub fn client(&self) -> &Side {
        &self.sides[0]
    }

    pub fn server(&self) -> &Side {
        &self.sides[1]
    }

    pub fn heap_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| {
                s.proto.capacity()
                    + s.software.capacity()
                    + s.comments.capacity()
                    + s.hassh.capacity()
                    + s.hassh_hash.capacity()
            })
            .sum()
    }
}
