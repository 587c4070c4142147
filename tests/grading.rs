//! Classification and grading (分类分级) over two tiers with real collectors and ClickHouse:
//! the province's rules grade its enterprises from their type, scale and industry and say why;
//! a grade moves the enterprise's open incident's priority and is reported to the nation;
//! changing a rule regrades the registry; an administrator's override wins, with who and why
//! in the audit trail; the key-enterprise list is grade 1 of the key industries; only an
//! administrator of the province changes any of it.

use std::time::Duration;

use icsight_tests::cluster::{
    account, account_token as token, below, get_json, import_registry, national, post, wait_for,
    ClickHouse, Collector,
};
use serde_json::{json, Value};

const E1: &str = "91330100MA27XY1235"; // energy
const E2: &str = "91330200MA2AXY1232"; // textile

fn enterprise(c: &Collector, id: &str, who: &str) -> Option<Value> {
    let v = get_json(c, "/v1/registry?limit=10000", who);
    (v["enterprises"].as_array().unwrap().iter())
        .find(|e| e["enterprise_id"] == id)
        .cloned()
}

fn grade_of(c: &Collector, id: &str, who: &str) -> u64 {
    enterprise(c, id, who).map_or(0, |e| e["grade"].as_u64().unwrap_or(0))
}

fn priority(c: &Collector, id: &str, who: &str) -> u64 {
    get_json(c, &format!("/v1/incidents/{id}"), who)["priority"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn grades_are_worked_out_explained_overridden_and_move_priorities() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let nation = national(
        tmp.path(),
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}",
            account("regulator", "regulator", "", ""),
        ),
    );
    let rules = |grade1_at: u32| {
        format!(
            "[grading]\nenabled = true\ninterval_s = 1\ngrade1_at = {grade1_at}\ngrade2_at = 40\n{}{}{}{}",
            account("zj-admin", "admin", "330000", ""),
            account("zj-analyst", "analyst", "330000", ""),
            account("e2-admin", "admin", "330000", E2),
            account("e1-eng", "analyst", "330000", E1),
        )
    };
    let mut zj = below(
        tmp.path(),
        &ch,
        &nation,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[],
        &rules(70),
    );
    // Declared grades as imported: E1 grade 3, E2 grade 1.
    import_registry(
        &zj,
        &format!("{E1},Hangzhou Power,330000,energy,3\n{E2},Ningbo Textiles,330000,textile,1\n"),
    );

    // The plant reports an incident (once the registry it checks against has E1).
    let report = json!({"title": "Unknown engineering station wrote to the boiler PLC",
        "level": "III", "category": "other", "assets": [], "impact": "none yet",
        "measures": "isolated"});
    let mut inc = Value::Null;
    wait_for("the incident reported", Duration::from_secs(30), || {
        let (s, v) = post(&zj, "/v1/incidents", "e1-eng", &report);
        inc = v;
        s == 201
    });
    let incident = inc["incident"]["incident_id"].as_str().unwrap().to_owned();

    // Only a province administrator sets type and scale.
    let e1 = json!({"enterprise_id": E1, "name": "Hangzhou Power", "province": "330000",
                    "industry": "energy", "grade": 3, "kind": "infrastructure", "scale": "large"});
    let (s, _) = post(&zj, "/v1/registry", "zj-analyst", &e1);
    assert_eq!(s, 403, "an analyst does not edit the registry");
    let (s, _) = post(&zj, "/v1/registry", "e2-admin", &e1);
    assert_eq!(s, 403, "another enterprise's administrator does not either");
    let (s, v) = post(
        &zj,
        "/v1/registry",
        "zj-admin",
        &json!({"enterprise_id": E1, "name": "Hangzhou Power", "province": "330000",
                "industry": "energy", "grade": 3, "kind": "castle"}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(&zj, "/v1/registry", "zj-admin", &e1);
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &zj,
        "/v1/registry",
        "zj-admin",
        &json!({"enterprise_id": E2, "name": "Ningbo Textiles", "province": "330000",
                "industry": "textile", "grade": 1, "kind": "industrial", "scale": "small"}),
    );
    assert_eq!(s, 200, "{v}");

    // energy 40 + infrastructure 30 + large 20 = 90 ≥ 70: grade 1, with the terms.
    let e = enterprise(&zj, E1, "zj-admin").unwrap();
    assert_eq!(e["grade"], 1, "{e}");
    assert_eq!(e["computed"]["score"], 90, "{e}");
    let factors: Vec<&str> = (e["computed"]["terms"].as_array().unwrap().iter())
        .map(|t| t["factor"].as_str().unwrap())
        .collect();
    assert_eq!(
        factors,
        ["industry", "kind", "scale", "controllers", "exposure"]
    );
    // textile 10 + industrial 10 + small 5 = 25: grade 3, though declared 1.
    assert_eq!(grade_of(&zj, E2, "zj-admin"), 3);
    // The key-enterprise list: grade 1 of the key industries.
    let key = get_json(&zj, "/v1/registry?key=true", "zj-analyst");
    let ids: Vec<&str> = (key["enterprises"].as_array().unwrap().iter())
        .map(|e| e["enterprise_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [E1]);

    // The incident's priority rose with the grade (3 → 1: +20), and the nation has the grade.
    let p1 = priority(&zj, &incident, "zj-analyst");
    wait_for(
        "the nation has E1 at grade 1",
        Duration::from_secs(60),
        || grade_of(&nation, E1, "regulator") == 1,
    );

    // A stricter rule: grade 1 from 95 points. E1's 90 is grade 2 now, and says why.
    zj.kill();
    let config = std::fs::read_to_string(&zj.config).unwrap();
    std::fs::write(
        &zj.config,
        config.replace("grade1_at = 70", "grade1_at = 95"),
    )
    .unwrap();
    zj.start();
    wait_for(
        "E1 regraded by the new rule",
        Duration::from_secs(60),
        || grade_of(&zj, E1, "zj-admin") == 2,
    );
    // The incident's priority follows once the collector has the new grade.
    wait_for(
        "the incident's priority lowered with the grade",
        Duration::from_secs(60),
        || priority(&zj, &incident, "zj-analyst") + 10 == p1,
    );
    let p2 = priority(&zj, &incident, "zj-analyst");
    assert_eq!(
        p1,
        p2 + 10,
        "grade 1 → 2 lowers the priority by 10 ({p1} → {p2})"
    );
    wait_for(
        "the nation has E1 at grade 2",
        Duration::from_secs(60),
        || grade_of(&nation, E1, "regulator") == 2,
    );

    // An override wins over the rules, with who and why; only an administrator sets one.
    let why = "Supplies the provincial grid dispatch centre; designated by the energy bureau.";
    let (s, _) = post(
        &zj,
        &format!("/v1/registry/{E1}/grade"),
        "zj-analyst",
        &json!({"grade": 1, "reason": why}),
    );
    assert_eq!(s, 403);
    let (s, v) = post(
        &zj,
        &format!("/v1/registry/{E1}/grade"),
        "zj-admin",
        &json!({"grade": 1}),
    );
    assert_eq!(s, 400, "an override says why: {v}");
    let (s, v) = post(
        &zj,
        &format!("/v1/registry/{E1}/grade"),
        "zj-admin",
        &json!({"grade": 1, "reason": why}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["grade"], 1);
    assert_eq!(v["computed"]["grade"], 2, "the rules still say 2: {v}");
    assert_eq!(v["override"]["by"], "zj-admin");
    wait_for(
        "the incident's priority back with the overridden grade",
        Duration::from_secs(60),
        || priority(&zj, &incident, "zj-analyst") == p1,
    );
    assert_eq!(priority(&zj, &incident, "zj-analyst"), p1);
    let audited = ch.query(
        "SELECT actor, detail FROM zj.audit WHERE action = 'registry.grade' AND outcome = 'ok' FORMAT TSV",
    );
    assert!(
        audited.contains("zj-admin") && audited.contains("designated by the energy bureau"),
        "{audited}"
    );
    // Cleared, the rules speak again.
    let (s, v) = post(
        &zj,
        &format!("/v1/registry/{E1}/grade"),
        "zj-admin",
        &json!({"grade": 0}),
    );
    assert_eq!((s, v["grade"].as_u64()), (200, Some(2)), "{v}");

    // Taken out of the registry, here and at the nation.
    let (s, _) = zj.curl(&[
        "-X".into(),
        "DELETE".into(),
        format!("{}/v1/registry/{E2}", zj.url),
        "-H".into(),
        format!("Authorization: Bearer {}", token("zj-admin")),
    ]);
    assert_eq!(s, 204);
    assert!(enterprise(&zj, E2, "zj-admin").is_none());
    wait_for("the nation drops E2", Duration::from_secs(60), || {
        enterprise(&nation, E2, "regulator").is_none()
            && enterprise(&nation, E1, "regulator").is_some()
    });
}
