//! A mail transaction — `MAIL FROM`, the `RCPT TO`s, the message — kept per flow as copies,
//! with what the message's MIME structure tells once it is whole.

/// How far a transaction has come: what a rule may inspect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Progress {
    /// The envelope: `DATA` (or the first `BDAT`) was sent.
    Envelope,
    /// The message is whole and its parts read.
    Message,
}

/// Recipients kept per transaction; more are counted only.
pub const MAX_RCPT: usize = 256;

/// An attachment: a MIME part with a file name, its content decoded (base64,
/// quoted-printable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    pub name: Vec<u8>,
    /// The decoded content, up to the message limit.
    pub content: Vec<u8>,
}

/// What the message's headers and MIME parts tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Email {
    /// The `From` header's value, as written.
    pub from: Vec<u8>,
    /// `To` and `Cc`, split at commas, as written.
    pub to: Vec<Vec<u8>>,
    pub cc: Vec<Vec<u8>>,
    pub subject: Vec<u8>,
    pub attachments: Vec<Attachment>,
    /// The message parsed as MIME (else only its size is known).
    pub parsed: bool,
}

/// One mail transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// `MAIL FROM`'s address, angle brackets kept, parameters (`SIZE=`) dropped.
    pub mail_from: Vec<u8>,
    /// Each `RCPT TO`'s address, likewise.
    pub rcpt_to: Vec<Vec<u8>>,
    /// The message as sent, up to the caller's limit.
    pub message: Vec<u8>,
    /// Bytes of message sent, kept or not.
    pub message_size: u64,
    pub message_truncated: bool,
    /// The end of the message was seen.
    pub message_done: bool,
    pub email: Email,
}

/// The address of `MAIL FROM:<a@b> SIZE=1` or `RCPT TO: <a@b>`: after the colon and any
/// spaces, up to the next space, as Suricata logs it.
pub fn path_arg(arg: &[u8]) -> &[u8] {
    let after = match arg.iter().position(|&b| b == b':') {
        Some(c) => &arg[c + 1..],
        None => arg,
    };
    let after = after.trim_ascii_start();
    let end = after.iter().position(|&b| b == b' ').unwrap_or(after.len());
    &after[..end]
}

impl Transaction {
    /// Add a recipient, within the cap.
    pub fn rcpt(&mut self, arg: &[u8]) -> bool {
        if self.rcpt_to.len() >= MAX_RCPT {
            return false;
        }
        self.rcpt_to.push(path_arg(arg).to_vec());
        true
    }

    /// Add message bytes, keeping up to `limit`.
    pub fn message_bytes(&mut self, bytes: &[u8], limit: usize) {
        self.message_size += bytes.len() as u64;
        let room = limit.saturating_sub(self.message.len());
        if bytes.len() > room {
            self.message_truncated = true;
        }
        self.message
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    pub fn heap_bytes(&self) -> usize {
        let e = &self.email;
        self.mail_from.capacity()
            + self.rcpt_to.iter().map(Vec::capacity).sum::<usize>()
            + self.message.capacity()
            + e.from.capacity()
            + e.subject.capacity()
            + e.to.iter().chain(&e.cc).map(Vec::capacity).sum::<usize>()
            + e.attachments
                .iter()
                .map(|a| a.name.capacity() + a.content.capacity())
                .sum::<usize>()
    }
}
