//! The `modbus` keyword, in Suricata 7's syntax and with its meaning:
//!
//! ```text
//! modbus: function <n>[, subfunction <n>]
//! modbus: function [!]assigned|unassigned|public|user|reserved|all
//! modbus: access read|write [discretes|coils|input|holding][, address <r>[, value <r>]]
//! modbus: unit <r>[, <function …>|<access …>]
//! ```
//!
//! A range is `N`, `<N`, `>N` or `N<>M`, the last three exclusive. Like Suricata, the keyword
//! looks at a transaction's request only; a response nothing asked for never matches.

use decoders::modbus::function::{AccessType, Category};
use decoders::modbus::{Data, Message, Read, Write};

use crate::{Conflict, KeywordError};

/// Suricata's range: `start == end` is exact; otherwise exclusive bounds, open at 0 or 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u16,
    pub end: u16,
}

impl Range {
    fn parse(s: &str) -> Result<Self, KeywordError> {
        let s = s.trim();
        let num = |v: &str| -> Result<u16, KeywordError> {
            v.trim().parse().map_err(|_| KeywordError::OutOfRange {
                value: v.into(),
                min: 0,
                max: u16::MAX.into(),
            })
        };
        Ok(if let Some((a, b)) = s.split_once("<>") {
            Range {
                start: num(a)?,
                end: num(b)?,
            }
        } else if let Some(v) = s.strip_prefix('<') {
            Range {
                start: 0,
                end: num(v)?,
            }
        } else if let Some(v) = s.strip_prefix('>') {
            Range {
                start: num(v)?,
                end: u16::MAX,
            }
        } else {
            let n = num(s)?;
            Range { start: n, end: n }
        })
    }

    fn matches(self, v: u16) -> bool {
        if self.start == self.end {
            v == self.start
        } else if self.start == 0 {
            v < self.end
        } else if self.end == u16::MAX {
            v > self.start
        } else {
            self.start < v && v < self.end
        }
    }

    /// Whether a transaction's inclusive address range `lo..=hi` meets this one.
    fn meets(self, lo: u16, hi: u16) -> bool {
        if self.start == self.end {
            lo <= self.start && self.start <= hi
        } else if self.start == 0 {
            self.end > lo
        } else if self.end == u16::MAX {
            self.start < hi
        } else {
            self.start < hi && lo < self.end
        }
    }
}

/// One `modbus:` option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModbusMatch {
    pub unit: Option<Range>,
    pub access: Option<AccessType>,
    pub address: Option<Range>,
    pub value: Option<Range>,
    pub category: Option<Category>,
    pub function: Option<u8>,
    pub subfunction: Option<u16>,
}

impl ModbusMatch {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let v = value.trim().trim_matches('"').trim();
        let (head, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
        match head {
            "function" => parse_function(rest.trim()),
            "access" => parse_access(rest.trim()),
            "unit" => {
                let (range, extra) = match rest.split_once(',') {
                    Some((r, e)) => (r, Some(e.trim())),
                    None => (rest, None),
                };
                let mut m = match extra {
                    Some(e) => ModbusMatch::parse(e)
                        .map_err(|err| err.inside("after `unit`"))
                        .and_then(|m| {
                            if m.unit.is_some() {
                                Err(Conflict::UnitTwice.into())
                            } else {
                                Ok(m)
                            }
                        })?,
                    None => ModbusMatch::default(),
                };
                m.unit = Some(Range::parse(range)?);
                Ok(m)
            }
            _ => Err(KeywordError::Expected {
                name: Some("modbus"),
                value: v.into(),
                expected: "`function …`, `access …` or `unit …`",
            }),
        }
    }

    /// The function code this option requires, for indexing rules by it.
    pub fn function_key(&self) -> Option<u8> {
        self.function
    }

    /// Whether the transaction with this request matches.
    pub fn matches(&self, request: Option<&Message<'_>>) -> bool {
        let Some(req) = request else {
            return false;
        };
        if let Some(u) = self.unit {
            if !u.matches(u16::from(req.header.unit_id)) {
                return false;
            }
        }
        if let Some(access) = self.access {
            let rw = AccessType(access.0 & (AccessType::READ.0 | AccessType::WRITE.0));
            let table = AccessType(access.0 & AccessType::FUNC_MASK.0);
            if rw.is_empty()
                || !req.access.intersects(rw)
                || (!table.is_empty() && !req.access.intersects(table))
            {
                return false;
            }
            return self.data_matches(req, rw.intersects(AccessType::WRITE));
        }
        if let Some(c) = self.category {
            return req.category.intersects(c);
        }
        match self.function {
            Some(f) if f != req.function_raw => false,
            Some(_) => match (self.subfunction, req.data) {
                (None, _) => true,
                (Some(s), Data::Diagnostic { sub, .. }) => s == sub,
                (Some(_), _) => false,
            },
            None => true,
        }
    }

    fn data_matches(&self, req: &Message<'_>, write: bool) -> bool {
        let Some(sig) = self.address else {
            return true;
        };
        match address_range(req, write) {
            Some((lo, hi)) if sig.meets(lo, hi) => {}
            _ => return false,
        }
        let Some(value) = self.value else {
            return true;
        };
        write_value_at(req, sig.start).is_some_and(|v| value.matches(v))
    }
}

fn span(address: u16, quantity: u16) -> (u16, u16) {
    (address, address.saturating_add(quantity.saturating_sub(1)))
}

/// The addresses a request reads or writes.
fn address_range(req: &Message<'_>, write: bool) -> Option<(u16, u16)> {
    let read_span = |r: &Read<'_>| match *r {
        Read::Request { address, quantity } => Some(span(address, quantity)),
        Read::Response { .. } => None,
    };
    let write_span = |w: &Write<'_>| match *w {
        Write::Multiple {
            address, quantity, ..
        }
        | Write::Echo { address, quantity } => Some(span(address, quantity)),
        Write::Single { address, .. } | Write::Mask { address, .. } => Some((address, address)),
    };
    match &req.data {
        Data::Read(r) => read_span(r),
        Data::Write(w) => write_span(w),
        Data::ReadWrite { read, write: w } => {
            if write {
                write_span(w)
            } else {
                read_span(read)
            }
        }
        _ => None,
    }
}

/// The value a write request puts at `at`: a single write's value, or the register (or coil)
/// at that address of a multiple write.
fn write_value_at(req: &Message<'_>, at: u16) -> Option<u16> {
    let w = match &req.data {
        Data::Write(w) | Data::ReadWrite { write: w, .. } => w,
        _ => return None,
    };
    match *w {
        Write::Single { address, value } => (address == at).then_some(value),
        Write::Multiple {
            address,
            quantity,
            data,
            ..
        } => {
            let i = usize::from(at.checked_sub(address)?);
            if i >= usize::from(quantity) {
                return None;
            }
            if req.access.intersects(AccessType::COILS) {
                let byte = data.get(i / 8)?;
                Some(u16::from(byte >> (i % 8) & 1))
            } else {
                let b = data.get(2 * i..2 * i + 2)?;
                Some(u16::from_be_bytes([b[0], b[1]]))
            }
        }
        _ => None,
    }
}

fn parse_function(s: &str) -> Result<ModbusMatch, KeywordError> {
    let (f, sub) = match s.split_once(',') {
        Some((f, sub)) => (f.trim(), Some(sub.trim())),
        None => (s, None),
    };
    if let Ok(n) = f.parse::<u8>() {
        if n == 0 {
            return Err(KeywordError::NotAModbusFunction { code: n });
        }
        let subfunction = match sub {
            Some(sub) => {
                let n = sub
                    .strip_prefix("subfunction")
                    .map(str::trim)
                    .ok_or_else(|| KeywordError::Expected {
                        name: None,
                        value: sub.into(),
                        expected: "`subfunction N`",
                    })?;
                Some(
                    n.parse::<u16>()
                        .map_err(|_| KeywordError::invalid(Some("subfunction"), n, "a number"))?,
                )
            }
            None => None,
        };
        return Ok(ModbusMatch {
            function: Some(n),
            subfunction,
            ..ModbusMatch::default()
        });
    }
    if sub.is_some() {
        return Err(Conflict::SubfunctionWithoutFunction.into());
    }
    let (neg, word) = match f.strip_prefix('!') {
        Some(w) => (true, w.trim()),
        None => (false, f),
    };
    let c = match word {
        "assigned" => Category::PUBLIC_ASSIGNED,
        "unassigned" => Category::PUBLIC_UNASSIGNED,
        "public" => Category::PUBLIC_ASSIGNED | Category::PUBLIC_UNASSIGNED,
        "user" => Category::USER_DEFINED,
        "reserved" => Category::RESERVED,
        "all" => {
            Category::PUBLIC_ASSIGNED
                | Category::PUBLIC_UNASSIGNED
                | Category::USER_DEFINED
                | Category::RESERVED
        }
        _ => {
            return Err(KeywordError::Unknown {
                what: "function",
                value: f.into(),
                hint: Some("a number or a category"),
            })
        }
    };
    Ok(ModbusMatch {
        category: Some(if neg { Category(!c.0) } else { c }),
        ..ModbusMatch::default()
    })
}

fn parse_access(s: &str) -> Result<ModbusMatch, KeywordError> {
    let mut parts = s.split(',').map(str::trim);
    let kind = parts.next().unwrap_or_default();
    let mut words = kind.split_whitespace();
    let mut access = match words.next() {
        Some("read") => AccessType::READ,
        Some("write") => AccessType::WRITE,
        other => {
            return Err(KeywordError::Expected {
                name: Some("access"),
                value: other.unwrap_or("").into(),
                expected: "read or write",
            })
        }
    };
    let write = access == AccessType::WRITE;
    match words.next() {
        None => {}
        Some("coils") => access |= AccessType::COILS,
        Some("holding") => access |= AccessType::HOLDING,
        Some("discretes") if !write => access |= AccessType::DISCRETES,
        Some("input") if !write => access |= AccessType::INPUT,
        Some("discretes") => return Err(Conflict::ReadOnly { table: "discretes" }.into()),
        Some("input") => return Err(Conflict::ReadOnly { table: "input" }.into()),
        Some(t) => return Err(KeywordError::unknown("table", t)),
    }
    if let Some(extra) = words.next() {
        return Err(KeywordError::Unexpected {
            value: extra.into(),
        });
    }
    let mut m = ModbusMatch {
        access: Some(access),
        ..ModbusMatch::default()
    };
    for part in parts {
        let (k, v) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
        match k {
            "address" if m.address.is_none() => m.address = Some(Range::parse(v)?),
            "value" if m.address.is_some() && m.value.is_none() => {
                let a = m.address.unwrap_or(Range { start: 0, end: 0 });
                if a.start != a.end {
                    return Err(Conflict::ValueWithRange.into());
                }
                if !write {
                    return Err(Conflict::ValueWithRead.into());
                }
                m.value = Some(Range::parse(v)?);
            }
            _ => return Err(KeywordError::Unexpected { value: part.into() }),
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::modbus::frame;
    use decoders::Direction;

    fn req(adu: &[u8]) -> Message<'_> {
        Message::decode(&frame(adu).unwrap(), Direction::ToServer)
    }

    #[test]
    fn parses_suricata_forms() {
        let m = ModbusMatch::parse("function 8, subfunction 4").unwrap();
        assert_eq!((m.function, m.subfunction), (Some(8), Some(4)));
        let m = ModbusMatch::parse("unit >9, access read coils, address 0<>2").unwrap();
        assert_eq!(
            m.unit,
            Some(Range {
                start: 9,
                end: 65535
            })
        );
        assert_eq!(m.access, Some(AccessType::READ | AccessType::COILS));
        assert!(ModbusMatch::parse("access write holding, address 100, value <1000").is_ok());
        assert!(ModbusMatch::parse("access write discretes").is_err());
        assert!(ModbusMatch::parse("access read, address 1<>5, value 3").is_err());
        assert!(ModbusMatch::parse("function 0").is_err());
        assert!(ModbusMatch::parse("function sometimes").is_err());
        assert!(ModbusMatch::parse("colour red").is_err());
        assert!(ModbusMatch::parse("unit 1, unit 2").is_err());
    }

    #[test]
    fn matches_requests() {
        // Unit 1, FC16 write of 2 registers at 100: 0x0102, 0xfde8 (65000).
        let adu = [
            0, 1, 0, 0, 0, 11, 1, 16, 0, 100, 0, 2, 4, 0x01, 0x02, 0xfd, 0xe8,
        ];
        let m = req(&adu);
        let t = |s: &str| ModbusMatch::parse(s).unwrap().matches(Some(&m));
        assert!(t("function 16"));
        assert!(!t("function 6"));
        assert!(t("function assigned"));
        assert!(!t("function !assigned"));
        assert!(t("access write"));
        assert!(t("access write holding"));
        assert!(!t("access write coils"));
        assert!(!t("access read"));
        assert!(t("access write holding, address 101"));
        assert!(t("access write, address >100"));
        assert!(!t("access write, address >101"));
        assert!(t("access write holding, address 101, value >60000"));
        assert!(!t("access write holding, address 100, value >60000"));
        assert!(t("unit 1"));
        assert!(!t("unit 0"));
        assert!(t("unit <2, function 16"));
        assert!(!ModbusMatch::parse("function 16").unwrap().matches(None));
        // FC8 sub-function 1, restart communications.
        let adu = [0, 2, 0, 0, 0, 6, 1, 8, 0, 1, 0, 0];
        let m = req(&adu);
        assert!(ModbusMatch::parse("function 8, subfunction 1")
            .unwrap()
            .matches(Some(&m)));
        assert!(!ModbusMatch::parse("function 8, subfunction 4")
            .unwrap()
            .matches(Some(&m)));
    }
}
