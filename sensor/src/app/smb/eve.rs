//! The `smb` event, as Suricata writes it: one per command and its response, with the fields
//! the command has — the dialect, a share, a file name, a file's size.

use decoders::smb::{smb2, Transaction};
use serde::ser::SerializeMap;
use serde::Serialize;

use crate::app::text::Text;

#[derive(Serialize)]
pub struct Body<'a> {
    pub smb: SmbLog<'a>,
}

pub struct SmbLog<'a>(pub &'a Transaction);

/// The dialect's name; an unknown one as its number.
fn dialect(d: u16) -> String {
    smb2::dialect_name(d).map_or_else(|| format!("{d:#06x}"), str::to_owned)
}

impl Serialize for SmbLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let tx = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &tx.id)?;
        match (tx.version, tx.dialect) {
            (1, _) => m.serialize_entry("dialect", "NT LM 0.12")?,
            (_, Some(d)) => m.serialize_entry("dialect", &dialect(d))?,
            (_, None) => m.serialize_entry("dialect", "unknown")?,
        }
        m.serialize_entry("command", tx.command_name())?;
        if let Some(st) = tx.status {
            match smb2::status_name(st) {
                Some(name) => m.serialize_entry("status", name)?,
                None => m.serialize_entry("status", &format!("{st:#x}"))?,
            }
            m.serialize_entry("status_code", &format!("{st:#x}"))?;
        }
        m.serialize_entry("session_id", &tx.session_id)?;
        m.serialize_entry("tree_id", &tx.tree_id)?;
        if !tx.client_dialects.is_empty() {
            let names: Vec<String> = tx.client_dialects.iter().map(|&d| dialect(d)).collect();
            m.serialize_entry("client_dialects", &names)?;
        }
        if !tx.filename.is_empty() {
            m.serialize_entry("filename", &Text(&tx.filename))?;
        }
        if let Some(d) = tx.disposition {
            m.serialize_entry("disposition", disposition(d))?;
        }
        if let Some(size) = tx.size {
            m.serialize_entry("size", &size)?;
        }
        if !tx.share.is_empty() {
            m.serialize_entry(
                if tx.pipe { "named_pipe" } else { "share" },
                &Text(&tx.share),
            )?;
        }
        if tx.ntlmssp {
            m.serialize_entry(
                "ntlmssp",
                &Ntlmssp {
                    domain: Text(&tx.ntlmssp_domain),
                    user: Text(&tx.ntlmssp_user),
                    host: Text(&tx.ntlmssp_host),
                },
            )?;
        }
        if let Some(t) = tx.share_type {
            let name = match t {
                1 => "FILE",
                2 => "PIPE",
                3 => "PRINT",
                _ => "UNKNOWN",
            };
            m.serialize_entry("share_type", name)?;
        }
        m.end()
    }
}

/// Who a `SESSION_SETUP` logs in, as Suricata writes it.
#[derive(Serialize)]
struct Ntlmssp<'a> {
    domain: Text<'a>,
    user: Text<'a>,
    host: Text<'a>,
}

/// A `CREATE` disposition's name (MS-SMB2 §2.2.13), as Suricata writes it.
fn disposition(d: u32) -> &'static str {
    match d {
        0 => "FILE_SUPERSEDE",
        1 => "FILE_OPEN",
        2 => "FILE_CREATE",
        3 => "FILE_OPEN_IF",
        4 => "FILE_OVERWRITE",
        5 => "FILE_OVERWRITE_IF",
        _ => "UNKNOWN",
    }
}

/// A file the connection read or wrote, as a `fileinfo` event with the `smb` command that
/// opened it.
#[derive(Serialize)]
pub struct FileBody<'a> {
    pub smb: SmbLog<'a>,
    pub fileinfo: crate::app::fileinfo::Fileinfo<'a>,
}
