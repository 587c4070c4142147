//! IEC 60870-5-104 keywords. Snort 3's two — `iec104_apci_type` (the frame's format) and
//! `iec104_asdu_func` (the ASDU's type, by mnemonic or number; here also a comma-separated
//! list, any of which matches) — and icsight's on the ASDU header and objects:
//!
//! * `iec104.cot:CAUSE` — the cause of transmission, by name (`activation`, `spontaneous`,
//!   `unknown_ioa` …) or as a number comparison (`>=44`);
//! * `iec104.negative:yes|no`, `iec104.test:yes|no` — the P/N and T bits;
//! * `iec104.ca:N` — the common address, a number comparison;
//! * `iec104.ioa:N` — some information object's address, a number comparison;
//! * `iec104.command:select|execute` — the S/E bit of a command or set-point;
//! * `iec104.u_function:NAME` — a U-frame's function (`startdt_act`, `testfr_con` …).
//!
//! Each reads one APDU, whichever way it goes.

use decoders::iec104::{asdu, type_by_name, Apci, Apdu, UFunction};

use crate::num::{yes_no, UintMatch};
use crate::KeywordError;

/// An IEC 104 keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// 'I', 'S' or 'U'.
    ApciType(char),
    /// Any of these type ids.
    AsduType(Vec<u8>),
    Cause(UintMatch),
    Negative(bool),
    Test(bool),
    CommonAddress(UintMatch),
    Ioa(UintMatch),
    /// S/E set (select) or clear (execute).
    Select(bool),
    UFunction(UFunction),
}

impl Field {
    pub const KEYWORDS: [&'static str; 10] = [
        "iec104_apci_type",
        "iec104_asdu_func",
        "iec104.cot",
        "iec104.negative",
        "iec104.test",
        "iec104.ca",
        "iec104.ioa",
        "iec104.command",
        "iec104.u_function",
        "iec104.apci_type",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        Ok(match keyword {
            "iec104_apci_type" | "iec104.apci_type" => {
                Field::ApciType(match v.to_ascii_lowercase().as_str() {
                    "i" | "information_transfer_format" => 'I',
                    "s" | "supervisory_function" => 'S',
                    "u" | "unnumbered_control_function" => 'U',
                    _ => return Err(KeywordError::unknown("IEC 104 APCI type", v)),
                })
            }
            "iec104_asdu_func" => {
                let mut ids = Vec::new();
                for name in v.split(',').map(str::trim) {
                    let id = match name.parse::<u8>() {
                        Ok(n) => n,
                        Err(_) => {
                            type_by_name(name)
                                .ok_or_else(|| KeywordError::unknown("IEC 104 ASDU type", name))?
                                .id
                        }
                    };
                    ids.push(id);
                }
                Field::AsduType(ids)
            }
            "iec104.cot" => match asdu::cause_by_name(v) {
                Some(c) => Field::Cause(UintMatch::Eq(u64::from(c))),
                None if v.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                    return Err(KeywordError::unknown("IEC 104 cause of transmission", v))
                }
                None => Field::Cause(UintMatch::parse(v)?),
            },
            "iec104.negative" => Field::Negative(yes_no("iec104.negative", v)?),
            "iec104.test" => Field::Test(yes_no("iec104.test", v)?),
            "iec104.ca" => Field::CommonAddress(UintMatch::parse(v)?),
            "iec104.ioa" => Field::Ioa(UintMatch::parse(v)?),
            "iec104.command" => Field::Select(match v {
                "select" => true,
                "execute" => false,
                _ => {
                    return Err(KeywordError::Form {
                        keyword: "iec104.command",
                        form: "select or execute",
                    })
                }
            }),
            _ => Field::UFunction(
                UFunction::ALL
                    .iter()
                    .map(|(f, _)| *f)
                    .find(|f| f.name().eq_ignore_ascii_case(v))
                    .ok_or_else(|| KeywordError::unknown("IEC 104 U function", v))?,
            ),
        })
    }

    pub fn matches(&self, apdu: &Apdu<'_>) -> bool {
        let asdu = apdu.asdu();
        let cot = asdu.map(|a| a.cot());
        match self {
            Field::ApciType(t) => apdu.apci.format() == *t,
            Field::UFunction(f) => apdu.apci == Apci::U(Some(*f)),
            Field::AsduType(ids) => asdu.is_some_and(|a| ids.contains(&a.type_id())),
            Field::Cause(m) => cot.is_some_and(|c| m.matches(u64::from(c.cause))),
            Field::Negative(b) => cot.is_some_and(|c| c.negative == *b),
            Field::Test(b) => cot.is_some_and(|c| c.test == *b),
            Field::CommonAddress(m) => {
                asdu.is_some_and(|a| m.matches(u64::from(a.common_address())))
            }
            Field::Ioa(m) => asdu.is_some_and(|a| a.objects().any(|o| m.matches(u64::from(o.ioa)))),
            Field::Select(s) => asdu.is_some_and(|a| {
                a.objects()
                    .any(|o| o.element.command().is_some_and(|c| c.select == *s))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::{Direction, Parsed, StreamParser};

    fn apdu(bytes: &[u8]) -> Apdu<'_> {
        match decoders::iec104::Iec104Parser.parse(Direction::ToServer, bytes) {
            Parsed::Pdu { pdu, .. } => pdu,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keywords_on_a_command_and_a_u_frame() {
        // C_SC_NA_1 select ON at IOA 5000, CA 7, activation.
        let cmd = [0x68, 14, 0, 0, 0, 0, 45, 1, 6, 0, 7, 0, 0x88, 0x13, 0, 0x81];
        let a = apdu(&cmd);
        let f = |k: &str, v: &str| Field::parse(k, v).unwrap().matches(&a);
        assert!(f("iec104_apci_type", "i"));
        assert!(f("iec104_apci_type", "information_transfer_format"));
        assert!(!f("iec104_apci_type", "u"));
        assert!(f("iec104_asdu_func", "C_SC_NA_1"));
        assert!(f("iec104_asdu_func", "c_dc_na_1, c_sc_na_1"));
        assert!(f("iec104_asdu_func", "45"));
        assert!(!f("iec104_asdu_func", "C_SE_NC_1"));
        assert!(f("iec104.cot", "activation"));
        assert!(f("iec104.cot", "<7"));
        assert!(!f("iec104.cot", "spontaneous"));
        assert!(f("iec104.negative", "no"));
        assert!(f("iec104.ca", "7"));
        assert!(f("iec104.ioa", "5000"));
        assert!(f("iec104.ioa", "4000-6000"));
        assert!(!f("iec104.ioa", ">5000"));
        assert!(f("iec104.command", "select"));
        assert!(!f("iec104.command", "execute"));
        let u = [0x68, 4, 0x43, 0, 0, 0];
        let u = apdu(&u);
        assert!(Field::parse("iec104.u_function", "testfr_act")
            .unwrap()
            .matches(&u));
        assert!(!Field::parse("iec104.cot", "6").unwrap().matches(&u));
        assert!(Field::parse("iec104_apci_type", "U").unwrap().matches(&u));
        for (k, v) in [
            ("iec104_asdu_func", "C_XX_NA_1"),
            ("iec104_apci_type", "x"),
            ("iec104.cot", "sometimes"),
            ("iec104.command", "maybe"),
            ("iec104.u_function", "startdt"),
            ("iec104.negative", "perhaps"),
        ] {
            assert!(Field::parse(k, v).is_err(), "{k}:{v}");
        }
    }
}
