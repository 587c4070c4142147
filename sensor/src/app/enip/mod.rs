//! EtherNet/IP in the sensor: each encapsulation message is matched against the rules as it
//! arrives (a request going to the server, a response to the client), and each request is
//! logged with its response as one `enip` event. Requests awaiting their response are kept
//! as copies, capped per flow; a flood of unanswered requests loses the oldest, with an
//! anomaly.

mod eve;

use std::collections::VecDeque;

use decoders::enip::{command_name, EnipParser, Pdu};
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

/// The class a request's CIP message addresses: what names its response's service.
fn class_of(pdu: &Pdu<'_>) -> Option<u32> {
    pdu.cip()
        .and_then(|c| c.path_value(decoders::enip::Segment::CLASS))
}

/// A request and its response as one event (the body alerts on either carry too).
fn body<'a>(request: Option<&'a Pdu<'a>>, response: Option<&'a Pdu<'a>>) -> eve::Body<'a> {
    let class = request.and_then(class_of);
    eve::Body {
        enip: eve::Enip {
            request: request.map(|pdu| eve::Message { pdu, class }),
            response: response.map(|pdu| eve::Message { pdu, class }),
        },
    }
}

fn log_unanswered(ctx: &mut AppCtx<'_>, request: &[u8]) {
    let request = reread(request);
    ctx.event(EventType::Enip, body(request.as_ref(), None));
}

impl Logged for EnipParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let kept = match dir {
            Direction::ToServer => None,
            Direction::ToClient => state.pending.pop_front(),
        };
        let request = kept.as_deref().and_then(reread);
        let body = match dir {
            Direction::ToServer => body(Some(&pdu), None),
            Direction::ToClient => body(request.as_ref(), Some(&pdu)),
        };
        if command_name(pdu.command).is_none() {
            let msg = format_args!(
                "encapsulation command {:#06x} is not EtherNet/IP",
                pdu.command
            );
            ctx.app_anomaly_in(AppProto::Enip, dir, "enip.invalid_command", &msg, &body);
        }
        ctx.inspect(dir, decoders::Tx::Enip(&pdu), &body);
        match dir {
            // Commands that get no reply: a NOP, the end of a session.
            Direction::ToServer if matches!(pdu.command, 0x0000 | 0x0066) => {
                ctx.event(EventType::Enip, &body);
            }
            Direction::ToServer => {
                if state.pending.len() >= MAX_PENDING {
                    if let Some(old) = state.pending.pop_front() {
                        let msg = "too many requests awaiting a response";
                        ctx.app_anomaly(AppProto::Enip, dir, "enip.flooded", &msg);
                        log_unanswered(ctx, &old);
                    }
                }
                let mut kept = pdu.header.to_vec();
                kept.extend_from_slice(pdu.data);
                state.pending.push_back(kept);
            }
            Direction::ToClient => ctx.event(EventType::Enip, &body),
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        while let Some(r) = state.pending.pop_front() {
            log_unanswered(ctx, &r);
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.pending.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests;
