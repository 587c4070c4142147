//! S7comm keywords (icsight's own; no other open engine has them) and S7comm-plus keywords
//! (Snort 3's names). Each looks at one S7 PDU or one S7comm-plus frame.
//!
//! ```text
//! s7comm.function: <name|number>      jobs and their ack_data (plc_stop, pi_service, write_var …)
//! s7comm.rosctr: job|ack|ack_data|userdata
//! s7comm.area: <area>[, db <range>][, address <range>]    some read/write item matches all
//! s7comm.szl: <id>[, index <n>]       read SZL request
//! s7comm.pi: <service>                PI service (or PLC stop) name: _INSE _DELE P_PROGRAM …
//! s7comm.block: <type>[, number <range>]   block of an up/download, PI or block-info request
//! s7comm.userdata: group <n|name>[, subfunction <n>]
//! s7comm.password                     a password attempt
//! s7commplus_opcode: request|response|notification|response2
//! s7commplus_func: explore|createobject|…|getvarsubstreamed|…
//! ```
//!
//! A range is `N`, `N-M` (inclusive), `<N` or `>N`; addresses are byte addresses.

use decoders::s7comm::header::Rosctr;
use decoders::s7comm::param::{self, block_type_name, Block};
use decoders::s7comm::{plus, Function, Plus, S7Pdu, S7Tx, Userdata};

use crate::num::{parse_number, InclusiveRange};
use crate::KeywordError;

/// What one S7 keyword asks of a PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S7Match {
    Function(u8),
    Rosctr(u8),
    Area {
        area: u8,
        db: Option<InclusiveRange>,
        address: Option<InclusiveRange>,
    },
    Szl {
        id: u16,
        index: Option<u16>,
    },
    Pi(Vec<u8>),
    Block {
        /// `None`: any type.
        kind: Option<[u8; 2]>,
        number: Option<InclusiveRange>,
    },
    Userdata {
        group: u8,
        subfunction: Option<u8>,
    },
    Password,
}

/// What an S7comm-plus keyword asks of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlusMatch {
    Opcode(u8),
    Function(u16),
}

const AREAS: [(&str, u8); 18] = [
    ("db", 0x84),
    ("inputs", 0x81),
    ("i", 0x81),
    ("outputs", 0x82),
    ("q", 0x82),
    ("flags", 0x83),
    ("m", 0x83),
    ("counters", 0x1c),
    ("c", 0x1c),
    ("timers", 0x1d),
    ("t", 0x1d),
    ("peripheral", 0x80),
    ("p", 0x80),
    ("di", 0x85),
    ("local", 0x86),
    ("l", 0x86),
    ("v", 0x87),
    ("data_blocks", 0x84),
];

const GROUPS: [(&str, u8); 9] = [
    ("mode_transition", 0x0),
    ("programmer", 0x1),
    ("cyclic", 0x2),
    ("block", 0x3),
    ("cpu", 0x4),
    ("security", 0x5),
    ("pbc", 0x6),
    ("time", 0x7),
    ("nc", 0xf),
];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn small<T: TryFrom<u64>>(s: &str) -> Result<T, KeywordError> {
    let n = parse_number(s)?;
    T::try_from(n).map_err(|_| KeywordError::TooLarge { value: s.into() })
}

/// `name value` pairs after the first part of a keyword value.
fn pairs(rest: &[&str]) -> Result<Vec<(String, String)>, KeywordError> {
    rest.iter()
        .map(|p| {
            let (k, v) = p
                .split_once(char::is_whitespace)
                .ok_or_else(|| KeywordError::invalid(None, *p, "`NAME VALUE`"))?;
            Ok((k.to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect()
}

impl S7Match {
    /// Parse the value of keyword `name` (`s7comm.function`, …; `None` for `s7comm.password`).
    pub fn parse(name: &str, value: Option<&str>) -> Result<Self, KeywordError> {
        let need = || {
            value
                .map(str::trim)
                .ok_or_else(|| KeywordError::MissingValue {
                    keyword: name.into(),
                })
        };
        let parts =
            |v: &'_ str| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
        match name {
            "s7comm.function" => {
                let v = need()?;
                let code = match parse_number(v) {
                    Ok(n) => {
                        u8::try_from(n).map_err(|_| KeywordError::TooLarge { value: v.into() })?
                    }
                    Err(_) => (0..=255u8)
                        .find(|c| param::function_name(*c) == Some(v))
                        .ok_or_else(|| KeywordError::unknown("S7 function", v))?,
                };
                Ok(S7Match::Function(code))
            }
            "s7comm.rosctr" => {
                let v = need()?;
                let code = match v {
                    "job" => 1,
                    "ack" => 2,
                    "ack_data" => 3,
                    "userdata" => 7,
                    n => small(n).map_err(|_| KeywordError::unknown("ROSCTR", n))?,
                };
                Ok(S7Match::Rosctr(code))
            }
            "s7comm.area" => {
                let p = parts(need()?);
                let (first, rest) = p.split_first().ok_or_else(|| KeywordError::Missing {
                    keyword: "s7comm.area".into(),
                    what: "an area",
                })?;
                let area = lookup(&AREAS, first)
                    .or_else(|| small(first).ok())
                    .ok_or_else(|| KeywordError::unknown("S7 area", first))?;
                let (mut db, mut address) = (None, None);
                let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
                for (k, v) in pairs(&rest)? {
                    match k.as_str() {
                        "db" => db = Some(InclusiveRange::parse(&v)?),
                        "address" => address = Some(InclusiveRange::parse(&v)?),
                        _ => return Err(KeywordError::unknown("s7comm.area setting", k)),
                    }
                }
                Ok(S7Match::Area { area, db, address })
            }
            "s7comm.szl" => {
                let p = parts(need()?);
                let id = small(&p[0])?;
                let mut index = None;
                let rest: Vec<&str> = p[1..].iter().map(String::as_str).collect();
                for (k, v) in pairs(&rest)? {
                    match k.as_str() {
                        "index" => index = Some(small(&v)?),
                        _ => return Err(KeywordError::unknown("s7comm.szl setting", k)),
                    }
                }
                Ok(S7Match::Szl { id, index })
            }
            "s7comm.pi" => {
                let v = need()?.trim_matches('"');
                if v.is_empty() || v.len() > 32 {
                    return Err(KeywordError::Missing {
                        keyword: "s7comm.pi".into(),
                        what: "a service name of 1 to 32 characters",
                    });
                }
                Ok(S7Match::Pi(v.as_bytes().to_vec()))
            }
            "s7comm.block" => {
                let p = parts(need()?);
                let kind = match p[0].to_ascii_lowercase().as_str() {
                    "any" => None,
                    t => Some(
                        (0x3030u16..=0x3046)
                            .find(|k| block_type_name(*k) == t)
                            .map(u16::to_be_bytes)
                            .ok_or_else(|| KeywordError::unknown("block type", t))?,
                    ),
                };
                let mut number = None;
                let rest: Vec<&str> = p[1..].iter().map(String::as_str).collect();
                for (k, v) in pairs(&rest)? {
                    match k.as_str() {
                        "number" => number = Some(InclusiveRange::parse(&v)?),
                        _ => return Err(KeywordError::unknown("s7comm.block setting", k)),
                    }
                }
                Ok(S7Match::Block { kind, number })
            }
            "s7comm.userdata" => {
                let p = parts(need()?);
                let all: Vec<&str> = p.iter().map(String::as_str).collect();
                let (mut group, mut subfunction) = (None, None);
                for (k, v) in pairs(&all)? {
                    match k.as_str() {
                        "group" => {
                            group = Some(
                                lookup(&GROUPS, &v)
                                    .or_else(|| small(&v).ok())
                                    .ok_or_else(|| KeywordError::unknown("userdata group", v))?,
                            )
                        }
                        "subfunction" => subfunction = Some(small(&v)?),
                        _ => return Err(KeywordError::unknown("s7comm.userdata setting", k)),
                    }
                }
                Ok(S7Match::Userdata {
                    group: group.ok_or_else(|| KeywordError::Missing {
                        keyword: "s7comm.userdata".into(),
                        what: "`group`",
                    })?,
                    subfunction,
                })
            }
            "s7comm.password" => match value.map(str::trim) {
                None | Some("") => Ok(S7Match::Password),
                Some(v) => Err(KeywordError::TakesNoValue {
                    keyword: "s7comm.password",
                    value: v.into(),
                }),
            },
            _ => Err(KeywordError::unknown("S7 keyword", name)),
        }
    }

    /// The function code this keyword requires, for indexing rules by it.
    pub fn function_key(&self) -> Option<u8> {
        match self {
            S7Match::Function(f) => Some(*f),
            _ => None,
        }
    }

    pub fn matches(&self, tx: &S7Tx<'_, '_>) -> bool {
        let pdu = tx.pdu;
        match self {
            S7Match::Function(f) => pdu.function().or(tx.job_function) == Some(*f),
            S7Match::Rosctr(r) => pdu.rosctr.code() == *r,
            S7Match::Area { area, db, address } => {
                if pdu.rosctr != Rosctr::Job {
                    return false;
                }
                let Function::VarRequest { items, .. } = Function::parse(pdu) else {
                    return false;
                };
                items.filter_map(|i| i.any()).any(|a| {
                    let start = u64::from(if a.is_numbered() { a.address } else { a.byte() });
                    let len = u64::from(a.count.max(1)) * u64::from(item_size(a.transport_size));
                    a.area == *area
                        && db.is_none_or(|r| r.contains(u64::from(a.db)))
                        && address.is_none_or(|r| r.overlaps(start, start + len.max(1) - 1))
                })
            }
            S7Match::Szl { id, index } => userdata(pdu)
                .and_then(|u| {
                    (u.kind == decoders::s7comm::userdata::kind::REQUEST).then(|| u.szl())?
                })
                .is_some_and(|(i, x)| i == *id && index.is_none_or(|want| want == x)),
            S7Match::Pi(name) => match pdu.rosctr {
                Rosctr::Job => match Function::parse(pdu) {
                    Function::PiService(pi) => pi.service == name.as_slice(),
                    Function::PlcStop { service } => service == name.as_slice(),
                    _ => false,
                },
                _ => false,
            },
            S7Match::Block { kind, number } => {
                let wanted = |b: Block| {
                    kind.is_none_or(|k| k == b.kind)
                        && number.is_none_or(|r| r.contains(u64::from(b.number)))
                };
                match pdu.rosctr {
                    Rosctr::Job => match Function::parse(pdu) {
                        Function::Block(b) => {
                            b.filename.and_then(|f| f.block()).is_some_and(wanted)
                        }
                        Function::PiService(pi) => pi.blocks().any(wanted),
                        _ => false,
                    },
                    Rosctr::Userdata => userdata(pdu).and_then(|u| u.block()).is_some_and(wanted),
                    _ => false,
                }
            }
            S7Match::Userdata { group, subfunction } => userdata(pdu).is_some_and(|u| {
                u.group == *group && subfunction.is_none_or(|s| s == u.subfunction)
            }),
            S7Match::Password => userdata(pdu).is_some_and(|u| u.is_password()),
        }
    }
}

fn userdata<'a>(pdu: &S7Pdu<'a>) -> Option<Userdata<'a>> {
    (pdu.rosctr == Rosctr::Userdata)
        .then(|| Userdata::parse(pdu).ok())
        .flatten()
}

/// Bytes one element of a transport size takes (bits and bytes count 1).
fn item_size(ts: u8) -> u32 {
    match ts {
        0x04 | 0x05 | 0x1c | 0x1d => 2,
        0x06..=0x08 => 4,
        _ => 1,
    }
}

const PLUS_FUNCTIONS: [(&str, u16); 19] = [
    ("explore", 0x04bb),
    ("createobject", 0x04ca),
    ("deleteobject", 0x04d4),
    ("setvariable", 0x04f2),
    ("getvariable", 0x04fc),
    ("addlink", 0x0506),
    ("removelink", 0x051a),
    ("getlink", 0x0524),
    ("setmultivariables", 0x0542),
    ("getmultivariables", 0x054c),
    ("beginsequence", 0x0556),
    ("endsequence", 0x0560),
    ("invoke", 0x056b),
    ("setvarsubstreamed", 0x057c),
    ("getvarsubstreamed", 0x0586),
    ("getvariablesaddress", 0x0590),
    ("abort", 0x059a),
    ("error", 0x05a9),
    ("initssl", 0x05b3),
];

impl PlusMatch {
    pub fn parse(name: &str, value: Option<&str>) -> Result<Self, KeywordError> {
        let v = value
            .map(str::trim)
            .ok_or_else(|| KeywordError::MissingValue {
                keyword: name.into(),
            })?;
        match name {
            "s7commplus_opcode" => {
                let code = match v.to_ascii_lowercase().as_str() {
                    "request" => plus::opcode::REQUEST,
                    "response" => plus::opcode::RESPONSE,
                    "notification" => plus::opcode::NOTIFICATION,
                    "response2" => plus::opcode::RESPONSE2,
                    n => small(n).map_err(|_| KeywordError::unknown("S7comm-plus opcode", n))?,
                };
                Ok(PlusMatch::Opcode(code))
            }
            "s7commplus_func" => {
                let code = lookup(&PLUS_FUNCTIONS, v)
                    .or_else(|| small(v).ok())
                    .ok_or_else(|| KeywordError::unknown("S7comm-plus function", v))?;
                Ok(PlusMatch::Function(code))
            }
            _ => Err(KeywordError::unknown("S7comm-plus keyword", name)),
        }
    }

    pub fn matches(&self, frame: &Plus<'_>) -> bool {
        match *self {
            PlusMatch::Opcode(o) => frame.opcode == Some(o),
            PlusMatch::Function(f) => frame.function == Some(f),
        }
    }
}

/// Whether `item` names one of the keywords of this module.
pub fn is_keyword(name: &str) -> bool {
    (name.starts_with("s7comm.") && name != "s7comm.param") || name.starts_with("s7commplus_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(param: &[u8], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x32, 1, 0, 0, 0, 1];
        v.extend_from_slice(&(param.len() as u16).to_be_bytes());
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(param);
        v.extend_from_slice(data);
        v
    }

    fn t(kw: &str, value: Option<&str>, bytes: &[u8]) -> bool {
        let pdu = S7Pdu::parse(bytes).unwrap();
        S7Match::parse(kw, value).unwrap().matches(&S7Tx {
            pdu: &pdu,
            job_function: None,
        })
    }

    #[test]
    fn functions_and_pi() {
        // PLC stop: function 0x29, five unknown bytes, "P_PROGRAM".
        let mut p = vec![0x29, 0, 0, 0, 0, 0, 9];
        p.extend_from_slice(b"P_PROGRAM");
        let stop = job(&p, &[]);
        assert!(t("s7comm.function", Some("plc_stop"), &stop));
        assert!(t("s7comm.function", Some("0x29"), &stop));
        assert!(!t("s7comm.function", Some("pi_service"), &stop));
        assert!(t("s7comm.rosctr", Some("job"), &stop));
        assert!(t("s7comm.pi", Some("P_PROGRAM"), &stop));
        assert!(!t("s7comm.pi", Some("_INSE"), &stop));
        assert!(S7Match::parse("s7comm.function", Some("reboot")).is_err());
        assert!(S7Match::parse("s7comm.password", Some("x")).is_err());
        assert!(S7Match::parse("s7comm.area", Some("db, colour red")).is_err());
    }

    #[test]
    fn write_var_items() {
        // Write var, one item: DB 5, byte 10 (bit address 80), 4 bytes.
        let p = [0x05, 1, 0x12, 0x0a, 0x10, 0x02, 0, 4, 0, 5, 0x84, 0, 0, 80];
        let w = job(&p, &[0, 4, 0, 32, 1, 2, 3, 4]);
        assert!(t("s7comm.area", Some("db"), &w));
        assert!(t("s7comm.area", Some("db, db 1-10"), &w));
        assert!(!t("s7comm.area", Some("db, db 6-10"), &w));
        assert!(t("s7comm.area", Some("db, db 5, address 12-20"), &w));
        assert!(!t("s7comm.area", Some("db, address >13"), &w));
        assert!(!t("s7comm.area", Some("m"), &w));
        assert!(t("s7comm.function", Some("write_var"), &w));
    }

    #[test]
    fn plus_names() {
        assert_eq!(
            PlusMatch::parse("s7commplus_func", Some("createobject")),
            Ok(PlusMatch::Function(0x04ca))
        );
        assert_eq!(
            PlusMatch::parse("s7commplus_opcode", Some("request")),
            Ok(PlusMatch::Opcode(plus::opcode::REQUEST))
        );
        assert!(PlusMatch::parse("s7commplus_func", Some("dance")).is_err());
    }
}
