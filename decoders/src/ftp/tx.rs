//! An FTP transaction: one command and the replies to it, kept per flow as copies since it
//! outlives the lines it came in. Replies before any command (the greeting) form a
//! transaction of their own with no command, as Suricata has it.

/// How far a transaction has come: what a rule may inspect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Progress {
    /// The command line.
    Request,
    /// The command's final reply (or the flow ended without one).
    Response,
}

/// The commands that open a data transfer, and the way the data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataCommand {
    /// A file to the client.
    Retr,
    /// Files to the server.
    Stor,
    Appe,
    Stou,
    /// Directory listings to the client.
    List,
    Nlst,
    Mlsd,
}

impl DataCommand {
    pub fn from_verb(verb: &[u8]) -> Option<Self> {
        const ALL: [(&[u8], DataCommand); 7] = [
            (b"RETR", DataCommand::Retr),
            (b"STOR", DataCommand::Stor),
            (b"APPE", DataCommand::Appe),
            (b"STOU", DataCommand::Stou),
            (b"LIST", DataCommand::List),
            (b"NLST", DataCommand::Nlst),
            (b"MLSD", DataCommand::Mlsd),
        ];
        ALL.iter()
            .find(|(v, _)| verb.eq_ignore_ascii_case(v))
            .map(|(_, c)| *c)
    }

    pub fn name(self) -> &'static str {
        match self {
            DataCommand::Retr => "RETR",
            DataCommand::Stor => "STOR",
            DataCommand::Appe => "APPE",
            DataCommand::Stou => "STOU",
            DataCommand::List => "LIST",
            DataCommand::Nlst => "NLST",
            DataCommand::Mlsd => "MLSD",
        }
    }

    /// Whether the data goes from the client to the server.
    pub fn upload(self) -> bool {
        matches!(
            self,
            DataCommand::Stor | DataCommand::Appe | DataCommand::Stou
        )
    }
}

/// The most reply lines kept per transaction; more are counted as truncation.
pub const MAX_REPLY_LINES: usize = 64;

/// One command and its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// The verb, upper-cased; empty for replies before any command.
    pub command: Vec<u8>,
    /// The command line as sent, line end excluded.
    pub line: Vec<u8>,
    pub command_data: Vec<u8>,
    pub command_truncated: bool,
    /// Each reply line's text, after its code.
    pub replies: Vec<Vec<u8>>,
    /// The code of each reply line that has one, as written (`"331"`).
    pub codes: Vec<[u8; 3]>,
    pub reply_truncated: bool,
    /// The port a data connection was announced on (`PORT`, `EPRT`, `PASV`, `EPSV`).
    pub dynamic_port: Option<u16>,
    /// The mode announced: `Some(true)` active (`PORT`, `EPRT`), `Some(false)` passive.
    pub active: Option<bool>,
    /// The address a `PORT` or `EPRT` named for the data connection.
    pub data_addr: Option<core::net::IpAddr>,
    /// A final reply (not `1xx`, not a `123-` line) arrived.
    pub reply_received: bool,
}

impl Transaction {
    /// A new transaction for a command line, `verb` and `arg` borrowed from `line`.
    pub fn request(line: &[u8], verb: &[u8], arg: &[u8], truncated: bool) -> Self {
        Transaction {
            command: verb.to_ascii_uppercase(),
            line: line.to_vec(),
            command_data: arg.to_vec(),
            command_truncated: truncated,
            ..Transaction::default()
        }
    }

    /// Add a reply line; a cap on lines keeps a flood of them bounded.
    pub fn reply(&mut self, code: Option<u16>, text: &[u8], truncated: bool) {
        if self.replies.len() >= MAX_REPLY_LINES {
            self.reply_truncated = true;
            return;
        }
        self.replies.push(text.to_vec());
        if let Some(c) = code {
            let d = |n: u16| b'0' + (n % 10) as u8;
            self.codes.push([d(c / 100), d(c / 10), d(c)]);
        }
        self.reply_truncated |= truncated;
    }

    pub fn is(&self, verb: &[u8]) -> bool {
        self.command == verb
    }

    pub fn heap_bytes(&self) -> usize {
        self.command.capacity()
            + self.line.capacity()
            + self.command_data.capacity()
            + self.replies.iter().map(Vec::capacity).sum::<usize>()
            + self.codes.capacity() * 3
    }
}
