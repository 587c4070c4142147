//! Modbus/TCP in the sensor: requests wait for their responses, and each transaction is one
//! `modbus` event carrying both, as Suricata 7 logs it.
//!
//! A request is kept (its ADU bytes, in a buffer the flow reuses) until a response with the same
//! transaction id, unit id and function answers it; then the pair is logged under the flow's
//! transaction counter (`modbus.id`, counted as Suricata counts its transactions). A response
//! that answers nothing is logged alone (`modbus.unsolicited_response`); a request never
//! answered is logged alone when the flow ends or when the pending table, capped at
//! [`MAX_PENDING`] requests, pushes it out (`modbus.unanswered_request`, and `modbus.flooded`
//! once per flood).

mod eve;

use icsight_eve::EventType;
use std::fmt;

use decoders::modbus::{frame, pair, AccessType, Adu, ErrorFlags, Message, ModbusParser, Pairing};
use decoders::{AppProto, Direction};

use super::{AppCtx, Logged};
use eve::{Body, Side, Tx};

/// Requests a flow may have waiting for a response: Suricata's request-flood default.
pub const MAX_PENDING: usize = 500;

/// First capacity of a buffer that keeps a request: most requests (reads, single writes,
/// diagnostics, device identification) fit, and a buffer that once held a longer write keeps
/// its size when reused, so a flow stops allocating once it has seen its largest request.
const KEPT_ADU_CAPACITY: usize = 64;

/// A request waiting for its response.
struct Pending {
    tx_id: u64,
    transaction_id: u16,
    unit_id: u8,
    /// Whether the flow was established when the request came: a request never answered is
    /// matched at flow end, when the connection no longer is.
    established: bool,
    /// The whole ADU, MBAP header included.
    adu: Vec<u8>,
}

/// A flow's Modbus transactions.
#[derive(Default)]
pub struct State {
    /// Transactions begun so far (the last one's `modbus.id`).
    tx_id: u64,
    /// Requests awaiting a response, oldest first.
    pending: Vec<Pending>,
    /// Buffers of answered requests, kept for the next ones.
    spare: Vec<Vec<u8>>,
    /// The pending table hit its cap and has not drained to half since.
    flooded: bool,
}

impl State {
    fn keep(&mut self, tx_id: u64, adu: &Adu<'_>, established: bool) {
        let mut buf = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(KEPT_ADU_CAPACITY));
        buf.clear();
        let h = adu.header;
        buf.extend_from_slice(&h.transaction_id.to_be_bytes());
        buf.extend_from_slice(&h.protocol_id.to_be_bytes());
        buf.extend_from_slice(&h.length.to_be_bytes());
        buf.push(h.unit_id);
        buf.extend_from_slice(adu.pdu());
        self.pending.push(Pending {
            tx_id,
            transaction_id: h.transaction_id,
            unit_id: h.unit_id,
            established,
            adu: buf,
        });
    }

    /// The oldest pending request that `resp` answers, and how it agrees with it.
    fn answered_by(&self, resp: &Message<'_>) -> Option<(usize, Pairing)> {
        self.pending.iter().enumerate().find_map(|(i, p)| {
            if p.transaction_id != resp.header.transaction_id || p.unit_id != resp.header.unit_id {
                return None;
            }
            let req = reparse(&p.adu)?;
            match pair(&req, resp) {
                Pairing::NoMatch => None,
                how => Some((i, how)),
            }
        })
    }
}

/// Which way a PDU goes in Modbus terms. The flow's client is the side that sent the SYN; when
/// that side sits on a Modbus port and the other does not, the device on the Modbus port is a
/// server that opened the connection itself (as some gateways do), and its PDUs are responses.
fn modbus_direction(ctx: &AppCtx<'_>, dir: Direction) -> Direction {
    let d = &ctx.out.detection;
    if d.is_service_port(ctx.here.meta.client.1) && !d.is_service_port(ctx.here.meta.server.1) {
        dir.reverse()
    } else {
        dir
    }
}

/// Decode a kept request again.
fn reparse(adu: &[u8]) -> Option<Message<'_>> {
    frame(adu).map(|a| Message::decode(&a, Direction::ToServer))
}

/// The anomaly message: which PDU, and what is wrong with it.
struct What<'a> {
    m: &'a Message<'a>,
    why: &'static str,
}

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transaction {} unit {} function {}: {} ({})",
            self.m.header.transaction_id,
            self.m.header.unit_id,
            self.m.function_raw,
            self.why,
            self.m.flags
        )
    }
}

fn anomaly(
    ctx: &mut AppCtx<'_>,
    dir: Direction,
    m: &Message<'_>,
    name: &'static str,
    why: &'static str,
) {
    ctx.app_anomaly(AppProto::Modbus, dir, name, &What { m, why });
}

/// Suricata's app-layer events for a PDU's error flags.
fn flag_anomalies(ctx: &mut AppCtx<'_>, dir: Direction, m: &Message<'_>) {
    const EVENTS: [(ErrorFlags, &str, &str); 5] = [
        (
            ErrorFlags::FUNC_CODE,
            "modbus.invalid_function_code",
            "function code 0 or with the exception bit in a request",
        ),
        (
            ErrorFlags::DATA_VALUE,
            "modbus.invalid_value",
            "a value out of range",
        ),
        (
            ErrorFlags::DATA_LENGTH,
            "modbus.invalid_length",
            "body length does not fit the function",
        ),
        (
            ErrorFlags::EXC_CODE,
            "modbus.invalid_exception_code",
            "exception code not defined for the function",
        ),
        (
            ErrorFlags::PROTO_ID,
            "modbus.invalid_protocol_id",
            "protocol id is not 0",
        ),
    ];
    for (flag, name, why) in EVENTS {
        if m.flags.intersects(flag) {
            anomaly(ctx, dir, m, name, why);
        }
    }
}

/// A response's anomalies: a read or write response that disagrees with its request, or whose
/// own counts disagree, is a value mismatch (as Suricata has it); other flags as for requests.
fn response_anomalies(ctx: &mut AppCtx<'_>, m: &Message<'_>) {
    let dir = Direction::ToClient;
    if m.access.intersects(AccessType::READ | AccessType::WRITE)
        && m.flags
            .intersects(ErrorFlags::DATA_LENGTH | ErrorFlags::DATA_VALUE)
    {
        anomaly(
            ctx,
            dir,
            m,
            "modbus.value_mismatch",
            "response disagrees with the request or itself",
        );
    } else {
        flag_anomalies(ctx, dir, m);
    }
}

fn log_unanswered(ctx: &mut AppCtx<'_>, p: &Pending) {
    let Some(req) = reparse(&p.adu) else {
        return;
    };
    let tx = Tx {
        id: p.tx_id,
        request: Some(Side::new(&req, None)),
        response: None,
    };
    let rule_tx = decoders::Tx::Modbus {
        request: Some(&req),
        response: None,
    };
    let now = std::mem::replace(&mut ctx.here.established, p.established);
    ctx.transaction(
        EventType::Modbus,
        Direction::ToServer,
        rule_tx,
        Body { modbus: tx },
    );
    ctx.here.established = now;
    anomaly(
        ctx,
        Direction::ToServer,
        &req,
        "modbus.unanswered_request",
        "request never answered",
    );
}

impl Logged for ModbusParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, adu: Adu<'_>) {
        let dir = modbus_direction(ctx, dir);
        let mut m = Message::decode(&adu, dir);
        match dir {
            Direction::ToServer => {
                flag_anomalies(ctx, dir, &m);
                state.tx_id += 1;
                if state.pending.len() >= MAX_PENDING {
                    let oldest = state.pending.remove(0);
                    if !state.flooded {
                        state.flooded = true;
                        anomaly(
                            ctx,
                            dir,
                            &m,
                            "modbus.flooded",
                            "too many requests awaiting a response",
                        );
                    }
                    log_unanswered(ctx, &oldest);
                    state.spare.push(oldest.adu);
                }
                state.keep(state.tx_id, &adu, ctx.here.established);
            }
            Direction::ToClient => match state.answered_by(&m) {
                Some((i, how)) => {
                    let p = state.pending.remove(i);
                    if how == Pairing::Mismatch {
                        m.flags |= ErrorFlags::DATA_VALUE;
                    }
                    response_anomalies(ctx, &m);
                    if let Some(req) = reparse(&p.adu) {
                        let bits = eve::bit_quantity(&req);
                        let tx = Tx {
                            id: p.tx_id,
                            request: Some(Side::new(&req, None)),
                            response: Some(Side::new(&m, bits)),
                        };
                        let rule_tx = decoders::Tx::Modbus {
                            request: Some(&req),
                            response: Some(&m),
                        };
                        ctx.transaction(
                            EventType::Modbus,
                            Direction::ToServer,
                            rule_tx,
                            Body { modbus: tx },
                        );
                    }
                    state.spare.push(p.adu);
                    if state.flooded && state.pending.len() <= MAX_PENDING / 2 {
                        state.flooded = false;
                    }
                }
                None => {
                    state.tx_id += 1;
                    response_anomalies(ctx, &m);
                    let tx = Tx {
                        id: state.tx_id,
                        request: None,
                        response: Some(Side::new(&m, None)),
                    };
                    let rule_tx = decoders::Tx::Modbus {
                        request: None,
                        response: Some(&m),
                    };
                    ctx.transaction(EventType::Modbus, dir, rule_tx, Body { modbus: tx });
                    anomaly(
                        ctx,
                        dir,
                        &m,
                        "modbus.unsolicited_response",
                        "response to no pending request",
                    );
                }
            },
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        for p in state.pending.drain(..) {
            log_unanswered(ctx, &p);
            state.spare.push(p.adu);
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.pending.capacity() * std::mem::size_of::<Pending>()
            + state
                .pending
                .iter()
                .map(|p| p.adu.capacity())
                .sum::<usize>()
            + state.spare.capacity() * std::mem::size_of::<Vec<u8>>()
            + state.spare.iter().map(Vec::capacity).sum::<usize>()
    }
}
