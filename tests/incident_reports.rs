//! Incident reports (事件报告) over the three tiers, with real collectors and ClickHouse: an
//! enterprise reports a grade-II incident at its own collector; the report and its stages
//! reach the province and the nation at once; a follow-up missed on the test's short clock is
//! flagged overdue there; the final report follows the disposal; every version is kept in
//! order; a PLC STOP the rules opened is graded and turned into a report; an exercise runs
//! the same loop and stays out of the figures; nobody reports out of scope or out of turn;
//! every report is audited.

use std::path::Path;
use std::time::Duration;

use icsight_tests::cluster::{
    account, account_token as token, below, get_json, import_registry, national, post, replay_with,
    wait_for, Auth, ClickHouse, Collector, SensorSpec,
};
use icsight_tests::root;
use serde_json::{json, Value};

const E1: &str = "91330100MA27XY1235"; // Zhejiang, energy, grade 1
const E2: &str = "91330200MA2AB3CD4G"; // Zhejiang, machinery, grade 2

const S1: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "energy",
    grade: 1,
    auth: Auth::Certificate,
};

fn first_report() -> Value {
    json!({
        "title": "Ransomware on the engineering workstation of line 2",
        "level": "II",
        "category": "malware",
        "assets": ["127.0.0.1", "10.9.9.9"],
        "impact": "Line 2 HMI unavailable for 40 minutes; production continued by hand.",
        "measures": "Workstation isolated; PLC programs checked against the golden copies.",
    })
}

/// The tiers: nation, Zhejiang, and E1's own collector with sensor S1. E1's collector owes
/// follow-ups every 3 s, so one is missed while the test watches.
fn tiers(dir: &Path, ch: &ClickHouse) -> (Collector, Collector, Collector) {
    let national = national(
        dir,
        ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}{}",
            account("regulator", "regulator", "", ""),
            account("nat-soc", "analyst", "", ""),
        ),
    );
    let zj = below(
        dir,
        ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[],
        &format!(
            "[[collectors]]\nid = \"e1\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n{}{}",
            account("zj-soc", "analyst", "330000", ""),
            account("e2-eng", "analyst", "330000", E2),
        ),
    );
    let site = below(
        dir,
        ch,
        &zj,
        "e1",
        &format!("role = \"enterprise\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n"),
        &[S1],
        &format!(
            "{}{}[incidents]\nfirst_report_s = [600, 600, 600, 600]\n\
             followup_s = [3, 3, 3, 3]\nfinal_report_s = [600, 600, 600, 600]\n\
             overdue_check_s = 1\n",
            account("e1-eng", "analyst", "330000", E1),
            account("e1-viewer", "regulator", "330000", E1),
        ),
    );
    let e1 = format!("{E1},Hangzhou Power,330000,energy,1\n");
    import_registry(&zj, &format!("{e1}{E2},Ningbo Works,330000,machinery,2\n"));
    import_registry(&site, &e1);
    (national, zj, site)
}

#[test]
fn a_graded_report_goes_up_in_stages_is_chased_when_late_and_kept_in_versions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let (national, zj, site) = tiers(tmp.path(), &ch);

    // Refused: a reader, another enterprise, a missing grade, a final report first.
    let (s, v) = post(&site, "/v1/incidents", "e1-viewer", &first_report());
    assert_eq!(s, 403, "a regulator reads only: {v}");
    // (Until the site has loaded its registry, E1 is no registered enterprise there.)
    let mut ungraded = first_report();
    ungraded.as_object_mut().expect("object").remove("level");
    let mut answer = (0, Value::Null);
    wait_for("E1 in the site's registry", Duration::from_secs(20), || {
        answer = post(&site, "/v1/incidents", "e1-eng", &ungraded);
        answer.0 != 403
    });
    let (s, v) = answer;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").starts_with("level:"),
        "{v}"
    );
    let mut other = first_report();
    other["enterprise_id"] = json!(E2);
    let (s, v) = post(&site, "/v1/incidents", "e1-eng", &other);
    assert_eq!(s, 403, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").contains("enterprise_id"),
        "{v}"
    );
    let (s, v) = post(&site, "/v1/incidents", "e1-eng", &json!({"stage": "final"}));
    assert_eq!(s, 400, "{v}");

    // The first report, at the plant's own collector.
    let (s, v) = post(&site, "/v1/incidents", "e1-eng", &first_report());
    assert_eq!(s, 201, "{v}");
    let id = v["incident"]["incident_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(v["incident"]["level"], "II");
    assert_eq!(v["incident"]["stage"], "first");
    assert_eq!(v["incident"]["enterprise_id"], E1);
    assert_eq!(v["report"]["seq"], 1);
    assert!(v["incident"]["due"].is_string(), "a follow-up is due: {v}");
    let assets = v["report"]["assets"].as_array().expect("assets");
    assert_eq!(assets.len(), 2);
    assert_eq!(assets[1]["ip"], "10.9.9.9");
    assert!(assets[1]["asset"].is_null(), "not in the inventory: {v}");

    // Up at once: the province and the nation hold the incident and its report.
    for (tier, who) in [(&zj, "zj-soc"), (&national, "regulator")] {
        wait_for(
            &format!("the first report at {who}'s tier"),
            Duration::from_secs(20),
            || {
                let (s, body) = tier.get(&format!("/v1/incidents/{id}/reports"), Some(&token(who)));
                s == 200 && body.contains("\"seq\":1")
            },
        );
        let i = get_json(tier, &format!("/v1/incidents/{id}"), who);
        assert_eq!(
            (i["level"].as_str(), i["category"].as_str()),
            (Some("II"), Some("malware"))
        );
    }
    // Another enterprise's engineer does not see it; the province cannot report on it.
    let (s, _) = zj.get(
        &format!("/v1/incidents/{id}/reports"),
        Some(&token("e2-eng")),
    );
    assert_eq!(s, 404);
    let (s, v) = post(
        &zj,
        &format!("/v1/incidents/{id}/reports"),
        "zj-soc",
        &json!({"stage": "followup", "impact": "more"}),
    );
    assert_eq!(s, 409, "handled at the site: {v}");

    // The follow-up is due within 3 s; missed, the site flags it, and the nation sees it.
    wait_for(
        "the missed follow-up flagged at the national tier",
        Duration::from_secs(30),
        || {
            let i = get_json(&national, &format!("/v1/incidents/{id}"), "regulator");
            i["overdue"] == true
                && i["history"].to_string().contains("followup report overdue")
                && i["priority"].as_u64() >= Some(95)
        },
    );
    let flagged = get_json(&zj, &format!("/v1/incidents/{id}"), "zj-soc");
    assert_eq!(flagged["overdue"], true, "and at the province: {flagged}");

    // Out of turn: a final report before the disposal.
    let fin = json!({
        "stage": "final",
        "cause": "A USB stick brought in by a contractor.",
        "disposal": "Workstation rebuilt; backups restored; no PLC logic changed.",
        "lessons": "USB ports closed on engineering workstations.",
    });
    let (s, v) = post(
        &site,
        &format!("/v1/incidents/{id}/reports"),
        "e1-eng",
        &fin,
    );
    assert_eq!(s, 409, "{v}");

    let (s, v) = post(
        &site,
        &format!("/v1/incidents/{id}/reports"),
        "e1-eng",
        &json!({"stage": "followup", "impact": "Line 2 back in automatic since 14:10."}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["report"]["seq"], 2);
    assert_eq!(v["report"]["level"], "II", "the grade carries over");

    let (s, v) = post(
        &site,
        &format!("/v1/incidents/{id}/state"),
        "e1-eng",
        &json!({"state": "disposed", "note": "cleaned"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stage"], "followup");
    let (s, v) = post(
        &site,
        &format!("/v1/incidents/{id}/reports"),
        "e1-eng",
        &fin,
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["report"]["seq"], 3);
    assert!(
        v["incident"]["due"].is_null(),
        "nothing due after the final report: {v}"
    );
    assert_eq!(v["incident"]["overdue"], false);

    // Every version, in order, at the nation; the incident ends with the final stage.
    wait_for(
        "the final report at the nation",
        Duration::from_secs(20),
        || get_json(&national, &format!("/v1/incidents/{id}"), "regulator")["stage"] == "final",
    );
    let r = get_json(
        &national,
        &format!("/v1/incidents/{id}/reports"),
        "regulator",
    );
    let stages: Vec<&str> = r["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["stage"].as_str().expect("stage"))
        .collect();
    assert_eq!(stages, ["first", "followup", "final"]);
    assert_eq!(
        r["reports"][0]["impact"],
        first_report()["impact"],
        "the first report as it was known then"
    );
    assert_eq!(r["reports"][2]["lessons"], fin["lessons"]);
    assert_eq!(
        ch.count(
            "SELECT count() FROM e1.audit WHERE action = 'incident.report' AND outcome = 'ok'"
        ),
        3
    );
    // Refusals are audited (a first refusal of each actor, then a summary a minute).
    for actor in ["e1-viewer", "e1-eng"] {
        wait_for(
            &format!("{actor}'s refused report audited"),
            Duration::from_secs(10),
            || {
                ch.count(&format!(
                    "SELECT count() FROM e1.audit WHERE action = 'incident.report' \
                     AND outcome = 'denied' AND actor = '{actor}'"
                )) >= 1
            },
        );
    }

    // A PLC STOP the rules opened (grade III until reported) is graded and reported.
    let dir = tmp.path().join(S1.id);
    let mut child = replay_with(
        &site,
        &S1,
        &dir,
        &[root().join("pcaps").join("s7comm_attack_control.pcap")],
        "",
    );
    assert!(child.wait().expect("sensor").success());
    let mut opened = Value::Null;
    wait_for(
        "the PLC STOP incident at the site",
        Duration::from_secs(20),
        || {
            let list = get_json(&site, "/v1/incidents?state=open&limit=100", "e1-eng");
            opened = (list["incidents"].as_array().expect("list").iter())
                .find(|i| i["criterion"] == "plc-stop-or-download")
                .cloned()
                .unwrap_or(Value::Null);
            !opened.is_null()
        },
    );
    assert_eq!(opened["level"], "III", "{opened}");
    assert_eq!(opened["stage"], "");
    assert!(
        opened["due"].is_string(),
        "a first report is owed: {opened}"
    );
    let rid = opened["incident_id"].as_str().expect("id").to_owned();
    let mut graded = first_report();
    graded["level"] = json!("I");
    graded["category"] = json!("network_attack");
    graded["title"] = json!("");
    let (s, v) = post(&site, &format!("/v1/incidents/{rid}/reports"), "e1-eng", &{
        let mut g = graded.clone();
        g["stage"] = json!("first");
        g
    });
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["incident"]["level"], "I");
    assert_eq!(v["incident"]["stage"], "first");
    assert_eq!(v["incident"]["criterion"], "plc-stop-or-download");
    wait_for(
        "the graded incident at the nation",
        Duration::from_secs(20),
        || {
            // Not there yet reads 404: the rules' incident and its report travel up apace.
            let (s, body) =
                national.get(&format!("/v1/incidents/{rid}"), Some(&token("regulator")));
            s == 200 && body.contains("\"level\":\"I\"")
        },
    );

    // An exercise (演练) runs the whole loop and stays out of the figures.
    let mut exercise = first_report();
    exercise["title"] = json!("演练：工程师站勒索病毒应急演练");
    exercise["drill"] = json!(true);
    let (s, v) = post(&site, "/v1/incidents", "e1-eng", &exercise);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["incident"]["drill"], true);
    let did = v["incident"]["incident_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, v) = post(
        &site,
        &format!("/v1/incidents/{did}/reports"),
        "e1-eng",
        &json!({"stage": "followup", "impact": "none", "drill": true}),
    );
    assert_eq!(s, 400, "marked when first reported only: {v}");
    wait_for(
        "the exercise at the nation",
        Duration::from_secs(20),
        || {
            let (s, body) =
                national.get(&format!("/v1/incidents/{did}"), Some(&token("regulator")));
            s == 200 && body.contains("\"drill\":true")
        },
    );
    // Yesterday's report (a day must be over), issued now: its open incidents are today's.
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "+8 hours -1 day", "+%F"])
        .output()
        .expect("date");
    let yesterday = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let r = get_json(
        &national,
        &format!("/v1/reports?period=daily&date={yesterday}&format=json"),
        "regulator",
    );
    let open: Vec<&str> = r["figures"]["incidents"]["open"]
        .as_array()
        .expect("open incidents")
        .iter()
        .map(|i| i["incident_id"].as_str().expect("id"))
        .collect();
    assert!(open.contains(&rid.as_str()), "{open:?}");
    assert!(
        !open.contains(&did.as_str()),
        "an exercise is no figure: {open:?}"
    );
}

/// The entries of `id`'s timeline at `tier` of `kind`.
fn timeline(tier: &Collector, id: &str, who: &str) -> Value {
    get_json(tier, &format!("/v1/incidents/{id}/timeline"), who)
}

fn in_an_hour() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "+1 hour", "+%FT%TZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The task of `list` (a `GET /v1/tasks` answer) whose text is `text`.
fn task_in(list: &Value, text: &str) -> Option<Value> {
    (list["tasks"].as_array()?.iter())
        .find(|t| t["text"] == text)
        .cloned()
}

#[test]
fn the_tiers_coordinate_a_response_down_to_the_plant_and_the_results_come_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let (national, zj, site) = tiers(tmp.path(), &ch);

    // The plant reports a grade-II incident; it reaches the nation.
    let mut answer = (0, Value::Null);
    wait_for("E1 in the site's registry", Duration::from_secs(20), || {
        answer = post(&site, "/v1/incidents", "e1-eng", &first_report());
        answer.0 != 403
    });
    assert_eq!(answer.0, 201, "{}", answer.1);
    let id = answer.1["incident"]["incident_id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for(
        "the incident at the nation",
        Duration::from_secs(20),
        || {
            national
                .get(&format!("/v1/incidents/{id}"), Some(&token("nat-soc")))
                .0
                == 200
        },
    );

    // The nation raises the response, comments, and tasks the province.
    let inc = |p: &str| format!("/v1/incidents/{id}/{p}");
    let (s, v) = post(
        &national,
        &inc("response"),
        "regulator",
        &json!({"level": "II"}),
    );
    assert_eq!(s, 403, "a reader sets no response: {v}");
    let (s, v) = post(
        &national,
        &inc("response"),
        "nat-soc",
        &json!({"level": "V"}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(
        &national,
        &inc("response"),
        "nat-soc",
        &json!({"level": "II", "note": "二级响应：省级组织处置"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &national,
        &inc("comments"),
        "nat-soc",
        &json!({"text": "请核查同批次工程师站"}),
    );
    assert_eq!(s, 201, "{v}");
    let to_province = "Check every energy plant of Zhejiang for the same ransomware";
    let (s, v) = post(
        &national,
        &inc("tasks"),
        "nat-soc",
        &json!({"province": "440000", "text": to_province, "deadline": in_an_hour()}),
    );
    assert_eq!(s, 400, "not the incident's province: {v}");
    let (s, v) = post(
        &national,
        &inc("tasks"),
        "nat-soc",
        &json!({"province": "330000", "text": to_province, "deadline": "2001-01-01T00:00:00Z"}),
    );
    assert_eq!(s, 400, "a deadline already past: {v}");
    let (s, v) = post(
        &national,
        &inc("tasks"),
        "nat-soc",
        &json!({"province": "330000", "text": to_province, "deadline": in_an_hour()}),
    );
    assert_eq!(s, 201, "{v}");
    let national_task = v["entry_id"].as_str().expect("task id").to_owned();
    assert_eq!(v["state"], "assigned");

    // Down to the province: its analyst accepts and tasks the plant in turn.
    let mut t = Value::Null;
    wait_for("the task at the province", Duration::from_secs(20), || {
        t = task_in(&get_json(&zj, "/v1/tasks", "zj-soc"), to_province).unwrap_or_default();
        !t.is_null()
    });
    assert_eq!(t["entry_id"], national_task.as_str());
    let task = |id: &str| format!("/v1/tasks/{id}");
    let (s, v) = post(
        &national,
        &task(&national_task),
        "nat-soc",
        &json!({"state": "accepted"}),
    );
    assert_eq!(s, 403, "the assigner does not move it on: {v}");
    let (s, v) = post(
        &zj,
        &task(&national_task),
        "zj-soc",
        &json!({"state": "accepted"}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &zj,
        &task(&national_task),
        "zj-soc",
        &json!({"state": "done"}),
    );
    assert_eq!(s, 400, "done says what was done: {v}");
    let (s, v) = post(
        &zj,
        &inc("tasks"),
        "zj-soc",
        &json!({"province": "330000", "text": "not for me", "deadline": in_an_hour()}),
    );
    assert_eq!(s, 403, "a province tasks its enterprises, not itself: {v}");
    let to_plant = "Image the engineering workstation and send the hashes";
    let (s, v) = post(
        &zj,
        &inc("tasks"),
        "zj-soc",
        &json!({"province": "330000", "enterprise_id": E2, "text": to_plant, "deadline": in_an_hour()}),
    );
    assert_eq!(s, 400, "E2 is not concerned: {v}");
    let (s, v) = post(
        &zj,
        &inc("tasks"),
        "zj-soc",
        &json!({"province": "330000", "enterprise_id": E1, "text": to_plant, "deadline": in_an_hour()}),
    );
    assert_eq!(s, 201, "{v}");
    let plant_task = v["entry_id"].as_str().expect("task id").to_owned();

    // Down to the plant's own collector: its engineer reports the result there.
    wait_for("the task at the plant", Duration::from_secs(20), || {
        task_in(&get_json(&site, "/v1/tasks", "e1-eng"), to_plant).is_some()
    });
    let (s, _) = zj.get("/v1/tasks", Some(&token("e2-eng")));
    assert_eq!(s, 200);
    assert!(
        task_in(&get_json(&zj, "/v1/tasks?state=all", "e2-eng"), to_plant).is_none(),
        "another enterprise does not see it"
    );
    let (s, v) = post(
        &zj,
        &task(&plant_task),
        "e2-eng",
        &json!({"state": "accepted"}),
    );
    assert_eq!(s, 404, "{v}");
    let result = "Image taken; SHA-256 of the dropper sent to the CERT";
    let (s, v) = post(
        &site,
        &task(&plant_task),
        "e1-eng",
        &json!({"state": "done", "result": result}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &site,
        &task(&plant_task),
        "e1-eng",
        &json!({"state": "declined", "result": "changed my mind"}),
    );
    assert_eq!(s, 409, "done is done: {v}");

    // The result comes back to the province, which closes its own task; both reach the nation.
    wait_for(
        "the plant's result at the province",
        Duration::from_secs(20),
        || {
            task_in(&get_json(&zj, "/v1/tasks?state=all", "zj-soc"), to_plant)
                .is_some_and(|t| t["state"] == "done" && t["result"] == result)
        },
    );
    let (s, v) = post(
        &zj,
        &task(&national_task),
        "zj-soc",
        &json!({"state": "done", "result": "All 12 energy plants checked; one infected (E1), cleaned"}),
    );
    assert_eq!(s, 200, "{v}");
    wait_for(
        "both results at the nation",
        Duration::from_secs(20),
        || {
            let tl = timeline(&national, &id, "regulator");
            let done = (tl["timeline"].as_array().expect("timeline").iter())
                .filter(|e| e["kind"] == "task" && e["state"] == "done")
                .count();
            done == 2
        },
    );
    let tl = timeline(&national, &id, "regulator");
    assert_eq!(tl["response"], "II");
    let kinds: Vec<&str> = (tl["timeline"].as_array().expect("timeline").iter())
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    for k in [
        "state",
        "report",
        "response",
        "comment",
        "task",
        "task_update",
    ] {
        assert!(kinds.contains(&k), "{k} not on the timeline: {kinds:?}");
    }
    let ats: Vec<&str> = (tl["timeline"].as_array().expect("timeline").iter())
        .map(|e| e["at"].as_str().expect("at"))
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {ats:?}"
    );
    // The plant's collector sees its own incident's coordination too.
    let tl = timeline(&site, &id, "e1-eng");
    assert_eq!(tl["response"], "II", "{tl}");

    // Everything audited where it was done.
    for (db, action) in [
        ("nat", "incident.response"),
        ("nat", "incident.comment"),
        ("nat", "incident.task"),
        ("zj", "incident.task"),
        ("zj", "task.update"),
        ("e1", "task.update"),
    ] {
        wait_for(
            &format!("{db} {action} audited"),
            Duration::from_secs(20),
            || {
                ch.count(&format!(
                    "SELECT count() FROM {db}.audit WHERE action = '{action}' AND outcome = 'ok'"
                )) >= 1
            },
        );
    }
}
