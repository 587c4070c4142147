//! MMS (IEC 61850's client/server protocol) in the sensor: each TPKT is read as COTP, data
//! TPDUs are joined per direction until EOT, and each TSDU — session, presentation, ACSE and
//! the MMS PDU — is one `mms` event, matched against the rules as it goes. A connection's
//! setup (COTP CR/CC) was S7comm's until its first data TPDU showed a session SPDU.

pub mod eve;

use decoders::mms::{Message, MmsParser};
use decoders::s7comm::{Cotp, CotpType, Reassembler, Tpkt};
use decoders::{AppProto, Direction, Tx};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Per-flow MMS state.
#[derive(Default)]
pub struct State {
    reassembler: Reassembler,
}

impl Logged for MmsParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, tpkt: Tpkt<'_>) {
        let cotp = match Cotp::parse(&tpkt) {
            Ok(c) => c,
            Err(e) => {
                let name = match e {
                    decoders::s7comm::cotp::CotpError::UnknownType(_) => "mms.invalid_cotp_type",
                    _ => "mms.invalid_cotp_length",
                };
                return ctx.app_anomaly(AppProto::Mms, dir, name, &e);
            }
        };
        let (eot, payload) = match cotp {
            Cotp::Data { eot, payload, .. } => (eot, payload),
            Cotp::Disconnect { kind, .. } => {
                if kind == CotpType::DisconnectRequest {
                    state.reassembler.reset(dir);
                }
                return;
            }
            _ => return,
        };
        let tsdu = match state.reassembler.push(dir, eot, payload) {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                let msg = format_args!("a TSDU of {} octets is more than is kept", e.len);
                return ctx.app_anomaly(AppProto::Mms, dir, "mms.tsdu_too_long", &msg);
            }
        };
        if tsdu.is_empty() {
            return;
        }
        let Some(m) = Message::read(tsdu) else {
            let msg = format_args!(
                "TSDU starts with {:#04x}: neither a session SPDU nor an MMS PDU",
                tsdu[0]
            );
            return ctx.app_anomaly(AppProto::Mms, dir, "mms.invalid_session", &msg);
        };
        let body = eve::Body {
            mms: eve::MmsLog(&m, dir),
        };
        if m.upper.mms.is_some() && m.mms.is_none() {
            let msg = "the presentation data is not an MMS PDU";
            ctx.app_anomaly_in(AppProto::Mms, dir, "mms.invalid_pdu", &msg, &body);
        }
        ctx.transaction(EventType::Mms, dir, Tx::Mms(&m), &body);
    }

    fn gap(state: &mut State, dir: Direction, _len: u64) {
        state.reassembler.reset(dir);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.reassembler.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
