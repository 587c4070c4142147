//! SMB1 (MS-CIFS §2.2.3.1): the header of a message, enough to name its command and status.
//! Windows has not spoken SMB1 by default since 2017; on a plant network it marks an old
//! engineering station or HMI, or a scanner looking for one.

/// `0xFF 'S' 'M' 'B'`.
pub const MAGIC: &[u8] = b"\xffSMB";
/// The header's length.
pub const HEADER_LEN: usize = 32;

/// An SMB1 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u8,
    pub status: u32,
    /// `SMB_FLAGS_REPLY`.
    pub reply: bool,
    pub tree_id: u16,
    pub user_id: u16,
    pub multiplex_id: u16,
}

impl Header {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let h = b.get(..HEADER_LEN)?;
        if &h[..4] != MAGIC {
            return None;
        }
        let u16_at = |at: usize| u16::from_le_bytes([h[at], h[at + 1]]);
        Some(Header {
            command: h[4],
            status: u32::from_le_bytes([h[5], h[6], h[7], h[8]]),
            reply: h[9] & 0x80 != 0,
            tree_id: u16_at(24),
            user_id: u16_at(28),
            multiplex_id: u16_at(30),
        })
    }
}

/// The command's name as Suricata writes it (`SMB1_COMMAND_NEGOTIATE_PROTOCOL`).
pub fn command_name(c: u8) -> &'static str {
    match c {
        0x04 => "SMB1_COMMAND_CLOSE",
        0x06 => "SMB1_COMMAND_DELETE",
        0x24 => "SMB1_COMMAND_LOCKING_ANDX",
        0x25 => "SMB1_COMMAND_TRANS",
        0x2b => "SMB1_COMMAND_ECHO",
        0x2d => "SMB1_COMMAND_OPEN_ANDX",
        0x2e => "SMB1_COMMAND_READ_ANDX",
        0x2f => "SMB1_COMMAND_WRITE_ANDX",
        0x32 => "SMB1_COMMAND_TRANS2",
        0x33 => "SMB1_COMMAND_TRANS2_SECONDARY",
        0x71 => "SMB1_COMMAND_TREE_DISCONNECT",
        0x72 => "SMB1_COMMAND_NEGOTIATE_PROTOCOL",
        0x73 => "SMB1_COMMAND_SESSION_SETUP_ANDX",
        0x74 => "SMB1_COMMAND_LOGOFF_ANDX",
        0x75 => "SMB1_COMMAND_TREE_CONNECT_ANDX",
        0xa0 => "SMB1_COMMAND_NT_TRANS",
        0xa2 => "SMB1_COMMAND_NT_CREATE_ANDX",
        _ => "SMB1_COMMAND_UNKNOWN",
    }
}
