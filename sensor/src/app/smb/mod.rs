//! SMB in the sensor: each command and its response are one transaction, inspected by the
//! rules when the command arrives and again at its response, and logged then as one `smb`
//! event, as Suricata writes it. The state follows what names files: the trees connected
//! (their shares) and the files opened (their names), so a `READ` or `WRITE` is known by its
//! file's name, and a file read or written is logged as a `fileinfo` event when it is closed
//! or the flow ends — its metadata, nothing extracted.
//!
//! Commands awaiting their response, trees and open files are capped per flow; a client that
//! sends more commands than are answered loses the oldest, with an anomaly.

mod eve;

use std::collections::VecDeque;

use decoders::smb::smb2::{command, FileId, Smb2, STATUS_PENDING};
use decoders::smb::{ntlmssp, smb1, tx, Message, Pdu, Smb, SmbParser, Transaction};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::fileinfo::Fileinfo;
use super::{AppCtx, Logged};

/// Commands a flow may have awaiting their response.
pub const MAX_PENDING: usize = 128;
/// Trees a flow may have connected.
const MAX_TREES: usize = 64;
/// Files a flow may have open.
const MAX_FILES: usize = 256;

/// The file id a related compound request uses for "the file the `CREATE` before me opens"
/// (MS-SMB2 §3.2.4.1.4).
const RELATED_FILE: FileId = [0xff; 16];

/// A command awaiting its response: its message id (SMB1's multiplex id) and the file it is
/// about.
struct Pending {
    message_id: u64,
    file: Option<FileId>,
    tx: Transaction,
}

/// An open file and what moved of it.
struct OpenFile {
    id: FileId,
    name: Vec<u8>,
    size: u64,
    read: u64,
    written: u64,
    /// The `CREATE` that opened it.
    opened_by: Transaction,
}

/// Per-flow SMB state.
#[derive(Default)]
pub struct State {
    dialect: Option<u16>,
    next_id: u64,
    pending: VecDeque<Pending>,
    /// Tree id and share path (`\\server\share`).
    trees: Vec<(u32, Vec<u8>)>,
    files: Vec<OpenFile>,
}

fn inspect(ctx: &mut AppCtx<'_>, tx: &Transaction, dir: Direction) {
    let body = eve::Body {
        smb: eve::SmbLog(tx),
    };
    ctx.inspect(dir, decoders::Tx::Smb(tx), &body);
}

/// A transaction answered (or given up on): its response rules, then its event.
fn finish(ctx: &mut AppCtx<'_>, tx: &Transaction) {
    inspect(ctx, tx, Direction::ToClient);
    ctx.event(
        EventType::Smb,
        &eve::Body {
            smb: eve::SmbLog(tx),
        },
    );
}

/// A file done with: a `fileinfo` event if anything of it was read or written.
fn file_done(ctx: &mut AppCtx<'_>, f: OpenFile) {
    let moved = f.read.max(f.written);
    if moved == 0 {
        return;
    }
    let complete = f.written > 0 || f.read >= f.size;
    let body = eve::FileBody {
        smb: eve::SmbLog(&f.opened_by),
        fileinfo: Fileinfo::new(&f.name, moved, complete, f.opened_by.id),
    };
    ctx.event(EventType::Fileinfo, &body);
}

impl State {
    fn share(&self, tree: u32) -> Option<&[u8]> {
        self.trees
            .iter()
            .find(|(id, _)| *id == tree)
            .map(|(_, s)| s.as_slice())
    }

    /// An open file by id; a related compound's placeholder id is the file opened last, the
    /// `CREATE` before it in the compound having been answered just before.
    fn file(&mut self, id: Option<FileId>) -> Option<&mut OpenFile> {
        match id? {
            RELATED_FILE => self.files.last_mut(),
            id => self.files.iter_mut().find(|f| f.id == id),
        }
    }

    fn begin(&mut self, version: u8, command: u16, session_id: u64, tree_id: u32) -> Transaction {
        let mut tx = Transaction {
            id: self.next_id,
            version,
            command,
            session_id,
            tree_id,
            dialect: self.dialect,
            ..Transaction::default()
        };
        self.next_id += 1;
        if let Some(share) = self.share(tree_id) {
            tx.pipe = tx::is_pipe_share(share);
            tx.share = share.to_vec();
        }
        tx
    }

    fn push(&mut self, ctx: &mut AppCtx<'_>, p: Pending) {
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                let msg = "too many commands awaiting a response";
                ctx.app_anomaly(
                    AppProto::Smb,
                    Direction::ToServer,
                    "smb.too_many_transactions",
                    &msg,
                );
                finish(ctx, &old.tx);
            }
        }
        inspect(ctx, &p.tx, Direction::ToServer);
        self.pending.push_back(p);
    }

    /// A request; `before` is the file name of the request before it in a compound, which a
    /// related request's placeholder file id stands for.
    fn request(&mut self, ctx: &mut AppCtx<'_>, s: &Smb2<'_>, before: &[u8]) {
        let cmd = s.command();
        let mut tx = self.begin(2, cmd, s.session_id(), s.tree_id().unwrap_or(0));
        let file = s.file_id();
        if file == Some(RELATED_FILE) {
            tx.filename = before.to_vec();
        }
        match cmd {
            command::NEGOTIATE => tx.client_dialects = s.dialects_offered().take(32).collect(),
            command::TREE_CONNECT => {
                tx.share.clear();
                if let Some(p) = s.tree_path() {
                    tx::utf16_to_utf8(p, &mut tx.share);
                }
                tx.pipe = tx::is_pipe_share(&tx.share);
            }
            command::CREATE => {
                if let Some(n) = s.create_name() {
                    tx::utf16_to_utf8(n, &mut tx.filename);
                }
                tx.disposition = s.create_disposition();
            }
            command::SESSION_SETUP => {
                if let Some(a) = s.security_blob().and_then(ntlmssp::find_auth) {
                    tx.ntlmssp = true;
                    for (from, to) in [
                        (a.user, &mut tx.ntlmssp_user),
                        (a.domain, &mut tx.ntlmssp_domain),
                        (a.host, &mut tx.ntlmssp_host),
                    ] {
                        if a.unicode {
                            tx::utf16_to_utf8(from, to);
                        } else {
                            to.extend_from_slice(from);
                        }
                    }
                }
            }
            _ => {}
        }
        // A related request's file is not open yet: its `CREATE` is answered after it is sent.
        if let Some(f) = self.file(file.filter(|id| *id != RELATED_FILE)) {
            tx.filename = f.name.clone();
        }
        self.push(
            ctx,
            Pending {
                message_id: s.message_id(),
                file,
                tx,
            },
        );
    }

    fn response(&mut self, ctx: &mut AppCtx<'_>, s: &Smb2<'_>) {
        let status = s.status();
        if status == STATUS_PENDING {
            // An interim response: the final one comes later, with the same message id.
            return;
        }
        let at = self
            .pending
            .iter()
            .position(|p| p.message_id == s.message_id() && p.tx.command == s.command());
        let (mut tx, file) = match at.and_then(|i| self.pending.remove(i)) {
            Some(p) => (p.tx, p.file),
            // A response to a command not seen (the flow was picked up midway).
            None => {
                let tx = self.begin(2, s.command(), s.session_id(), s.tree_id().unwrap_or(0));
                (tx, None)
            }
        };
        tx.status = Some(status);
        match s.command() {
            command::NEGOTIATE => {
                self.dialect = s.dialect().or(self.dialect);
                tx.dialect = self.dialect;
            }
            command::TREE_CONNECT if status == 0 => {
                tx.share_type = s.share_type();
                tx.tree_id = s.tree_id().unwrap_or(tx.tree_id);
                if self.trees.len() < MAX_TREES {
                    self.trees.push((tx.tree_id, tx.share.clone()));
                }
            }
            command::TREE_DISCONNECT => self.trees.retain(|(id, _)| *id != tx.tree_id),
            command::CREATE => {
                tx.size = s.end_of_file();
                if let (Some(id), Some(size)) = (s.file_id(), tx.size) {
                    if self.files.len() < MAX_FILES {
                        self.files.push(OpenFile {
                            id,
                            name: tx.filename.clone(),
                            size,
                            read: 0,
                            written: 0,
                            opened_by: tx.clone(),
                        });
                    }
                }
            }
            command::READ | command::WRITE => {
                let moved = u64::from(s.transferred().unwrap_or(0));
                if let Some(f) = self.file(file) {
                    if s.command() == command::READ {
                        f.read += moved;
                    } else {
                        f.written += moved;
                    }
                }
            }
            command::CLOSE => {
                if let Some(i) = file.and_then(|id| self.files.iter().position(|f| f.id == id)) {
                    let f = self.files.swap_remove(i);
                    finish(ctx, &tx);
                    file_done(ctx, f);
                    return;
                }
            }
            _ => {}
        }
        finish(ctx, &tx);
    }

    fn smb1(&mut self, ctx: &mut AppCtx<'_>, h: &smb1::Header) {
        let mid = u64::from(h.multiplex_id);
        if !h.reply {
            let tx = self.begin(
                1,
                u16::from(h.command),
                u64::from(h.user_id),
                h.tree_id.into(),
            );
            self.push(
                ctx,
                Pending {
                    message_id: mid,
                    file: None,
                    tx,
                },
            );
            return;
        }
        let at = self
            .pending
            .iter()
            .position(|p| p.message_id == mid && p.tx.version == 1);
        let mut tx = match at.and_then(|i| self.pending.remove(i)) {
            Some(p) => p.tx,
            None => self.begin(
                1,
                u16::from(h.command),
                u64::from(h.user_id),
                h.tree_id.into(),
            ),
        };
        tx.status = Some(h.status);
        finish(ctx, &tx);
    }

    fn message(&mut self, ctx: &mut AppCtx<'_>, dir: Direction, m: Message<'_>) {
        match m.smb() {
            Smb::Smb2(messages) => {
                let mut before = Vec::new();
                for s in messages {
                    if !s.has_header() {
                        let msg = "an SMB2 header cut short or of the wrong size";
                        ctx.app_anomaly(AppProto::Smb, dir, "smb.invalid_header", &msg);
                        return;
                    }
                    if s.is_response() {
                        self.response(ctx, &s);
                    } else {
                        self.request(ctx, &s, &before);
                        if let Some(p) = self.pending.back() {
                            before.clone_from(&p.tx.filename);
                        }
                    }
                }
            }
            Smb::Smb1(h) => self.smb1(ctx, &h),
            // SMB 3 encryption: nothing more to read.
            Smb::Encrypted => {}
            Smb::Unknown => {
                let msg = "a session message that is not SMB";
                ctx.app_anomaly(AppProto::Smb, dir, "smb.invalid_header", &msg);
            }
        }
    }
}

impl Logged for SmbParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        match pdu {
            Pdu::Message(m) => state.message(ctx, dir, m),
            Pdu::Control(_) | Pdu::Skipped(_) => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        while let Some(p) = state.pending.pop_front() {
            finish(ctx, &p.tx);
        }
        for f in std::mem::take(&mut state.files) {
            file_done(ctx, f);
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        let pending: usize = state.pending.iter().map(|p| p.tx.heap_bytes()).sum();
        let trees: usize = state.trees.iter().map(|(_, s)| s.capacity()).sum();
        let files: usize = state
            .files
            .iter()
            .map(|f| f.name.capacity() + f.opened_by.heap_bytes())
            .sum();
        pending
            + trees
            + files
            + state.pending.capacity() * std::mem::size_of::<Pending>()
            + state.files.capacity() * std::mem::size_of::<OpenFile>()
    }
}

#[cfg(test)]
mod tests;
