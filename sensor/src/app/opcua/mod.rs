//! OPC UA in the sensor: every message chunk is one `opcua` event, matched against the rules
//! as it goes.
//!
//! Sessions are followed on each connection: an ActivateSession request's identity token is
//! held until its response, and once the server accepts it, the requests carrying that
//! session's authentication token are known to run as that identity (anonymous, a user
//! name, a certificate). Rules and the baseline see it (`opcua.session`), and so does the
//! event. What is held is bounded and allocation-free: a few sessions and activations per
//! connection, user names cut at [`MAX_USER`] octets.

mod eve;

use std::hash::{Hash, Hasher};

use decoders::app::AnomalyName;
use decoders::opcua::{Body, Header, Identity, OpcuaParser, Pdu, TokenType, Transaction};
use decoders::{AppProto, Direction, Tx};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Sessions followed per connection (stacks open one or two per channel).
const MAX_SESSIONS: usize = 8;
/// ActivateSession requests awaiting their response.
const MAX_ACTIVATING: usize = 4;
/// The longest user name kept.
pub const MAX_USER: usize = 64;

/// Who a session runs as, owned.
#[derive(Clone, Copy)]
struct Who {
    token: Option<TokenType>,
    user: [u8; MAX_USER],
    user_len: u8,
}

impl Who {
    fn new(token: Option<TokenType>, user: &[u8]) -> Self {
        let n = user.len().min(MAX_USER);
        let mut w = Who {
            token,
            user: [0; MAX_USER],
            user_len: n as u8,
        };
        w.user[..n].copy_from_slice(&user[..n]);
        w
    }

    fn identity(&self) -> Identity<'_> {
        Identity {
            token: self.token,
            user: &self.user[..usize::from(self.user_len)],
        }
    }
}

#[derive(Clone, Copy)]
struct Session {
    /// A hash of the session's authentication token.
    key: u64,
    who: Who,
}

#[derive(Clone, Copy)]
struct Activating {
    handle: u32,
    key: u64,
    who: Who,
}

/// Per-flow OPC UA state.
#[derive(Default)]
pub struct State {
    /// Sessions activated, most recent last.
    sessions: Vec<Session>,
    activating: Vec<Activating>,
}

fn key(token: &decoders::opcua::NodeId<'_>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

impl State {
    fn session(&self, key: u64) -> Option<&Who> {
        self.sessions.iter().find(|s| s.key == key).map(|s| &s.who)
    }

    /// Follow a request: an activation is held, a closed session forgotten. Returns the
    /// authentication token's key.
    fn request(&mut self, t: &Transaction<'_>) -> Option<u64> {
        let s = t.service?;
        let Some(Header::Request(h)) = s.header else {
            return None;
        };
        let k = key(&h.authentication_token);
        match s.body {
            Body::ActivateSession(token) => {
                if self.activating.len() == MAX_ACTIVATING {
                    self.activating.remove(0);
                }
                self.activating.push(Activating {
                    handle: h.handle,
                    key: k,
                    who: Who::new(token.kind, token.user),
                });
            }
            _ if s.name() == Some("CloseSession") => self.sessions.retain(|s| s.key != k),
            _ => {}
        }
        Some(k)
    }

    /// Follow a response: an accepted activation makes its session known as its identity.
    fn response(&mut self, t: &Transaction<'_>) {
        let Some(s) = t.service else {
            return;
        };
        let (Some(handle), Some(result)) = (s.handle(), s.result()) else {
            return;
        };
        let Some(i) = self.activating.iter().position(|a| a.handle == handle) else {
            return;
        };
        let a = self.activating.remove(i);
        if result & 0x8000_0000 != 0 || s.name() != Some("ActivateSession") {
            return;
        }
        self.sessions.retain(|s| s.key != a.key);
        if self.sessions.len() == MAX_SESSIONS {
            self.sessions.remove(0);
        }
        self.sessions.push(Session {
            key: a.key,
            who: a.who,
        });
    }
}

impl Logged for OpcuaParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let Pdu::Message(m) = pdu else {
            return;
        };
        let mut t = Transaction::new(m);
        let session = match dir {
            Direction::ToServer => state.request(&t),
            Direction::ToClient => {
                state.response(&t);
                None
            }
        };
        t.session = session.and_then(|k| state.session(k)).map(Who::identity);
        let body = eve::Body {
            opcua: eve::Opcua(&t, dir),
        };
        if let Some(a) = m.anomaly() {
            ctx.app_anomaly_in(AppProto::Opcua, dir, a.anomaly_name(), &a, &body);
        }
        ctx.transaction(EventType::Opcua, dir, Tx::Opcua(&t), &body);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.sessions.capacity() * std::mem::size_of::<Session>()
            + state.activating.capacity() * std::mem::size_of::<Activating>()
    }
}

#[cfg(test)]
mod tests;
