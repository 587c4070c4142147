//! What a bulletin's rules may do. A bulletin comes down from a tier above and its rules run
//! beside the sensor's own, so they are held to two promises, checked where a bulletin is
//! issued and again where a sensor loads it:
//!
//! - they only add alerts: no `pass` rule, no `flowbits:noalert`, and no flowbit written
//!   outside the bulletins' own namespace ([`FLOWBIT_PREFIX`]), since setting or clearing a bit
//!   the sensor's rules test (`isset`/`isnotset`) could silence them; likewise no dataset
//!   changed (`set`, `unset`) and no `xbits` written outside that namespace;
//! - they touch nothing on the sensor's disk: a dataset of theirs names no file (`load`,
//!   `state`, `save`);
//! - their cost is capped ([`MAX_TEXT`], [`MAX_RULES`], [`MAX_PCRE`]), counted on the text
//!   before anything is compiled, so one bulletin cannot stall a load or exhaust memory.

use crate::flow::{FlowbitNames, FlowbitOp};
use crate::header::Action;
use crate::signature::Signature;
use crate::text::{split_rules, RawRule};

/// The most text one bulletin's rules may be.
pub const MAX_TEXT: usize = 256 * 1024;
/// The most rules one bulletin may carry (its signatures and the rules its indicators make).
pub const MAX_RULES: usize = 2_000;
/// The most `pcre` options in one bulletin: each regex costs milliseconds and up to megabytes
/// to compile, far more than a content.
pub const MAX_PCRE: usize = 64;
/// The only flowbits a bulletin's rules may set, unset or toggle.
pub const FLOWBIT_PREFIX: &str = "bulletin.";

/// Check a bulletin's rules text against the caps, before it is parsed or compiled.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT {
        return Err(format!(
            "{} bytes of rules: a bulletin holds at most {} KiB",
            text.len(),
            MAX_TEXT / 1024
        ));
    }
    let rules = split_rules(text);
    if rules.len() > MAX_RULES {
        return Err(format!(
            "{} rules: a bulletin holds at most {MAX_RULES}",
            rules.len()
        ));
    }
    // Rules that do not cut into options are refused later, with their line.
    let pcre = rules
        .iter()
        .filter_map(|r| RawRule::parse(r).ok())
        .map(|r| r.options.iter().filter(|o| o.name == "pcre").count())
        .sum::<usize>();
    if pcre > MAX_PCRE {
        return Err(format!(
            "{pcre} pcre options: a bulletin holds at most {MAX_PCRE}"
        ));
    }
    Ok(())
}

/// Check one parsed rule of a bulletin: the error says what it could suppress.
pub fn check_rule(sig: &Signature, bits: &FlowbitNames) -> Result<(), String> {
    if sig.header.action == Action::Pass {
        return Err("a bulletin's rules may not be pass rules: they would silence others".into());
    }
    if sig.lua.is_some() {
        return Err("a bulletin's rules may not run lua scripts".into());
    }
    if let Some(x) = sig
        .xbits
        .iter()
        .find(|x| !x.tests() && !x.name.starts_with(FLOWBIT_PREFIX))
    {
        return Err(format!(
            "xbits: a bulletin may only write bits named {FLOWBIT_PREFIX}*, not {:?}",
            x.name
        ));
    }
    for i in &sig.inspections {
        for op in &i.ops {
            let crate::payload::Op::Dataset(u) = op else {
                continue;
            };
            // A bulletin names no file on the sensor, to read or to write.
            if u.load.is_some() || u.state.is_some() || u.save.is_some() {
                return Err(format!(
                    "dataset {}: a bulletin's rules may not name files (load, state, save)",
                    u.name
                ));
            }
            let writes = matches!(
                u.test,
                crate::dataset::Test::Dataset(
                    crate::dataset::Command::Set | crate::dataset::Command::Unset
                )
            );
            if writes && !u.name.starts_with(FLOWBIT_PREFIX) {
                return Err(format!(
                    "dataset: a bulletin may only change sets named {FLOWBIT_PREFIX}*, not {:?}",
                    u.name
                ));
            }
        }
    }
    for op in &sig.flowbits {
        let written = match op {
            FlowbitOp::NoAlert => {
                return Err("a bulletin's rules must alert: flowbits:noalert is not allowed".into())
            }
            FlowbitOp::Set(b) | FlowbitOp::Unset(b) | FlowbitOp::Toggle(b) => b,
            FlowbitOp::IsSet { .. } | FlowbitOp::IsNotSet { .. } => continue,
        };
        if let Some(name) = written
            .iter()
            .map(|&b| bits.name(b))
            .find(|n| !n.starts_with(FLOWBIT_PREFIX))
        {
            return Err(format!(
                "flowbits: a bulletin may only write bits named {FLOWBIT_PREFIX}*, not {name:?}"
            ));
        }
    }
    if let Some(op) = sig
        .flowint
        .iter()
        .find(|op| op.writes() && !bits.name(op.var).starts_with(FLOWBIT_PREFIX))
    {
        return Err(format!(
            "flowint: a bulletin may only change variables named {FLOWBIT_PREFIX}*, not {:?}",
            bits.name(op.var)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_rules_with, Vars};

    fn check(rule: &str) -> Result<(), String> {
        let mut bits = FlowbitNames::default();
        let (sigs, errors) = parse_rules_with(rule, &Vars::suricata_defaults(), &mut bits);
        assert!(errors.is_empty(), "{errors:?}");
        check_rule(&sigs[0], &bits)
    }

    #[test]
    fn a_bulletin_rule_names_no_file_and_changes_only_its_own_sets() {
        let e = check(r#"alert tls any any -> any any (msg:"x"; tls.sni; dataset:isset,bad,type string,load /etc/shadow; sid:1;)"#).unwrap_err();
        assert!(e.contains("may not name files"), "{e}");
        let e = check(r#"alert tls any any -> any any (msg:"x"; tls.sni; dataset:set,x,type string,save /etc/cron.d/x; sid:1;)"#).unwrap_err();
        assert!(e.contains("may not name files"), "{e}");
        let e = check(r#"alert tls any any -> any any (msg:"x"; tls.sni; dataset:unset,icsight-tls-sni,type string; sid:1;)"#).unwrap_err();
        assert!(e.contains("may only change sets named"), "{e}");
        check(&format!(
            r#"alert tls any any -> any any (msg:"x"; tls.sni; dataset:set,{FLOWBIT_PREFIX}seen,type string; sid:1;)"#
        ))
        .unwrap();
        check(r#"alert tls any any -> any any (msg:"x"; tls.sni; dataset:isset,icsight-tls-sni,type string; sid:1;)"#).unwrap();
        let e = check(
            r#"alert tcp any any -> any any (msg:"x"; xbits:unset,probed,track ip_dst; sid:1;)"#,
        )
        .unwrap_err();
        assert!(e.contains("xbits"), "{e}");
        check(r#"alert tcp any any -> any any (msg:"x"; xbits:isset,probed,track ip_dst; sid:1;)"#)
            .unwrap();
    }

    #[test]
    fn a_bulletin_rule_may_only_add_alerts() {
        check(r#"alert tcp any any -> any 102 (msg:"x"; content:"|32 01|"; sid:1;)"#).unwrap();
        check(r#"drop tcp any any -> any 102 (msg:"x"; sid:1;)"#).unwrap();
        check(r#"alert tcp any any -> any any (msg:"x"; flowbits:set,bulletin.a; flowbits:isset,own; sid:1;)"#)
            .unwrap();
        let e = check(r#"pass tcp any any -> any 102 (msg:"x"; sid:1;)"#).unwrap_err();
        assert!(e.contains("pass"), "{e}");
        let e = check(r#"alert tcp any any -> any any (msg:"x"; flowbits:noalert; sid:1;)"#)
            .unwrap_err();
        assert!(e.contains("noalert"), "{e}");
        for op in ["set", "unset", "toggle"] {
            let e = check(&format!(
                r#"alert tcp any any -> any any (msg:"x"; flowbits:{op},s7.session; sid:1;)"#
            ))
            .unwrap_err();
            assert!(e.contains("\"s7.session\""), "{e}");
        }
        let e =
            check(r#"alert tcp any any -> any any (msg:"x"; lua:rule.lua; sid:1;)"#).unwrap_err();
        assert!(e.contains("lua"), "{e}");
        let e = check(r#"alert tcp any any -> any any (msg:"x"; flowint:writes,+,1; sid:1;)"#)
            .unwrap_err();
        assert!(e.contains("flowint") && e.contains("\"writes\""), "{e}");
        check(&format!(
            r#"alert tcp any any -> any any (msg:"x"; flowint:{FLOWBIT_PREFIX}n,+,1; flowint:writes,>,3; sid:1;)"#
        ))
        .unwrap();
    }

    #[test]
    fn a_bulletin_is_capped_before_it_is_compiled() {
        let rule = |i: usize, opt: &str| {
            format!("alert tcp any any -> any any (msg:\"x\"; {opt} sid:{i};)\n")
        };
        let many: String = (0..=MAX_RULES).map(|i| rule(i, "")).collect();
        assert!(check_text(&many).unwrap_err().contains("rules"));
        let pcre: String = (0..=MAX_PCRE)
            .map(|i| rule(i, r#"pcre:"/a+b/";"#))
            .collect();
        assert!(check_text(&pcre).unwrap_err().contains("pcre"));
        let fine: String = (0..MAX_PCRE).map(|i| rule(i, r#"pcre:"/a+b/";"#)).collect();
        check_text(&fine).unwrap();
        assert!(check_text(&"#".repeat(MAX_TEXT + 1))
            .unwrap_err()
            .contains("KiB"));
    }
}
