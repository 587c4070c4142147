//! FTP in the sensor: each command and its replies are one transaction, inspected by the rules
//! when the command arrives and again at its final reply, and logged then as one `ftp` event,
//! as Suricata writes it. The data connections that `PASV`, `EPSV`, `PORT` and `EPRT`
//! announce are expected ([`super::expect`]) with the command that uses them, so the data
//! connection is known for what it is (`ftp-data`) from its first byte.
//!
//! Transactions awaiting their replies are capped per flow; a client that sends more commands
//! than are answered loses the oldest, with an anomaly.

mod eve;

use decoders::ftp::{port, Command, DataCommand, FtpParser, Pdu, Progress, Reply, Transaction};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;
use std::collections::VecDeque;

use super::expect::{Expectation, FtpData};
use super::{AppCtx, Logged};

/// Commands a flow may have awaiting their final reply.
pub const MAX_OPEN: usize = 32;

/// Per-flow FTP state.
#[derive(Default)]
pub struct State {
    /// Transactions awaiting their final reply, oldest first.
    open: VecDeque<Transaction>,
    /// The data port last announced, and whether in active mode, until a transfer command
    /// uses it.
    data: Option<(u16, bool)>,
}

fn inspect(ctx: &mut AppCtx<'_>, tx: &Transaction, dir: Direction, progress: Progress) {
    let body = eve::Body {
        ftp: eve::FtpLog(tx),
    };
    ctx.inspect(dir, decoders::Tx::Ftp { tx, progress }, &body);
}

/// A transaction done with: its reply rules, seen each way as Suricata inspects a finished
/// transaction (a rule on `ftp.mode` with no direction alerts once each way), and its event.
fn finish(ctx: &mut AppCtx<'_>, tx: Transaction) {
    for dir in [Direction::ToServer, Direction::ToClient] {
        inspect(ctx, &tx, dir, Progress::Response);
    }
    ctx.event(
        EventType::Ftp,
        &eve::Body {
            ftp: eve::FtpLog(&tx),
        },
    );
}

/// An anomaly of a command: alerts on it carry the command's `ftp` block, as Suricata's do.
fn command_anomaly(ctx: &mut AppCtx<'_>, tx: &Transaction, event: &'static str, msg: &str) {
    let body = eve::Body {
        ftp: eve::FtpLog(tx),
    };
    ctx.app_anomaly_in(AppProto::Ftp, Direction::ToServer, event, &msg, &body);
}

fn command(state: &mut State, ctx: &mut AppCtx<'_>, c: Command<'_>) {
    let dir = Direction::ToServer;
    let mut tx = Transaction::request(c.line, c.verb, c.arg, c.truncated);
    if !c.well_formed() {
        let msg = "a command verb that is not 3 or 4 letters";
        command_anomaly(ctx, &tx, "ftp.invalid_command", msg);
    }
    if c.truncated {
        let msg = "a command line longer than the line limit";
        command_anomaly(ctx, &tx, "ftp.request_command_too_long", msg);
    }
    let announced = if tx.is(b"PORT") {
        port::port(c.arg)
    } else if tx.is(b"EPRT") {
        port::eprt(c.arg)
    } else {
        None
    };
    if let Some((addr, p)) = announced {
        tx.dynamic_port = Some(p);
        tx.active = Some(true);
        tx.data_addr = Some(addr);
        state.data = Some((p, true));
    }
    if let Some(command) = DataCommand::from_verb(c.verb) {
        if matches!(command, DataCommand::Retr | DataCommand::Stor) && c.arg.is_empty() {
            let msg = "a transfer command that names no file";
            command_anomaly(ctx, &tx, "ftp.file_without_name", msg);
        }
        match state.data.take() {
            Some((port, active)) => {
                // Between the control connection's own addresses, as Suricata expects it:
                // the address a PORT or a 227 names is often a private one behind NAT.
                let (client, server) = (ctx.here.meta.client.0, ctx.here.meta.server.0);
                let (listen, from) = if active {
                    ((client, port), server)
                } else {
                    ((server, port), client)
                };
                ctx.out.expected.expect(Expectation {
                    listen,
                    from,
                    data: FtpData {
                        command: Some(command),
                        filename: c.arg.to_vec(),
                    },
                    secs: ctx.here.ts.secs(),
                });
            }
            None => {
                let msg = "a transfer command with no data port announced";
                command_anomaly(ctx, &tx, "ftp.file_before_port", msg);
            }
        }
    }
    inspect(ctx, &tx, dir, Progress::Request);
    if state.open.len() >= MAX_OPEN {
        if let Some(old) = state.open.pop_front() {
            let msg = "too many commands awaiting a reply";
            ctx.app_anomaly(AppProto::Ftp, dir, "ftp.too_many_transactions", &msg);
            finish(ctx, old);
        }
    }
    state.open.push_back(tx);
}

fn reply(state: &mut State, ctx: &mut AppCtx<'_>, r: Reply<'_>) {
    if r.truncated {
        let msg = "a reply line longer than the line limit";
        let dir = Direction::ToClient;
        ctx.app_anomaly(AppProto::Ftp, dir, "ftp.response_command_too_long", &msg);
    }
    if state.open.is_empty() {
        // The greeting, or a reply to nothing seen: a transaction with no command.
        state.open.push_back(Transaction::default());
    }
    let Some(tx) = state.open.front_mut() else {
        return;
    };
    // A code is one that ends its reply (`226 `); the lines of a multi-line reply before its
    // last (`211-Features:`) are text, as Suricata 8 logs them.
    if r.more {
        tx.reply(None, r.line, r.truncated);
    } else {
        tx.reply(r.code, r.text, r.truncated);
    }
    let passive = match r.code {
        Some(227) => port::pasv(r.text).map(|(_, p)| p),
        Some(229) => port::epsv(r.text),
        _ => None,
    };
    if let Some(p) = passive {
        tx.dynamic_port = Some(p);
        tx.active = Some(false);
        state.data = Some((p, false));
    }
    if r.is_final() {
        tx.reply_received = true;
        if let Some(tx) = state.open.pop_front() {
            finish(ctx, tx);
        }
    }
}

impl Logged for FtpParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, _dir: Direction, pdu: Pdu<'_>) {
        match pdu {
            Pdu::Command(c) => command(state, ctx, c),
            Pdu::Reply(r) => reply(state, ctx, r),
            Pdu::Skipped(_) | Pdu::Encrypted(_) => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        while let Some(tx) = state.open.pop_front() {
            finish(ctx, tx);
        }
    }

    fn configure(parser: &mut Self, limits: &crate::config::LimitsConfig) {
        parser.set_max_line(limits.ftp_max_line);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state
            .open
            .iter()
            .map(Transaction::heap_bytes)
            .sum::<usize>()
            + state.open.capacity() * std::mem::size_of::<Transaction>()
    }
}
