//! DNP3 in the sensor: link frames are reassembled per direction into application fragments,
//! and each fragment is logged as one `dnp3` event, as Suricata 7 writes it.
//!
//! Like Suricata, confirmations (function code 0) are not logged: they carry no objects and
//! would double the event count of every confirmed exchange. Oddities — bad CRCs, fragments
//! out of sequence or too long, unknown objects, floods of unanswered requests — are anomaly
//! events named as Suricata names its DNP3 app-layer events.

mod events;

use decoders::app::AnomalyName;
use decoders::dnp3::application::{function, Kind};
use decoders::dnp3::transport::Push;
use decoders::dnp3::{Dnp3Parser, Fragment, Limits, ObjectError, Pdu, Reassembler};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Requests awaiting a response beyond which a flow is flooded (Suricata 7's default).
pub const FLOOD_REQUESTS: u32 = 32;

/// Per-flow DNP3 state.
#[derive(Default)]
pub struct State {
    sides: [Side; 2],
    /// Requests that expect a response, less the responses seen.
    unreplied: u32,
    flooded: bool,
}

#[derive(Default)]
struct Side {
    reassembler: Reassembler,
    /// The last PDU of this direction was skipped bytes: report a run of them once.
    skipping: bool,
}

/// Whether a request's function code asks for no response.
fn no_response(function: u8) -> bool {
    matches!(function, 0x00 | 0x06 | 0x08 | 0x0a | 0x0c | 0x21)
}

impl Logged for Dnp3Parser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let State {
            sides,
            unreplied,
            flooded,
        } = state;
        let side = &mut sides[dir.index()];
        let frame = match pdu {
            Pdu::Skipped { why, .. } => {
                if !side.skipping {
                    ctx.app_anomaly(AppProto::Dnp3, dir, why.anomaly_name(), &why);
                }
                side.skipping = true;
                return;
            }
            Pdu::Frame(frame) => frame,
        };
        side.skipping = false;
        let assembled = match side.reassembler.push(&frame) {
            Push::LinkOnly | Push::Pending | Push::OutOfSequence => return,
            Push::LenTooSmall => {
                let msg = "user data too short for the transport and application headers";
                ctx.app_anomaly(AppProto::Dnp3, dir, "dnp3.len_too_small", &msg);
                return;
            }
            Push::BadCrc => {
                let msg = "user data block CRC does not check";
                ctx.app_anomaly(AppProto::Dnp3, dir, "dnp3.bad_transport_crc", &msg);
                return;
            }
            Push::TooLong => {
                let msg = "reassembled fragment longer than the cap";
                ctx.app_anomaly(AppProto::Dnp3, dir, "dnp3.too_long_reassembly", &msg);
                return;
            }
            Push::Fragment(a) => a,
        };
        let Ok(fragment) = Fragment::new(assembled.data) else {
            let msg = "application fragment too short for its header";
            ctx.app_anomaly(AppProto::Dnp3, dir, "dnp3.len_too_small", &msg);
            return;
        };
        match fragment.kind() {
            Kind::Request if fragment.function() == function::CONFIRM => return,
            Kind::Request if !no_response(fragment.function()) => {
                *unreplied = unreplied.saturating_add(1);
                if *unreplied > FLOOD_REQUESTS && !*flooded {
                    *flooded = true;
                    let msg = "too many requests without a response";
                    ctx.app_anomaly(AppProto::Dnp3, dir, "dnp3.flooded", &msg);
                }
            }
            Kind::Response => {
                *unreplied = unreplied.saturating_sub(1);
                if *unreplied < FLOOD_REQUESTS {
                    *flooded = false;
                }
            }
            Kind::Request | Kind::UnsolicitedResponse => {}
        }
        let limits = Limits {
            max_objects: ctx.out.limits.dnp3_max_objects,
            ..Limits::default()
        };
        let error = fragment.objects(limits).summary().1;
        ctx.dnp3_link(dir, assembled.link.source);
        let body = events::Body::new(&assembled.link, &fragment, limits, error.is_none());
        ctx.transaction_alerting(
            EventType::Dnp3,
            dir,
            decoders::Tx::Dnp3(&fragment),
            &body,
            &body.for_alert(),
        );
        if let Some(e) = error {
            report(ctx, dir, e);
        }
    }

    /// Bytes were lost: the fragment being gathered cannot be completed.
    fn gap(state: &mut State, dir: Direction, _len: u64) {
        let side = &mut state.sides[dir.index()];
        side.reassembler.reset();
        side.skipping = false;
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.sides.iter().map(|s| s.reassembler.heap_bytes()).sum()
    }
}

fn report(ctx: &mut AppCtx<'_>, dir: Direction, e: ObjectError) {
    ctx.app_anomaly(AppProto::Dnp3, dir, e.anomaly_name(), &e);
}
