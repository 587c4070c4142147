//! Every rule of the Modbus and DNP3 suricata-verify tests in the public corpus
//! (`../shared/pcaps`) parses with Suricata's default variables, keywords and all (the Lua
//! script of `dnp3-lua` is read when rules are loaded, not here).

use std::path::{Path, PathBuf};

use rules::{parse_rules, split_rules, Vars};

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
        let (sigs, errs) = parse_rules(&text, &vars);
        assert_eq!(sigs.len() + errs.len(), split_rules(&text).len());
        rules += sigs.len();
        errors.extend(errs.iter().map(|e| format!("{}:{e}", f.display())));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(rules >= 40, "only {rules} rules");
}
