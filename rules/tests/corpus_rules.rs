//! Every rule of the Modbus and DNP3 suricata-verify tests in the public corpus
//! (`../shared/pcaps`) cuts into header and options, and its header parses with Suricata's
//! default variables.

use std::path::{Path, PathBuf};

use rules::{split_rules, Header, RawRule, Vars};

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rule_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rules") {
            out.push(p);
        }
    }
}

#[test]
fn suricata_verify_rules_parse() {
    let shared = std::env::var_os("ICSIGHT_SHARED_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps"));
    let mut files = Vec::new();
    for proto in ["modbus", "dnp3"] {
        rule_files(&shared.join(proto).join("suricata-verify"), &mut files);
    }
    assert!(
        files.len() >= 10,
        "only {} rule files under {}",
        files.len(),
        shared.display()
    );
    let vars = Vars::suricata_defaults();
    let (mut rules, mut errors) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for r in split_rules(&text) {
            rules += 1;
            let parsed = RawRule::parse(&r).and_then(|raw| {
                Header::parse(&raw.header, raw.line, &vars)?;
                raw.value("sid")
                    .ok_or_else(|| rules::Error::new(raw.line, "no sid"))
                    .map(|_| ())
            });
            if let Err(e) = parsed {
                errors.push(format!("{}:{e}", f.display()));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(rules >= 25, "only {rules} rules");
}
