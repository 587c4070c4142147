//! TLS in the sensor: handshake records gathered into messages per direction, the hellos and
//! the server's certificate read into one summary per flow, inspected by the rules after the
//! ClientHello and again once the server's side is in, and logged as one `tls` event, as
//! Suricata writes it. What follows `ChangeCipherSpec` (or a TLS 1.3 ServerHello) is encrypted
//! and only framed.

mod eve;

use decoders::tls::{content, handshake, hello, Handshake, Progress, Record, Tls, TlsParser};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Per-flow TLS state.
#[derive(Default)]
pub struct State {
    /// Boxed: a summary is large beside the other protocols' states.
    tls: Box<Tls>,
    handshakes: [Handshake; 2],
    /// The direction's records are encrypted from here on.
    encrypted: [bool; 2],
    client_inspected: bool,
    server_inspected: bool,
    logged: bool,
}

fn inspect(state: &mut State, ctx: &mut AppCtx<'_>, progress: Progress) {
    let dir = match progress {
        Progress::ClientHello => Direction::ToServer,
        Progress::Server => Direction::ToClient,
    };
    let body = eve::Body {
        tls: eve::TlsLog(&state.tls),
    };
    ctx.inspect(
        dir,
        decoders::Tx::Tls {
            tls: &state.tls,
            progress,
        },
        &body,
    );
}

/// The server's side is in (or will not come): inspect it and log the handshake, once.
fn server_done(state: &mut State, ctx: &mut AppCtx<'_>) {
    if !state.server_inspected && state.tls.seen_server_hello {
        state.server_inspected = true;
        inspect(state, ctx, Progress::Server);
    }
    if !state.logged && (state.tls.seen_client_hello || state.tls.seen_server_hello) {
        state.logged = true;
        let body = eve::Body {
            tls: eve::TlsLog(&state.tls),
        };
        ctx.event(EventType::Tls, &body);
    }
}

fn message(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, kind: u8, msg: &[u8]) {
    let tls = &mut state.tls;
    tls.keep_wire(dir, msg);
    let ok = match kind {
        handshake::CLIENT_HELLO => {
            let ok = hello::client(tls, msg);
            if ok && !state.client_inspected {
                state.client_inspected = true;
                inspect(state, ctx, Progress::ClientHello);
            }
            ok
        }
        handshake::SERVER_HELLO => {
            let ok = hello::server(tls, msg);
            if ok && tls.version >= 0x0304 {
                // TLS 1.3: the certificate and all that follows are encrypted.
                state.encrypted[Direction::ToClient.index()] = true;
                server_done(state, ctx);
            }
            ok
        }
        handshake::CERTIFICATE if dir == Direction::ToClient => hello::certificate(tls, msg),
        handshake::SERVER_KEY_EXCHANGE => {
            tls.seen_server_key_exchange = true;
            true
        }
        handshake::CLIENT_KEY_EXCHANGE => {
            tls.seen_client_key_exchange = true;
            true
        }
        handshake::SERVER_HELLO_DONE => {
            server_done(state, ctx);
            true
        }
        _ => true,
    };
    if !ok {
        let name = match kind {
            handshake::CLIENT_HELLO => "tls.invalid_client_hello",
            handshake::SERVER_HELLO => "tls.invalid_server_hello",
            _ => "tls.invalid_certificate",
        };
        ctx.app_anomaly(AppProto::Tls, dir, name, &name);
    }
}

impl Logged for TlsParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, r: Record<'_>) {
        let i = dir.index();
        match r.content_type {
            content::HANDSHAKE if !state.encrypted[i] => {
                if !state.handshakes[i].push(r.fragment) {
                    let msg = "handshake messages longer than the cap";
                    ctx.app_anomaly(AppProto::Tls, dir, "tls.handshake_too_long", &msg);
                    state.encrypted[i] = true;
                    state.handshakes[i].clear();
                    return;
                }
                // Taken out while its messages are read, so they need no copy.
                let mut gathered = std::mem::take(&mut state.handshakes[i]);
                while let Some((kind, msg)) = gathered.next_message() {
                    message(state, ctx, dir, kind, msg);
                }
                state.handshakes[i] = gathered;
            }
            content::CHANGE_CIPHER_SPEC => {
                state.encrypted[i] = true;
                state.handshakes[i].clear();
                if dir == Direction::ToClient {
                    server_done(state, ctx);
                }
            }
            content::APPLICATION_DATA if dir == Direction::ToClient => server_done(state, ctx),
            _ => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        server_done(state, ctx);
    }

    fn gap(state: &mut State, dir: Direction, _len: u64) {
        state.handshakes[dir.index()].clear();
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.tls.heap_bytes()
            + state
                .handshakes
                .iter()
                .map(Handshake::heap_bytes)
                .sum::<usize>()
    }
}
