//! Incident reports (事件报告): an incident graded (I 特别重大 … IV 一般) and typed, reported in
//! stages — a first report (首报), follow-ups (续报) while it is handled, a final report (终报)
//! with cause, disposal and lessons once it is disposed — each due within a time its grade
//! sets (`[incidents]`). A stage past its deadline is flagged overdue, once, by the tier the
//! incident belongs to, and every tier above sees the flag and the deadline.
//!
//! What is here is pure: checking what a person files, the versions it makes, deadlines.
//! Storing and sending up is [`super::Incidents`]'s.

use std::net::IpAddr;

use icsight_eve::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Incident, State, Step};
use crate::config::IncidentsConfig;
use crate::tier::registry::{priority, Enterprise};
use crate::tier::report::IncidentReport;

/// The grades of the national classification of network security incidents, I the gravest.
pub const LEVELS: [&str; 4] = ["I", "II", "III", "IV"];

/// Incident types, after GB/Z 20986 (信息安全事件分类分级指南).
pub const CATEGORIES: [&str; 7] = [
    "malware",
    "network_attack",
    "information_destruction",
    "information_content",
    "equipment_failure",
    "disaster",
    "other",
];

/// A filed incident's priority is at least this; an overdue one's at least [`OVERDUE_PRIORITY`].
const FILED_PRIORITY: [u8; 4] = [100, 90, 70, 50];
/// Where an incident with an overdue report stands among the others.
pub const OVERDUE_PRIORITY: u8 = 95;

/// Text fields: characters at most.
const MAX_TEXT: usize = 8_000;
const MAX_TITLE: usize = 200;
/// Affected assets per report.
const MAX_ASSETS: usize = 64;

/// `level` as the API writes it: "I" … "IV", "" before a first report.
pub fn level_name(level: u8) -> &'static str {
    match level {
        1..=4 => LEVELS[usize::from(level - 1)],
        _ => "",
    }
}

/// "I" … "IV" as 1 … 4.
pub fn parse_level(s: &str) -> Option<u8> {
    LEVELS.iter().position(|l| *l == s).map(|i| i as u8 + 1)
}

/// The stage of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    First,
    Followup,
    Final,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::First => "first",
            Stage::Followup => "followup",
            Stage::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "first" => Stage::First,
            "followup" => Stage::Followup,
            "final" => Stage::Final,
            _ => return None,
        })
    }
}

/// A report as a person files it (`POST /v1/incidents`, `POST /v1/incidents/{id}/reports`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filing {
    /// "first", "followup" or "final"; a new incident's report is its first.
    #[serde(default)]
    pub stage: String,
    /// A new incident's enterprise (an enterprise account's own when left out).
    #[serde(default)]
    pub enterprise_id: String,
    #[serde(default)]
    pub title: String,
    /// "I" … "IV"; a later report may change it.
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub category: String,
    /// The affected assets' addresses, looked up in the inventory.
    #[serde(default)]
    pub assets: Vec<String>,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub measures: String,
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub disposal: String,
    #[serde(default)]
    pub lessons: String,
    /// A new incident that is an exercise (演练).
    #[serde(default)]
    pub drill: bool,
}

/// A filing that passed [`check`]: the stage, grade and type it sets.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    pub stage: Stage,
    pub level: u8,
    pub category: String,
}

/// The stage an incident's next report is, and whether it can take one: an error names why
/// not.
pub fn next_stage(i: &Incident) -> Result<Stage, String> {
    let state = State::parse(&i.state).unwrap_or(State::Open);
    match i.stage.as_str() {
        "" if state >= State::Disposed => Err(format!(
            "incident {} was {} before any report: open a new one",
            i.incident_id, i.state
        )),
        "" => Ok(Stage::First),
        "final" => Err(format!(
            "incident {} has its final report: nothing follows it",
            i.incident_id
        )),
        _ if state >= State::Disposed => Ok(Stage::Final),
        _ => Ok(Stage::Followup),
    }
}

/// Check `f` as the next report of `current` (`None`: a new incident, whose report is its
/// first). Errors name the field.
pub fn check(f: &Filing, current: Option<&Incident>) -> Result<Checked, (String, String)> {
    let err = |k: &str, m: String| Err((k.to_owned(), m));
    let stage = match (f.stage.as_str(), current) {
        ("" | "first", None) => Stage::First,
        (s, None) => {
            return err(
                "stage",
                format!("{s:?}: a new incident's report is its first"),
            )
        }
        (s, Some(i)) => {
            let asked = Stage::parse(s).ok_or_else(|| {
                (
                    "stage".to_owned(),
                    format!("{s:?}: use first, followup or final"),
                )
            })?;
            let due = next_stage(i).map_err(|m| ("stage".to_owned(), m))?;
            let fits = asked == due || (asked == Stage::Followup && due == Stage::Final);
            if !fits {
                let why = match due {
                    Stage::First => "its first report is still to come".to_owned(),
                    Stage::Followup if asked == Stage::Final => {
                        "dispose of it first: a final report follows the disposal".to_owned()
                    }
                    _ => "it has had its first report".to_owned(),
                };
                return err(
                    "stage",
                    format!("incident {} cannot take a {s} report: {why}", i.incident_id),
                );
            }
            asked
        }
    };
    let level = match (f.level.as_str(), current) {
        ("", Some(i)) if i.level > 0 && stage != Stage::First => i.level,
        ("", _) => return err("level", "required: I, II, III or IV".into()),
        (l, _) => parse_level(l)
            .ok_or_else(|| ("level".to_owned(), format!("{l:?}: use I, II, III or IV")))?,
    };
    let category = match (f.category.as_str(), current) {
        ("", Some(i)) if !i.category.is_empty() && stage != Stage::First => i.category.clone(),
        ("", _) => {
            return err(
                "category",
                format!("required: one of {}", CATEGORIES.join(", ")),
            )
        }
        (c, _) if CATEGORIES.contains(&c) => c.to_owned(),
        (c, _) => {
            return err(
                "category",
                format!("{c:?}: use one of {}", CATEGORIES.join(", ")),
            )
        }
    };
    if current.is_some() && f.drill {
        return err(
            "drill",
            "an exercise is marked as it is first reported, as a new incident".into(),
        );
    }
    if current.is_none() && f.title.trim().is_empty() {
        return err("title", "required for a new incident".into());
    }
    for (k, v, max) in [
        ("title", &f.title, MAX_TITLE),
        ("impact", &f.impact, MAX_TEXT),
        ("measures", &f.measures, MAX_TEXT),
        ("cause", &f.cause, MAX_TEXT),
        ("disposal", &f.disposal, MAX_TEXT),
        ("lessons", &f.lessons, MAX_TEXT),
    ] {
        if v.chars().count() > max {
            return err(k, format!("at most {max} characters"));
        }
        if v.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return err(k, "control characters are not allowed".into());
        }
    }
    let required: &[(&str, &String)] = match stage {
        Stage::First => &[("impact", &f.impact), ("measures", &f.measures)],
        Stage::Followup => &[],
        Stage::Final => &[
            ("cause", &f.cause),
            ("disposal", &f.disposal),
            ("lessons", &f.lessons),
        ],
    };
    if let Some((k, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
        return err(k, format!("required in a {} report", stage.name()));
    }
    if f.assets.len() > MAX_ASSETS {
        return err("assets", format!("at most {MAX_ASSETS}"));
    }
    if let Some((n, a)) = (f.assets.iter().enumerate()).find(|(_, a)| a.parse::<IpAddr>().is_err())
    {
        return err(
            &format!("assets[{n}]"),
            format!("{a:?} is not an IP address"),
        );
    }
    Ok(Checked {
        stage,
        level,
        category,
    })
}

/// When `i`'s next report is due, UNIX seconds; 0 when none is: not graded, final report in,
/// or closed without a report (dismissed).
pub fn due(i: &Incident, d: &IncidentsConfig) -> u32 {
    if !(1..=4).contains(&i.level) {
        return 0;
    }
    let g = usize::from(i.level - 1);
    let state = State::parse(&i.state).unwrap_or(State::Open);
    let after = |t: u32, s: u64| u32::try_from(u64::from(t) + s).unwrap_or(u32::MAX);
    match i.stage.as_str() {
        "final" => 0,
        "" if state >= State::Disposed => 0,
        "" => after(i.opened, d.first_report_s[g]),
        _ if state >= State::Disposed => after(disposed_at(i), d.final_report_s[g]),
        _ if d.followup_s[g] == 0 => 0,
        _ => after(i.reported, d.followup_s[g]),
    }
}

/// When `i` was disposed of (or closed), from its history; its last update when the history
/// does not say.
fn disposed_at(i: &Incident) -> u32 {
    let history: Vec<Step> = serde_json::from_str(&i.history).unwrap_or_default();
    history
        .iter()
        .find(|s| s.state >= State::Disposed)
        .and_then(|s| Timestamp::parse(&s.at))
        .map_or(i.updated, |t| t.secs() as u32)
}

/// Whether `i`'s next report is late at `now`.
pub fn overdue(i: &Incident, now: u64) -> bool {
    i.due > 0 && now >= u64::from(i.due)
}

/// The history step a report adds.
fn step(i: &Incident, by: &str, note: String, now_us: u64) -> String {
    let mut history: Vec<Step> = serde_json::from_str(&i.history).unwrap_or_default();
    history.push(Step {
        state: State::parse(&i.state).unwrap_or(State::Open),
        at: Timestamp(now_us).rfc3339(),
        by: by.to_owned(),
        note,
    });
    serde_json::to_string(&history).unwrap_or_default()
}

/// Apply report `c` of `f`, by `author`, to `next` (the incident's newest version, changed in
/// place); the report as kept. `seq`: its number among the incident's reports; `assets`: the
/// affected assets as JSON.
pub fn apply(
    next: &mut Incident,
    f: &Filing,
    c: &Checked,
    author: &str,
    seq: u32,
    assets: String,
    now_us: u64,
) -> IncidentReport {
    let now = (now_us / 1_000_000) as u32;
    next.history = step(
        next,
        author,
        format!(
            "{} report: grade {}, {}",
            c.stage.name(),
            level_name(c.level),
            c.category
        ),
        now_us,
    );
    next.level = c.level;
    next.category = c.category.clone();
    next.stage = c.stage.name().to_owned();
    next.reported = now;
    next.updated = now;
    next.priority = next.priority.max(FILED_PRIORITY[usize::from(c.level - 1)]);
    if !f.title.trim().is_empty() {
        next.title = f.title.trim().to_owned();
    }
    IncidentReport {
        incident_id: next.incident_id.clone(),
        province: next.province.clone(),
        enterprise_id: next.enterprise_id.clone(),
        origin: next.origin.clone(),
        seq,
        stage: c.stage.name().to_owned(),
        level: c.level,
        category: c.category.clone(),
        title: next.title.clone(),
        assets,
        impact: f.impact.clone(),
        measures: f.measures.clone(),
        cause: f.cause.clone(),
        disposal: f.disposal.clone(),
        lessons: f.lessons.clone(),
        author: author.to_owned(),
        submitted: now,
        version: now_us,
    }
}

/// A new incident a person reports at enterprise `e`, opened by tier `origin`: the version
/// before its first report is applied.
pub fn open(f: &Filing, e: &Enterprise, origin: &str, author: &str, now_us: u64) -> Incident {
    let d = Sha256::digest(format!("report\n{author}\n{now_us}\n{}", f.title).as_bytes());
    let now = (now_us / 1_000_000) as u32;
    Incident {
        incident_id: format!("{origin}-r{}", hex::encode(&d[..7])),
        province: e.province.clone(),
        enterprise_id: e.enterprise_id.clone(),
        industry: e.industry.clone(),
        grade: e.grade,
        criterion: "report".into(),
        title: f.title.trim().to_owned(),
        priority: priority(2, e.grade, &e.industry),
        severity: 2,
        state: State::Open.name().into(),
        opened: now,
        updated: now,
        evidence: "{}".into(),
        history: serde_json::to_string(&[Step {
            state: State::Open,
            at: Timestamp(now_us).rfc3339(),
            by: author.to_owned(),
            note: "reported".into(),
        }])
        .unwrap_or_default(),
        origin: origin.to_owned(),
        version: now_us,
        drill: u8::from(f.drill),
        ..Incident::default()
    }
}

/// The version of `i` that flags its overdue report, by tier `origin`: raised in priority,
/// with a history step naming the stage and its deadline. It travels up like any version, so
/// every tier above sees it at once.
pub fn flag(i: &Incident, origin: &str, now_us: u64) -> Incident {
    let stage = next_stage(i).map_or("final", Stage::name);
    let mut next = i.clone();
    next.history = step(
        i,
        origin,
        format!(
            "{stage} report overdue: due {}",
            Timestamp(u64::from(i.due) * 1_000_000).rfc3339()
        ),
        now_us,
    );
    next.flagged = i.due;
    next.priority = next.priority.max(OVERDUE_PRIORITY);
    next.updated = (now_us / 1_000_000) as u32;
    next.version = next.version.max(now_us);
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filing(stage: &str) -> Filing {
        Filing {
            stage: stage.into(),
            title: "Ransomware on the engineering workstation".into(),
            level: "II".into(),
            category: "malware".into(),
            assets: vec!["10.1.2.3".into()],
            impact: "HMI of line 2 down".into(),
            measures: "isolated the workstation".into(),
            cause: "phishing".into(),
            disposal: "reimaged".into(),
            lessons: "train staff".into(),
            ..Filing::default()
        }
    }

    fn enterprise() -> Enterprise {
        Enterprise {
            enterprise_id: "91330100MA27XY1235".into(),
            name: "Demo".into(),
            province: "330000".into(),
            industry: "petrochemical".into(),
            grade: 2,
        }
    }

    const T0: u64 = 1_764_921_600_000_000;

    #[test]
    fn a_report_goes_first_then_followups_then_final_after_disposal() {
        let d = IncidentsConfig::default();
        let f = filing("");
        let c = check(&f, None).unwrap();
        assert_eq!((c.stage, c.level), (Stage::First, 2));
        let mut i = open(&f, &enterprise(), "zj", "plant", T0);
        let r = apply(&mut i, &f, &c, "plant", 1, "[]".into(), T0);
        assert_eq!((r.seq, r.stage.as_str(), r.level), (1, "first", 2));
        i.due = due(&i, &d);
        // Grade II: a follow-up every 8 hours until disposed.
        assert_eq!(i.due, (T0 / 1_000_000) as u32 + 8 * 3_600);
        assert!(i.priority >= 90);

        let e = check(&filing("final"), Some(&i)).unwrap_err();
        assert_eq!(e.0, "stage");
        assert!(e.1.contains("dispose of it first"), "{e:?}");
        let e = check(&filing("first"), Some(&i)).unwrap_err();
        assert!(e.1.contains("has had its first report"), "{e:?}");

        let later = Filing {
            level: String::new(),
            category: String::new(),
            ..filing("followup")
        };
        let c = check(&later, Some(&i)).unwrap();
        assert_eq!(
            (c.stage, c.level, c.category.as_str()),
            (Stage::Followup, 2, "malware")
        );

        // Disposed: the final report is due within 7 days of the disposal.
        i.state = "disposed".into();
        let mut h: Vec<Step> = serde_json::from_str(&i.history).unwrap();
        h.push(Step {
            state: State::Disposed,
            at: Timestamp(T0 + 3_600_000_000).rfc3339(),
            by: "plant".into(),
            note: String::new(),
        });
        i.history = serde_json::to_string(&h).unwrap();
        assert_eq!(due(&i, &d), (T0 / 1_000_000) as u32 + 3_600 + 7 * 86_400);
        let c = check(&filing("final"), Some(&i)).unwrap();
        apply(&mut i, &filing("final"), &c, "plant", 3, "[]".into(), T0);
        assert_eq!(due(&i, &d), 0);
        assert!(check(&filing("followup"), Some(&i)).is_err());
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let no_level = Filing {
            level: String::new(),
            ..filing("")
        };
        assert_eq!(check(&no_level, None).unwrap_err().0, "level");
        let bad = Filing {
            level: "V".into(),
            ..filing("")
        };
        assert_eq!(check(&bad, None).unwrap_err().0, "level");
        let bad = Filing {
            category: "aliens".into(),
            ..filing("")
        };
        assert_eq!(check(&bad, None).unwrap_err().0, "category");
        let bad = Filing {
            impact: " ".into(),
            ..filing("")
        };
        assert_eq!(check(&bad, None).unwrap_err().0, "impact");
        let bad = Filing {
            assets: vec!["10.0.0.1".into(), "plc-7".into()],
            ..filing("")
        };
        assert_eq!(check(&bad, None).unwrap_err().0, "assets[1]");
        let bad = Filing {
            title: "a\u{1b}[31m".into(),
            ..filing("")
        };
        assert_eq!(check(&bad, None).unwrap_err().0, "title");
        assert_eq!(check(&filing("final"), None).unwrap_err().0, "stage");
        let i = open(&filing(""), &enterprise(), "zj", "plant", T0);
        // A rule-opened incident's first report cannot make it an exercise.
        let late_drill = Filing {
            drill: true,
            ..filing("first")
        };
        assert_eq!(check(&late_drill, Some(&i)).unwrap_err().0, "drill");
    }

    #[test]
    fn a_rule_opened_incident_owes_a_first_report_by_its_grade_and_is_flagged_once_late() {
        let d = IncidentsConfig::default();
        let mut i = Incident {
            incident_id: "zj-0011".into(),
            state: "open".into(),
            opened: 1_000,
            level: 3,
            priority: 60,
            history: "[]".into(),
            ..Incident::default()
        };
        i.due = due(&i, &d);
        assert_eq!(i.due, 1_000 + 4 * 3_600);
        assert!(!overdue(&i, 1_000 + 4 * 3_600 - 1));
        assert!(overdue(&i, 1_000 + 4 * 3_600));
        let f = flag(&i, "zj", 20_000_000_000);
        assert_eq!((f.flagged, f.priority), (i.due, OVERDUE_PRIORITY));
        assert!(f.history.contains("first report overdue"), "{}", f.history);
        // Not graded: nothing is owed. Closed unreported: dismissed.
        i.level = 0;
        assert_eq!(due(&i, &d), 0);
        i.level = 3;
        i.state = "closed".into();
        assert_eq!(due(&i, &d), 0);
        assert!(next_stage(&i).is_err());
    }
}
