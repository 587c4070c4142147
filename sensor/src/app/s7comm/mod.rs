//! S7comm and S7comm-plus in the sensor.
//!
//! Each framed TPKT is read as COTP. Connection setup and teardown TPDUs (CR, CC, DR, DC, ER)
//! are logged as `s7comm` events with their TSAPs. Data TPDUs are joined per direction by the
//! flow's [`Reassembler`](decoders::s7comm::Reassembler) until EOT; the whole TSDU is an S7 PDU
//! (protocol id 0x32, one `s7comm` event) or an S7comm-plus frame (0x72, one `s7commplus`
//! event). Jobs wait in a small table by PDU reference so that their ack_data can name the
//! job's function. The event schema is in `docs/eve/s7comm.md`.
//!
//! Port 102 also carries MMS, whose connection request looks like S7's. A data TPDU carrying
//! an ISO session SPDU hands the connection over to MMS (see [`Logged::handover`]).

mod events;
mod state;

use decoders::app::AnomalyName;
use decoders::s7comm::header::{self, HeaderError};
use decoders::s7comm::item::MAX_ITEMS;
use decoders::s7comm::param;
use decoders::s7comm::plus;
use decoders::s7comm::S7Tx;
use decoders::s7comm::{
    Cotp, CotpType, Function, Plus, Rosctr, S7Pdu, S7commParser, Tpkt, Userdata,
};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use self::events::{
    BlockControlEv, Body, CotpEvent, CotpFacts, Items, PduEvent, PiEv, PlusBody, PlusEvent,
    UserdataEv,
};
pub use self::state::State;
use self::state::{Jobs, MAX_PENDING_JOBS};
use super::{direction_name, AppCtx, Logged};

const PROTO: AppProto = AppProto::S7comm;

impl Logged for S7commParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, tpkt: Tpkt<'_>) {
        if let Some(n) = state.handover.as_mut() {
            // MMS's, as the handing TPKT was.
            *n += tpkt.len();
            return;
        }
        if tpkt.cotp_type() == Some(CotpType::Data)
            && !state.reassembler.pending(dir)
            && decoders::mms::is_mms(tpkt.payload())
        {
            state.handover = Some(0);
            state.handing = tpkt.bytes().to_vec();
            return;
        }
        let raw = tpkt.cotp_bytes().get(1).copied().unwrap_or(0);
        let cotp = match Cotp::parse(&tpkt) {
            Ok(c) => c,
            Err(e) => return ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e),
        };
        let direction = direction_name(dir);
        let facts = match cotp {
            Cotp::Data { eot, payload, .. } => {
                let State {
                    reassembler,
                    tpdus,
                    jobs,
                    open_unit,
                    ..
                } = state;
                let i = dir.index();
                tpdus[i] = tpdus[i].saturating_add(1);
                let count = tpdus[i];
                if eot {
                    tpdus[i] = 0;
                }
                match reassembler.push(dir, eot, payload) {
                    Ok(Some(tsdu)) => tsdu_logged(jobs, open_unit, ctx, dir, tsdu, count),
                    Ok(None) => {}
                    Err(e) => {
                        tpdus[i] = 0;
                        ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e);
                    }
                }
                return;
            }
            Cotp::Connect(c) => CotpFacts::connect(&c, raw),
            Cotp::Disconnect {
                kind,
                dst_ref,
                src_ref,
                reason,
            } => CotpFacts::disconnect(kind, raw, dst_ref, src_ref, reason),
            Cotp::Error { dst_ref, cause } => CotpFacts::error(raw, dst_ref, cause),
            Cotp::Other(kind) => CotpFacts {
                kind: kind.name(),
                type_raw: raw,
                ..Default::default()
            },
        };
        if facts.kind == CotpType::DisconnectRequest.name() {
            state.reassembler.reset(dir);
        }
        ctx.event(
            EventType::S7comm,
            Body {
                s7comm: CotpEvent {
                    direction,
                    cotp: facts,
                },
            },
        );
    }

    /// A fragment sequence cut by a gap can never be completed: drop it, so that it is not
    /// joined to fragments after the gap. A gap towards the client also forgets pending jobs.
    fn gap(state: &mut State, dir: Direction, _len: u64) {
        state.reassembler.reset(dir);
        state.tpdus[dir.index()] = 0;
        state.open_unit[dir.index()] = None;
        // Acknowledgements may have been lost with the bytes: the jobs they answered would
        // wait forever and fill the table.
        if dir == Direction::ToClient {
            state.jobs.clear();
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state.reassembler.heap_bytes() + std::mem::size_of::<Jobs>()
    }

    fn handover(state: &State) -> Option<usize> {
        state.handover
    }

    fn handover_prefix(state: &mut State) -> Vec<u8> {
        std::mem::take(&mut state.handing)
    }
}

/// A whole COTP TSDU: an S7 PDU or an S7comm-plus frame.
fn tsdu_logged(
    jobs: &mut Jobs,
    open_unit: &mut [Option<u8>; 2],
    ctx: &mut AppCtx<'_>,
    dir: Direction,
    tsdu: &[u8],
    tpdus: u16,
) {
    match tsdu.first() {
        // An empty DT TPDU carries nothing to log.
        None => {}
        Some(&header::PROTOCOL_ID) => match S7Pdu::parse(tsdu) {
            Ok(pdu) => s7_logged(jobs, open_unit, ctx, dir, &pdu, tpdus),
            Err(e) => ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e),
        },
        Some(&plus::PROTOCOL_ID) => match Plus::parse(tsdu) {
            Ok(p) => {
                if p.truncated {
                    ctx.app_anomaly(
                        PROTO,
                        dir,
                        "s7comm.plus_invalid_length",
                        &format_args!(
                            "S7comm-plus data length {} beyond the {} bytes that follow",
                            p.data_length,
                            tsdu.len() - 4
                        ),
                    );
                }
                ctx.transaction(
                    EventType::S7commPlus,
                    dir,
                    decoders::Tx::S7commPlus(&p),
                    PlusBody {
                        s7commplus: PlusEvent::new(direction_name(dir), &p, tpdus),
                    },
                );
            }
            Err(e) => ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e),
        },
        Some(&id) => {
            let e = HeaderError::ProtocolId(id);
            ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e);
        }
    }
}

fn s7_logged(
    jobs: &mut Jobs,
    open_unit: &mut [Option<u8>; 2],
    ctx: &mut AppCtx<'_>,
    dir: Direction,
    pdu: &S7Pdu<'_>,
    tpdus: u16,
) {
    let mut ev = PduEvent::new(direction_name(dir), pdu, tpdus);
    if pdu.truncated {
        ctx.app_anomaly(
            PROTO,
            dir,
            "s7comm.invalid_length",
            &format_args!(
                "parameter length {} and data length {} run beyond the PDU",
                pdu.param_len, pdu.data_len
            ),
        );
    }
    match pdu.rosctr {
        Rosctr::Unknown(c) => {
            ctx.app_anomaly(
                PROTO,
                dir,
                "s7comm.reserved_rosctr",
                &format_args!("ROSCTR {c} is reserved"),
            );
        }
        Rosctr::Job => {
            if let Some(f) = pdu.function() {
                if !jobs.insert(pdu.pdu_ref, f) {
                    ctx.app_anomaly(
                        PROTO,
                        dir,
                        "s7comm.too_many_pending_jobs",
                        &format_args!("more than {MAX_PENDING_JOBS} jobs await acknowledgement"),
                    );
                }
            }
        }
        Rosctr::Ack | Rosctr::AckData => match jobs.take(pdu.pdu_ref) {
            Some(f) => {
                ev.job_function = Some(param::function_name(f).unwrap_or("unknown"));
                ev.job_function_raw = Some(f);
            }
            None => ctx.app_anomaly(
                PROTO,
                dir,
                "s7comm.ack_data_without_job",
                &format_args!("no job with PDU reference {} awaits it", pdu.pdu_ref),
            ),
        },
        Rosctr::Userdata => {
            match Userdata::parse(pdu) {
                Ok(u) => {
                    let i = dir.index();
                    let continuation =
                        u.data_unit_reference.is_some() && open_unit[i] == u.data_unit_reference;
                    open_unit[i] = if u.more_follows() {
                        u.data_unit_reference
                    } else {
                        None
                    };
                    ev.userdata = Some(UserdataEv::new(&u, continuation));
                }
                Err(e) => ctx.app_anomaly(PROTO, dir, e.anomaly_name(), &e),
            }
            let tx = S7Tx {
                pdu,
                job_function: None,
            };
            ctx.transaction(
                EventType::S7comm,
                dir,
                decoders::Tx::S7comm(tx),
                Body { s7comm: ev },
            );
            return;
        }
    }
    if let Some(f) = pdu.function() {
        if param::function_name(f).is_none() {
            ctx.app_anomaly(
                PROTO,
                dir,
                "s7comm.unknown_function",
                &format_args!("function code 0x{f:02x} is unknown"),
            );
        }
        function_logged(&mut ev, ctx, dir, pdu);
    }
    let tx = S7Tx {
        pdu,
        job_function: ev.job_function_raw,
    };
    ctx.transaction(
        EventType::S7comm,
        dir,
        decoders::Tx::S7comm(tx),
        Body { s7comm: ev },
    );
}

/// Fill in what the function carries, and check its items.
fn function_logged<'a>(
    ev: &mut PduEvent<'a>,
    ctx: &mut AppCtx<'_>,
    dir: Direction,
    pdu: &S7Pdu<'a>,
) {
    // (announced count, items found, whether they fill their part exactly)
    let check = match Function::parse(pdu) {
        Function::Setup(s) => {
            ev.setup = Some(s.into());
            None
        }
        Function::VarRequest { count, items, data } => {
            let mut walk = items.clone();
            let n = walk.by_ref().count();
            let mut exact = !walk.broken() && walk.rest().is_empty();
            if pdu.function() == Some(param::code::WRITE_VAR) {
                let mut d = data.clone();
                exact &= d.by_ref().count() == usize::from(count) && !d.broken();
            }
            ev.item_count = Some(count);
            ev.items = Some(Items::Request { items, data });
            Some((count, n, exact))
        }
        Function::ReadResponse { count, data } => {
            let mut walk = data.clone();
            let n = walk.by_ref().count();
            let exact = !walk.broken();
            ev.item_count = Some(count);
            ev.items = Some(Items::Data(data));
            Some((count, n, exact))
        }
        Function::WriteResponse { count, codes } => {
            let exact = codes.complete();
            let n = codes.iter().count();
            ev.item_count = Some(count);
            ev.items = Some(Items::Codes(codes));
            Some((count, n, exact))
        }
        Function::Block(b) => {
            ev.block_control = Some(BlockControlEv::from(b));
            None
        }
        Function::PiService(pi) => {
            ev.pi_service = Some(PiEv {
                service: pi.service,
                pi: Some(pi),
            });
            None
        }
        Function::PlcStop { service } => {
            ev.pi_service = Some(PiEv { service, pi: None });
            None
        }
        Function::Other => None,
    };
    if let Some((count, n, exact)) = check {
        if count > MAX_ITEMS {
            ctx.app_anomaly(
                PROTO,
                dir,
                "s7comm.too_many_items",
                &format_args!("{count} items, more than the {MAX_ITEMS} a PDU can carry"),
            );
        }
        if n != usize::from(count) || !exact {
            ctx.app_anomaly(
                PROTO,
                dir,
                "s7comm.item_count_mismatch",
                &format_args!("item count {count}, but {n} items fit the PDU"),
            );
        }
    }
}
