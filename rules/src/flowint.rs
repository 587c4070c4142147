//! `flowint`: integers one rule keeps on a flow and another tests, such as a count of a
//! flow's HTTP anomalies.
//!
//! Suricata's semantics: the options of a rule run in order once the rest of the rule has
//! matched; `=`, `+` and `-` always succeed (`+` on an unset variable sets it, as if it had
//! been 0), a comparison or `isset`/`notset` fails the rule, and an operand that names an unset
//! variable fails the option. Values are unsigned 32-bit and wrap, as Suricata's do.

use crate::flow::FlowbitNames;
use crate::KeywordError;

/// A `flowint` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowintOp {
    /// The variable, numbered in the ruleset's names.
    pub var: u16,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Set(Operand),
    Add(Operand),
    Sub(Operand),
    Compare(Cmp, Operand),
    IsSet,
    NotSet,
}

/// A value, or another flow variable's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Value(u32),
    Var(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl FlowintOp {
    /// Parse `flowint:NAME,OP[,VALUE]`, numbering names in `names`.
    pub fn parse(value: &str, names: &mut FlowbitNames) -> Result<Self, KeywordError> {
        let mut parts = value.split(',').map(str::trim);
        let name = parts.next().filter(|n| !n.is_empty());
        let op = parts.next().filter(|o| !o.is_empty());
        let (Some(name), Some(op)) = (name, op) else {
            return Err(KeywordError::Form {
                keyword: "flowint",
                form: "NAME,OP[,VALUE]",
            });
        };
        let operand = parts.next();
        if parts.next().is_some() {
            return Err(KeywordError::Form {
                keyword: "flowint",
                form: "NAME,OP[,VALUE]",
            });
        }
        let var = names.id(name)?;
        let mut value = || -> Result<Operand, KeywordError> {
            let v = operand
                .filter(|v| !v.is_empty())
                .ok_or(KeywordError::Missing {
                    keyword: format!("flowint:{name},{op}"),
                    what: "a value or a variable",
                })?;
            if v.starts_with(|c: char| c.is_ascii_digit()) {
                v.parse()
                    .map(Operand::Value)
                    .map_err(|_| KeywordError::invalid(Some("flowint"), v, "a 32-bit number"))
            } else {
                Ok(Operand::Var(names.id(v)?))
            }
        };
        let kind = match op {
            "=" => Kind::Set(value()?),
            "+" => Kind::Add(value()?),
            "-" => Kind::Sub(value()?),
            "<" => Kind::Compare(Cmp::Lt, value()?),
            "<=" => Kind::Compare(Cmp::Le, value()?),
            "==" => Kind::Compare(Cmp::Eq, value()?),
            "!=" => Kind::Compare(Cmp::Ne, value()?),
            ">=" => Kind::Compare(Cmp::Ge, value()?),
            ">" => Kind::Compare(Cmp::Gt, value()?),
            "isset" | "notset" | "isnotset" => {
                if operand.is_some() {
                    return Err(KeywordError::Form {
                        keyword: "flowint",
                        form: "NAME,isset or NAME,notset",
                    });
                }
                if op == "isset" {
                    Kind::IsSet
                } else {
                    Kind::NotSet
                }
            }
            other => return Err(KeywordError::unknown("flowint operator", other)),
        };
        Ok(FlowintOp { var, kind })
    }

    /// Whether the option changes its variable (what a bulletin's rules are held to).
    pub fn writes(&self) -> bool {
        matches!(self.kind, Kind::Set(_) | Kind::Add(_) | Kind::Sub(_))
    }
}

/// Variables one flow may hold; options that would create more are ignored past this.
pub const MAX_FLOWINTS: usize = 64;

/// The integers of one flow: a short sorted list, allocated only once a rule sets one.
#[derive(Debug, Default, Clone)]
pub struct FlowInts(Vec<(u16, u32)>);

impl FlowInts {
    pub fn get(&self, var: u16) -> Option<u32> {
        let i = self.0.binary_search_by_key(&var, |e| e.0).ok()?;
        Some(self.0[i].1)
    }

    fn put(&mut self, var: u16, value: u32) {
        match self.0.binary_search_by_key(&var, |e| e.0) {
            Ok(i) => self.0[i].1 = value,
            Err(i) if self.0.len() < MAX_FLOWINTS => self.0.insert(i, (var, value)),
            Err(_) => {}
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(u16, u32)>()
    }

    /// Run a matched rule's options in order: whether they all hold. Changes made before an
    /// option that fails stay, as in Suricata.
    pub fn run(&mut self, ops: &[FlowintOp]) -> bool {
        ops.iter().all(|op| self.run_one(op))
    }

    fn run_one(&mut self, op: &FlowintOp) -> bool {
        let operand = |ints: &Self, o: Operand| match o {
            Operand::Value(v) => Some(v),
            Operand::Var(v) => ints.get(v),
        };
        let current = self.get(op.var);
        match op.kind {
            Kind::IsSet => current.is_some(),
            Kind::NotSet => current.is_none(),
            Kind::Set(o) => operand(self, o).map(|v| self.put(op.var, v)).is_some(),
            Kind::Add(o) => operand(self, o)
                .map(|v| self.put(op.var, current.unwrap_or(0).wrapping_add(v)))
                .is_some(),
            // Suricata subtracts only from a variable that is set.
            Kind::Sub(o) => match (current, operand(self, o)) {
                (Some(c), Some(v)) => {
                    self.put(op.var, c.wrapping_sub(v));
                    true
                }
                _ => false,
            },
            Kind::Compare(cmp, o) => match (current, operand(self, o)) {
                (Some(c), Some(v)) => match cmp {
                    Cmp::Lt => c < v,
                    Cmp::Le => c <= v,
                    Cmp::Eq => c == v,
                    Cmp::Ne => c != v,
                    Cmp::Ge => c >= v,
                    Cmp::Gt => c > v,
                },
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(names: &mut FlowbitNames, list: &[&str]) -> Vec<FlowintOp> {
        list.iter()
            .map(|s| FlowintOp::parse(s, names).unwrap())
            .collect()
    }

    #[test]
    fn counts_and_compares_as_suricata() {
        let mut names = FlowbitNames::default();
        let count = ops(&mut names, &["anomalies,+,1"]);
        let over2 = ops(&mut names, &["anomalies,>,2"]);
        let mut ints = FlowInts::default();
        assert!(!ints.run(&over2), "unset compares false");
        for _ in 0..3 {
            assert!(ints.run(&count), "+ on unset starts from 0");
        }
        assert_eq!(ints.get(names.id("anomalies").unwrap()), Some(3));
        assert!(ints.run(&over2));
        // Count, then test the new value in the same rule.
        let mut fresh = FlowInts::default();
        let both = ops(&mut names, &["n,+,1", "n,==,1", "n,isset"]);
        assert!(fresh.run(&both));
        assert!(!fresh.run(&both), "the second run makes 2");
        // Another variable as operand; subtraction only from a set variable.
        let with_var = ops(&mut names, &["limit,=,2", "n,>=,limit", "x,-,1"]);
        assert!(!fresh.run(&with_var), "x is unset, so `-` fails");
        assert_eq!(fresh.get(names.id("limit").unwrap()), Some(2));
        assert!(fresh.run(&ops(&mut names, &["x,=,0", "x,-,1", "x,==,4294967295"])));
        assert!(fresh.run(&ops(&mut names, &["never,notset"])));
        assert!(!fresh.run(&ops(&mut names, &["n,<,unset_var"])));
    }

    #[test]
    fn refuses_what_suricata_refuses() {
        let mut names = FlowbitNames::default();
        for bad in [
            "",
            "x",
            "x,+",
            "x,*,2",
            "x,isset,3",
            "x,=,99999999999",
            "x,=,1,2",
        ] {
            assert!(FlowintOp::parse(bad, &mut names).is_err(), "{bad:?}");
        }
        assert!(FlowintOp::parse("x,isnotset", &mut names).is_ok());
    }

    #[test]
    fn the_table_is_capped() {
        let mut names = FlowbitNames::default();
        let mut ints = FlowInts::default();
        for i in 0..MAX_FLOWINTS + 10 {
            let op = FlowintOp::parse(&format!("v{i},=,1"), &mut names).unwrap();
            ints.run(&[op]);
        }
        assert_eq!(ints.0.len(), MAX_FLOWINTS);
    }
}
