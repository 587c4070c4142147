use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

/// An SMB2 message: header fields, then `body`; `next` chains a compound.
fn msg(cmd: u16, response: bool, related: bool, id: u64, body: &[u8]) -> Vec<u8> {
    let flags = u32::from(response) | if related { 4 } else { 0 };
    let mut m = b"\xfeSMB".to_vec();
    m.extend_from_slice(&64u16.to_le_bytes());
    m.extend_from_slice(&[0; 2]);
    m.extend_from_slice(&0u32.to_le_bytes()); // status
    m.extend_from_slice(&cmd.to_le_bytes());
    m.extend_from_slice(&[1, 0]);
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes()); // next command, set by `compound`
    m.extend_from_slice(&id.to_le_bytes());
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(&5u32.to_le_bytes()); // tree id
    m.extend_from_slice(&9u64.to_le_bytes()); // session id
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(body);
    m
}

/// Messages chained by `NextCommand`, each padded to 8 bytes, in one session message.
fn compound(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut p = p.clone();
        if i + 1 < parts.len() {
            p.resize(p.len().div_ceil(8) * 8, 0);
            let next = p.len() as u32;
            p[20..24].copy_from_slice(&next.to_le_bytes());
        }
        out.extend_from_slice(&p);
    }
    let len = (out.len() as u32).to_be_bytes();
    [&[0, len[1], len[2], len[3]][..], &out].concat()
}

fn events(stream: &[(Direction, Vec<u8>)]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Smb, Proto::TCP, 445, "");
    let mut driver = Driver::<SmbParser>::default();
    for (dir, bytes) in stream {
        driver.chunk(*dir, Chunk::Data(bytes), &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

/// A `CREATE` request body naming `name`.
fn create(name: &str) -> Vec<u8> {
    let name: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut b = vec![0; 56];
    b[44..46].copy_from_slice(&120u16.to_le_bytes());
    b[46..48].copy_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(&name);
    b
}

/// A successful `CREATE` response body: file `id` of `size` bytes.
fn created(id: u8, size: u64) -> Vec<u8> {
    let mut b = vec![0; 88];
    b[48..56].copy_from_slice(&size.to_le_bytes());
    b[64..80].copy_from_slice(&[id; 16]);
    b
}

/// A `READ` or `WRITE` request body of `len` bytes of file `id` (`0xff`: the related one).
fn transfer(id: u8, len: u32) -> Vec<u8> {
    let mut b = vec![0; 48];
    b[4..8].copy_from_slice(&len.to_le_bytes());
    b[16..32].copy_from_slice(&[id; 16]);
    b
}

/// A `READ` or `WRITE` response body: `len` bytes moved.
fn transferred(len: u32) -> Vec<u8> {
    let mut b = vec![17, 0, 80, 0];
    b.extend_from_slice(&len.to_le_bytes());
    b
}

#[test]
fn a_related_compound_reads_the_file_its_create_opened() {
    // CREATE Line9.ap17, then READ and CLOSE of "the file just opened" (all-ones id).
    let create = create("Line9.ap17");
    let read = transfer(0xff, 100);
    let mut close = vec![0; 24];
    close[8..24].copy_from_slice(&[0xff; 16]);
    let request = compound(&[
        msg(command::CREATE, false, false, 1, &create),
        msg(command::READ, false, true, 2, &read),
        msg(command::CLOSE, false, true, 3, &close),
    ]);
    let created = created(7, 100);
    let data = transferred(100);
    let response = compound(&[
        msg(command::CREATE, true, false, 1, &created),
        msg(command::READ, true, true, 2, &data),
        msg(command::CLOSE, true, true, 3, &[60, 0]),
    ]);
    let ev = events(&[
        (Direction::ToServer, request),
        (Direction::ToClient, response),
    ]);
    let smb: Vec<_> = ev.iter().filter(|e| e["event_type"] == "smb").collect();
    let named: Vec<(&str, &str)> = smb
        .iter()
        .map(|e| {
            (
                e["smb"]["command"].as_str().unwrap(),
                e["smb"]["filename"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("SMB2_COMMAND_CREATE", "Line9.ap17"),
            ("SMB2_COMMAND_READ", "Line9.ap17"),
            ("SMB2_COMMAND_CLOSE", "Line9.ap17"),
        ]
    );
    let files: Vec<_> = ev
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .collect();
    assert_eq!(files.len(), 1, "{ev:?}");
    assert_eq!(files[0]["fileinfo"]["filename"], "Line9.ap17");
    assert_eq!(files[0]["fileinfo"]["size"], 100);
    assert_eq!(files[0]["fileinfo"]["state"], "CLOSED");
}

#[test]
fn a_related_write_counts_toward_its_own_file() {
    // Line1.ap17 is opened and left open; then a compound CREATEs Boiler.ACD and WRITEs and
    // CLOSEs "the file just opened": the 300 bytes are Boiler.ACD's, not Line1.ap17's.
    let mut close = vec![0; 24];
    close[8..24].copy_from_slice(&[0xff; 16]);
    let ev = events(&[
        (
            Direction::ToServer,
            compound(&[msg(command::CREATE, false, false, 1, &create("Line1.ap17"))]),
        ),
        (
            Direction::ToClient,
            compound(&[msg(command::CREATE, true, false, 1, &created(1, 5000))]),
        ),
        (
            Direction::ToServer,
            compound(&[
                msg(command::CREATE, false, false, 2, &create("Boiler.ACD")),
                msg(command::WRITE, false, true, 3, &transfer(0xff, 300)),
                msg(command::CLOSE, false, true, 4, &close),
            ]),
        ),
        (
            Direction::ToClient,
            compound(&[
                msg(command::CREATE, true, false, 2, &created(2, 0)),
                msg(command::WRITE, true, true, 3, &transferred(300)),
                msg(command::CLOSE, true, true, 4, &[60, 0]),
            ]),
        ),
    ]);
    let files: Vec<(&str, u64)> = ev
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .map(|e| {
            let f = &e["fileinfo"];
            (f["filename"].as_str().unwrap(), f["size"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(files, [("Boiler.ACD", 300)], "{ev:?}");
}

#[test]
fn unanswered_commands_are_logged_when_the_flow_ends_and_capped() {
    let echo = |id| compound(&[msg(command::ECHO, false, false, id, &[4, 0, 0, 0])]);
    let stream: Vec<_> = (0..MAX_PENDING as u64 + 3)
        .map(|id| (Direction::ToServer, echo(id)))
        .collect();
    let ev = events(&stream);
    let smb = ev.iter().filter(|e| e["event_type"] == "smb").count();
    assert_eq!(smb, MAX_PENDING + 3, "every command logged once");
    let capped = ev
        .iter()
        .filter(|e| icsight_eve::anomaly_name_of(e).as_deref() == Some("smb.too_many_transactions"))
        .count();
    assert_eq!(capped, 3);
}
