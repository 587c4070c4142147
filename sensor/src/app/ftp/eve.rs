//! The `ftp` event, as Suricata writes it: the command and its argument, each reply line and
//! its code, the data port announced and in which mode, and whether the final reply came.

use decoders::ftp::Transaction;
use serde::ser::SerializeMap;
use serde::Serialize;

#[derive(Serialize)]
pub struct Body<'a> {
    pub ftp: FtpLog<'a>,
}

pub struct FtpLog<'a>(pub &'a Transaction);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for FtpLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        if !t.command.is_empty() {
            m.serialize_entry("command", &text(&t.command))?;
            if !t.command_data.is_empty() {
                m.serialize_entry("command_data", &text(&t.command_data))?;
            }
            m.serialize_entry("command_truncated", &t.command_truncated)?;
        }
        if !t.replies.is_empty() {
            let replies: Vec<String> = t.replies.iter().map(|r| text(r)).collect();
            m.serialize_entry("reply", &replies)?;
            let codes: Vec<String> = t.codes.iter().map(|c| text(c)).collect();
            m.serialize_entry("completion_code", &codes)?;
            m.serialize_entry("reply_truncated", &t.reply_truncated)?;
        }
        if let Some(p) = t.dynamic_port {
            m.serialize_entry("dynamic_port", &p)?;
        }
        if let Some(active) = t.active {
            m.serialize_entry("mode", if active { "active" } else { "passive" })?;
        }
        m.serialize_entry(
            "reply_received",
            if t.reply_received { "yes" } else { "no" },
        )?;
        m.end()
    }
}
