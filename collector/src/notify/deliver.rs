//! Delivery: each message sent by e-mail (SMTP, STARTTLS or implicit TLS, optional login) or
//! by webhook (a JSON POST signed with HMAC-SHA256 over `{timestamp}.{body}`), tried up to
//! `notify.attempts` times with jittered exponential backoff; a message that never goes
//! through is a dead letter. Every state a delivery reaches is a row of `notifications`.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Event;
use crate::config::{Config, NotifyConfig};
use crate::i18n::Lang;
use crate::store::Store;
use crate::time::{now_s, now_us};

/// Where a message goes.
#[derive(Clone, Debug)]
pub enum Channel {
    Email(String),
    /// The address and the secret that signs what is sent there.
    Webhook(String, Vec<u8>),
}

impl Channel {
    fn name(&self) -> &'static str {
        match self {
            Channel::Email(_) => "email",
            Channel::Webhook(..) => "webhook",
        }
    }

    fn to(&self) -> &str {
        match self {
            Channel::Email(a) | Channel::Webhook(a, _) => a,
        }
    }
}

/// One message to one recipient by one channel.
#[derive(Clone, Debug)]
pub struct Job {
    /// Unique per message: the webhook's `X-Icsight-Delivery`.
    pub delivery: String,
    /// The notice's key.
    pub notice: String,
    pub event: Event,
    pub account: String,
    pub channel: Channel,
    pub subject: String,
    pub text: String,
    pub lang: Lang,
    pub fields: Vec<(&'static str, String)>,
    /// The notice's (first) province and enterprise, for scoping the list.
    pub scope: (String, String),
    pub tier: String,
}

/// A delivery as stored in `notifications`, one row per state it reached.
#[derive(Clone, Debug, Serialize, Deserialize, clickhouse::Row)]
pub struct Row {
    pub delivery: String,
    pub notice: String,
    pub event: String,
    pub account: String,
    pub channel: String,
    pub recipient: String,
    pub province: String,
    pub enterprise_id: String,
    pub subject: String,
    /// `queued`, `sent` or `dead`.
    pub state: String,
    pub attempts: u32,
    /// The last failure, for the dead letters.
    pub error: String,
    pub at: u32,
    pub version: u64,
}

pub const COLUMNS: &str = "delivery, notice, event, account, channel, recipient, province, \
    enterprise_id, subject, state, attempts, error, toUInt32(at) AS at, version";

impl Job {
    pub fn row(&self, state: &str, attempts: u32, error: &str) -> Row {
        Row {
            delivery: self.delivery.clone(),
            notice: self.notice.clone(),
            event: self.event.name().to_owned(),
            account: self.account.clone(),
            channel: self.channel.name().to_owned(),
            recipient: self.channel.to().to_owned(),
            province: self.scope.0.clone(),
            enterprise_id: self.scope.1.clone(),
            subject: self.subject.clone(),
            state: state.to_owned(),
            attempts,
            error: error.chars().take(1000).collect(),
            at: now_s() as u32,
            version: now_us(),
        }
    }

    /// The webhook's body.
    pub fn body(&self) -> Vec<u8> {
        let data: serde_json::Map<String, serde_json::Value> = (self.fields.iter())
            .map(|(k, v)| ((*k).to_owned(), v.clone().into()))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "event": self.event.name(),
            "delivery": self.delivery,
            "notice": self.notice,
            "tier": self.tier,
            "time": icsight_eve::Timestamp(now_us()).rfc3339(),
            "lang": self.lang.code(),
            "subject": self.subject,
            "text": self.text,
            "data": data,
        }))
        .expect("serializes")
    }
}

/// The signature of a webhook body sent at `timestamp`: `sha256=` and the hex HMAC-SHA256,
/// keyed by the secret, of `{timestamp}.{body}`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The mail server, built once.
fn mailer(n: &NotifyConfig) -> anyhow::Result<Option<AsyncSmtpTransport<Tokio1Executor>>> {
    use anyhow::Context;
    if n.smtp_host.is_empty() {
        return Ok(None);
    }
    let mut tls = TlsParameters::builder(n.smtp_host.clone());
    if !n.smtp_ca.as_os_str().is_empty() {
        let pem = std::fs::read(&n.smtp_ca)
            .with_context(|| format!("notify.smtp_ca: reading {}", n.smtp_ca.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("notify.smtp_ca: {}: {e}", n.smtp_ca.display()))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| anyhow::anyhow!("notify.smtp_host: TLS for {}: {e}", n.smtp_host))?;
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&n.smtp_host)
        .port(n.smtp_port)
        .timeout(Some(Duration::from_secs_f64(n.timeout_s)))
        .tls(match n.smtp_security.as_str() {
            "tls" => Tls::Wrapper(tls),
            "none" => Tls::None,
            _ => Tls::Required(tls),
        });
    if !n.smtp_user.is_empty() {
        let password = std::fs::read_to_string(&n.smtp_password_file).with_context(|| {
            format!(
                "notify.smtp_password_file: reading {}",
                n.smtp_password_file.display()
            )
        })?;
        b = b.credentials(Credentials::new(
            n.smtp_user.clone(),
            password.trim().to_owned(),
        ));
    }
    Ok(Some(b.build()))
}

/// Messages being delivered at once.
const CONCURRENT: usize = 8;

/// Deliver what the notifier queues until it stops: each message on its own task (at most
/// [`CONCURRENT`] at once), tried again with backoff, its states recorded.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    mut queue: tokio::sync::mpsc::Receiver<Job>,
) -> anyhow::Result<()> {
    let mail = mailer(&config.notify)?.map(Arc::new);
    let from: Option<Mailbox> = config.notify.from.parse().ok();
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
    tokio::spawn(async move {
        while let Some(job) = queue.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (config, store, mail, from) =
                (config.clone(), store.clone(), mail.clone(), from.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let n = &config.notify;
                let mut backoff = uplink::Backoff::new(
                    Duration::from_secs_f64(n.retry_min_s),
                    Duration::from_secs_f64(n.retry_max_s),
                );
                let mut last = String::new();
                for attempt in 1..=n.attempts {
                    let tried = match &job.channel {
                        Channel::Email(to) => {
                            send_mail(mail.as_deref(), from.as_ref(), to, &job).await
                        }
                        Channel::Webhook(url, secret) => {
                            post(url, secret, &job, Duration::from_secs_f64(n.timeout_s)).await
                        }
                    };
                    match tried {
                        Ok(()) => {
                            record(&store, job.row("sent", attempt, "")).await;
                            return;
                        }
                        Err(e) => {
                            tracing::debug!(delivery = %job.delivery, attempt, error = %e, "notification not delivered");
                            last = e;
                        }
                    }
                    if attempt < n.attempts {
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
                }
                tracing::warn!(delivery = %job.delivery, account = %job.account,
                    channel = job.channel.name(), error = %last, "notification undeliverable: a dead letter");
                record(&store, job.row("dead", n.attempts, &last)).await;
            });
        }
    });
    Ok(())
}

async fn record(store: &Store, row: Row) {
    if let Err(e) = store.insert("notifications", &[row]).await {
        tracing::warn!(error = %e, "recording a notification's delivery failed");
    }
}

async fn send_mail(
    mail: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<&Mailbox>,
    to: &str,
    job: &Job,
) -> Result<(), String> {
    let (Some(mail), Some(from)) = (mail, from) else {
        return Err("no mail server configured".into());
    };
    let to: Mailbox = to.parse().map_err(|e| format!("{to}: {e}"))?;
    let m = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(job.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(job.text.clone())
        .map_err(|e| format!("composing: {e}"))?;
    mail.send(m).await.map(|_| ()).map_err(|e| e.to_string())
}

async fn post(url: &str, secret: &[u8], job: &Job, timeout: Duration) -> Result<(), String> {
    let body = job.body();
    let ts = now_s();
    let signature = sign(secret, ts, &body);
    let (url, event, delivery) = (url.to_owned(), job.event.name(), job.delivery.clone());
    tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .build();
        match agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set(
                "User-Agent",
                concat!("icsight-collector/", env!("CARGO_PKG_VERSION")),
            )
            .set("X-Icsight-Event", event)
            .set("X-Icsight-Delivery", &delivery)
            .set("X-Icsight-Timestamp", &ts.to_string())
            .set("X-Icsight-Signature", &signature)
            .send_bytes(&body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => Err(format!("{url}: HTTP {code}")),
            Err(e) => Err(format!("{url}: {e}")),
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_and_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b"1700000000.{}",
        // hashlib.sha256).hexdigest().
        assert_eq!(
            sign(b"Jefe", 1_700_000_000, b"{}"),
            "sha256=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207"
        );
        assert_ne!(
            sign(b"Jefe", 1_700_000_001, b"{}"),
            sign(b"Jefe", 1_700_000_000, b"{}")
        );
    }
}
