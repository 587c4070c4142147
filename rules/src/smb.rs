//! The SMB keywords: the sticky buffers `smb.ntlmssp_user` and `smb.ntlmssp_domain` (who a
//! `SESSION_SETUP` logs in), `smb.share` (a `TREE_CONNECT`'s share path,
//! `\\server\share`), `smb.named_pipe` (the pipe a `CREATE` on `IPC$` opens) and, on `smb`
//! rules, `file.name` (the file a `CREATE` opens, once a file however much of it is then read
//! or written). All three are the request's, so a rule is inspected as the command arrives
//! unless it says `to_client`.

use decoders::smb::smb2::command;
use decoders::smb::Transaction;

/// A buffer of an SMB transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    Share,
    NamedPipe,
    FileName,
    NtlmsspUser,
    NtlmsspDomain,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "smb.share" | "smb_share" => Buf::Share,
            "smb.named_pipe" | "smb_named_pipe" => Buf::NamedPipe,
            "smb.ntlmssp_user" | "smb_ntlmssp_user" => Buf::NtlmsspUser,
            "smb.ntlmssp_domain" | "smb_ntlmssp_domain" => Buf::NtlmsspDomain,
            _ => return None,
        })
    }

    /// The buffer's bytes, if the transaction has them.
    pub fn get(self, tx: &Transaction) -> Option<&[u8]> {
        let b: &[u8] = match self {
            Buf::Share if tx.command == command::TREE_CONNECT && tx.version == 2 && !tx.pipe => {
                &tx.share
            }
            Buf::NamedPipe if tx.command == command::CREATE && tx.version == 2 && tx.pipe => {
                &tx.filename
            }
            Buf::FileName if tx.command == command::CREATE && !tx.pipe => &tx.filename,
            Buf::NtlmsspUser if tx.ntlmssp => &tx.ntlmssp_user,
            Buf::NtlmsspDomain if tx.ntlmssp => &tx.ntlmssp_domain,
            _ => return None,
        };
        (!b.is_empty()).then_some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_by_command_and_tree() {
        let tc = Transaction {
            version: 2,
            command: command::TREE_CONNECT,
            share: b"\\\\plc-eng\\projects".to_vec(),
            ..Transaction::default()
        };
        assert_eq!(Buf::Share.get(&tc), Some(&b"\\\\plc-eng\\projects"[..]));
        assert_eq!(Buf::FileName.get(&tc), None);
        let pipe = Transaction {
            version: 2,
            command: command::CREATE,
            filename: b"srvsvc".to_vec(),
            pipe: true,
            ..Transaction::default()
        };
        assert_eq!(Buf::NamedPipe.get(&pipe), Some(&b"srvsvc"[..]));
        assert_eq!(Buf::FileName.get(&pipe), None);
        let file = Transaction {
            pipe: false,
            ..pipe
        };
        assert_eq!(Buf::FileName.get(&file), Some(&b"srvsvc"[..]));
        assert_eq!(Buf::NamedPipe.get(&file), None);
        assert_eq!(Buf::sticky("smb.share"), Some(Buf::Share));
        assert_eq!(Buf::sticky("smb.version"), None);
    }
}
