//! EtherNet/IP in the sensor: each encapsulation message is matched against the rules as it
//! arrives (a request going to the server, a response to the client), and each request is
//! logged with its response as one `enip` event. Requests awaiting their response are kept
//! as copies, capped per flow; a flood of unanswered requests loses the oldest, with an
//! anomaly.

mod eve;

use std::collections::VecDeque;

use decoders::enip::{EnipParser, Pdu};
use decoders::{AppProto, Direction, Parsed, StreamParser};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Requests a flow may have awaiting their response.
pub const MAX_PENDING: usize = 32;

/// Per-flow EtherNet/IP state.
#[derive(Default)]
pub struct State {
    /// Requests awaiting their response, as sent, oldest first.
    pending: VecDeque<Vec<u8>>,
}

/// A request kept as sent, read again.
fn reread(bytes: &[u8]) -> Option<Pdu<'_>> {
    match EnipParser.parse(Direction::ToServer, bytes) {
        Parsed::Pdu { pdu, .. } => Some(pdu),
        _ => None,
    }
}

fn log(ctx: &mut AppCtx<'_>, request: Option<&[u8]>, response: Option<&Pdu<'_>>) {
    let request = request.and_then(reread);
    ctx.event(
        EventType::Enip,
        &eve::Body {
            enip: eve::Enip {
                request: request.as_ref().map(eve::Message),
                response: response.map(eve::Message),
            },
        },
    );
}

impl Logged for EnipParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let body = eve::Body {
            enip: eve::Enip {
                request: (dir == Direction::ToServer).then_some(eve::Message(&pdu)),
                response: (dir == Direction::ToClient).then_some(eve::Message(&pdu)),
            },
        };
        ctx.inspect(dir, decoders::Tx::Enip(&pdu), &body);
        match dir {
            Direction::ToServer => {
                if state.pending.len() >= MAX_PENDING {
                    let old = state.pending.pop_front();
                    let msg = "too many requests awaiting a response";
                    ctx.app_anomaly(AppProto::Enip, dir, "enip.flooded", &msg);
                    log(ctx, old.as_deref(), None);
                }
                let mut kept = pdu.header.to_vec();
                kept.extend_from_slice(pdu.data);
                state.pending.push_back(kept);
            }
            Direction::ToClient => {
                let request = state.pending.pop_front();
                log(ctx, request.as_deref(), Some(&pdu));
            }
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        while let Some(r) = state.pending.pop_front() {
            log(ctx, Some(&r), None);
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.pending.iter().map(Vec::capacity).sum()
    }
}
