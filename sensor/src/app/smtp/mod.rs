//! SMTP in the sensor: each mail transaction (`MAIL FROM`, the `RCPT TO`s, the message) is
//! inspected by the rules once its envelope is sent and again once its message is whole and
//! read as MIME (`file_data` then reads each attachment, decoded), and logged as one `smtp`
//! event, as Suricata writes it, when the server answers the message (or the transaction is
//! abandoned), with a `fileinfo` event per attachment.
//!
//! A message is kept up to [`MESSAGE_LIMIT`] for the MIME reading; past it the message is
//! counted and marked truncated.

mod eve;
mod mime;

use decoders::smtp::{self, path_arg, Command, Pdu, Progress, Reply, SmtpParser, Transaction};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Message bytes kept per transaction for the MIME reading.
pub const MESSAGE_LIMIT: usize = 256 * 1024;
/// The longest `HELO`/`EHLO` argument kept.
const MAX_HELO: usize = 255;

/// Per-flow SMTP state.
#[derive(Default)]
pub struct State {
    /// The last `HELO`/`EHLO` argument: the connection's, logged with every transaction.
    helo: Vec<u8>,
    tx: Option<Transaction>,
    /// The transaction's envelope was inspected (at `DATA` or the first `BDAT`).
    envelope_inspected: bool,
    /// The message is whole; the server's reply to it ends the transaction.
    awaiting_reply: bool,
    /// `DATA` was sent and its 354 is due.
    data_reply_due: bool,
    next_id: u64,
}

fn inspect(state: &State, ctx: &mut AppCtx<'_>, tx: &Transaction, progress: Progress) {
    let body = eve::Body::new(state.next_id, &state.helo, tx);
    let t = decoders::Tx::Smtp {
        helo: &state.helo,
        tx,
        progress,
    };
    ctx.inspect(Direction::ToServer, t, &body);
}

/// The current transaction is done (answered, reset, or the flow ended): its event, its
/// attachments' `fileinfo` events.
fn finish(state: &mut State, ctx: &mut AppCtx<'_>) {
    let Some(tx) = state.tx.take() else {
        return;
    };
    let id = state.next_id;
    state.next_id += 1;
    state.envelope_inspected = false;
    state.awaiting_reply = false;
    ctx.event(EventType::Smtp, eve::Body::new(id, &state.helo, &tx));
    for a in &tx.email.attachments {
        let file = eve::FileBody {
            tx_id: id,
            smtp: eve::Body::new(id, &state.helo, &tx).smtp,
            fileinfo: eve::Fileinfo::new(
                &a.name,
                a.content.len() as u64,
                !tx.message_truncated,
                id,
            ),
        };
        ctx.event(EventType::Fileinfo, &file);
    }
}

fn envelope(state: &mut State, ctx: &mut AppCtx<'_>) {
    if state.envelope_inspected {
        return;
    }
    state.envelope_inspected = true;
    if let Some(tx) = state.tx.take() {
        inspect(state, ctx, &tx, Progress::Envelope);
        state.tx = Some(tx);
    }
}

/// The message is whole: read it as MIME and inspect it.
fn message_done(state: &mut State, ctx: &mut AppCtx<'_>) {
    let Some(mut tx) = state.tx.take() else {
        return;
    };
    tx.message_done = true;
    let message = std::mem::take(&mut tx.message);
    if !mime::read(&message, &mut tx.email, MESSAGE_LIMIT) {
        let msg = "a message that does not read as MIME";
        ctx.app_anomaly(
            AppProto::Smtp,
            Direction::ToServer,
            "smtp.mime_parse_failed",
            &msg,
        );
    }
    if tx.message_truncated {
        let msg = "a message longer than the message limit";
        ctx.app_anomaly(
            AppProto::Smtp,
            Direction::ToServer,
            "smtp.message_truncated",
            &msg,
        );
    }
    inspect(state, ctx, &tx, Progress::Message);
    state.tx = Some(tx);
    state.awaiting_reply = true;
}

fn command(state: &mut State, ctx: &mut AppCtx<'_>, c: Command<'_>) {
    let dir = Direction::ToServer;
    if c.truncated {
        let msg = "a command line longer than the line limit";
        ctx.app_anomaly(
            AppProto::Smtp,
            dir,
            "smtp.max_command_line_len_exceeded",
            &msg,
        );
    }
    if c.is(b"HELO") || c.is(b"EHLO") {
        let (name, _) = c
            .arg
            .split_at(c.arg.iter().position(|&b| b == b' ').unwrap_or(c.arg.len()));
        state.helo = name[..name.len().min(MAX_HELO)].to_vec();
    } else if c.is(b"MAIL") {
        // A new transaction; one left unanswered is done with.
        finish(state, ctx);
        state.tx = Some(Transaction {
            mail_from: path_arg(c.arg).to_vec(),
            ..Transaction::default()
        });
    } else if c.is(b"RCPT") {
        let tx = state.tx.get_or_insert_with(Transaction::default);
        if !tx.rcpt(c.arg) {
            let msg = "more recipients than the cap";
            ctx.app_anomaly(AppProto::Smtp, dir, "smtp.too_many_recipients", &msg);
        }
    } else if c.is(b"DATA") {
        state.tx.get_or_insert_with(Transaction::default);
        state.data_reply_due = true;
        envelope(state, ctx);
    } else if c.is(b"BDAT") {
        state.tx.get_or_insert_with(Transaction::default);
        envelope(state, ctx);
        if smtp::bdat(c.arg) == Some((0, true)) {
            message_done(state, ctx);
        }
    } else if c.is(b"RSET") || c.is(b"QUIT") {
        finish(state, ctx);
    }
}

fn reply(state: &mut State, ctx: &mut AppCtx<'_>, r: Reply<'_>) {
    let dir = Direction::ToClient;
    if r.truncated {
        let msg = "a reply line longer than the line limit";
        ctx.app_anomaly(
            AppProto::Smtp,
            dir,
            "smtp.max_reply_line_len_exceeded",
            &msg,
        );
    }
    if r.code.is_none() {
        let msg = "a reply line without a code";
        ctx.app_anomaly(AppProto::Smtp, dir, "smtp.invalid_reply", &msg);
        return;
    }
    if r.more {
        return;
    }
    if std::mem::take(&mut state.data_reply_due) && r.code != Some(354) {
        let msg = "the server refused DATA";
        ctx.app_anomaly(AppProto::Smtp, dir, "smtp.data_command_rejected", &msg);
    }
    if state.awaiting_reply && r.is_final() {
        finish(state, ctx);
    }
}

impl Logged for SmtpParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, _dir: Direction, pdu: Pdu<'_>) {
        match pdu {
            Pdu::Command(c) => command(state, ctx, c),
            Pdu::Reply(r) => reply(state, ctx, r),
            Pdu::DataLine { line, .. } => {
                let tx = state.tx.get_or_insert_with(Transaction::default);
                tx.message_bytes(line, MESSAGE_LIMIT);
                tx.message_bytes(b"\r\n", MESSAGE_LIMIT);
            }
            Pdu::Chunk { bytes, end } => {
                let tx = state.tx.get_or_insert_with(Transaction::default);
                tx.message_bytes(bytes, MESSAGE_LIMIT);
                if end {
                    message_done(state, ctx);
                }
            }
            Pdu::DataEnd => message_done(state, ctx),
            Pdu::Skipped(_) | Pdu::Encrypted(_) => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        // A message cut short by the end of the flow is still read as far as it came.
        if state
            .tx
            .as_ref()
            .is_some_and(|t| !t.message_done && t.message_size > 0)
        {
            message_done(state, ctx);
        }
        finish(state, ctx);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.helo.capacity() + state.tx.as_ref().map_or(0, Transaction::heap_bytes)
    }
}
