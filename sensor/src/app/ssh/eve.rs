//! The `ssh` event, as Suricata writes it: a `client` and a `server` object, each with its
//! protocol and software versions and, once its KEXINIT was seen, its HASSH.

use decoders::ssh::{Side, Ssh};
use serde::ser::SerializeMap;
use serde::Serialize;

#[derive(Serialize)]
pub struct Body<'a> {
    pub ssh: SshLog<'a>,
}

pub struct SshLog<'a>(pub &'a Ssh);

struct SideLog<'a>(&'a Side);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for SideLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let side = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("proto_version", &text(&side.proto))?;
        m.serialize_entry("software_version", &text(&side.software))?;
        if side.seen_kex {
            m.serialize_entry(
                "hassh",
                &serde_json::json!({
                    "hash": text(&side.hassh_hash),
                    "string": text(&side.hassh),
                }),
            )?;
        }
        m.end()
    }
}

impl Serialize for SshLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (key, side) in [("client", self.0.client()), ("server", self.0.server())] {
            if side.seen_banner {
                m.serialize_entry(key, &SideLog(side))?;
            }
        }
        m.end()
    }
}
