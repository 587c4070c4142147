use super::*;

/// A GOOSE payload (after the ethertype) of control block `gocb`, with `stNum`, `sqNum`,
/// `confRev` and one boolean member; its time of change `t` is second `st`.
fn frame(gocb: &str, st: u32, sq: u32, conf_rev: u32, member: bool) -> Vec<u8> {
    timed(gocb, st, sq, conf_rev, member, st)
}

fn timed(gocb: &str, st: u32, sq: u32, conf_rev: u32, member: bool, t: u32) -> Vec<u8> {
    fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, v.len() as u8];
        out.extend_from_slice(v);
        out
    }
    let mut pdu = Vec::new();
    pdu.extend(tlv(0x80, gocb.as_bytes()));
    pdu.extend(tlv(0x81, &2000u16.to_be_bytes()));
    pdu.extend(tlv(0x82, b"LD/LLN0$Events"));
    let mut time = t.to_be_bytes().to_vec();
    time.extend_from_slice(&[0, 0, 0, 0x0a]);
    pdu.extend(tlv(0x84, &time));
    pdu.extend(tlv(0x85, &st.to_be_bytes()));
    pdu.extend(tlv(0x86, &sq.to_be_bytes()));
    pdu.extend(tlv(0x87, &[0]));
    pdu.extend(tlv(0x88, &conf_rev.to_be_bytes()));
    pdu.extend(tlv(0x89, &[0]));
    pdu.extend(tlv(0x8a, &[1]));
    pdu.extend(tlv(0xab, &tlv(0x83, &[u8::from(member)])));
    let apdu = tlv(0x61, &pdu);
    let mut out = vec![0x10, 0x01];
    out.extend_from_slice(&(8 + apdu.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(apdu);
    out
}

const MAC: [u8; 6] = [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x01];

/// The anomalies of a run of frames `(secs, stNum, sqNum, confRev, member)`, by frame.
fn follow(frames: &[(u64, u32, u32, u32, bool)]) -> Vec<Vec<&'static str>> {
    let mut f = Follower::default();
    let mut stats = GooseStats::default();
    frames
        .iter()
        .map(|&(secs, st, sq, rev, m)| {
            let b = frame("LD/LLN0$GO$gcb", st, sq, rev, m);
            let g = Goose::read(&b).unwrap();
            let mut found = Findings::default();
            assert!(f.observe(MAC, &g, secs, &mut found, &mut stats));
            found.iter().map(Finding::event).collect()
        })
        .collect()
}

#[test]
fn a_publisher_that_counts_right_raises_nothing() {
    // Heartbeats, a state change with its retransmissions, a duplicate frame, the stNum wrap.
    let run = follow(&[
        (0, 1, 0, 1, false),
        (1, 1, 1, 1, false),
        (1, 1, 1, 1, false),
        (2, 2, 0, 1, true),
        (2, 2, 1, 1, true),
        (3, 2, 2, 1, true),
    ]);
    assert!(run.iter().all(Vec::is_empty), "{run:?}");
    let wrap = follow(&[(0, u32::MAX, 5, 1, false), (1, 1, 0, 1, true)]);
    assert!(wrap.iter().all(Vec::is_empty), "{wrap:?}");
}

#[test]
fn a_spoofer_is_told_by_the_numbers() {
    let run = follow(&[
        (0, 5, 3, 1, false),
        // Forged: stNum + 100.
        (1, 105, 0, 1, true),
        (1, 105, 1, 1, true),
        // The genuine publisher's heartbeat, now behind.
        (2, 5, 4, 1, false),
        // Forged retransmission restarting sqNum.
        (3, 5, 0, 1, false),
        // Forged data under the current state.
        (4, 5, 1, 1, true),
        (5, 5, 2, 2, true),
    ]);
    assert_eq!(
        run,
        vec![
            vec![],
            vec!["goose.st_num_jump"],
            vec![],
            vec!["goose.st_num_decrease"],
            vec!["goose.sq_num_reset"],
            vec!["goose.data_changed"],
            vec!["goose.conf_rev_changed"],
        ]
    );
}

#[test]
fn two_sources_alternating_are_reported_once_a_minute() {
    let mut frames = Vec::new();
    for s in 0..120 {
        frames.push((s, 1, s as u32, 1, false));
        frames.push((s, 50, s as u32, 1, true));
    }
    let run = follow(&frames);
    let count = |e: &str| run.iter().flatten().filter(|x| **x == e).count();
    assert_eq!(count("goose.st_num_jump"), 2);
    assert_eq!(count("goose.st_num_decrease"), 2);
}

#[test]
fn publishers_past_the_cap_are_counted_not_followed() {
    let mut f = Follower::new(2);
    let mut stats = GooseStats::default();
    let mut found = Findings::default();
    for (i, gocb) in ["a", "b", "c", "a"].iter().enumerate() {
        let b = frame(gocb, 1, i as u32, 1, false);
        let g = Goose::read(&b).unwrap();
        f.observe(MAC, &g, 0, &mut found, &mut stats);
    }
    assert_eq!(stats.publishers, 2);
    assert_eq!(stats.publishers_dropped, 1);
    assert_eq!(found.iter().count(), 0);
    // The same control block from another MAC is another publisher.
    let b = frame("a", 9, 0, 1, false);
    let g = Goose::read(&b).unwrap();
    assert!(!f.observe([2; 6], &g, 0, &mut found, &mut stats));
}

#[test]
fn a_restart_is_told_from_a_reset_by_its_new_time() {
    let mut f = Follower::default();
    let mut stats = GooseStats::default();
    let mut run = |st, sq, t| {
        let b = timed("gcb", st, sq, 1, false, t);
        let g = Goose::read(&b).unwrap();
        let mut found = Findings::default();
        f.observe(MAC, &g, u64::from(t), &mut found, &mut stats);
        found.iter().map(Finding::event).collect::<Vec<_>>()
    };
    assert!(run(1, 12, 100).is_empty());
    // GOOSE.pcap of the corpus: stNum 1 sqNum 12, then stNum 1 sqNum 1 with a new t.
    assert_eq!(run(1, 1, 178), ["goose.restart"]);
    // The same t: a forged reset.
    assert_eq!(run(1, 0, 178), ["goose.sq_num_reset"]);
    // From a later state, back to 1 with a new t.
    assert!(run(2, 0, 300).is_empty());
    assert_eq!(run(1, 0, 400), ["goose.restart"]);
}
