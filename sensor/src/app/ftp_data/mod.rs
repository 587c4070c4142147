//! FTP data connections in the sensor: a connection the control connection announced
//! ([`super::expect`]) carries one file or listing. Its bytes are kept up to a limit for
//! `file_data`; the rules are inspected once each way when the sending side finishes (or the
//! connection ends, or the limit fills), and it is logged as one `ftp_data` event with the
//! command and file name that opened it.

use decoders::ftp::DataCommand;
use decoders::ftp_data::FtpDataParser;
use decoders::Direction;
use icsight_eve::EventType;
use serde::Serialize;

use super::expect::FtpData;
use super::{AppCtx, Logged};

/// Bytes of a transfer kept for `file_data`, each way (as HTTP keeps a response body).
pub const DATA_LIMIT: usize = 100 * 1024;

/// Per-flow state of a data connection.
#[derive(Default)]
pub struct State {
    command: Option<DataCommand>,
    filename: Vec<u8>,
    /// What each direction carried, up to the limit.
    data: [Vec<u8>; 2],
    inspected: [bool; 2],
    logged: bool,
}

impl State {
    /// The state of a connection announced for `data`.
    pub fn expected(data: FtpData) -> Self {
        State {
            command: data.command,
            filename: data.filename,
            ..State::default()
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    ftp_data: Log<'a>,
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'a str>,
}

fn body(state: &State) -> Body<'_> {
    Body {
        ftp_data: Log {
            filename: (!state.filename.is_empty())
                .then(|| String::from_utf8_lossy(&state.filename).into_owned()),
            command: state.command.map(DataCommand::name),
        },
    }
}

fn inspect(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction) {
    if std::mem::replace(&mut state.inspected[dir.index()], true) {
        return;
    }
    let tx = decoders::Tx::FtpData {
        command: state.command,
        filename: &state.filename,
        data: &state.data[dir.index()],
    };
    ctx.inspect(dir, tx, &body(state));
}

/// The transfer is over: its rules each way, and its event, once.
fn done(state: &mut State, ctx: &mut AppCtx<'_>) {
    for dir in [Direction::ToServer, Direction::ToClient] {
        inspect(state, ctx, dir);
    }
    if !std::mem::replace(&mut state.logged, true) {
        ctx.event(EventType::FtpData, body(state));
    }
}

impl Logged for FtpDataParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, bytes: &[u8]) {
        let kept = &mut state.data[dir.index()];
        let room = DATA_LIMIT - kept.len();
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if kept.len() == DATA_LIMIT {
            inspect(state, ctx, dir);
        }
    }

    /// The side that carried the transfer has finished (or, with nothing carried, either
    /// side): the transfer is whole, and is inspected each way while the connection is
    /// still established.
    fn finished(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction) {
        let carried = state.data.iter().any(|d| !d.is_empty());
        if !carried || !state.data[dir.index()].is_empty() {
            done(state, ctx);
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        done(state, ctx);
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.filename.capacity() + state.data.iter().map(Vec::capacity).sum::<usize>()
    }
}
