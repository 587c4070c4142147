//! SMB2/3 messages (MS-SMB2 §2.2): the 64-byte header and the command bodies a sensor reads,
//! borrowed. Offsets in a body (a file name's, a share path's) count from the message's
//! header, as the protocol counts them; every read is checked, a field past the kept bytes is
//! `None`.

/// `0xFE 'S' 'M' 'B'`.
pub const MAGIC: &[u8] = b"\xfeSMB";
/// `0xFD 'S' 'M' 'B'`: an SMB 3 transform (encrypted) header.
pub const TRANSFORM_MAGIC: &[u8] = b"\xfdSMB";
/// The header's length, and its `StructureSize`.
pub const HEADER_LEN: usize = 64;

/// Compound messages a session message may chain, read at most.
pub const MAX_COMPOUND: usize = 32;

/// Command codes (§2.2.1.2).
pub mod command {
    pub const NEGOTIATE: u16 = 0x00;
    pub const SESSION_SETUP: u16 = 0x01;
    pub const LOGOFF: u16 = 0x02;
    pub const TREE_CONNECT: u16 = 0x03;
    pub const TREE_DISCONNECT: u16 = 0x04;
    pub const CREATE: u16 = 0x05;
    pub const CLOSE: u16 = 0x06;
    pub const FLUSH: u16 = 0x07;
    pub const READ: u16 = 0x08;
    pub const WRITE: u16 = 0x09;
    pub const LOCK: u16 = 0x0a;
    pub const IOCTL: u16 = 0x0b;
    pub const CANCEL: u16 = 0x0c;
    pub const ECHO: u16 = 0x0d;
    pub const QUERY_DIRECTORY: u16 = 0x0e;
    pub const CHANGE_NOTIFY: u16 = 0x0f;
    pub const QUERY_INFO: u16 = 0x10;
    pub const SET_INFO: u16 = 0x11;
    pub const OPLOCK_BREAK: u16 = 0x12;
}

/// The command's name as Suricata writes it (`SMB2_COMMAND_CREATE`).
pub fn command_name(c: u16) -> &'static str {
    match c {
        command::NEGOTIATE => "SMB2_COMMAND_NEGOTIATE_PROTOCOL",
        command::SESSION_SETUP => "SMB2_COMMAND_SESSION_SETUP",
        command::LOGOFF => "SMB2_COMMAND_SESSION_LOGOFF",
        command::TREE_CONNECT => "SMB2_COMMAND_TREE_CONNECT",
        command::TREE_DISCONNECT => "SMB2_COMMAND_TREE_DISCONNECT",
        command::CREATE => "SMB2_COMMAND_CREATE",
        command::CLOSE => "SMB2_COMMAND_CLOSE",
        command::FLUSH => "SMB2_COMMAND_FLUSH",
        command::READ => "SMB2_COMMAND_READ",
        command::WRITE => "SMB2_COMMAND_WRITE",
        command::LOCK => "SMB2_COMMAND_LOCK",
        command::IOCTL => "SMB2_COMMAND_IOCTL",
        command::CANCEL => "SMB2_COMMAND_CANCEL",
        command::ECHO => "SMB2_COMMAND_KEEPALIVE",
        command::QUERY_DIRECTORY => "SMB2_COMMAND_FIND",
        command::CHANGE_NOTIFY => "SMB2_COMMAND_CHANGE_NOTIFY",
        command::QUERY_INFO => "SMB2_COMMAND_GET_INFO",
        command::SET_INFO => "SMB2_COMMAND_SET_INFO",
        command::OPLOCK_BREAK => "SMB2_COMMAND_OPLOCK_BREAK",
        _ => "SMB2_COMMAND_UNKNOWN",
    }
}

/// Header flags (§2.2.1).
pub mod flags {
    pub const RESPONSE: u32 = 0x0000_0001;
    pub const ASYNC: u32 = 0x0000_0002;
    pub const RELATED: u32 = 0x0000_0004;
    pub const SIGNED: u32 = 0x0000_0008;
}

/// `STATUS_PENDING`: an interim response; the final one is still to come.
pub const STATUS_PENDING: u32 = 0x0000_0103;

/// A status's name as Suricata writes it, for the statuses file sharing commonly answers.
pub fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_0104 => "STATUS_REPARSE",
        0x0000_0105 => "STATUS_MORE_ENTRIES",
        0x0000_010c => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xc000_0003 => "STATUS_INVALID_INFO_CLASS",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xc000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_0184 => "STATUS_INVALID_DEVICE_STATE",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_035c => "STATUS_NETWORK_SESSION_EXPIRED",
        _ => return None,
    })
}

/// The dialect's name as Suricata writes it (`3.11`).
pub fn dialect_name(d: u16) -> Option<&'static str> {
    Some(match d {
        0x0202 => "2.02",
        0x0210 => "2.10",
        0x0222 => "2.22",
        0x0224 => "2.24",
        0x02ff => "2.??",
        0x0300 => "3.00",
        0x0302 => "3.02",
        0x0310 => "3.10",
        0x0311 => "3.11",
        _ => return None,
    })
}

/// The SMB2 messages of one session message: the first, then each `NextCommand` chains to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Messages<'a> {
    rest: &'a [u8],
    read: usize,
}

impl<'a> Messages<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Messages {
            rest: bytes,
            read: 0,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Smb2<'a>;

    fn next(&mut self) -> Option<Smb2<'a>> {
        if self.read >= MAX_COMPOUND || self.rest.get(..4) != Some(MAGIC) {
            return None;
        }
        self.read += 1;
        let header = self.rest.get(..HEADER_LEN)?;
        let next = u32_at(header, 20)? as usize;
        // A `NextCommand` is 8-byte aligned and past the header; anything else ends the chain.
        let (this, rest) =
            if next >= HEADER_LEN && next.is_multiple_of(8) && next <= self.rest.len() {
                self.rest.split_at(next)
            } else {
                (self.rest, &[][..])
            };
        self.rest = rest;
        Some(Smb2 { buf: this })
    }
}

/// One SMB2 message: its header and as much of its body as was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smb2<'a> {
    buf: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// A file id: persistent and volatile halves (§2.2.14.1).
pub type FileId = [u8; 16];

impl<'a> Smb2<'a> {
    /// Whether the whole header is there: every other accessor reads past it.
    pub fn has_header(&self) -> bool {
        self.buf.len() >= HEADER_LEN && u16_at(self.buf, 4) == Some(HEADER_LEN as u16)
    }

    pub fn command(&self) -> u16 {
        u16_at(self.buf, 12).unwrap_or(u16::MAX)
    }

    /// The status: a response's outcome (a request's channel sequence, not read).
    pub fn status(&self) -> u32 {
        u32_at(self.buf, 8).unwrap_or(0)
    }

    pub fn flags(&self) -> u32 {
        u32_at(self.buf, 16).unwrap_or(0)
    }

    pub fn is_response(&self) -> bool {
        self.flags() & flags::RESPONSE != 0
    }

    pub fn message_id(&self) -> u64 {
        u64_at(self.buf, 24).unwrap_or(0)
    }

    /// The tree id of a synchronous message (an async one carries an async id instead).
    pub fn tree_id(&self) -> Option<u32> {
        (self.flags() & flags::ASYNC == 0)
            .then(|| u32_at(self.buf, 36))
            .flatten()
    }

    pub fn session_id(&self) -> u64 {
        u64_at(self.buf, 40).unwrap_or(0)
    }

    /// The message after its header, as kept.
    pub fn body(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or_default()
    }

    /// A field of the body at `at`, read as little-endian.
    fn body_u16(&self, at: usize) -> Option<u16> {
        u16_at(self.body(), at)
    }

    fn body_u32(&self, at: usize) -> Option<u32> {
        u32_at(self.body(), at)
    }

    fn body_u64(&self, at: usize) -> Option<u64> {
        u64_at(self.body(), at)
    }

    /// `len` bytes at `offset` from the header, as an offset field names them.
    fn at_header(&self, offset: u16, len: u16) -> Option<&'a [u8]> {
        let start = usize::from(offset);
        self.buf.get(start..start + usize::from(len))
    }

    fn file_id_at(&self, at: usize) -> Option<FileId> {
        self.body().get(at..at + 16)?.try_into().ok()
    }

    /// A successful response to `cmd`: an error response's body is an error's, not the
    /// command's.
    fn answered(&self, cmd: u16) -> bool {
        self.command() == cmd && self.is_response() && self.status() == 0
    }

    /// `NEGOTIATE` response: the dialect chosen.
    pub fn dialect(&self) -> Option<u16> {
        self.answered(command::NEGOTIATE)
            .then(|| self.body_u16(4))
            .flatten()
    }

    /// `NEGOTIATE` request: the dialects offered.
    pub fn dialects_offered(&self) -> impl Iterator<Item = u16> + 'a {
        let ok = self.command() == command::NEGOTIATE && !self.is_response();
        let count = if ok { self.body_u16(2).unwrap_or(0) } else { 0 };
        let list = self.body().get(36..).unwrap_or_default();
        list.chunks_exact(2)
            .take(usize::from(count))
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }

    /// `SESSION_SETUP` request: the security blob (SPNEGO around NTLMSSP or Kerberos).
    pub fn security_blob(&self) -> Option<&'a [u8]> {
        if self.command() != command::SESSION_SETUP || self.is_response() {
            return None;
        }
        self.at_header(self.body_u16(12)?, self.body_u16(14)?)
    }

    /// `TREE_CONNECT` request: the share's path (`\\server\share`, UTF-16LE).
    pub fn tree_path(&self) -> Option<&'a [u8]> {
        if self.command() != command::TREE_CONNECT || self.is_response() {
            return None;
        }
        self.at_header(self.body_u16(4)?, self.body_u16(6)?)
    }

    /// `TREE_CONNECT` response: the share's type (1 disk, 2 pipe, 3 print).
    pub fn share_type(&self) -> Option<u8> {
        self.answered(command::TREE_CONNECT)
            .then(|| self.body().get(2).copied())
            .flatten()
    }

    /// `CREATE` request: the file's name, relative to the share (UTF-16LE).
    pub fn create_name(&self) -> Option<&'a [u8]> {
        if self.command() != command::CREATE || self.is_response() {
            return None;
        }
        self.at_header(self.body_u16(44)?, self.body_u16(46)?)
    }

    /// `CREATE` request: what to do if the file exists or not (§2.2.13).
    pub fn create_disposition(&self) -> Option<u32> {
        (self.command() == command::CREATE && !self.is_response())
            .then(|| self.body_u32(36))
            .flatten()
    }

    /// `CREATE` response: the file's size (`EndofFile`).
    pub fn end_of_file(&self) -> Option<u64> {
        self.answered(command::CREATE)
            .then(|| self.body_u64(48))
            .flatten()
    }

    /// The file a message is about: a `CREATE` response's new id, a `CLOSE`, `READ` or `WRITE`
    /// request's.
    pub fn file_id(&self) -> Option<FileId> {
        match (self.command(), self.is_response()) {
            (command::CREATE, true) if self.status() == 0 => self.file_id_at(64),
            (command::CLOSE, false) => self.file_id_at(8),
            (command::READ | command::WRITE, false) => self.file_id_at(16),
            _ => None,
        }
    }

    /// Bytes a `READ` request asks for, or a `WRITE` request writes.
    pub fn length(&self) -> Option<u32> {
        match (self.command(), self.is_response()) {
            (command::READ | command::WRITE, false) => self.body_u32(4),
            _ => None,
        }
    }

    /// Where in the file a `READ` or `WRITE` request starts.
    pub fn offset(&self) -> Option<u64> {
        match (self.command(), self.is_response()) {
            (command::READ | command::WRITE, false) => self.body_u64(8),
            _ => None,
        }
    }

    /// Bytes a `READ` response carries (`DataLength`), or a `WRITE` response says were
    /// written (`Count`): both at the same place.
    pub fn transferred(&self) -> Option<u32> {
        (self.answered(command::READ) || self.answered(command::WRITE))
            .then(|| self.body_u32(4))
            .flatten()
    }
}
