//! IEC 60870-5-104 in the sensor: every I- and U-frame is one `iec104` event, matched against
//! the rules as it goes; S-frames (bare acknowledgements) are matched but not logged.
//!
//! Each direction's send sequence numbers are followed: an I-frame whose N(S) is not the next
//! one (`iec104.sequence_gap`) means frames lost, replayed or injected, and an N(R) that
//! acknowledges frames the other side never sent (`iec104.unsent_acknowledged`) means a
//! third party speaks on the connection. A gap in the capture forgets what was followed.

mod eve;

use std::fmt;

use decoders::app::AnomalyName;
use decoders::iec104::{apci::MODULO, Apci, Apdu, Iec104Parser};
use decoders::{AppProto, Direction, Tx};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Per-flow IEC 104 state.
#[derive(Default)]
pub struct State {
    /// Per direction, the N(S) its next I-frame should carry, once one has been seen.
    next_send: [Option<u16>; 2],
}

/// Why a frame's sequence numbers do not follow.
struct Sequence {
    what: &'static str,
    expected: u16,
    got: u16,
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}, expected {}", self.what, self.got, self.expected)
    }
}

/// How far `b` is ahead of `a`, modulo 2^15.
fn ahead(a: u16, b: u16) -> u16 {
    b.wrapping_sub(a) % MODULO
}

impl State {
    /// Follow `apci`'s numbers; the anomalies they raise.
    fn follow(&mut self, dir: Direction, apci: Apci) -> [Option<(&'static str, Sequence)>; 2] {
        let (send, recv) = match apci {
            Apci::I { send, recv } => (Some(send), Some(recv)),
            Apci::S { recv } => (None, Some(recv)),
            Apci::U(_) => (None, None),
        };
        let mut found = [None, None];
        if let Some(got) = send {
            let slot = &mut self.next_send[dir.index()];
            if let Some(expected) = *slot {
                if expected != got {
                    let s = Sequence {
                        what: "send sequence number",
                        expected,
                        got,
                    };
                    found[0] = Some(("iec104.sequence_gap", s));
                }
            }
            *slot = Some((got + 1) % MODULO);
        }
        if let (Some(got), Some(sent)) = (recv, self.next_send[dir.reverse().index()]) {
            // Acknowledging up to `sent` is the most a receiver can do; more is frames that
            // never went this flow's way. Half the number space ahead is taken for behind.
            let over = ahead(sent, got);
            if over != 0 && over < MODULO / 2 {
                let s = Sequence {
                    what: "receive sequence number",
                    expected: sent,
                    got,
                };
                found[1] = Some(("iec104.unsent_acknowledged", s));
            }
        }
        found
    }
}

impl Logged for Iec104Parser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, apdu: Apdu<'_>) {
        let body = eve::Body {
            iec104: eve::Iec104(&apdu, dir),
        };
        if let Some(a) = apdu.anomaly() {
            ctx.app_anomaly_in(AppProto::Iec104, dir, a.anomaly_name(), &a, &body);
        }
        for (name, why) in state.follow(dir, apdu.apci).into_iter().flatten() {
            ctx.app_anomaly_in(AppProto::Iec104, dir, name, &why, &body);
        }
        match apdu.apci {
            Apci::S { .. } => ctx.inspect(dir, Tx::Iec104(&apdu), &body),
            _ => ctx.transaction(EventType::Iec104, dir, Tx::Iec104(&apdu), &body),
        }
    }

    fn gap(state: &mut State, dir: Direction, _len: u64) {
        // Frames of `dir` went missing: its numbers, and what it acknowledges, start afresh.
        state.next_send[dir.index()] = None;
    }
}

#[cfg(test)]
mod tests;
