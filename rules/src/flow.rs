//! `flow` (direction and state of the packet's flow), `flowbits` (flags one rule sets on a
//! flow and another tests) and the per-flow state that holds them with [`crate::flowint`]'s
//! integers.

use decoders::Direction;

use crate::{Conflict, KeywordError};

/// `flow:` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowOpts {
    pub direction: Option<Direction>,
    /// `Some(true)`: established only; `Some(false)`: not established only.
    pub established: Option<bool>,
    /// `only_stream`: inspect the reassembled stream, not packets.
    pub only_stream: bool,
}

impl FlowOpts {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let mut f = FlowOpts::default();
        for word in value.split(',').map(str::trim) {
            let set_dir = |f: &mut FlowOpts, d: Direction| match f.direction {
                Some(old) if old != d => Err(Conflict::BothDirections),
                _ => {
                    f.direction = Some(d);
                    Ok(())
                }
            };
            match word {
                "to_server" | "from_client" => set_dir(&mut f, Direction::ToServer)?,
                "to_client" | "from_server" => set_dir(&mut f, Direction::ToClient)?,
                "established" => f.established = Some(true),
                "not_established" => f.established = Some(false),
                // Every packet is inspected whatever state its flow is in.
                "stateless" => {}
                "only_stream" => f.only_stream = true,
                // Packets are what is inspected unless `only_stream` says otherwise; the sensor
                // reassembles IP fragments before inspection, so both match.
                "no_stream" | "only_frag" | "no_frag" => {}
                other => return Err(KeywordError::unknown("flow option", other)),
            }
        }
        Ok(f)
    }

    pub fn matches(&self, dir: Direction, established: bool) -> bool {
        self.direction.is_none_or(|d| d == dir) && self.established.is_none_or(|e| e == established)
    }
}

/// What a `flowbits` option does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowbitOp {
    Set(Vec<u16>),
    Unset(Vec<u16>),
    Toggle(Vec<u16>),
    /// True when any (`a|b`) or all (`a&b`) of the bits are set.
    IsSet {
        bits: Vec<u16>,
        all: bool,
    },
    IsNotSet {
        bits: Vec<u16>,
        all: bool,
    },
    NoAlert,
}

/// Flow variable names (flowbits and flowints) to numbers, shared by every rule of a ruleset.
#[derive(Debug, Default, Clone)]
pub struct FlowbitNames(Vec<String>);

impl FlowbitNames {
    pub(crate) fn id(&mut self, name: &str) -> Result<u16, KeywordError> {
        if let Some(i) = self.0.iter().position(|n| n == name) {
            return Ok(i as u16);
        }
        if self.0.len() >= usize::from(u16::MAX) {
            return Err(KeywordError::TooManyFlowbits);
        }
        self.0.push(name.to_owned());
        Ok((self.0.len() - 1) as u16)
    }

    pub fn name(&self, id: u16) -> &str {
        self.0.get(usize::from(id)).map_or("", String::as_str)
    }

    /// Parse `flowbits:CMD[,NAMES]`.
    pub fn parse(&mut self, value: &str) -> Result<FlowbitOp, KeywordError> {
        let (cmd, names) = match value.split_once(',') {
            Some((c, n)) => (c.trim(), Some(n.trim())),
            None => (value.trim(), None),
        };
        if cmd == "noalert" {
            return Ok(FlowbitOp::NoAlert);
        }
        let names = names
            .filter(|n| !n.is_empty())
            .ok_or_else(|| KeywordError::Missing {
                keyword: format!("flowbits:{cmd}"),
                what: "a name",
            })?;
        let all = names.contains('&');
        if all && names.contains('|') {
            return Err(Conflict::FlowbitsAndOr.into());
        }
        let bits = names
            .split(['|', '&'])
            .map(|n| self.id(n.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match cmd {
            "set" => FlowbitOp::Set(bits),
            "unset" => FlowbitOp::Unset(bits),
            "toggle" => FlowbitOp::Toggle(bits),
            "isset" => FlowbitOp::IsSet { bits, all },
            "isnotset" => FlowbitOp::IsNotSet { bits, all },
            _ => return Err(KeywordError::unknown("flowbits command", cmd)),
        })
    }
}

/// What rules keep on one flow: the flowbits set (a short sorted list, allocated only once a
/// rule sets a bit) and the flowints.
#[derive(Debug, Default, Clone)]
pub struct FlowVars {
    bits: Vec<u16>,
    pub ints: crate::flowint::FlowInts,
}

/// Bits one flow may hold; a rule set that tries to set more is ignored past this.
pub const MAX_FLOWBITS: usize = 256;

impl FlowVars {
    pub fn is_set(&self, bit: u16) -> bool {
        self.bits.binary_search(&bit).is_ok()
    }

    pub fn set(&mut self, bit: u16) {
        if let Err(i) = self.bits.binary_search(&bit) {
            if self.bits.len() < MAX_FLOWBITS {
                self.bits.insert(i, bit);
            }
        }
    }

    pub fn unset(&mut self, bit: u16) {
        if let Ok(i) = self.bits.binary_search(&bit) {
            self.bits.remove(i);
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 2 + self.ints.heap_bytes()
    }

    /// Whether the tests of `ops` hold.
    pub fn check(&self, ops: &[FlowbitOp]) -> bool {
        ops.iter().all(|op| match op {
            FlowbitOp::IsSet { bits, all: true } => bits.iter().all(|b| self.is_set(*b)),
            FlowbitOp::IsSet { bits, all: false } => bits.iter().any(|b| self.is_set(*b)),
            FlowbitOp::IsNotSet { bits, all: true } => !bits.iter().all(|b| self.is_set(*b)),
            FlowbitOp::IsNotSet { bits, all: false } => !bits.iter().any(|b| self.is_set(*b)),
            _ => true,
        })
    }

    /// Carry out the changes of a rule that matched.
    pub fn apply(&mut self, ops: &[FlowbitOp]) {
        for op in ops {
            match op {
                FlowbitOp::Set(bits) => bits.iter().for_each(|b| self.set(*b)),
                FlowbitOp::Unset(bits) => bits.iter().for_each(|b| self.unset(*b)),
                FlowbitOp::Toggle(bits) => {
                    for b in bits {
                        if self.is_set(*b) {
                            self.unset(*b)
                        } else {
                            self.set(*b)
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_options() {
        let f = FlowOpts::parse("established, to_server").unwrap();
        assert!(f.matches(Direction::ToServer, true));
        assert!(!f.matches(Direction::ToClient, true));
        assert!(!f.matches(Direction::ToServer, false));
        assert!(FlowOpts::parse("to_server,to_client").is_err());
        assert!(FlowOpts::parse("sideways").is_err());
        assert!(FlowOpts::parse("only_stream").unwrap().only_stream);
    }

    #[test]
    fn flowbits_set_and_test() {
        let mut names = FlowbitNames::default();
        let set = names.parse("set,login").unwrap();
        let test = names.parse("isset,login|admin").unwrap();
        let both = names.parse("isset,login&admin").unwrap();
        let not = names.parse("isnotset,login").unwrap();
        let mut bits = FlowVars::default();
        assert!(!bits.check(std::slice::from_ref(&test)));
        assert!(bits.check(std::slice::from_ref(&not)));
        bits.apply(&[set]);
        assert!(bits.check(std::slice::from_ref(&test)));
        assert!(!bits.check(&[both]));
        assert!(!bits.check(&[not]));
        assert_eq!(names.parse("noalert").unwrap(), FlowbitOp::NoAlert);
        assert!(names.parse("isset").is_err());
        assert!(names.parse("flip,x").is_err());
        assert!(names.parse("isset,a|b&c").is_err());
    }
}
