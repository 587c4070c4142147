//! DNS in the sensor: every query and response is one `dns` event, as Suricata 8 writes it
//! (EVE DNS version 3), and is matched against the rules. Each message is a transaction, as in
//! Suricata; a response that answers no query seen is an anomaly. Queries awaiting an answer
//! are capped per flow.

mod eve;

use decoders::app::AnomalyName;
use decoders::dns::{DnsParser, Message, Pdu, Section};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Queries a flow may have awaiting their response.
pub const MAX_PENDING: usize = 256;

/// Per-flow DNS state.
#[derive(Default)]
pub struct State {
    next_tx: u64,
    /// DNS ids of the queries not yet answered, oldest first.
    pending: Vec<u16>,
}

impl Logged for DnsParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let m: Message<'_> = match pdu {
            Pdu::Message(m) => m,
            Pdu::Malformed(e) => {
                ctx.app_anomaly(AppProto::Dns, dir, e.anomaly_name(), &e);
                return;
            }
        };
        // Each message is a transaction of its own, as in Suricata 7 and later; a response
        // is checked against the queries still unanswered.
        let tx_id = state.next_tx;
        state.next_tx += 1;
        if m.is_response() {
            match state.pending.iter().position(|id| *id == m.id()) {
                Some(i) => {
                    state.pending.remove(i);
                }
                None => {
                    let msg = "a response to no query seen";
                    ctx.app_anomaly(AppProto::Dns, dir, "dns.unsolicited_response", &msg);
                }
            }
        } else {
            if state.pending.len() >= MAX_PENDING {
                state.pending.remove(0);
                let msg = "too many queries without a response";
                ctx.app_anomaly(AppProto::Dns, dir, "dns.flooded", &msg);
            }
            state.pending.push(m.id());
        }
        // Alerts on the message's own anomalies carry the message, as Suricata's do.
        let body = eve::Body {
            dns: eve::Dns::new(&m, tx_id),
        };
        match (dir, m.is_response()) {
            (Direction::ToServer, true) => {
                let msg = "a response sent to the server";
                ctx.app_anomaly_in(AppProto::Dns, dir, "dns.not_a_request", &msg, &body);
            }
            (Direction::ToClient, false) => {
                let msg = "a query sent to the client";
                ctx.app_anomaly_in(AppProto::Dns, dir, "dns.not_a_response", &msg, &body);
            }
            _ => {}
        }
        if m.flag(0x0040) {
            let msg = "the reserved Z flag is set";
            ctx.app_anomaly_in(AppProto::Dns, dir, "dns.z_flag_set", &msg, &body);
        }
        if m.opcode() > 6 {
            let msg = "opcode not assigned";
            ctx.app_anomaly_in(AppProto::Dns, dir, "dns.invalid_opcode", &msg, &body);
        }
        match m.invalid_section() {
            Some(Section::Authority) => {
                let msg = "the authority section does not check: dropped, with the additionals";
                ctx.app_anomaly_in(AppProto::Dns, dir, "dns.invalid_authorities", &msg, &body);
            }
            Some(_) => {
                let msg = "the additional section does not check: dropped";
                ctx.app_anomaly_in(AppProto::Dns, dir, "dns.invalid_additionals", &msg, &body);
            }
            None => {}
        }
        if m.trailing() > 0 {
            let msg = "bytes after the last record";
            ctx.app_anomaly_in(AppProto::Dns, dir, "dns.malformed_data", &msg, &body);
        }
        ctx.message(EventType::Dns, dir, decoders::Tx::Dns(&m), body);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.pending.capacity() * std::mem::size_of::<u16>()
    }
}

#[cfg(test)]
mod tests;
