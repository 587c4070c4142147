//! `GET /events`: the live view's server-sent events. Each signed-in page listens; a critical
//! alert or a new incident of the reader's scope comes as one event (`alert`, `incident`) with
//! the text and link the page shows. A stream ends when its session does, after an hour (the
//! browser reconnects), or never starts when too many are open.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};

use super::alerts::encode;
use super::Viewer;
use crate::account::Account;
use crate::http::App;
use crate::i18n::Lang;
use crate::tier::live::{Item, Kind};
use crate::time::now_s;

/// Streams open at once, over all readers.
const STREAMS: usize = 256;
/// How long one stream lasts before the browser is asked to reconnect.
const LIFETIME: Duration = Duration::from_secs(3_600);
/// How often an idle stream checks that its session still holds.
const CHECK: Duration = Duration::from_secs(15);

fn streams() -> Arc<Semaphore> {
    static S: std::sync::OnceLock<Arc<Semaphore>> = std::sync::OnceLock::new();
    S.get_or_init(|| Arc::new(Semaphore::new(STREAMS))).clone()
}

/// An item as the page shows it, in the reader's language.
pub(super) fn shown(lang: Lang, item: &Item) -> serde_json::Value {
    let (text, href) = match item.kind {
        Kind::Alert => (
            format!(
                "{} · {} · {}",
                lang.t("live_alert"),
                item.title,
                item.enterprise_id
            ),
            format!(
                "/alert?sensor={}&id={}",
                encode(&item.sensor_id),
                encode(&item.id)
            ),
        ),
        Kind::Incident => (
            format!(
                "{} P{} · {} · {}",
                lang.t("live_incident"),
                item.rank,
                item.title,
                item.enterprise_id
            ),
            format!("/incident?id={}", encode(&item.id)),
        ),
    };
    serde_json::json!({ "text": text, "href": href, "at": item.at })
}

struct Stream {
    app: Arc<App>,
    account: Account,
    session: String,
    lang: Lang,
    rx: broadcast::Receiver<Arc<Item>>,
    until: Instant,
    _permit: OwnedSemaphorePermit,
}

impl Stream {
    /// The next event for this reader; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            let wait = CHECK.min(self.until.saturating_duration_since(Instant::now()));
            if wait.is_zero()
                || self
                    .app
                    .credentials
                    .session(&self.session, now_s())
                    .is_none()
            {
                return None;
            }
            match tokio::time::timeout(wait, self.rx.recv()).await {
                Err(_) => continue,
                Ok(Ok(item)) if self.account.sees(&item.province, &item.enterprise_id) => {
                    let kind = match item.kind {
                        Kind::Alert => "alert",
                        Kind::Incident => "incident",
                    };
                    return Some(
                        Event::default()
                            .event(kind)
                            .data(shown(self.lang, &item).to_string()),
                    );
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    }
}

pub(super) async fn events(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let Ok(permit) = streams().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "30")]).into_response();
    };
    let s = Stream {
        rx: app.incidents.live.subscribe(),
        app,
        account: v.account,
        session: v.session,
        lang: v.lang,
        until: Instant::now() + LIFETIME,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(s, |mut s| async move {
        let e = s.next().await?;
        Some((Ok::<_, Infallible>(e), s))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(CHECK))
        .into_response()
}
