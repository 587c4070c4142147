//! Classification: what a rule's `classtype` means (EVE's `alert.category`) and its default
//! priority (`alert.severity`), read from a Suricata `classification.config`.

use std::collections::HashMap;

use crate::Error;

/// The classification this crate ships (`rules/classification.config`).
pub const DEFAULT_CONFIG: &str = include_str!("../classification.config");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub description: String,
    pub priority: u8,
}

#[derive(Debug, Clone, Default)]
pub struct Classification(HashMap<String, Class>);

impl Classification {
    /// Parse `config classification: NAME,DESCRIPTION,PRIORITY` lines; comments and blank lines
    /// are skipped, and each bad line is an error naming it while the others load.
    pub fn parse(text: &str) -> (Self, Vec<Error>) {
        let mut map = HashMap::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |m: &str| Error::new(i + 1, m);
            let Some(rest) = line.strip_prefix("config classification:").map(str::trim) else {
                errors.push(err("not a `config classification:` line"));
                continue;
            };
            let parts: Vec<_> = rest.splitn(3, ',').map(str::trim).collect();
            let [name, desc, prio] = parts.as_slice() else {
                errors.push(err("expected NAME,DESCRIPTION,PRIORITY"));
                continue;
            };
            match prio.parse::<u8>() {
                Ok(p) if p >= 1 && !name.is_empty() => {
                    map.insert(
                        (*name).to_owned(),
                        Class {
                            description: (*desc).to_owned(),
                            priority: p,
                        },
                    );
                }
                _ => errors.push(err(&format!("priority `{prio}` is not 1–255"))),
            }
        }
        (Classification(map), errors)
    }

    /// The classification shipped with the rules.
    pub fn builtin() -> Self {
        Classification::parse(DEFAULT_CONFIG).0
    }

    pub fn get(&self, name: &str) -> Option<&Class> {
        self.0.get(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_whole() {
        let (c, errors) = Classification::parse(DEFAULT_CONFIG);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(c.len() >= 30);
        let admin = c.get("attempted-admin").unwrap();
        assert_eq!(admin.priority, 1);
        assert_eq!(admin.description, "Attempted Administrator Privilege Gain");
        assert_eq!(c.get("protocol-command-decode").unwrap().priority, 3);
    }

    #[test]
    fn bad_lines_are_named() {
        let (c, errors) = Classification::parse(
            "config classification: a,Thing A,2\nnonsense\nconfig classification: b,B,0\n",
        );
        assert_eq!(c.len(), 1);
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
    }
}
