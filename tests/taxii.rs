//! Information sharing over TAXII 2.1, read by an independent client (the `taxii2-client`
//! Python package) and by another tier's own TAXII client: a provincial collector's bulletins
//! of each TLP level and its sightings of their indicators (a retro-hunt hit, an alert); the other tier issues the reports
//! as its own bulletins and amends them when they change. A TLP:RED bulletin reaches its plant
//! and never leaves the tier; another plant's account pulls nothing; paging, `added_after` and
//! the manifest work as TAXII says.

use std::process::Command;
use std::time::Duration;

use icsight_tests::cluster::{
    account, account_token as token, get_json, post, wait_for, Auth, ClickHouse, Collector,
    SensorSpec,
};
use icsight_tests::root;
use serde_json::{json, Value};

const E1: &str = "91330100MA27XY1235";

const SENSOR: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "energy",
    grade: 1,
    auth: Auth::Token,
};

/// What `taxii2-client` pulls from `c` as `who`, `per` objects a request.
fn pull(c: &Collector, who: &str, per: u32) -> Value {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/taxii_pull.py"))
        .arg(format!("{}/taxii2/", c.url))
        .arg(token(who))
        .arg(c.ca())
        .arg(per.to_string())
        .output()
        .expect("python3 with taxii2-client (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "taxii2-client as {who}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON")
}

/// Send `line` as the plant's sensor.
fn ingest(c: &Collector, line: &str) {
    let (_, _, token_file) = c.credentials(SENSOR.id);
    let sensor_token = std::fs::read_to_string(token_file).expect("token");
    let (s, body) = c.curl(&[
        format!("{}/v1/ingest", c.url),
        "-H".into(),
        format!("Authorization: Bearer {}", sensor_token.trim()),
        "-H".into(),
        "Content-Type: application/x-ndjson".into(),
        "--data-binary".into(),
        format!("{line}\n"),
    ]);
    assert_eq!(s, 200, "{body}");
}

fn yesterday_flow(dest: &str) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", "-1 day", "+%FT%T.000000Z"])
        .output()
        .expect("date");
    let t = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    format!(
        r#"{{"timestamp":"{t}","event_id":"f-1","flow_id":1,"event_type":"flow","src_ip":"10.1.1.5","src_port":50000,"dest_ip":"{dest}","dest_port":443,"proto":"TCP","flow":{{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"start":"{t}","end":"{t}","state":"closed","reason":"timeout","alerted":false}},"sensor":{{"id":"{}","enterprise_id":"{E1}","province":"330000"}}}}"#,
        SENSOR.id
    )
}

/// Zhejiang's collector, sharing: a plant's flow of yesterday, and three bulletins — green
/// (whose address the flow touched), amber and red; the collector and the bulletins' ids.
fn sharing_tier(tmp: &std::path::Path, ch: &ClickHouse) -> (Collector, Vec<String>) {
    let c = Collector::build(
        tmp,
        "collector",
        ch,
        "taxii",
        &[SENSOR],
        "",
        &format!(
            "[tier]\nid = \"zj\"\nprovince = \"330000\"\nregistry_refresh_s = 1\n{}{}{}",
            account("zj-admin", "admin", "330000", ""),
            account("sharing", "regulator", "", ""),
            account("other-plant", "analyst", "330000", "91330200MA2AB3CD4G"),
        ),
    );
    icsight_tests::cluster::import_registry(&c, &format!("{E1},Hangzhou Power,330000,energy,1\n"));
    // Yesterday the plant talked to what the green bulletin names: a sighting.
    ingest(&c, &yesterday_flow("203.0.113.66"));

    let mut ids = Vec::new();
    for (title, tlp, ip) in [
        ("Green: C2 of the Modbus campaign", "green", "203.0.113.66"),
        ("Amber: S7 scanner", "amber", "198.51.100.9"),
        ("Red: named victim's VPN", "red", "192.0.2.77"),
    ] {
        let b = json!({"title": title, "severity": 2, "tlp": tlp,
            "scope": {"provinces": ["330000"]}, "indicators": {"ips": [ip]},
            "deadline": "2099-01-01T00:00:00Z"});
        let mut answer = (0, String::new());
        wait_for("a bulletin issued", Duration::from_secs(30), || {
            answer = c.post_json("/v1/bulletins", &token("zj-admin"), &b.to_string());
            answer.0 == 201
        });
        let v: Value = serde_json::from_str(&answer.1).expect("json");
        ids.push(v["bulletin_id"].as_str().expect("id").to_owned());
    }
    let (s, v) = c.post_json(
        "/v1/bulletins",
        &token("zj-admin"),
        &json!({"title": "x", "severity": 2, "tlp": "purple", "deadline": "2099-01-01T00:00:00Z"})
            .to_string(),
    );
    assert_eq!(s, 400, "{v}");
    // The red bulletin reaches its plant all the same.
    let (s, body) = c.get(
        &format!("/v1/bulletins/{}", ids[2]),
        Some(&token("zj-admin")),
    );
    assert_eq!(s, 200, "{body}");
    wait_for(
        "the green bulletin's sighting",
        Duration::from_secs(30),
        || {
            let (_, b) = c.get(
                &format!("/v1/bulletins/{}", ids[0]),
                Some(&token("zj-admin")),
            );
            b.contains("\"retro_hits\":[{")
        },
    );

    (c, ids)
}

#[test]
fn bulletins_and_sightings_are_shared_over_taxii_by_tlp() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let (c, ids) = sharing_tier(tmp.path(), &ch);
    // Today the plant's sensor, holding the green bulletin, raised its rule once: a sighting
    // too.
    let green =
        icsight_tests::cluster::get_json(&c, &format!("/v1/bulletins/{}", ids[0]), "zj-admin");
    let rules = green["rules"].as_str().expect("rules");
    let sid: u64 = rules
        .split("sid:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|n| n.parse().ok())
        .expect("the indicator rule's sid");
    let now = String::from_utf8_lossy(
        &Command::new("date")
            .args(["-u", "+%FT%T.000000Z"])
            .output()
            .expect("date")
            .stdout,
    )
    .trim()
    .to_owned();
    let alert = format!(
        r#"{{"timestamp":"{now}","event_id":"a-1","flow_id":2,"event_type":"alert","src_ip":"10.1.1.5","src_port":50001,"dest_ip":"203.0.113.66","dest_port":443,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":1,"signature":"ICSIGHT BULLETIN traffic with an indicated address","category":"c","severity":1}},"sensor":{{"id":"{}","enterprise_id":"{E1}","province":"330000"}}}}"#,
        SENSOR.id
    );
    ingest(&c, &alert);
    // An independent TAXII 2.1 client, two objects a request.
    let got = pull(&c, "sharing", 2);
    assert_eq!(got["roots"].as_array().expect("roots").len(), 1, "{got}");
    let bulletins = &got["collections"]["bulletins"];
    assert_eq!(bulletins["can_read"], true);
    let objects = bulletins["objects"].as_array().expect("objects");
    assert!(bulletins["pages"].as_u64() > Some(1), "paged: {bulletins}");
    assert_eq!(
        bulletins["manifest"].as_u64(),
        Some(objects.len() as u64).map(|n| n.min(100))
    );
    let reports: Vec<&str> = (objects.iter())
        .filter(|o| o["type"] == "report")
        .map(|o| o["name"].as_str().expect("name"))
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports.iter().all(|r| !r.starts_with("Red")),
        "TLP:RED never leaves: {reports:?}"
    );
    let text = serde_json::to_string(objects).expect("json");
    assert!(!text.contains("192.0.2.77"), "nothing of the red bulletin");
    assert!(
        !text.contains("5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
        "no TLP:RED marking"
    );
    for o in objects.iter().filter(|o| o["type"] != "marking-definition") {
        let marks = o["object_marking_refs"].as_array().map_or(0, Vec::len);
        assert!(
            marks == 1 || o["type"] == "identity",
            "every shared object marked: {o}"
        );
    }
    assert!(
        text.contains("34098fce-860f-48ae-8e50-ebd3cc5e41da"),
        "TLP:GREEN"
    );
    assert!(
        text.contains("f88d31f6-486f-44da-b317-01333bde0b82"),
        "TLP:AMBER"
    );
    // The sighting, aggregated: of the green indicator, once, no enterprise named.
    let sightings: Vec<&Value> = (got["collections"]["sightings"]["objects"].as_array())
        .expect("sightings")
        .iter()
        .filter(|o| o["type"] == "sighting")
        .collect();
    assert_eq!(sightings.len(), 1, "{sightings:?}");
    assert_eq!(
        sightings[0]["count"], 2,
        "yesterday's flow and today's alert"
    );
    let indicator = (objects.iter())
        .find(|o| {
            o["type"] == "indicator" && o["pattern"].as_str().unwrap_or("").contains("203.0.113.66")
        })
        .expect("the green indicator");
    assert_eq!(sightings[0]["sighting_of_ref"], indicator["id"]);
    assert!(!serde_json::to_string(&got["collections"]["sightings"])
        .expect("json")
        .contains(E1));

    // Another plant's account (no bulletin reaches it): the collections, empty.
    let other = pull(&c, "other-plant", 100);
    assert_eq!(
        other["collections"]["bulletins"]["objects"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // TAXII itself: the media type, added_after, an object by id, refusals.
    let cid = bulletins["id"].as_str().expect("id");
    let base = format!("/taxii2/api/collections/{cid}");
    let (s, body) = c.curl(&[
        format!("{}{base}/objects/?limit=1", c.url),
        "-H".into(),
        format!("Authorization: Bearer {}", token("sharing")),
        "-H".into(),
        "Accept: application/taxii+json;version=2.1".into(),
        "-D".into(),
        "-".into(),
    ]);
    assert_eq!(s, 200, "{body}");
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: application/taxii+json;version=2.1"),
        "{body}"
    );
    assert!(
        body.to_ascii_lowercase()
            .contains("x-taxii-date-added-first:"),
        "{body}"
    );
    let last = body
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("x-taxii-date-added-last"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .expect("date added");
    let (s, after) = c.get(
        &format!("{base}/objects/?added_after={last}&limit=1000"),
        Some(&token("sharing")),
    );
    assert_eq!(s, 200, "{after}");
    let after: Value = serde_json::from_str(&after).expect("json");
    assert!(after["objects"].as_array().expect("objects").len() < objects.len());
    let rid = (objects.iter())
        .find(|o| o["type"] == "report")
        .expect("report")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, one) = c.get(&format!("{base}/objects/{rid}/"), Some(&token("sharing")));
    assert_eq!(s, 200, "{one}");
    assert!(one.contains(&rid));
    let (s, _) = c.get(&format!("{base}/objects/?limit=0"), Some(&token("sharing")));
    assert_eq!(s, 400);
    let (s, _) = c.get(
        "/taxii2/api/collections/nope/objects/",
        Some(&token("sharing")),
    );
    assert_eq!(s, 404);
    let (s, _) = c.get("/taxii2/", None);
    assert_eq!(s, 401, "accounts only");
    let (s, _) = c.curl(&[
        format!("{}/taxii2/", c.url),
        "-H".into(),
        format!("Authorization: Bearer {}", token("sharing")),
        "-H".into(),
        "Accept: text/html".into(),
    ]);
    assert_eq!(s, 406);
}

/// The id of `c`'s collection titled `title`, as `who` lists them.
fn collection_id(c: &Collector, who: &str, title: &str) -> String {
    let (s, body) = c.get("/taxii2/api/collections/", Some(&token(who)));
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    (v["collections"].as_array().expect("collections").iter())
        .find(|x| x["title"] == title)
        .and_then(|x| x["id"].as_str())
        .expect("the collection")
        .to_owned()
}

#[test]
fn another_tier_pulls_the_collection_into_its_own_bulletins() {
    const H1: &str = "91420100MA4K1234XX"; // Hubei, energy
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let (zj, ids) = sharing_tier(tmp.path(), &ch);
    let cid = collection_id(&zj, "sharing", "bulletins");
    let token_file = tmp.path().join("share.token");
    std::fs::write(&token_file, token("sharing")).expect("token");
    let hb = Collector::build(
        tmp.path(),
        "hubei",
        &ch,
        "hubei",
        &[],
        "",
        &format!(
            "[tier]\nid = \"hb\"\nprovince = \"420000\"\nregistry_refresh_s = 1\n{}\
             [[taxii]]\nname = \"zj-share\"\ncollection = \"{}/taxii2/api/collections/{cid}/\"\n\
             token_file = \"{}\"\nca = \"{}\"\npoll_s = 1\nindustries = [\"energy\"]\n\
             state_dir = \"{}\"\n",
            account("hb-admin", "admin", "420000", ""),
            zj.url,
            token_file.display(),
            zj.ca().display(),
            tmp.path().join("hubei-taxii").display(),
        ),
    );
    icsight_tests::cluster::import_registry(&hb, &format!("{H1},Wuhan Power,420000,energy,1\n"));
    // The green and amber reports become Hubei's own bulletins, for its energy plant; the red
    // one never arrives.
    let titles = || -> Vec<(String, String)> {
        let (s, body) = hb.get("/v1/bulletins", Some(&token("hb-admin")));
        if s != 200 {
            return Vec::new();
        }
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let mut t: Vec<(String, String)> = (v["bulletins"].as_array().into_iter().flatten())
            .map(|b| {
                (
                    b["title"].as_str().unwrap_or("").to_owned(),
                    b["bulletin_id"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        t.sort();
        t
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while titles().len() != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the shared reports at Hubei: {:?}\n{}",
            titles(),
            hb.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = titles();
    assert_eq!(got[0].0, "Amber: S7 scanner");
    assert_eq!(got[1].0, "Green: C2 of the Modbus campaign");
    assert!(
        got.iter().all(|(_, id)| id.starts_with("hb-")),
        "issued at Hubei: {got:?}"
    );
    let green = get_json(&hb, &format!("/v1/bulletins/{}", got[1].1), "hb-admin");
    assert_eq!(green["status"][0]["enterprise_id"], H1);
    assert_eq!(green["tlp"], "green");
    assert_eq!(green["indicators"]["ips"][0], "203.0.113.66");
    assert!(green["description"]
        .as_str()
        .unwrap_or("")
        .starts_with("[zj-share]"));
    // Amended at the source: amended here.
    let amended = json!({"title": "Green: C2 of the Modbus campaign, second wave", "severity": 1,
        "tlp": "green", "scope": {"provinces": ["330000"]},
        "indicators": {"ips": ["203.0.113.66", "203.0.113.67"]},
        "deadline": "2099-01-01T00:00:00Z", "change": "a second address"});
    let (s, v) = post(
        &zj,
        &format!("/v1/bulletins/{}/amend", ids[0]),
        "zj-admin",
        &amended,
    );
    assert_eq!(s, 200, "{v}");
    wait_for("the amendment at Hubei", Duration::from_secs(60), || {
        let b = get_json(&hb, &format!("/v1/bulletins/{}", got[1].1), "hb-admin");
        b["revision"] == 2
            && b["indicators"]["ips"]
                .as_array()
                .is_some_and(|a| a.len() == 2)
    });
    assert_eq!(titles().len(), 2, "amended, not issued again");
}
