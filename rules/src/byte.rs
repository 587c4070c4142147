//! `byte_test`, `byte_jump` and `byte_extract`: numbers read out of the payload.
//!
//! Each reads `nbytes` at an offset (from the buffer start, or with `relative` from the end of
//! the previous match), as big- or little-endian binary or as `string` digits in `dec`, `hex` or
//! `oct`. `byte_extract` stores the value under a name that later `byte_test`/`byte_jump` values
//! and offsets may use; a rule holds at most [`MAX_VARS`] of them.

use crate::{Conflict, KeywordError};

/// byte_extract variables a rule may define.
pub const MAX_VARS: usize = 8;

/// A number written in the rule, or a `byte_extract` variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Lit(i64),
    Var(usize),
}

impl Value {
    fn parse(s: &str, vars: &[String]) -> Result<Self, KeywordError> {
        let s = s.trim();
        if let Some(i) = vars.iter().position(|v| v == s) {
            return Ok(Value::Var(i));
        }
        let (neg, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s),
        };
        let n = crate::num::parse_number(digits)
            .map_err(|_| KeywordError::NotANumberOrVariable { value: s.into() })?;
        let n = i64::try_from(n).map_err(|_| KeywordError::TooLarge { value: s.into() })?;
        Ok(Value::Lit(if neg { -n } else { n }))
    }

    pub fn get(self, vars: &[u64; MAX_VARS]) -> i64 {
        match self {
            Value::Lit(n) => n,
            Value::Var(i) => vars[i] as i64,
        }
    }
}

/// How the bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Read {
    pub nbytes: usize,
    pub offset: Value,
    pub relative: bool,
    pub little: bool,
    /// `string` with its base; `None` for binary.
    pub string_base: Option<u32>,
    pub bitmask: Option<u64>,
}

impl Default for Value {
    fn default() -> Self {
        Value::Lit(0)
    }
}

impl Read {
    /// Apply a shared flag; `false` if `word` is not one.
    fn flag(&mut self, word: &str) -> Result<bool, KeywordError> {
        match word {
            "relative" => self.relative = true,
            "big" => self.little = false,
            "little" => self.little = true,
            "string" => self.string_base = Some(self.string_base.unwrap_or(10)),
            "dec" => self.string_base = Some(10),
            "hex" => self.string_base = Some(16),
            "oct" => self.string_base = Some(8),
            "dce" => return Err(KeywordError::Dce),
            _ => {
                if let Some(m) = word.strip_prefix("bitmask") {
                    let m = m.trim();
                    self.bitmask = Some(
                        crate::num::parse_number(m)
                            .map_err(|_| KeywordError::invalid(Some("bitmask"), m, "a number"))?,
                    );
                } else {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn check(&self) -> Result<(), KeywordError> {
        let max = if self.string_base.is_some() { 23 } else { 8 };
        if self.nbytes == 0 || self.nbytes > max {
            return Err(KeywordError::ByteCount {
                nbytes: self.nbytes,
                max,
            });
        }
        Ok(())
    }

    /// The value at the read position, and the position after it.
    pub fn read(&self, buf: &[u8], cursor: usize, vars: &[u64; MAX_VARS]) -> Option<(u64, usize)> {
        let base = if self.relative { cursor as i64 } else { 0 };
        let at = usize::try_from(base + self.offset.get(vars)).ok()?;
        let bytes = buf.get(at..at.checked_add(self.nbytes)?)?;
        let mut v = match self.string_base {
            Some(radix) => {
                let s = std::str::from_utf8(bytes).ok()?;
                u64::from_str_radix(s.trim(), radix).ok()?
            }
            None => bytes.iter().enumerate().fold(0u64, |acc, (i, &b)| {
                if self.little {
                    acc | u64::from(b) << (8 * i)
                } else {
                    acc << 8 | u64::from(b)
                }
            }),
        };
        if let Some(mask) = self.bitmask {
            v &= mask;
            if mask != 0 {
                v >>= mask.trailing_zeros();
            }
        }
        Some((v, at + self.nbytes))
    }
}

/// The operator of a `byte_test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Gt,
    Eq,
    Le,
    Ge,
    And,
    Xor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteTest {
    pub read: Read,
    pub op: Op,
    pub negated: bool,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteJump {
    pub read: Read,
    pub multiplier: u64,
    pub align: bool,
    pub from_beginning: bool,
    pub from_end: bool,
    pub post_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteExtract {
    pub read: Read,
    pub multiplier: u64,
    pub align: u64,
    /// Index of the variable it sets.
    pub var: usize,
}

fn fields(value: &str) -> Vec<&str> {
    value.split(',').map(str::trim).collect()
}

fn nbytes(s: &str) -> Result<usize, KeywordError> {
    s.parse()
        .map_err(|_| KeywordError::invalid(None, s, "a byte count"))
}

/// The number after a flag's name (`multiplier 2`).
fn setting(name: &'static str, value: &str) -> Result<u64, KeywordError> {
    crate::num::parse_number(value).map_err(|e| e.inside(name))
}

impl ByteTest {
    /// `nbytes, [!]op, value, offset [, flags]`
    pub fn parse(value: &str, vars: &[String]) -> Result<Self, KeywordError> {
        let f = fields(value);
        let [n, op, val, off, rest @ ..] = f.as_slice() else {
            return Err(KeywordError::Form {
                keyword: "byte_test",
                form: "nbytes, operator, value, offset[, flags]",
            });
        };
        let (negated, op) = match op.strip_prefix('!') {
            Some(o) => (true, o.trim()),
            None => (false, *op),
        };
        let op = match op {
            "<" => Op::Lt,
            ">" => Op::Gt,
            "=" => Op::Eq,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "&" => Op::And,
            "^" => Op::Xor,
            "" => Op::Eq,
            o => return Err(KeywordError::unknown("byte_test operator", o)),
        };
        let mut read = Read {
            nbytes: nbytes(n)?,
            offset: Value::parse(off, vars)?,
            ..Read::default()
        };
        for w in rest {
            if !read.flag(w)? {
                return Err(KeywordError::unknown("byte_test flag", *w));
            }
        }
        read.check()?;
        Ok(ByteTest {
            read,
            op,
            negated,
            value: Value::parse(val, vars)?,
        })
    }

    pub fn matches(&self, buf: &[u8], cursor: usize, vars: &[u64; MAX_VARS]) -> bool {
        let Some((v, _)) = self.read.read(buf, cursor, vars) else {
            return false;
        };
        let t = self.value.get(vars) as u64;
        let r = match self.op {
            Op::Lt => v < t,
            Op::Gt => v > t,
            Op::Eq => v == t,
            Op::Le => v <= t,
            Op::Ge => v >= t,
            Op::And => v & t != 0,
            Op::Xor => v ^ t != 0,
        };
        r != self.negated
    }
}

impl ByteJump {
    /// `nbytes, offset [, flags]`
    pub fn parse(value: &str, vars: &[String]) -> Result<Self, KeywordError> {
        let f = fields(value);
        let [n, off, rest @ ..] = f.as_slice() else {
            return Err(KeywordError::Form {
                keyword: "byte_jump",
                form: "nbytes, offset[, flags]",
            });
        };
        let mut j = ByteJump {
            read: Read {
                nbytes: nbytes(n)?,
                offset: Value::parse(off, vars)?,
                ..Read::default()
            },
            multiplier: 1,
            align: false,
            from_beginning: false,
            from_end: false,
            post_offset: 0,
        };
        for w in rest {
            if j.read.flag(w)? {
                continue;
            }
            let (k, v) = w.split_once(char::is_whitespace).unwrap_or((w, ""));
            match k {
                "align" => j.align = true,
                "from_beginning" => j.from_beginning = true,
                "from_end" => j.from_end = true,
                "multiplier" => j.multiplier = setting("multiplier", v)?,
                "post_offset" => {
                    let (neg, d) = match v.trim().strip_prefix('-') {
                        Some(d) => (true, d),
                        None => (false, v.trim()),
                    };
                    let n = crate::num::parse_number(d)? as i64;
                    j.post_offset = if neg { -n } else { n };
                }
                _ => return Err(KeywordError::unknown("byte_jump flag", *w)),
            }
        }
        j.read.check()?;
        Ok(j)
    }

    /// The new cursor, if the jump lands inside the buffer (or just at its end).
    pub fn jump(&self, buf: &[u8], cursor: usize, vars: &[u64; MAX_VARS]) -> Option<usize> {
        let (v, after) = self.read.read(buf, cursor, vars)?;
        let mut dist = v.checked_mul(self.multiplier)?;
        if self.align {
            dist = dist.checked_add(3)? & !3;
        }
        let base = if self.from_beginning {
            0
        } else if self.from_end {
            buf.len() as i64
        } else {
            after as i64
        };
        let pos = base
            .checked_add(i64::try_from(dist).ok()?)?
            .checked_add(self.post_offset)?;
        let pos = usize::try_from(pos).ok()?;
        (pos <= buf.len()).then_some(pos)
    }
}

impl ByteExtract {
    /// `nbytes, offset, name [, flags]`; `vars` receives the new name.
    pub fn parse(value: &str, vars: &mut Vec<String>) -> Result<Self, KeywordError> {
        let f = fields(value);
        let [n, off, name, rest @ ..] = f.as_slice() else {
            return Err(KeywordError::Form {
                keyword: "byte_extract",
                form: "nbytes, offset, name[, flags]",
            });
        };
        let mut e = ByteExtract {
            read: Read {
                nbytes: nbytes(n)?,
                offset: Value::parse(off, vars)?,
                ..Read::default()
            },
            multiplier: 1,
            align: 0,
            var: vars.len(),
        };
        for w in rest {
            if e.read.flag(w)? {
                continue;
            }
            let (k, v) = w.split_once(char::is_whitespace).unwrap_or((w, ""));
            match k {
                "multiplier" => e.multiplier = setting("multiplier", v)?,
                "align" => e.align = setting("align", v)?,
                _ => return Err(KeywordError::unknown("byte_extract flag", *w)),
            }
        }
        e.read.check()?;
        if name.is_empty() || name.parse::<i64>().is_ok() {
            return Err(KeywordError::invalid(None, *name, "a variable name"));
        }
        if vars.iter().any(|v| v == name) {
            return Err(Conflict::VariableTwice {
                name: (*name).to_owned(),
            }
            .into());
        }
        if vars.len() >= MAX_VARS {
            return Err(KeywordError::TooManyVariables { max: MAX_VARS });
        }
        vars.push((*name).to_owned());
        Ok(e)
    }

    /// Store the value; the new cursor is after the bytes read.
    pub fn extract(&self, buf: &[u8], cursor: usize, vars: &mut [u64; MAX_VARS]) -> Option<usize> {
        let (v, after) = self.read.read(buf, cursor, vars)?;
        let mut v = v.checked_mul(self.multiplier)?;
        if self.align > 1 {
            v = v.div_ceil(self.align) * self.align;
        }
        vars[self.var] = v;
        Some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_VARS: [u64; MAX_VARS] = [0; MAX_VARS];

    #[test]
    fn byte_test_reads_and_compares() {
        let buf = [0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, b'1', b'7'];
        let t = ByteTest::parse("2,>,5,4", &[]).unwrap();
        assert!(t.matches(&buf, 0, &NO_VARS));
        let t = ByteTest::parse("1,&,0x80,7", &[]).unwrap();
        assert!(!t.matches(&buf, 0, &NO_VARS));
        let t = ByteTest::parse("1,!&,0x80,7", &[]).unwrap();
        assert!(t.matches(&buf, 0, &NO_VARS));
        let t = ByteTest::parse("2,=,0x0100,0,little", &[]).unwrap();
        assert!(t.matches(&buf, 0, &NO_VARS));
        let t = ByteTest::parse("2,=,17,8,string,dec", &[]).unwrap();
        assert!(t.matches(&buf, 0, &NO_VARS));
        let t = ByteTest::parse("1,=,8,1,relative", &[]).unwrap();
        assert!(t.matches(&buf, 6, &NO_VARS));
        let t = ByteTest::parse("2,=,1,9", &[]).unwrap();
        assert!(
            !t.matches(&buf, 0, &NO_VARS),
            "reads past the end never match"
        );
        let t = ByteTest::parse("1,=,1,0,bitmask 0xf0", &[]).unwrap();
        assert!(t.matches(&[0x1f], 0, &NO_VARS));
        assert!(ByteTest::parse("9,=,1,0", &[]).is_err());
        assert!(ByteTest::parse("1,?,1,0", &[]).is_err());
        assert!(ByteTest::parse("1,=,1", &[]).is_err());
        assert!(ByteTest::parse("1,=,1,0,dce", &[]).is_err());
    }

    #[test]
    fn byte_jump_and_extract() {
        // A length byte, then that many bytes, then a marker.
        let buf = [3, b'a', b'b', b'c', 0xff];
        let j = ByteJump::parse("1,0", &[]).unwrap();
        assert_eq!(j.jump(&buf, 0, &NO_VARS), Some(4));
        let j = ByteJump::parse("1,0,post_offset -1", &[]).unwrap();
        assert_eq!(j.jump(&buf, 0, &NO_VARS), Some(3));
        let j = ByteJump::parse("1,0,multiplier 2", &[]).unwrap();
        assert_eq!(j.jump(&buf, 0, &NO_VARS), None);
        let mut names = Vec::new();
        let e = ByteExtract::parse("1,0,len", &mut names).unwrap();
        let mut vars = NO_VARS;
        assert_eq!(e.extract(&buf, 0, &mut vars), Some(1));
        assert_eq!(vars[0], 3);
        let t = ByteTest::parse("1,=,len,0", &names).unwrap();
        assert!(t.matches(&buf, 0, &vars));
        assert!(ByteExtract::parse("1,0,len", &mut names).is_err());
    }
}
