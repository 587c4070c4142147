//! The unread rest of a refused request's body. Extractors refuse before the body is read
//! (authentication first), and over HTTP/2 hyper then resets the stream; the RFC lets a
//! client keep the early answer, but widespread clients (curl 7.x/8.x among them) report the
//! reset as a transfer error and lose the answer. So a small body a handler refused unread is
//! read to its end, and thrown away, before the refusal is sent: bounded in size
//! ([`MAX_DRAIN`]) and time ([`DRAIN_TIME`]), and never for a caller that has not
//! authenticated (401) or that is being told to slow down or send less (408, 413, 429, 431).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// The largest declared body read to its end after a refusal.
pub const MAX_DRAIN: u64 = 64 * 1024;
/// How long a refused body may take to arrive before the refusal goes anyway.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A request body that, when dropped unfinished, leaves what is left for [`Leftover`].
pub struct Tracked {
    inner: Option<Incoming>,
    slot: Arc<Mutex<Option<Incoming>>>,
}

/// Where a [`Tracked`] body leaves its unread rest.
pub struct Leftover {
    slot: Arc<Mutex<Option<Incoming>>>,
    declared: Option<u64>,
}

/// Wraps `body` of a request with `headers`: the body to hand on, and its leftover.
pub fn track(body: Incoming, headers: &HeaderMap) -> (Tracked, Leftover) {
    let slot = Arc::new(Mutex::new(None));
    let declared = (headers.get(header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let tracked = Tracked {
        inner: Some(body),
        slot: slot.clone(),
    };
    (tracked, Leftover { slot, declared })
}

impl Leftover {
    /// Reads and drops what the handler left of the body when `status` is a refusal worth
    /// keeping the connection's stream clean for.
    pub async fn settle(self, status: StatusCode) {
        if !drains(status) || self.declared.is_none_or(|n| n > MAX_DRAIN) {
            return;
        }
        let Some(mut rest) = self.slot.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            let mut read = 0u64;
            while let Some(Ok(frame)) = rest.frame().await {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
                if read > MAX_DRAIN {
                    break;
                }
            }
        })
        .await;
    }
}

/// Whether a refusal with `status` reads the rest of a small body first.
fn drains(status: StatusCode) -> bool {
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        )
}

impl Body for Tracked {
    type Data = <Incoming as Body>::Data;
    type Error = <Incoming as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(b) = self.inner.take().filter(|b| !b.is_end_stream()) {
            if let Ok(mut slot) = self.slot.lock() {
                *slot = Some(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_after_authentication_drain_and_the_rest_do_not() {
        for s in [400, 403, 404, 405, 409, 422] {
            assert!(drains(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 201, 204, 302, 401, 408, 413, 429, 431, 500, 503] {
            assert!(!drains(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
