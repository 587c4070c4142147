//! The SSH keywords: the sticky buffers `ssh.proto`, `ssh.software` (each the sending side's,
//! so the client's to the server and the server's to the client), `ssh.hassh`,
//! `ssh.hassh.string` (the client's, to the server), `ssh.hassh.server` and
//! `ssh.hassh.server.string` (the server's, to the client), with their underscore names; and
//! Suricata 4's value keywords `ssh.protoversion` and `ssh.softwareversion`, as Emerging
//! Threats writes them, which compare the start of the sending side's version.
//!
//! A rule is inspected when the side's banner arrives if it reads only versions, else once
//! the side's KEXINIT is in.

use decoders::ssh::{Progress, Ssh};
use decoders::Direction;

use crate::content::quoted_text;
use crate::KeywordError;

/// A buffer of an SSH handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    Proto,
    Software,
    Hassh,
    HasshString,
    HasshServer,
    HasshServerString,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "ssh.proto" | "ssh_proto" => Buf::Proto,
            "ssh.software" | "ssh_software" => Buf::Software,
            "ssh.hassh" | "ssh_hassh" => Buf::Hassh,
            "ssh.hassh.string" | "ssh_hassh_string" => Buf::HasshString,
            "ssh.hassh.server" | "ssh_hassh_server" => Buf::HasshServer,
            "ssh.hassh.server.string" | "ssh_hassh_server_string" => Buf::HasshServerString,
            _ => return None,
        })
    }

    /// When the buffer is there to inspect.
    pub fn ready_at(self) -> Progress {
        match self {
            Buf::Proto | Buf::Software => Progress::Banner,
            _ => Progress::Kex,
        }
    }

    /// The buffer's bytes seen going `dir`, if the handshake has them.
    pub fn get(self, ssh: &Ssh, dir: Direction) -> Option<&[u8]> {
        let side = &ssh.sides[dir.index()];
        let b: &[u8] = match (self, dir) {
            (Buf::Proto, _) => &side.proto,
            (Buf::Software, _) => &side.software,
            (Buf::Hassh, Direction::ToServer) => &side.hassh_hash,
            (Buf::HasshString, Direction::ToServer) => &side.hassh,
            (Buf::HasshServer, Direction::ToClient) => &side.hassh_hash,
            (Buf::HasshServerString, Direction::ToClient) => &side.hassh,
            _ => return None,
        };
        (!b.is_empty()).then_some(b)
    }
}

/// An SSH value keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `ssh.protoversion`: the version starts with the text; `2_compat` is 2.0 or 1.99.
    ProtoVersion { text: Vec<u8>, compat2: bool },
    /// `ssh.softwareversion`: the software starts with the text.
    SoftwareVersion(Vec<u8>),
}

impl Field {
    pub const KEYWORDS: [&'static str; 2] = ["ssh.protoversion", "ssh.softwareversion"];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let text = if v.starts_with('"') {
            quoted_text(v)?
        } else {
            v.to_owned()
        };
        if text.is_empty() {
            return Err(KeywordError::invalid(None, v, "a version"));
        }
        Ok(match keyword {
            "ssh.protoversion" => Field::ProtoVersion {
                compat2: text == "2_compat",
                text: text.into_bytes(),
            },
            _ => Field::SoftwareVersion(text.into_bytes()),
        })
    }

    pub fn matches(&self, ssh: &Ssh, dir: Direction) -> bool {
        let side = &ssh.sides[dir.index()];
        match self {
            Field::ProtoVersion { compat2: true, .. } => {
                side.proto == b"2.0" || side.proto == b"1.99"
            }
            Field::ProtoVersion { text, .. } => side.seen_banner && side.proto.starts_with(text),
            Field::SoftwareVersion(text) => side.seen_banner && side.software.starts_with(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::ssh::Side;

    #[test]
    fn sides_and_versions() {
        let side = |proto: &[u8], software: &[u8], hassh: &[u8]| Side {
            proto: proto.to_vec(),
            software: software.to_vec(),
            hassh_hash: hassh.to_vec(),
            seen_banner: true,
            seen_kex: true,
            ..Side::default()
        };
        let ssh = Ssh {
            sides: [
                side(b"2.0", b"libssh2_1.8.0", b"aaaa"),
                side(b"1.99", b"OpenSSH_7.4", b"bbbb"),
            ],
        };
        let (c, s) = (Direction::ToServer, Direction::ToClient);
        assert_eq!(Buf::Software.get(&ssh, c), Some(&b"libssh2_1.8.0"[..]));
        assert_eq!(Buf::Software.get(&ssh, s), Some(&b"OpenSSH_7.4"[..]));
        assert_eq!(Buf::Hassh.get(&ssh, c), Some(&b"aaaa"[..]));
        assert_eq!(Buf::Hassh.get(&ssh, s), None);
        assert_eq!(Buf::HasshServer.get(&ssh, s), Some(&b"bbbb"[..]));
        let f = |k: &str, v: &str, d| Field::parse(k, v).unwrap().matches(&ssh, d);
        assert!(f("ssh.softwareversion", "\"libssh2_\"", c));
        assert!(!f("ssh.softwareversion", "\"libssh2_\"", s));
        assert!(f("ssh.protoversion", "2_compat", s));
        assert!(f("ssh.protoversion", "\"2.0\"", c));
        assert!(!f("ssh.protoversion", "\"2.0\"", s));
        assert!(Field::parse("ssh.protoversion", "\"\"").is_err());
    }
}
