//! A rule given meaning: header, identity (`sid`, `rev`, `gid`, `msg`, `classtype`,
//! `priority`, `reference`, `metadata`) and its contents with their modifiers. Options the
//! engine does not interpret yet are kept, in order, in [`Signature::other`].

use crate::content::{quoted_text, Content};
use crate::{split_rules, Error, Header, RawOption, RawRule, RuleText, Vars};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub line: usize,
    pub header: Header,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub msg: String,
    pub classtype: Option<String>,
    pub priority: Option<u8>,
    /// `reference:TYPE,ID`, in order.
    pub references: Vec<(String, String)>,
    /// `metadata:KEY VALUE, …`, in order (e.g. `mitre_attack_ics T0843`).
    pub metadata: Vec<(String, String)>,
    pub contents: Vec<Content>,
    pub other: Vec<RawOption>,
}

/// Keywords that switch the buffer later contents inspect. `pkt_data` returns to the payload.
fn sticky_buffer(name: &str, value: Option<&str>) -> Option<Option<String>> {
    match name {
        "pkt_data" => Some(None),
        "dnp3_data" | "file_data" | "file.data" => Some(Some(name.to_owned())),
        _ if value.is_none() && name.contains('.') => Some(Some(name.to_owned())),
        _ => None,
    }
}

impl Signature {
    pub fn parse(rule: &RuleText, vars: &Vars) -> Result<Self, Error> {
        let raw = RawRule::parse(rule)?;
        let line = raw.line;
        let err = |m: String| Error::new(line, m);
        let header = Header::parse(&raw.header, line, vars)?;
        let mut sig = Signature {
            line,
            header,
            gid: 1,
            sid: 0,
            rev: 1,
            msg: String::new(),
            classtype: None,
            priority: None,
            references: Vec::new(),
            metadata: Vec::new(),
            contents: Vec::new(),
            other: Vec::new(),
        };
        let mut buffer: Option<String> = None;
        for opt in raw.options {
            let name = opt.name.as_str();
            let value = opt.value.as_deref();
            let need = || value.ok_or_else(|| err(format!("`{name}` needs a value")));
            let number = |v: &str| -> Result<u32, Error> {
                v.trim()
                    .parse()
                    .map_err(|_| err(format!("`{name}:{v}`: not a whole number")))
            };
            match name {
                "msg" => sig.msg = quoted_text(need()?).map_err(|m| err(format!("msg: {m}")))?,
                "sid" => sig.sid = number(need()?)?,
                "rev" => sig.rev = number(need()?)?,
                "gid" => sig.gid = number(need()?)?,
                "classtype" => sig.classtype = Some(need()?.trim().to_owned()),
                "priority" => {
                    let p = number(need()?)?;
                    sig.priority = Some(
                        u8::try_from(p)
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| err(format!("priority {p} is not 1–255")))?,
                    );
                }
                "reference" => {
                    let (kind, id) = need()?
                        .split_once(',')
                        .ok_or_else(|| err("reference is `TYPE,ID`".into()))?;
                    sig.references
                        .push((kind.trim().to_owned(), id.trim().to_owned()));
                }
                "metadata" => {
                    for item in need()?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (k, v) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
                        sig.metadata.push((k.to_owned(), v.trim().to_owned()));
                    }
                }
                "content" => sig.contents.push(
                    Content::parse(need()?, buffer.clone())
                        .map_err(|m| err(format!("content: {m}")))?,
                ),
                _ => {
                    if let Some(b) = sticky_buffer(name, value) {
                        buffer = b;
                        sig.other.push(opt);
                        continue;
                    }
                    let applied = match sig.contents.last_mut() {
                        Some(c) => c.modify(name, value).map_err(&err)?,
                        None if is_content_modifier(name) => {
                            return Err(err(format!("`{name}` without a content before it")))
                        }
                        None => false,
                    };
                    if !applied {
                        sig.other.push(opt);
                    }
                }
            }
        }
        if sig.sid == 0 {
            return Err(err("no `sid` (or sid 0)".into()));
        }
        Ok(sig)
    }
}

fn is_content_modifier(name: &str) -> bool {
    matches!(
        name,
        "nocase"
            | "offset"
            | "depth"
            | "distance"
            | "within"
            | "fast_pattern"
            | "startswith"
            | "endswith"
            | "rawbytes"
    )
}

/// Every rule of a rules file: the ones that parse, and an error for each that does not
/// (including a second rule with a `gid:sid` already taken). One bad rule costs only itself.
pub fn parse_rules(file: &str, vars: &Vars) -> (Vec<Signature>, Vec<Error>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashMap::new();
    for rule in split_rules(file) {
        match Signature::parse(&rule, vars) {
            Ok(sig) => match seen.insert((sig.gid, sig.sid), sig.line) {
                Some(first) => bad.push(Error::new(
                    sig.line,
                    format!(
                        "sid {}:{} is already used by the rule on line {first}",
                        sig.gid, sig.sid
                    ),
                )),
                None => good.push(sig),
            },
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_contents() {
        let text = r#"alert modbus any any -> any 502 (msg:"Modbus \"write\" to PLC"; content:"|00 00|"; offset:2; depth:2; modbus: function 16; classtype:attempted-admin; priority:2; reference:url,attack.mitre.org/techniques/T0836; metadata: mitre_attack_ics T0836, created_at 2026_11_21; sid:9000001; rev:3;)"#;
        let (sigs, errs) = parse_rules(text, &Vars::suricata_defaults());
        assert!(errs.is_empty(), "{errs:?}");
        let s = &sigs[0];
        assert_eq!((s.gid, s.sid, s.rev), (1, 9000001, 3));
        assert_eq!(s.msg, r#"Modbus "write" to PLC"#);
        assert_eq!(s.classtype.as_deref(), Some("attempted-admin"));
        assert_eq!(s.priority, Some(2));
        assert_eq!(s.references[0].0, "url");
        assert_eq!(
            s.metadata[0],
            ("mitre_attack_ics".to_owned(), "T0836".to_owned())
        );
        assert_eq!(s.contents.len(), 1);
        assert_eq!(
            (s.contents[0].offset, s.contents[0].depth),
            (Some(2), Some(2))
        );
        assert_eq!(s.other.len(), 1);
        assert_eq!(s.other[0].name, "modbus");
    }

    #[test]
    fn sticky_buffers_scope_contents() {
        let text = r#"alert dnp3 any any -> any any (content:"a"; dnp3_data; content:"b"; pkt_data; content:"c"; sid:1;)"#;
        let (sigs, _) = parse_rules(text, &Vars::suricata_defaults());
        let bufs: Vec<_> = sigs[0].contents.iter().map(|c| c.buffer.clone()).collect();
        assert_eq!(bufs, [None, Some("dnp3_data".to_owned()), None]);
    }

    #[test]
    fn bad_rules_cost_only_themselves() {
        let text = "\
alert tcp any any -> any any (msg:\"ok\"; sid:1;)
alert tcp any any -> any any (msg:\"no sid\";)
alert tcp any any -> any any (nocase; content:\"x\"; sid:3;)
alert tcp any any -> any any (content:\"|0|\"; sid:4;)
alert tcp any any -> any any (msg:\"dup\"; sid:1;)
alert tcp any any -> any any (priority:0; sid:6;)
alert tcp any any -> any any (content:\"y\"; depth:x; sid:7;)
alert tcp any any -> any any (msg:\"ok too\"; sid:8;)
";
        let (sigs, errs) = parse_rules(text, &Vars::suricata_defaults());
        assert_eq!(sigs.iter().map(|s| s.sid).collect::<Vec<_>>(), [1, 8]);
        let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        assert!(errs[0].message.contains("sid"));
        assert!(errs[1].message.contains("without a content"));
        assert!(errs[2].message.contains("hex"));
        assert!(errs[3]
            .message
            .contains("already used by the rule on line 1"));
        assert!(errs[4].message.contains("priority"));
        assert!(errs[5].message.contains("depth:x"));
    }
}
