//! The sender thread: the oldest closed segment goes to `POST {url}/v1/ingest`, whole and
//! compressed, until the collector acknowledges it; only then is it deleted.
//!
//! | answer | what happens |
//! | --- | --- |
//! | `200`, `201` | acknowledged: the segment is deleted, its events counted sent; the body's `duplicates` counted |
//! | `413` | the part is split in two halves by lines, each sent in turn (recursively); a single line refused so is refused for good |
//! | `401`, `403` | credentials: the segment is kept, the collector's message logged, retried at the longest backoff |
//! | `408`, `429`, `5xx`, no answer | retried, same segment, with exponential backoff: order is kept |
//! | other `4xx` | refused for good: the segment moves to `rejected/`, the collector's message is logged |
//!
//! A part refused for good inside a split segment goes to `rejected/` alone; the other parts
//! are still sent. So `rejected/NAME.ndjson` holds exactly the lines the collector refused.
//!
//! While a backlog waits (after an outage), one request carries as many of the oldest closed
//! segments as fit in one segment's limits, sent back to back: draining is bounded by round
//! trips to the collector, and segments closed by age during an outage are small. Such a batch
//! answered `413` or refused is sent again one segment at a time, so the table above holds
//! per segment.

use std::fs;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::retry::Backoff;
use crate::spool::Segment;
use crate::{Compression, Shared, UplinkConfig, UplinkError};

/// How long an idle sender sleeps before it looks at the open segment's age again.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Bytes of a collector's answer kept for the log.
const MAX_ANSWER: u64 = 64 * 1024;
/// zstd level: fast, and about 10x on EVE lines.
const ZSTD_LEVEL: i32 = 3;

/// How the collector answered one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Stored { duplicates: u64 },
    TooLarge,
    Credentials { status: u16, body: String },
    Refused { status: u16, body: String },
    Failed(String),
}

/// What became of a segment.
enum Outcome {
    /// Every part answered: acknowledged, or refused for good (`refused`, in order).
    Done {
        duplicates: u64,
        refused: Vec<Range<usize>>,
    },
    /// Stop asked for, or a segment was deleted (spool full) meanwhile.
    Abandoned,
    /// Segments sent together were answered `413` or refused: send them one at a time.
    Unmerge,
    /// Failed before any part was stored, and waited out the backoff: pick the batch again, as
    /// segments may have closed meanwhile (the front one is still the first).
    Retry,
}

/// The HTTP side: one agent, its endpoint and the headers every request carries.
pub(crate) struct Client {
    agent: ureq::Agent,
    endpoint: String,
    auth: Option<String>,
    /// The sender's id, for `X-Icsight-Sensor`.
    sender: String,
    compression: Compression,
}

impl Client {
    /// Errors name keys under `table`; `sender` is the id every request carries.
    pub fn new(cfg: &UplinkConfig, table: &str, sender: &str) -> Result<Client, UplinkError> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(u64::from(cfg.timeout_s.max(1))))
            .redirects(0)
            .user_agent(concat!("icsight-uplink/", env!("CARGO_PKG_VERSION")));
        if cfg.url.starts_with("https://") {
            builder = builder.tls_config(tls_config(cfg, table)?);
        } else if !cfg.url.starts_with("http://") {
            return Err(UplinkError::invalid(
                table,
                "url",
                format!("{:?} must start with https:// or http://", cfg.url),
            ));
        }
        let auth = if cfg.token_file.as_os_str().is_empty() {
            None
        } else {
            Some(format!("Bearer {}", read_token(&cfg.token_file, table)?))
        };
        Ok(Client {
            agent: builder.build(),
            endpoint: format!("{}/v1/ingest", cfg.url.trim_end_matches('/')),
            auth,
            sender: sender.to_owned(),
            compression: cfg.compression,
        })
    }

    /// The request body: `lines` compressed.
    pub fn compress(&self, lines: &[u8]) -> std::io::Result<Vec<u8>> {
        match self.compression {
            Compression::Zstd => zstd::bulk::compress(lines, ZSTD_LEVEL),
            Compression::Gzip => {
                let mut gz = flate2::write::GzEncoder::new(
                    Vec::with_capacity(lines.len() / 4 + 64),
                    flate2::Compression::fast(),
                );
                gz.write_all(lines)?;
                gz.finish()
            }
        }
    }

    /// Send NDJSON `lines` in one request.
    pub fn post(&self, lines: &[u8]) -> Answer {
        let body = match self.compress(lines) {
            Ok(b) => b,
            Err(e) => return Answer::Failed(format!("compressing a segment: {e}")),
        };
        let mut req = self
            .agent
            .post(&self.endpoint)
            .set("Content-Type", "application/x-ndjson")
            .set("Content-Encoding", self.compression.name())
            .set("X-Icsight-Sensor", &self.sender);
        if let Some(a) = &self.auth {
            req = req.set("Authorization", a);
        }
        match req.send_bytes(&body) {
            Ok(resp) => {
                let status = resp.status();
                let text = answer_text(resp);
                match status {
                    200 | 201 => Answer::Stored {
                        duplicates: duplicates(&text),
                    },
                    _ => Answer::Failed(format!("unexpected answer {status}: {text}")),
                }
            }
            Err(ureq::Error::Status(status, resp)) => {
                let body = answer_text(resp);
                match status {
                    413 => Answer::TooLarge,
                    // A refusal naming a line is about the batch, not the credential.
                    401 | 403 if names_a_line(&body) => Answer::Refused { status, body },
                    401 | 403 => Answer::Credentials { status, body },
                    408 | 429 => Answer::Failed(format!("{status}: {body}")),
                    400..=499 => Answer::Refused { status, body },
                    _ => Answer::Failed(format!("{status}: {body}")),
                }
            }
            Err(ureq::Error::Transport(t)) => Answer::Failed(transport_error(&t)),
        }
    }
}

/// GET requests to the same collector with the same credentials and identity: what a sensor
/// or a lower tier pulls from the tier above (bulletins).
pub struct Fetch {
    client: Client,
    base: String,
}

impl Fetch {
    /// Errors name keys under `table`; `sender` is the id every request carries.
    pub fn new(cfg: &UplinkConfig, table: &str, sender: &str) -> Result<Fetch, UplinkError> {
        Ok(Fetch {
            client: Client::new(cfg, table, sender)?,
            base: cfg.url.trim_end_matches('/').to_owned(),
        })
    }

    /// GET `path` (with its query string): the body of a `200`, or what went wrong.
    pub fn get(&self, path: &str) -> Result<String, String> {
        self.get_as(path, "application/json", &[])
            .map(|(body, _)| body)
    }

    /// GET `path` accepting `accept`: the body of a `200` and the values of the answer's
    /// headers named in `headers` (empty where absent), or what went wrong.
    pub fn get_as(
        &self,
        path: &str,
        accept: &str,
        headers: &[&str],
    ) -> Result<(String, Vec<String>), String> {
        let mut req = self
            .client
            .agent
            .get(&format!("{}{path}", self.base))
            .set("Accept", accept)
            .set("X-Icsight-Sensor", &self.client.sender);
        if let Some(a) = &self.client.auth {
            req = req.set("Authorization", a);
        }
        match req.call() {
            Ok(resp) if resp.status() == 200 => {
                let values = (headers.iter())
                    .map(|h| resp.header(h).unwrap_or("").to_owned())
                    .collect();
                resp.into_string()
                    .map(|body| (body, values))
                    .map_err(|e| format!("GET {path}: reading the answer: {e}"))
            }
            Ok(resp) => Err(format!("GET {path}: answer {}", resp.status())),
            Err(ureq::Error::Status(status, resp)) => {
                Err(format!("GET {path}: {status}: {}", answer_text(resp)))
            }
            Err(ureq::Error::Transport(t)) => Err(format!("GET {path}: {}", transport_error(&t))),
        }
    }
}

/// A transport error without the URL (the log line names it): kind, message, causes.
fn transport_error(t: &ureq::Transport) -> String {
    let mut s = t.kind().to_string();
    if let Some(m) = t.message() {
        s.push_str(": ");
        s.push_str(m);
    }
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}

/// The collector's answer body, cut to [`MAX_ANSWER`] bytes, trimmed.
fn answer_text(resp: ureq::Response) -> String {
    let mut buf = Vec::new();
    let _ = resp.into_reader().take(MAX_ANSWER).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).trim().to_owned()
}

/// Whether a refusal names the line at fault (`{"error":…,"line":N}`): the batch itself is
/// refused, and resending it would be refused again.
fn names_a_line(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("line").is_some_and(serde_json::Value::is_u64))
}

/// `duplicates` of a `{"accepted":N,"stored":S,"duplicates":D}` answer; 0 if absent or odd.
fn duplicates(body: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("duplicates").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

fn read_token(path: &std::path::Path, table: &str) -> Result<String, UplinkError> {
    let text = fs::read_to_string(path)
        .map_err(|e| UplinkError::file(table, "token_file", path, format!("cannot read: {e}")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(UplinkError::file(table, "token_file", path, "is empty"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(UplinkError::file(
            table,
            "token_file",
            path,
            "the token must be one word of printable ASCII",
        ));
    }
    Ok(token.to_owned())
}

fn read_certs(
    table: &str,
    key: &'static str,
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, UplinkError> {
    let pem = fs::read(path)
        .map_err(|e| UplinkError::file(table, key, path, format!("cannot read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UplinkError::file(table, key, path, format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(UplinkError::file(
            table,
            key,
            path,
            "holds no PEM certificate",
        ));
    }
    Ok(certs)
}

/// TLS with the `ring` provider: the collector's certificate must chain to `ca`; with `cert` and
/// `key` the sender proves who it is (mutual TLS). Errors name keys under `table`.
pub(crate) fn tls_config(
    cfg: &UplinkConfig,
    table: &str,
) -> Result<Arc<rustls::ClientConfig>, UplinkError> {
    if cfg.ca.as_os_str().is_empty() {
        return Err(UplinkError::invalid(
            table,
            "ca",
            "an https url needs the PEM of the collector's CA",
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(table, "ca", &cfg.ca)? {
        roots.add(cert).map_err(|e| {
            UplinkError::file(
                table,
                "ca",
                &cfg.ca,
                format!("not a usable CA certificate: {e}"),
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UplinkError::invalid(table, "url", format!("TLS: {e}")))?
        .with_root_certificates(roots);
    let config = if cfg.cert.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        let chain = read_certs(table, "cert", &cfg.cert)?;
        let key = match fs::read(&cfg.key) {
            Ok(pem) => PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                UplinkError::file(table, "key", &cfg.key, format!("no private key: {e}"))
            })?,
            Err(e) => {
                return Err(UplinkError::file(
                    table,
                    "key",
                    &cfg.key,
                    format!("cannot read: {e}"),
                ))
            }
        };
        builder.with_client_auth_cert(chain, key).map_err(|e| {
            UplinkError::file(
                table,
                "key",
                &cfg.key,
                format!("does not go with {table}.cert: {e}"),
            )
        })?
    };
    Ok(Arc::new(config))
}

/// Events (lines) in `part`.
fn lines(part: &[u8]) -> u64 {
    part.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Where to cut `range` of `data` in two halves by lines; `None` for a single line.
fn split(data: &[u8], range: &Range<usize>) -> Option<usize> {
    let part = &data[range.clone()];
    let n = lines(part);
    if n < 2 {
        return None;
    }
    let (i, _) = part
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth((n / 2 - 1) as usize)?;
    Some(range.start + i + 1)
}

/// The sender thread's body: until stopped, send the oldest closed segments.
pub(crate) fn run(shared: &Shared, client: &Client, mut backoff: Backoff) {
    let mut failing = false;
    // Segments up to this one go one at a time: sent together, they were refused.
    let mut alone_until: Option<u64> = None;
    loop {
        let group: Vec<(Segment, PathBuf)> = {
            let mut st = shared.lock();
            loop {
                if st.stop {
                    st.done = true;
                    shared.idle.notify_all();
                    return;
                }
                let now = Instant::now();
                st.spool.rotate_if_old(now);
                let batch = match st.spool.front() {
                    Some(seg) if alone_until.is_some_and(|last| seg.seq <= last) => vec![seg],
                    Some(_) => st.spool.batch(),
                    None => Vec::new(),
                };
                if !batch.is_empty() {
                    break batch
                        .into_iter()
                        .map(|seg| {
                            let path = st.spool.path(&seg);
                            (seg, path)
                        })
                        .collect();
                }
                shared.idle.notify_all();
                let wait = st.spool.open_deadline().map_or(IDLE_POLL, |d| {
                    d.saturating_duration_since(now)
                        .clamp(Duration::from_millis(1), IDLE_POLL)
                });
                st = shared
                    .wake
                    .wait_timeout(st, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        };
        let (seg, path) = &group[0];
        let mut data = match fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                let mut st = shared.lock();
                if e.kind() == std::io::ErrorKind::NotFound {
                    // Unless the cap deleted it meanwhile (and counted it), someone else did.
                    if st.spool.forget(seg.seq).is_some() {
                        st.spool.errors.note(
                            format!(
                                "{}: deleted before it was sent ({} events lost)",
                                path.display(),
                                seg.events
                            ),
                            true,
                        );
                    }
                    continue;
                }
                st.spool
                    .errors
                    .report("spool read", e.raw_os_error().unwrap_or(-1), || {
                        format!("{}: cannot read: {e}", path.display())
                    });
                drop(st);
                // Stopped or not, the loop's top decides what comes next.
                pause(shared, backoff.next_delay());
                continue;
            }
        };
        // A segment closed after a failed write may end in part of a line.
        data.truncate(whole_lines(&data));
        // Where each segment's lines end in `data`; a later segment that cannot be read now
        // waits for a request of its own.
        let mut ends = vec![data.len()];
        for (_, path) in &group[1..] {
            let Ok(more) = fs::read(path) else { break };
            data.extend_from_slice(&more[..whole_lines(&more)]);
            ends.push(data.len());
        }
        let group = &group[..ends.len()];
        let segs: Vec<Segment> = group.iter().map(|(s, _)| *s).collect();
        let outcome = send_segment(shared, client, &mut backoff, &segs, &data, &mut failing);
        let mut st = shared.lock();
        match outcome {
            Outcome::Done {
                duplicates,
                refused,
            } if refused.is_empty() => {
                st.duplicates += duplicates;
                let mut start = 0;
                for (seg, end) in segs.iter().zip(&ends) {
                    if let Some(s) = st.spool.acknowledge(seg.seq) {
                        st.sent += lines(&data[start..*end]);
                        st.send_lag = SystemTime::now()
                            .duration_since(s.first)
                            .unwrap_or_default()
                            .as_secs_f64();
                    }
                    start = *end;
                }
            }
            Outcome::Done {
                duplicates,
                refused,
            } => {
                // Only a segment sent alone comes back with refused parts.
                let kept: Vec<u8> = refused
                    .iter()
                    .flat_map(|r| data[r.clone()].iter().copied())
                    .collect();
                let n_refused = lines(&kept);
                // The whole segment refused: the file moves as it is.
                let rewrite = (kept.len() < data.len()).then_some(kept);
                if let Some((_, to)) = st.spool.reject(seg.seq, rewrite.as_deref(), n_refused) {
                    st.sent += lines(&data) - n_refused;
                    st.duplicates += duplicates;
                    st.spool.errors.note(
                        format!(
                            "{n_refused} event(s) of segment {} kept as {}, not sent again",
                            seg.seq,
                            to.display()
                        ),
                        false,
                    );
                }
            }
            Outcome::Unmerge => alone_until = segs.last().map(|s| s.seq),
            Outcome::Retry | Outcome::Abandoned => {}
        }
        if st.spool.is_empty() {
            shared.idle.notify_all();
        }
    }
}

/// The length of `data` up to and with its last `\n`.
fn whole_lines(data: &[u8]) -> usize {
    data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Send one segment (or several oldest ones together, `data` holding their lines in order),
/// splitting a lone segment on `413`, retrying what fails, until it is stored, refused for
/// good, or abandoned. After every success the next request goes at once: a backoff applies
/// only between failures.
fn send_segment(
    shared: &Shared,
    client: &Client,
    backoff: &mut Backoff,
    segs: &[Segment],
    data: &[u8],
    failing: &mut bool,
) -> Outcome {
    let seg = &segs[0];
    let together = segs.len() > 1;
    // Parts still to send, the next one last.
    let mut pending: Vec<Range<usize>> = Vec::with_capacity(4);
    if !data.is_empty() {
        pending.push(0..data.len());
    }
    let mut duplicates = 0u64;
    let mut refused = Vec::new();
    while let Some(range) = pending.last().cloned() {
        {
            let mut st = shared.lock();
            if st.stop || !segs.iter().all(|s| st.spool.contains(s.seq)) {
                return Outcome::Abandoned;
            }
            st.spool.in_flight = segs.last().map(|s| s.seq);
        }
        let answer = client.post(&data[range.clone()]);
        let mut st = shared.lock();
        st.spool.in_flight = None;
        st.connected = !matches!(answer, Answer::Failed(_));
        match answer {
            Answer::Stored { duplicates: d } => {
                if *failing {
                    *failing = false;
                    let waiting = st.spool.segments();
                    st.spool.errors.note(
                        format!(
                            "{}: the collector takes events again; {waiting} segment(s) waiting",
                            client.endpoint
                        ),
                        false,
                    );
                }
                backoff.reset();
                pending.pop();
                duplicates += d;
            }
            Answer::TooLarge | Answer::Refused { .. } if together => {
                backoff.reset();
                return Outcome::Unmerge;
            }
            Answer::TooLarge => {
                backoff.reset();
                pending.pop();
                match split(data, &range) {
                    Some(mid) => {
                        pending.push(mid..range.end);
                        pending.push(range.start..mid);
                    }
                    None => {
                        st.spool.errors.note(
                            format!(
                                "{}: 413 for a single event of segment {} ({} bytes): the collector takes no event that large",
                                client.endpoint,
                                seg.seq,
                                range.len()
                            ),
                            true,
                        );
                        refused.push(range);
                    }
                }
            }
            Answer::Refused { status, body } => {
                backoff.reset();
                pending.pop();
                st.spool.errors.note(
                    format!(
                        "{}: the collector refused {} event(s) of segment {} with {status}: {body}",
                        client.endpoint,
                        lines(&data[range.clone()]),
                        seg.seq
                    ),
                    true,
                );
                refused.push(range);
            }
            Answer::Credentials { status, body } => {
                *failing = true;
                let delay = backoff.max_delay();
                st.spool.errors.report("credentials", i32::from(status), || {
                    format!(
                        "{}: {status}, the collector does not accept the credentials of {}: {body}; retrying every {:.0} s, nothing is dropped",
                        client.endpoint,
                        client.sender,
                        delay.as_secs_f64()
                    )
                });
                drop(st);
                if !pause(shared, delay) {
                    return Outcome::Abandoned;
                }
                if untouched(&pending, data) {
                    return Outcome::Retry;
                }
            }
            Answer::Failed(reason) => {
                *failing = true;
                let delay = backoff.next_delay();
                st.spool.errors.report("send", 0, || {
                    format!(
                        "{}: {reason}; retrying (next in {:.1} s), events wait in the spool",
                        client.endpoint,
                        delay.as_secs_f64()
                    )
                });
                drop(st);
                if !pause(shared, delay) {
                    return Outcome::Abandoned;
                }
                if untouched(&pending, data) {
                    return Outcome::Retry;
                }
            }
        }
    }
    refused.sort_by_key(|r| r.start);
    Outcome::Done {
        duplicates,
        refused,
    }
}

/// Whether nothing of `data` has been answered yet: the one part pending is all of it.
fn untouched(pending: &[Range<usize>], data: &[u8]) -> bool {
    matches!(pending, [r] if *r == (0..data.len()))
}

/// Sleep `d` unless stopped (then `false`), closing the open segment when it is due meanwhile.
fn pause(shared: &Shared, d: Duration) -> bool {
    let until = Instant::now() + d;
    let mut st = shared.lock();
    loop {
        if st.stop {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        st.spool.rotate_if_old(now);
        st = shared
            .wake
            .wait_timeout(st, (until - now).min(IDLE_POLL))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_naming_a_line_is_about_the_batch() {
        assert!(names_a_line(
            r#"{"error":"line 3: sensor.id \"b\" is not this credential's sensor","line":3}"#
        ));
        assert!(!names_a_line(r#"{"error":"unknown sensor token"}"#));
        assert!(!names_a_line("forbidden"));
        assert!(!names_a_line(r#"{"line":"3"}"#));
    }

    #[test]
    fn splits_by_lines() {
        let data = b"a\nbb\nccc\nd\ne\n";
        assert_eq!(split(data, &(0..data.len())), Some(5));
        assert_eq!(split(data, &(0..5)), Some(2));
        assert_eq!(split(data, &(5..9)), None);
        assert_eq!(split(data, &(9..data.len())), Some(11));
    }

    #[test]
    fn reads_duplicates_leniently() {
        assert_eq!(
            duplicates(r#"{"accepted":10,"stored":7,"duplicates":3}"#),
            3
        );
        assert_eq!(duplicates(r#"{"accepted":10}"#), 0);
        assert_eq!(duplicates("ok"), 0);
        assert_eq!(duplicates(r#"{"duplicates":"x"}"#), 0);
    }
}
