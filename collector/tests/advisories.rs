//! CISA's 2,379 ICS advisories (CSAF 2.0) read whole, and the devices the sensor identified in
//! the captures matched against them.
//!
//! The expected advisories were found by reading them, not by running the matcher: for the S7
//! CPU 315-2 PN/DP (6ES7 315-2EH14-0AB0) that `pcaps/s7comm_snap7.pcap` and the public
//! `s7ident.pcap` show at firmware V3.2.6, and the ET 200S IM151-8 PN/DP CPU
//! (6ES7 151-8AB01-0AB0, V3.2.6) of `s7comm_reading_plc_status.pcap`, the advisories whose
//! product entries carry that order number with a range holding V3.2.6, and those written for
//! the "S7-300 CPU family (incl. related ET200 CPUs …)". A device at V3.2.16 is outside the
//! `< V3.2.16` ranges and inside the `< V3.2.17` ones. The Modbus identity the project's
//! pymodbus server gives (`pcaps/modbus_attack_diagnostics.pcap`) is no product any advisory
//! names.

use std::path::PathBuf;

use collector::csaf::{self, Catalogue, Confidence, Device};

fn corpus() -> PathBuf {
    std::env::var_os("ICSIGHT_SHARED_ADVISORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/advisories/cisa-csaf-ot")
        })
}

fn catalogue() -> (Catalogue, csaf::Loaded) {
    let mut loaded = csaf::load(&corpus()).expect("the advisory corpus is readable");
    let c = Catalogue::new(loaded.advisories.drain(..).map(|(_, a, _)| a));
    (c, loaded)
}

fn s7(order: &str, model: &str, firmware: Option<&str>) -> Device {
    Device {
        vendor: None,
        product: Some(order.into()),
        model: Some(model.into()),
        firmware: firmware.map(Into::into),
    }
}

/// The advisory ids matched, with their confidence.
fn matched(c: &Catalogue, d: &Device) -> Vec<(String, Confidence)> {
    c.matches(d)
        .into_iter()
        .map(|h| (h.advisory, h.confidence))
        .collect()
}

fn has(m: &[(String, Confidence)], id: &str) -> Option<Confidence> {
    m.iter().find(|(a, _)| a == id).map(|(_, c)| *c)
}

/// Advisories naming this CPU's order number with a range that holds V3.2.6 (every one of
/// the corpus that names it).
const BY_ORDER_NUMBER: [&str; 9] = [
    "ICSA-18-079-02", // < V3.2.16
    "ICSA-19-099-06", // < V3.2.16
    "ICSA-19-283-01", // < V3.2.17
    "ICSA-19-283-02", // < V3.2.17
    "ICSA-20-042-05", // < V3.X.17
    "ICSA-20-105-08", // all versions
    "ICSA-22-104-06", // < V3.2.19
    "ICSA-22-314-02", // < V3.2.19
    "ICSA-23-222-09", // < V3.2.19
];

/// Advisories for the S7-300 CPU family as a whole (every one of the corpus).
const BY_FAMILY: [&str; 6] = [
    "ICSA-17-129-02", // < V3.X.14
    "ICSA-17-339-01", // < V3.X.16
    "ICSA-19-043-04", // All versions < V3.X.16
    "ICSA-20-070-02", // All versions < V3.X.17
    "ICSA-20-252-02", // all versions
    "ICSA-20-315-04", // all versions
];

/// Siemens advisories for other products: the S7-1500, the S7-400, SCALANCE X-300 switches.
const OTHERS: [&str; 3] = ["ICSA-19-036-04", "ICSA-18-137-03", "ICSA-18-254-05"];

#[test]
fn every_advisory_is_read_or_refused_by_name_and_the_captured_cpus_match() {
    let started = std::time::Instant::now();
    let (c, loaded) = catalogue();
    let files = loaded.refused.len() + c.len();
    eprintln!(
        "{} advisories read, {} refused, in {:.1} s",
        c.len(),
        loaded.refused.len(),
        started.elapsed().as_secs_f64()
    );
    for (f, why) in &loaded.refused {
        eprintln!("refused {}: {why}", f.display());
        assert!(why.starts_with("$"), "a refusal names the JSON path: {why}");
    }
    assert!(
        files >= 2379,
        "the corpus holds 2,379 documents, {files} seen"
    );
    for id in BY_ORDER_NUMBER.iter().chain(&BY_FAMILY).chain(&OTHERS) {
        assert!(c.get(id).is_some(), "{id} read");
    }

    for (order, model) in [
        ("6ES7 315-2EH14-0AB0", "CPU 315-2 PN/DP"),
        ("6ES7 151-8AB01-0AB0", "IM151-8 PN/DP CPU"),
    ] {
        let m = matched(&c, &s7(order, model, Some("V3.2.6")));
        for id in BY_ORDER_NUMBER {
            assert_eq!(
                has(&m, id),
                Some(Confidence::Exact),
                "{order} under {id}: {m:?}"
            );
        }
        for id in BY_FAMILY {
            assert_eq!(
                has(&m, id),
                Some(Confidence::Family),
                "{order} under {id}: {m:?}"
            );
        }
        for id in OTHERS {
            assert_eq!(has(&m, id), None, "{order} not under {id}");
        }
        // Nothing else: the lists are every advisory of the corpus that names the CPU.
        let mut all: Vec<&str> = m.iter().map(|(a, _)| a.as_str()).collect();
        all.sort();
        let mut expected: Vec<&str> = BY_ORDER_NUMBER.iter().chain(&BY_FAMILY).copied().collect();
        expected.sort();
        assert_eq!(all, expected, "{order}");
    }

    // Firmware V3.2.16: out of the < V3.2.16 ranges and the family's < V3.X.16, still in the
    // < V3.2.17 ones.
    let m = matched(
        &c,
        &s7("6ES7 315-2EH14-0AB0", "CPU 315-2 PN/DP", Some("V3.2.16")),
    );
    for id in [
        "ICSA-18-079-02",
        "ICSA-19-099-06",
        "ICSA-17-339-01",
        "ICSA-19-043-04",
    ] {
        assert_eq!(has(&m, id), None, "V3.2.16 is fixed for {id}");
    }
    for id in ["ICSA-19-283-01", "ICSA-19-283-02", "ICSA-22-104-06"] {
        assert_eq!(
            has(&m, id),
            Some(Confidence::Exact),
            "V3.2.16 still under {id}"
        );
    }
    assert_eq!(has(&m, "ICSA-20-070-02"), Some(Confidence::Family));

    // A firmware past every range: only the "all versions" advisories remain.
    let m = matched(
        &c,
        &s7("6ES7 315-2EH14-0AB0", "CPU 315-2 PN/DP", Some("V3.2.20")),
    );
    for (id, _) in &m {
        let a = c.get(id).unwrap();
        let all = a.products.iter().any(|p| {
            matches!(p.range, csaf::version::Range::All)
                && (p.models.iter().any(|x| x == "6ES7315-2EH14-0AB0")
                    || p.name.contains("S7-300 CPU family"))
        });
        assert!(
            all,
            "V3.2.20 still under {id}, which has no all-versions entry for it"
        );
    }
    assert!(has(&m, "ICSA-20-105-08").is_some());

    // No firmware seen: the order number still names the advisories, at a lower confidence,
    // and the family ones with a bounded range are not claimed.
    let m = matched(&c, &s7("6ES7315-2EH14-0AB0", "CPU 315-2 PN/DP", None));
    assert_eq!(has(&m, "ICSA-19-099-06"), Some(Confidence::Model));
    assert_eq!(has(&m, "ICSA-20-105-08"), Some(Confidence::Exact));
    assert_eq!(has(&m, "ICSA-19-043-04"), None);
    assert_eq!(has(&m, "ICSA-20-252-02"), Some(Confidence::Family));

    // The hit explains itself and carries what the register needs.
    let hit = c
        .matches(&s7(
            "6ES7 315-2EH14-0AB0",
            "CPU 315-2 PN/DP",
            Some("V3.2.6"),
        ))
        .into_iter()
        .find(|h| h.advisory == "ICSA-19-099-06")
        .unwrap();
    assert!(hit.why.contains("6ES7315-2EH14-0AB0"), "{}", hit.why);
    assert!(
        hit.why.contains("V3.2.6") && hit.why.contains("<V3.2.16"),
        "{}",
        hit.why
    );
    assert!(
        hit.cves.contains(&"CVE-2019-6568".to_owned()),
        "{:?}",
        hit.cves
    );
    assert!(hit.cvss >= 7.0, "{}", hit.cvss);
    assert_eq!(hit.fixed_in.as_deref(), Some("V3.2.16"));
    assert!(!hit.remediation.is_empty());

    // The pymodbus server of pcaps/modbus_attack_diagnostics.pcap answers read device
    // identification as vendor "icsight-test", product code "PM": no advisory names them.
    let m = matched(
        &c,
        &Device {
            vendor: Some("icsight-test".into()),
            product: Some("PM".into()),
            model: Some("pymodbus test server".into()),
            firmware: None,
        },
    );
    assert!(m.is_empty(), "{m:?}");

    // A Modbus device of another vendor with the same-looking digits names nothing Siemens.
    let m = matched(
        &c,
        &Device {
            vendor: Some("Schneider Electric".into()),
            product: Some("6ES7 315-2EH14-0AB0".into()),
            model: None,
            firmware: Some("V3.2.6".into()),
        },
    );
    assert!(m.is_empty(), "{m:?}");
}

type Edit = dyn Fn(&mut serde_json::Value);

/// A real advisory, broken one way at a time: each is refused with the path at fault.
#[test]
fn malformed_documents_are_refused_with_the_path_at_fault() {
    let file = corpus().join("2019/icsa-19-099-06.json");
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("ICSA-19-099-06")).unwrap();
    assert!(csaf::parse(good.to_string().as_bytes()).is_ok());

    let broken = |edit: &Edit| -> String {
        let mut d = good.clone();
        edit(&mut d);
        csaf::parse(d.to_string().as_bytes())
            .expect_err("refused")
            .to_string()
    };
    let cases: [(&str, &Edit); 8] = [
        ("$.document.csaf_version: must be \"2.0\"", &|d| {
            d["document"]["csaf_version"] = "1.2".into()
        }),
        ("$.document.tracking: missing field `id`", &|d| {
            d["document"]["tracking"].as_object_mut().unwrap().remove("id");
        }),
        ("$.document.tracking.current_release_date: not an RFC 3339", &|d| {
            d["document"]["tracking"]["current_release_date"] = "04/09/2019".into()
        }),
        ("$.vulnerabilities[0].cve: not a CVE id", &|d| {
            d["vulnerabilities"][0]["cve"] = "CVE-19-6568".into()
        }),
        ("$.vulnerabilities[0].product_status.known_affected[0]: product id \"CSAFPID-9999\" is not defined", &|d| {
            d["vulnerabilities"][0]["product_status"]["known_affected"][0] = "CSAFPID-9999".into()
        }),
        ("is already defined at $.product_tree.branches[0].branches[0].branches[0].product (CSAF test 6.1.2)", &|d| {
            d["product_tree"]["branches"][0]["branches"][1]["branches"][0]["product"]["product_id"] =
                "CSAFPID-0001".into()
        }),
        ("$.vulnerabilities[0].scores[0].cvss_v3.baseScore: must lie between 0 and 10", &|d| {
            d["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = 11.0.into()
        }),
        ("$.vulnerabilities[0].remediations[0].category: not a remediation category", &|d| {
            d["vulnerabilities"][0]["remediations"][0]["category"] = "reboot".into()
        }),
    ];
    for (expected, edit) in cases {
        let why = broken(edit);
        assert!(why.contains(expected), "expected {expected:?}, got {why:?}");
    }
    let why = csaf::parse(b"{\"document\": [").unwrap_err().to_string();
    assert!(why.starts_with("$"), "{why}");
    let why = csaf::parse(b"{\"document\": {\"category\": 7}}")
        .unwrap_err()
        .to_string();
    assert!(
        why.starts_with("$.document.category: invalid type"),
        "{why}"
    );

    // A directory with one bad file among good ones: the bad one is refused by name.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.json"), good.to_string()).unwrap();
    std::fs::write(dir.path().join("bad.json"), b"{ not json").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    let loaded = csaf::load(dir.path()).unwrap();
    assert_eq!(loaded.advisories.len(), 1);
    assert_eq!(loaded.refused.len(), 1);
    assert!(loaded.refused[0].0.ends_with("bad.json"));
}
