//! SSH in the sensor: each side's banner and KEXINIT read into one summary per flow, inspected
//! by the rules as each arrives (banner, then HASSH) and logged as one `ssh` event, as
//! Suricata writes it, once both sides have sent `NEWKEYS` or the flow ends. What follows
//! `NEWKEYS` is encrypted and only counted.

mod eve;

use decoders::ssh::{kex, msg, KexInit, Pdu, Progress, Ssh, SshParser};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Per-flow SSH state.
#[derive(Default)]
pub struct State {
    ssh: Ssh,
    logged: bool,
}

fn inspect(state: &State, ctx: &mut AppCtx<'_>, dir: Direction, progress: Progress) {
    let body = eve::Body {
        ssh: eve::SshLog(&state.ssh),
    };
    let tx = decoders::Tx::Ssh {
        ssh: &state.ssh,
        progress,
    };
    ctx.inspect(dir, tx, &body);
}

fn log_once(state: &mut State, ctx: &mut AppCtx<'_>) {
    if !state.logged && state.ssh.sides.iter().any(|s| s.seen_banner) {
        state.logged = true;
        let body = eve::Body {
            ssh: eve::SshLog(&state.ssh),
        };
        ctx.event(EventType::Ssh, &body);
    }
}

impl Logged for SshParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        let side = &mut state.ssh.sides[dir.index()];
        match pdu {
            Pdu::Banner(b) => {
                if side.seen_banner {
                    return;
                }
                side.seen_banner = true;
                side.proto = b.proto.to_vec();
                side.software = b.software.to_vec();
                side.comments = b.comments.to_vec();
                if b.proto != b"2.0" && b.proto != b"1.99" {
                    let msg = "protocol version other than 2.0";
                    ctx.app_anomaly(AppProto::Ssh, dir, "ssh.legacy_version", &msg);
                }
                inspect(state, ctx, dir, Progress::Banner);
            }
            Pdu::Packet {
                msg_type: msg::KEXINIT,
                payload,
            } => {
                if side.seen_kex {
                    // A re-key: sent in the clear only before the first NEWKEYS.
                    return;
                }
                let Some(k) = KexInit::parse(payload) else {
                    let msg = "KEXINIT shorter than its name-lists";
                    ctx.app_anomaly(AppProto::Ssh, dir, "ssh.invalid_kexinit", &msg);
                    return;
                };
                side.seen_kex = true;
                side.hassh = match dir {
                    Direction::ToServer => k.hassh_client(),
                    Direction::ToClient => k.hassh_server(),
                };
                side.hassh_hash = kex::hassh_hash(&side.hassh).into_bytes();
                inspect(state, ctx, dir, Progress::Kex);
            }
            Pdu::Packet {
                msg_type: msg::NEWKEYS,
                ..
            } => {
                side.encrypted = true;
                if state.ssh.sides.iter().all(|s| s.encrypted) {
                    log_once(state, ctx);
                }
            }
            Pdu::Packet { .. } | Pdu::Line(_) | Pdu::Encrypted(_) => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        log_once(state, ctx);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.ssh.heap_bytes()
    }
}
