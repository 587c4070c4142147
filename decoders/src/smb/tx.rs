//! An SMB request and its response, summarised: what the sensor logs as one `smb` event and
//! what signatures read (`smb.share`, `smb.named_pipe`, `file.name`).

/// One command and its outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// Position in the connection, from 0 (EVE's `tx_id`).
    pub id: u64,
    /// 1 for SMB1, 2 for SMB2 and 3.
    pub version: u8,
    /// The command code (SMB1's in the low byte).
    pub command: u16,
    /// The response's status; `None` while unanswered.
    pub status: Option<u32>,
    pub session_id: u64,
    pub tree_id: u32,
    /// The dialect the connection negotiated, once known.
    pub dialect: Option<u16>,
    /// The dialects a `NEGOTIATE` request offered.
    pub client_dialects: Vec<u16>,
    /// The file the command is about (`CREATE`, `READ`, `WRITE`, `CLOSE`), as UTF-8.
    pub filename: Vec<u8>,
    /// The share: a `TREE_CONNECT`'s path (`\\server\share`), or the tree's the command is on.
    pub share: Vec<u8>,
    /// The tree is the named pipe share (`IPC$`): `filename` names a pipe.
    pub pipe: bool,
    /// A `TREE_CONNECT` response's share type (1 disk, 2 pipe, 3 print).
    pub share_type: Option<u8>,
    /// A `CREATE` request's disposition and its response's file size.
    pub disposition: Option<u32>,
    pub size: Option<u64>,
    /// A `SESSION_SETUP`'s NTLMSSP login, as UTF-8: whether there was one, and its user,
    /// domain and workstation.
    pub ntlmssp: bool,
    pub ntlmssp_user: Vec<u8>,
    pub ntlmssp_domain: Vec<u8>,
    pub ntlmssp_host: Vec<u8>,
}

impl Transaction {
    pub fn heap_bytes(&self) -> usize {
        self.filename.capacity()
            + self.share.capacity()
            + self.client_dialects.capacity() * 2
            + self.ntlmssp_user.capacity()
            + self.ntlmssp_domain.capacity()
            + self.ntlmssp_host.capacity()
    }

    /// The command's name as Suricata writes it.
    pub fn command_name(&self) -> &'static str {
        match self.version {
            1 => super::smb1::command_name(self.command as u8),
            _ => super::smb2::command_name(self.command),
        }
    }
}

/// Append `utf16le` (a name as SMB sends it) to `out` as UTF-8, an unpaired surrogate as
/// U+FFFD; an odd last byte is dropped.
pub fn utf16_to_utf8(utf16le: &[u8], out: &mut Vec<u8>) {
    let units = utf16le
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut buf = [0; 4];
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

/// The share's name from its path: `\\server\IPC$` → `IPC$`.
pub fn share_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&c| c == b'\\').next().unwrap_or(path)
}

/// Whether a share path names the named-pipe share, `IPC$`.
pub fn is_pipe_share(path: &[u8]) -> bool {
    share_name(path).eq_ignore_ascii_case(b"IPC$")
}
