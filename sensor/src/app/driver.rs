//! Feeds reassembled bytes to a [`StreamParser`], keeping what a PDU split across chunks needs.
//!
//! The parser frames straight from the chunk whenever it can, so PDUs that sit whole inside a
//! segment are never copied. Only the tail of a chunk that begins a PDU is kept, in a buffer the
//! direction reuses, and exactly as many bytes as the parser asks for are appended to it until
//! the PDU is whole. After a gap or an invalid header the direction has lost its framing: it
//! drops what it holds and waits for a chunk whose start parses again.

use decoders::app::AnomalyName;
use decoders::{Direction, Parsed, StreamParser};

use super::AppCtx;
use crate::reassembly::Chunk;

/// A protocol's parser, with what the sensor does with each PDU.
///
/// `State` is the flow's memory above single PDUs — requests awaiting their response, fragments
/// awaiting the rest — kept beside the parser for the life of the flow.
pub trait Logged: StreamParser {
    type State: Default;

    /// Handle one framed PDU.
    fn log(state: &mut Self::State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Self::Pdu<'_>);

    /// The flow has ended: report what is still open (requests never answered, …).
    fn close(_state: &mut Self::State, _ctx: &mut AppCtx<'_>) {}

    /// `dir` has sent FIN (its bytes so far handed over): it will send nothing more.
    fn finished(_state: &mut Self::State, _ctx: &mut AppCtx<'_>, _dir: Direction) {}

    /// Bytes of `dir` were lost: drop what the state holds of that direction's partial PDUs.
    /// `len` is the hole's length, or where the parser stepped over it, the part of it that
    /// was what the parser was reading ([`StreamParser::gap`]).
    fn gap(_state: &mut Self::State, _dir: Direction, _len: u64) {}

    /// Heap bytes `state` holds, charged to the flow's memory.
    fn state_heap_bytes(_state: &Self::State) -> usize {
        0
    }

    /// Apply the configured limits to a new flow's parser (FTP's line cap, …).
    fn configure(_parser: &mut Self, _limits: &crate::config::LimitsConfig) {}

    /// The connection now carries another protocol (what a `CONNECT` tunnel carries): how many
    /// bytes at the end of the last chunk are that protocol's, for detection to start on.
    fn handover(_state: &Self::State) -> Option<usize> {
        None
    }

    /// Bytes of the other protocol the handing PDU held, which may have begun in earlier
    /// chunks: detection starts on them, then on [`Logged::handover`]'s.
    fn handover_prefix(_state: &mut Self::State) -> Vec<u8> {
        Vec::new()
    }
}

enum Step<E> {
    Need(usize),
    /// A PDU of this many held bytes was handled.
    Done(usize),
    Invalid(E),
}

#[derive(Default)]
struct Side {
    pending: Vec<u8>,
    lost: bool,
}

pub struct Driver<P: Logged> {
    parser: P,
    state: P::State,
    sides: [Side; 2],
}

impl<P: Logged> Default for Driver<P> {
    fn default() -> Self {
        Driver {
            parser: P::default(),
            state: P::State::default(),
            sides: Default::default(),
        }
    }
}

impl<P: Logged> Driver<P> {
    /// A driver whose protocol state starts as `state`: for a connection another announced,
    /// with what the announcement said.
    pub fn with_state(state: P::State) -> Self {
        Driver {
            state,
            ..Driver::default()
        }
    }

    /// A driver for a new flow, its parser under the configured limits.
    pub fn configured(limits: &crate::config::LimitsConfig) -> Self {
        let mut d = Driver::default();
        P::configure(&mut d.parser, limits);
        d
    }

    /// See [`Logged::handover`].
    pub fn handover(&self) -> Option<usize> {
        P::handover(&self.state)
    }

    /// See [`Logged::handover_prefix`].
    pub fn handover_prefix(&mut self) -> Vec<u8> {
        P::handover_prefix(&mut self.state)
    }

    pub fn heap_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| s.pending.capacity())
            .sum::<usize>()
            + P::state_heap_bytes(&self.state)
    }

    /// The flow has ended: a PDU cut short is read as far as it came, if the protocol can.
    pub fn close(&mut self, ctx: &mut AppCtx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let side = &mut self.sides[dir.index()];
            let pad = self.parser.end_of_stream(dir);
            if side.lost || side.pending.is_empty() || pad.is_empty() {
                continue;
            }
            side.pending.extend_from_slice(pad);
            if let Step::Done(_) =
                Self::parse_pending(&mut self.parser, &mut self.state, dir, &side.pending, ctx)
            {
                side.pending.clear();
            }
        }
        P::close(&mut self.state, ctx);
    }

    /// `dir` has sent FIN.
    pub fn finished(&mut self, dir: Direction, ctx: &mut AppCtx<'_>) {
        P::finished(&mut self.state, ctx, dir);
    }

    /// Bytes of a TCP stream (or a gap in it).
    pub fn chunk(&mut self, dir: Direction, chunk: Chunk<'_>, ctx: &mut AppCtx<'_>) {
        match chunk {
            Chunk::Data(bytes) => self.data(dir, bytes, ctx),
            Chunk::Gap(len) => {
                let side = &mut self.sides[dir.index()];
                // A parser inside a body of known length steps over the hole; any other
                // loses its framing, and what it held goes.
                let len = u64::from(len);
                let stepped = if side.pending.is_empty() && !side.lost {
                    StreamParser::gap(&mut self.parser, dir, len)
                } else {
                    None
                };
                if stepped.is_none() {
                    side.pending.clear();
                    side.lost = true;
                }
                <P as Logged>::gap(&mut self.state, dir, stepped.unwrap_or(len));
                ctx.stats.proto(P::PROTO).gaps += 1;
                ctx.anomaly(dir, "stream", "stream.reassembly_gap", &len);
            }
        }
    }

    /// A whole UDP datagram: PDUs must not straddle datagrams.
    pub fn datagram(&mut self, dir: Direction, bytes: &[u8], ctx: &mut AppCtx<'_>) {
        let side = &mut self.sides[dir.index()];
        side.pending.clear();
        side.lost = false;
        self.parser.datagrams();
        self.data(dir, bytes, ctx);
        let side = &mut self.sides[dir.index()];
        if !side.pending.is_empty() {
            side.pending.clear();
            ctx.app_anomaly(P::PROTO, dir, "applayer.truncated_datagram", &P::PROTO);
        }
    }

    fn data(&mut self, dir: Direction, mut input: &[u8], ctx: &mut AppCtx<'_>) {
        let side = &mut self.sides[dir.index()];
        if side.lost {
            if !self.parser.resync(dir, input) {
                return;
            }
            side.lost = false;
        }
        // Complete a PDU begun in an earlier chunk.
        if !side.pending.is_empty() {
            loop {
                match Self::parse_pending(
                    &mut self.parser,
                    &mut self.state,
                    dir,
                    &side.pending,
                    ctx,
                ) {
                    Step::Need(needed) if !input.is_empty() => {
                        let take = needed.clamp(1, input.len());
                        side.pending.extend_from_slice(&input[..take]);
                        input = &input[take..];
                    }
                    Step::Need(_) => return,
                    Step::Done(len) => {
                        // A parser that skips bad bytes may frame fewer than it was handed.
                        side.pending.drain(..len.min(side.pending.len()));
                        if side.pending.is_empty() {
                            break;
                        }
                    }
                    Step::Invalid(e) => {
                        Self::invalid(side, dir, e, ctx);
                        return;
                    }
                }
            }
        }
        // Frame straight from the chunk.
        while !input.is_empty() {
            match self.parser.parse(dir, input) {
                Parsed::Pdu { pdu, len } => {
                    ctx.stats.proto(P::PROTO).pdus += 1;
                    P::log(&mut self.state, ctx, dir, pdu);
                    input = &input[len..];
                }
                Parsed::Incomplete { .. } => {
                    side.pending.extend_from_slice(input);
                    return;
                }
                Parsed::Invalid(e) => {
                    Self::invalid(side, dir, e, ctx);
                    return;
                }
            }
        }
    }

    /// Parse the held bytes; a whole PDU is logged here, while they are borrowed.
    fn parse_pending(
        parser: &mut P,
        state: &mut P::State,
        dir: Direction,
        held: &[u8],
        ctx: &mut AppCtx<'_>,
    ) -> Step<P::Error> {
        match parser.parse(dir, held) {
            Parsed::Incomplete { needed } => Step::Need(needed),
            Parsed::Pdu { pdu, len } => {
                ctx.stats.proto(P::PROTO).pdus += 1;
                P::log(state, ctx, dir, pdu);
                Step::Done(len)
            }
            Parsed::Invalid(e) => Step::Invalid(e),
        }
    }

    fn invalid(side: &mut Side, dir: Direction, e: P::Error, ctx: &mut AppCtx<'_>) {
        side.pending.clear();
        side.lost = true;
        ctx.app_anomaly(P::PROTO, dir, e.anomaly_name(), &e);
    }
}
