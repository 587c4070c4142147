//! MMS keywords: Snort 3's `mms_func` (the service of a confirmed request or response, or of
//! an unconfirmed PDU, by name or number; here also a comma-separated list) and icsight's:
//!
//! * `mms.pdu:KIND` — the PDU's kind (`confirmed_request`, `confirmed_error`,
//!   `initiate_request`, `conclude_request` …), or a list;
//! * `mms.fc:CO` — some named object's IEC 61850 functional constraint (`ST`, `MX`, `CO`,
//!   `SP`, `SE`, `CF` …), or a list;
//! * `mms.domain:"PlantLD"` — some named object's domain (logical device);
//! * `mms.error_class:access` — a confirmed error's class.
//!
//! Each reads one TSDU's MMS PDU, whichever way it goes.

use decoders::mms::pdu::{error_class_name, service_by_name, unconfirmed_name};
use decoders::mms::{Kind, Message};

use crate::KeywordError;

/// An MMS keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Confirmed service tags, and unconfirmed ones.
    Function {
        confirmed: Vec<u32>,
        unconfirmed: Vec<u32>,
    },
    Pdu(Vec<Kind>),
    Fc(Vec<[u8; 2]>),
    Domain(String),
    ErrorClass(u32),
}

impl Field {
    pub const KEYWORDS: [&'static str; 5] = [
        "mms_func",
        "mms.pdu",
        "mms.fc",
        "mms.domain",
        "mms.error_class",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim().trim_matches('"');
        let list = || v.split(',').map(str::trim);
        Ok(match keyword {
            "mms_func" => {
                let (mut confirmed, mut unconfirmed) = (Vec::new(), Vec::new());
                for f in list() {
                    match (0..3).find(|&t| unconfirmed_name(t) == Some(f)) {
                        Some(t) => unconfirmed.push(t),
                        None => confirmed.push(
                            service_by_name(f)
                                .ok_or_else(|| KeywordError::unknown("MMS service", f))?,
                        ),
                    }
                }
                Field::Function {
                    confirmed,
                    unconfirmed,
                }
            }
            "mms.pdu" => Field::Pdu(
                list()
                    .map(|k| Kind::from_name(k).ok_or_else(|| KeywordError::unknown("MMS PDU", k)))
                    .collect::<Result<_, _>>()?,
            ),
            "mms.fc" => Field::Fc(
                list()
                    .map(|fc| match fc.as_bytes() {
                        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                            Ok([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
                        }
                        _ => Err(KeywordError::Form {
                            keyword: "mms.fc",
                            form: "two-letter functional constraints such as CO or ST,SP",
                        }),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "mms.domain" => {
                if v.is_empty() {
                    return Err(KeywordError::Form {
                        keyword: "mms.domain",
                        form: "a domain (logical device) name",
                    });
                }
                Field::Domain(v.to_owned())
            }
            _ => Field::ErrorClass(
                (0..13)
                    .find(|&c| error_class_name(c) == Some(v))
                    .ok_or_else(|| KeywordError::unknown("MMS error class", v))?,
            ),
        })
    }

    pub fn matches(&self, m: &Message<'_>) -> bool {
        let Some(p) = m.mms else {
            return false;
        };
        match self {
            Field::Function {
                confirmed,
                unconfirmed,
            } => p.service().is_some_and(|s| match p.kind {
                Kind::Unconfirmed => unconfirmed.contains(&s),
                _ => confirmed.contains(&s),
            }),
            Field::Pdu(kinds) => kinds.contains(&p.kind),
            Field::Fc(fcs) => p.object_names().any(|n| {
                n.functional_constraint()
                    .is_some_and(|fc| fcs.iter().any(|f| f == fc))
            }),
            Field::Domain(d) => p.object_names().any(|n| n.domain() == Some(d.as_bytes())),
            Field::ErrorClass(c) => p.error().is_some_and(|(class, _)| class == *c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn keywords_on_a_request_and_an_error() {
        // nDPI's getVariableAccessAttributes of AA1E1Q01FP2LD0/LLN0$BR$rcb_B02, and its error.
        let b = unhex("0100010061353033020103a02ea02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032");
        let m = Message::read(&b).unwrap();
        let f = |m: &Message<'_>, k: &str, v: &str| Field::parse(k, v).unwrap().matches(m);
        assert!(f(&m, "mms_func", "get_variable_access_attributes"));
        assert!(f(&m, "mms_func", "read, 6"));
        assert!(!f(&m, "mms_func", "write"));
        assert!(!f(&m, "mms_func", "information_report"));
        assert!(f(&m, "mms.pdu", "confirmed_request"));
        assert!(f(&m, "mms.fc", "br"));
        assert!(!f(&m, "mms.fc", "CO,SP"));
        assert!(f(&m, "mms.domain", "\"AA1E1Q01FP2LD0\""));
        assert!(!f(&m, "mms.domain", "AA1E1Q01FP2LD"));
        let b = unhex("0100010061153013020103a00ea20c800304a273a205a003870102");
        let e = Message::read(&b).unwrap();
        assert!(f(&e, "mms.error_class", "access"));
        assert!(!f(&e, "mms.error_class", "file"));
        assert!(!f(&e, "mms_func", "get_variable_access_attributes"));
        for (k, v) in [
            ("mms_func", "frobnicate"),
            ("mms.pdu", "request"),
            ("mms.fc", "C"),
            ("mms.domain", "\"\""),
            ("mms.error_class", "bad"),
        ] {
            assert!(Field::parse(k, v).is_err(), "{k}:{v}");
        }
    }
}
