//! Notifications (通知): the people of a tier told by e-mail and signed webhook of what
//! happens in their scope — a new bulletin, a bulletin's deadline near or past for an
//! enterprise that has not disposed of it, an incident opened, graded or with a report stage
//! overdue, a task assigned to them, a sensor gone offline.
//!
//! ```text
//!  watch (every notify.check_s): bulletins in the book, incidents and tasks of the last hours
//!    └▶ Notice (event, scope, key) ─ told once per key ─▶ recipients: accounts of the tier
//!       subscribed to the event whose scope covers the notice
//!         └▶ queue (bounded) ─▶ deliver: SMTP (STARTTLS) / webhook (HMAC-SHA256), retried
//!            with backoff; after `attempts`, the dead letters (`GET /v1/notifications`)
//! ```
//!
//! The watch reads what the tier stores rather than hooking every place that writes, so an
//! incident that arrives from below, a task pulled from above and one written here are told
//! alike. Each notice has a key (`incident.opened:ID`, `bulletin.overdue:ID:REV:ENTERPRISE`…)
//! recorded in `notifications`: it is told once, across restarts.

pub mod deliver;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::account::Account;
use crate::config::{Config, NotifyConfig};
use crate::i18n::Lang;
use crate::store::Store;
use crate::tier::bulletin::Book;
use crate::tier::incident::coordination::Coordination;
use crate::tier::incident::filing;
use crate::tier::incident::Incidents;
use crate::time::{now_s, now_us};
use icsight_eve::Timestamp;

pub use deliver::{Channel, Job};

/// What a person may be told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    BulletinNew,
    BulletinDue,
    BulletinOverdue,
    IncidentOpened,
    IncidentGraded,
    IncidentStageDue,
    TaskAssigned,
    SensorOffline,
}

/// Every event with its name in configuration, keys and webhooks.
pub const EVENTS: [(&str, Event); 8] = [
    ("bulletin.new", Event::BulletinNew),
    ("bulletin.due", Event::BulletinDue),
    ("bulletin.overdue", Event::BulletinOverdue),
    ("incident.opened", Event::IncidentOpened),
    ("incident.graded", Event::IncidentGraded),
    ("incident.stage_due", Event::IncidentStageDue),
    ("task.assigned", Event::TaskAssigned),
    ("sensor.offline", Event::SensorOffline),
];

impl Event {
    pub fn parse(s: &str) -> Option<Event> {
        EVENTS.iter().find(|(n, _)| *n == s).map(|(_, e)| *e)
    }

    pub fn name(self) -> &'static str {
        EVENTS
            .iter()
            .find(|(_, e)| *e == self)
            .map_or("", |(n, _)| n)
    }

    /// The catalogue keys of its subject and body.
    fn template(self) -> (&'static str, &'static str) {
        match self {
            Event::BulletinNew => ("n_bulletin_new_subject", "n_bulletin_new_body"),
            Event::BulletinDue => ("n_bulletin_due_subject", "n_bulletin_due_body"),
            Event::BulletinOverdue => ("n_bulletin_overdue_subject", "n_bulletin_overdue_body"),
            Event::IncidentOpened => ("n_incident_opened_subject", "n_incident_opened_body"),
            Event::IncidentGraded => ("n_incident_graded_subject", "n_incident_graded_body"),
            Event::IncidentStageDue => {
                ("n_incident_stage_due_subject", "n_incident_stage_due_body")
            }
            Event::TaskAssigned => ("n_task_assigned_subject", "n_task_assigned_body"),
            Event::SensorOffline => ("n_sensor_offline_subject", "n_sensor_offline_body"),
        }
    }
}

/// The error for an event name that is none.
pub fn unknown_event(e: &str) -> String {
    let names: Vec<&str> = EVENTS.iter().map(|(n, _)| *n).collect();
    format!("{e:?} is not one of {}", names.join(", "))
}

/// Check an account's notification keys: the key and the message.
pub fn check_account(a: &Account, n: &NotifyConfig) -> Result<(), (&'static str, String)> {
    if !a.email.is_empty() && a.email.parse::<lettre::Address>().is_err() {
        return Err(("email", format!("{:?} is not an e-mail address", a.email)));
    }
    if !a.webhook.is_empty() {
        let ok = (a.webhook.starts_with("https://") || a.webhook.starts_with("http://"))
            && a.webhook.len() <= 2000
            && !a.webhook.chars().any(char::is_whitespace);
        if !ok {
            return Err((
                "webhook",
                format!("{:?} is not an http(s) address", a.webhook),
            ));
        }
        if a.webhook_secret_file.as_os_str().is_empty()
            && n.webhook_secret_file.as_os_str().is_empty()
        {
            return Err((
                "webhook_secret_file",
                "a webhook is signed: name the file of its secret here or in notify.webhook_secret_file"
                    .into(),
            ));
        }
    }
    if !matches!(a.lang.as_str(), "" | "zh-CN" | "en") {
        return Err(("lang", format!("{:?} is not \"zh-CN\" or \"en\"", a.lang)));
    }
    for e in a.notify.iter().flatten() {
        Event::parse(e).ok_or_else(|| ("notify", unknown_event(e)))?;
    }
    Ok(())
}

/// One thing to tell.
#[derive(Clone, Debug)]
pub struct Notice {
    pub event: Event,
    /// Told once per key.
    pub key: String,
    /// Whom it concerns: (province, enterprise, industry); an account is told if its scope
    /// covers one of them (an industry authority's, if the industry is its own).
    pub scope: Vec<(String, String, String)>,
    /// Only accounts whose scope is exactly one of `scope` (a task's assignee, a chased
    /// enterprise).
    pub exact: bool,
    /// Told whatever the accounts subscribe to (a reminder someone sent on purpose).
    pub always: bool,
    /// What the templates fill in: `{title}`, `{id}`…
    pub fields: Vec<(&'static str, String)>,
}

impl Notice {
    /// Whether `a` is told of it.
    fn reaches(&self, a: &Account) -> bool {
        self.scope.iter().any(|(p, e, i)| {
            if self.exact {
                a.province == *p && a.enterprise_id == *e && a.industry.is_empty()
            } else {
                a.sees(p, e) && (a.industry.is_empty() || (!i.is_empty() && a.industry == *i))
            }
        })
    }

    /// Subject and text in `lang`.
    pub fn render(&self, lang: Lang) -> (String, String) {
        let (s, b) = self.event.template();
        let fill = |t: &str| {
            let mut out = t.to_owned();
            for (k, v) in &self.fields {
                out = out.replace(&format!("{{{k}}}"), v);
            }
            out
        };
        (fill(lang.t(s)), fill(lang.t(b)))
    }
}

/// The notifications of this tier.
pub struct Notifier {
    config: Arc<Config>,
    store: Store,
    /// Keys told (with when), kept for [`KEEP_S`].
    told: Mutex<HashMap<String, u64>>,
    queue: tokio::sync::mpsc::Sender<Job>,
    /// Secrets of the accounts' webhooks, by account name.
    secrets: HashMap<String, Vec<u8>>,
    /// Messages dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// How long a told key is remembered: longer than anything is looked back over.
const KEEP_S: u64 = 30 * 86_400;
/// How far back incidents (by last change) and tasks (by assignment) are looked at.
const LOOK_BACK_S: u64 = 6 * 3_600;

impl Notifier {
    /// The notifier, its secrets read, with the receiving end of its queue for [`deliver::run`].
    pub fn new(
        config: Arc<Config>,
        store: Store,
    ) -> anyhow::Result<(Arc<Notifier>, tokio::sync::mpsc::Receiver<Job>)> {
        use anyhow::Context;
        let read = |p: &std::path::Path| -> anyhow::Result<Vec<u8>> {
            let s =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let s = s.trim();
            anyhow::ensure!(
                s.len() >= 16,
                "{}: a secret of at least 16 characters",
                p.display()
            );
            Ok(s.as_bytes().to_vec())
        };
        let default = &config.notify.webhook_secret_file;
        let mut secrets = HashMap::new();
        for a in config.accounts.iter().filter(|a| !a.webhook.is_empty()) {
            let file = if a.webhook_secret_file.as_os_str().is_empty() {
                default
            } else {
                &a.webhook_secret_file
            };
            secrets.insert(a.name.clone(), read(file)?);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(config.notify.queue);
        Ok((
            Arc::new(Notifier {
                config,
                store,
                told: Mutex::new(HashMap::new()),
                queue: tx,
                secrets,
                dropped: AtomicU64::new(0),
            }),
            rx,
        ))
    }

    /// Whether anyone here can be told anything.
    pub fn enabled(&self) -> bool {
        self.config.accounts.iter().any(|a| {
            !a.webhook.is_empty()
                || (!a.email.is_empty() && !self.config.notify.smtp_host.is_empty())
        })
    }

    /// The events `a` hears of.
    fn subscribes(&self, a: &Account, e: Event) -> bool {
        let name = e.name();
        match &a.notify {
            Some(list) => list.iter().any(|x| x == name),
            None => (self.config.notify.roles.iter())
                .filter(|r| r.role == a.role)
                .any(|r| r.events.iter().any(|x| x == name)),
        }
    }

    /// Take back the keys told in the last [`KEEP_S`].
    pub async fn load(&self) -> clickhouse::error::Result<()> {
        let since = now_s().saturating_sub(KEEP_S);
        let keys: Vec<(String, u32)> = self
            .store
            .client()
            .query("SELECT notice, toUInt32(max(at)) FROM notifications WHERE at >= toDateTime(?) GROUP BY notice")
            .bind(since as u32)
            .fetch_all()
            .await?;
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        for (k, at) in keys {
            told.insert(k, u64::from(at));
        }
        Ok(())
    }

    /// Tell `n` to everyone it reaches, once per key: queued, each delivery recorded. How
    /// many messages were queued.
    pub async fn tell(&self, n: Notice) -> usize {
        {
            let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
            if told.contains_key(&n.key) {
                return 0;
            }
            told.insert(n.key.clone(), now_s());
        }
        let mut rows = Vec::new();
        for a in &self.config.accounts {
            if !(n.always || self.subscribes(a, n.event)) || !n.reaches(a) {
                continue;
            }
            let lang = Lang::parse(&a.lang);
            let (subject, text) = n.render(lang);
            let mut channels = Vec::new();
            if !a.email.is_empty() && !self.config.notify.smtp_host.is_empty() {
                channels.push(Channel::Email(a.email.clone()));
            }
            if let Some(secret) = self.secrets.get(&a.name) {
                channels.push(Channel::Webhook(a.webhook.clone(), secret.clone()));
            }
            for channel in channels {
                let job = Job {
                    delivery: format!("{}-{}", self.config.tier.id, now_us()),
                    notice: n.key.clone(),
                    event: n.event,
                    account: a.name.clone(),
                    channel,
                    subject: subject.clone(),
                    text: text.clone(),
                    lang,
                    fields: n.fields.clone(),
                    scope: (n.scope.first())
                        .map(|(p, e, _)| (p.clone(), e.clone()))
                        .unwrap_or_default(),
                    tier: self.config.tier.id.clone(),
                };
                rows.push(job.row("queued", 0, ""));
                if self.queue.try_send(job).is_err() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(notice = %n.key, account = %a.name, "notification queue full: message dropped");
                }
            }
        }
        if rows.is_empty() {
            // Remembered all the same (nobody to tell now is nobody to tell later), but only in
            // memory: nothing to record.
            return 0;
        }
        if let Err(e) = self.store.insert("notifications", &rows).await {
            tracing::warn!(error = %e, notice = %n.key, "recording notifications failed");
        }
        rows.len()
    }

    /// Chase enterprise `t` on bulletin `b` now, for `by`: its own accounts are told, whatever
    /// they subscribe to, at most once an hour. How many messages were queued.
    pub async fn remind(
        &self,
        b: &crate::tier::bulletin::Bulletin,
        t: &crate::tier::bulletin::Target,
        by: &str,
    ) -> usize {
        let now = now_s();
        let event = if now >= u64::from(b.deadline) {
            Event::BulletinOverdue
        } else {
            Event::BulletinDue
        };
        self.tell(Notice {
            event,
            key: format!(
                "bulletin.remind:{}:{}:{}:{}",
                b.bulletin_id,
                b.revision,
                t.enterprise_id,
                now / 3600
            ),
            scope: vec![(
                t.province.clone(),
                t.enterprise_id.clone(),
                t.industry.clone(),
            )],
            exact: true,
            always: true,
            fields: bulletin_fields(b, format!("{} {}", t.enterprise_id, t.name), by),
        })
        .await
    }

    /// Forget keys older than [`KEEP_S`].
    fn prune(&self) {
        let since = now_s().saturating_sub(KEEP_S);
        (self.told.lock().unwrap_or_else(|p| p.into_inner())).retain(|_, at| *at >= since);
    }

    /// Every `notify.check_s`, tell what is new in the book, the incidents and the tasks.
    pub async fn watch_loop(
        self: Arc<Self>,
        book: Arc<crate::tier::bulletin::Bulletins>,
        incidents: Arc<Incidents>,
        coordination: Arc<Coordination>,
    ) {
        if !self.enabled() {
            return;
        }
        if let Err(e) = self.load().await {
            tracing::warn!(error = %e, "reading the notifications told before failed; some may be told again");
        }
        let every = Duration::from_secs_f64(self.config.notify.check_s);
        loop {
            self.bulletins(&book.book).await;
            match incidents
                .changed_since(now_s().saturating_sub(LOOK_BACK_S))
                .await
            {
                Ok(list) => {
                    for i in &list {
                        for n in incident_notices(i) {
                            self.tell(n).await;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading incidents to notify failed"),
            }
            match coordination
                .assigned_since(now_s().saturating_sub(LOOK_BACK_S))
                .await
            {
                Ok(list) => {
                    for t in &list {
                        self.tell(task_notice(t)).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading tasks to notify failed"),
            }
            self.prune();
            tokio::time::sleep(every).await;
        }
    }

    /// New bulletins (each revision), and the enterprises near or past a deadline without
    /// having disposed of it.
    async fn bulletins(&self, book: &Book) {
        let now = now_s();
        let before = self.config.notify.remind_before_s;
        for (b, targets) in book.all(|_| true) {
            if b.revoked != 0 {
                continue;
            }
            self.tell(Notice {
                event: Event::BulletinNew,
                key: format!("bulletin.new:{}:{}", b.bulletin_id, b.revision),
                scope: (targets.iter())
                    .map(|t| {
                        (
                            t.province.clone(),
                            t.enterprise_id.clone(),
                            t.industry.clone(),
                        )
                    })
                    .collect(),
                exact: false,
                always: false,
                fields: bulletin_fields(&b, String::new(), ""),
            })
            .await;
            let deadline = u64::from(b.deadline);
            if now + before < deadline {
                continue;
            }
            let (event, what) = if now >= deadline {
                (Event::BulletinOverdue, "overdue")
            } else {
                (Event::BulletinDue, "due")
            };
            for t in &targets {
                if book.has(&b.bulletin_id, b.revision, &t.enterprise_id, "disposed") {
                    continue;
                }
                self.tell(Notice {
                    event,
                    key: format!(
                        "bulletin.{what}:{}:{}:{}",
                        b.bulletin_id, b.revision, t.enterprise_id
                    ),
                    scope: vec![(
                        t.province.clone(),
                        t.enterprise_id.clone(),
                        t.industry.clone(),
                    )],
                    exact: false,
                    always: false,
                    fields: bulletin_fields(&b, format!("{} {}", t.enterprise_id, t.name), ""),
                })
                .await;
            }
        }
    }
}

/// The deliveries recorded here (their newest state), newest first; `state`: only those.
pub async fn deliveries(
    store: &Store,
    state: Option<&str>,
    limit: u64,
) -> clickhouse::error::Result<Vec<deliver::Row>> {
    let mut sql = format!("SELECT {} FROM notifications FINAL", deliver::COLUMNS);
    if state.is_some() {
        sql.push_str(" WHERE state = ?");
    }
    sql.push_str(" ORDER BY at DESC, delivery LIMIT ?");
    let mut q = store.client().query(&sql);
    if let Some(s) = state {
        q = q.bind(s);
    }
    q.bind(limit).fetch_all().await
}

/// A UNIX time as messages write it: RFC 3339, UTC — the same text in every province's
/// messages and in the API.
fn time(secs: u64) -> String {
    Timestamp(secs * 1_000_000).rfc3339()
}

/// What a bulletin's templates fill in; `enterprise` the one concerned (or none), `by` who
/// chased it (or nobody).
fn bulletin_fields(
    b: &crate::tier::bulletin::Bulletin,
    enterprise: String,
    by: &str,
) -> Vec<(&'static str, String)> {
    let drill = if b.drill != 0 { "[演练/drill] " } else { "" };
    vec![
        ("id", b.bulletin_id.clone()),
        ("title", format!("{drill}{}", b.title)),
        ("severity", b.severity.to_string()),
        ("revision", b.revision.to_string()),
        ("deadline", time(u64::from(b.deadline))),
        ("tier", b.issuer.clone()),
        ("enterprise", enterprise),
        ("by", by.to_owned()),
    ]
}

/// What an incident's newest version has to tell: opened (or a sensor offline), graded, a
/// report stage overdue.
pub fn incident_notices(i: &crate::tier::incident::Incident) -> Vec<Notice> {
    let scope = vec![(
        i.province.clone(),
        i.enterprise_id.clone(),
        i.industry.clone(),
    )];
    let drill = if i.drill != 0 { "[演练/drill] " } else { "" };
    let fields = vec![
        ("id", i.incident_id.clone()),
        ("title", format!("{drill}{}", i.title)),
        ("enterprise", i.enterprise_id.clone()),
        ("province", i.province.clone()),
        ("level", filing::level_name(i.level).to_owned()),
        ("stage", i.stage.clone()),
        (
            "due",
            if i.due > 0 {
                time(u64::from(i.due))
            } else {
                String::new()
            },
        ),
        ("priority", i.priority.to_string()),
        ("tier", i.origin.clone()),
    ];
    let mut out = Vec::new();
    let offline = i.criterion == crate::tier::fleet::OFFLINE;
    out.push(Notice {
        event: if offline {
            Event::SensorOffline
        } else {
            Event::IncidentOpened
        },
        key: format!("incident.opened:{}", i.incident_id),
        scope: scope.clone(),
        exact: false,
        always: false,
        fields: fields.clone(),
    });
    if i.level > 0 && !i.stage.is_empty() {
        out.push(Notice {
            event: Event::IncidentGraded,
            key: format!("incident.graded:{}:{}", i.incident_id, i.level),
            scope: scope.clone(),
            exact: false,
            always: false,
            fields: fields.clone(),
        });
    }
    if i.flagged > 0 {
        out.push(Notice {
            event: Event::IncidentStageDue,
            key: format!("incident.stage_due:{}:{}", i.incident_id, i.flagged),
            scope,
            exact: false,
            always: false,
            fields,
        });
    }
    out
}

/// A task assigned: told to its assignee's own accounts.
pub fn task_notice(t: &crate::tier::incident::coordination::Entry) -> Notice {
    let to = if t.assignee_enterprise.is_empty() {
        t.assignee_province.clone()
    } else {
        t.assignee_enterprise.clone()
    };
    Notice {
        event: Event::TaskAssigned,
        key: format!("task.assigned:{}", t.entry_id),
        scope: vec![(
            t.assignee_province.clone(),
            t.assignee_enterprise.clone(),
            String::new(),
        )],
        exact: true,
        always: false,
        fields: vec![
            ("id", t.incident_id.clone()),
            ("task", t.entry_id.clone()),
            ("text", t.text.clone()),
            ("assignee", to),
            ("deadline", time(u64::from(t.deadline))),
            ("tier", t.tier.clone()),
            ("author", t.author.clone()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_its_templates_in_both_languages() {
        for (name, e) in EVENTS {
            assert_eq!(Event::parse(name), Some(e));
            assert_eq!(e.name(), name);
            let (s, b) = e.template();
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(lang.t(s), s, "{s} in {lang:?}");
                assert_ne!(lang.t(b), b, "{b} in {lang:?}");
            }
        }
        assert!(unknown_event("x").contains("bulletin.new"));
    }

    #[test]
    fn a_notice_fills_its_template_and_reaches_its_scope() {
        let n = Notice {
            event: Event::BulletinOverdue,
            key: "k".into(),
            scope: vec![("330000".into(), "E1".into(), "energy".into())],
            exact: false,
            always: false,
            fields: vec![
                ("id", "national-000001".into()),
                ("title", "S7 campaign".into()),
                ("enterprise", "E1 Hangzhou".into()),
                ("deadline", "2026-12-07T00:00:00Z".into()),
                ("severity", "1".into()),
                ("revision", "1".into()),
                ("tier", "national".into()),
            ],
        };
        let (subject, text) = n.render(Lang::Zh);
        assert!(subject.contains("national-000001"), "{subject}");
        assert!(
            text.contains("E1 Hangzhou") && !text.contains('{'),
            "{text}"
        );
        let (subject, _) = n.render(Lang::En);
        assert!(subject.is_ascii(), "{subject}");
        let account = |p: &str, e: &str| {
            let mut a: Account = toml::from_str(&format!(
                "name = \"a\"\nrole = \"analyst\"\nprovince = \"{p}\"\nenterprise_id = \"{e}\""
            ))
            .unwrap();
            a.lang = "en".into();
            a
        };
        assert!(n.reaches(&account("330000", "E1")));
        assert!(n.reaches(&account("330000", "")), "the province is told");
        assert!(n.reaches(&account("", "")));
        assert!(!n.reaches(&account("330000", "E2")));
        assert!(!n.reaches(&account("440000", "")));
        let mut authority = account("330000", "");
        authority.industry = "energy".into();
        assert!(n.reaches(&authority), "the energy authority is told");
        authority.industry = "chemicals".into();
        assert!(!n.reaches(&authority), "another industry's is not");
        let exact = Notice { exact: true, ..n };
        assert!(
            !exact.reaches(&account("330000", "")),
            "a task is its assignee's"
        );
        assert!(exact.reaches(&account("330000", "E1")));
    }
}
