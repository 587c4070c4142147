use super::*;

/// The first GOOSE frame of `pcaps/iec61850_goose.pcap` (libiec61850's GoosePublisher), after
/// the VLAN tag's ethertype.
const FRAME: &str =
    "1000008500000000617b801c506c616e744c444c44302f4c4c4e3024474f246763624576656e7473\
    810207d08216506c616e744c444c44302f4c4c4e30244576656e747383096763624576656e747384\
    086b16d4b12624dd0a8501018601008701008801018901008a0106ab188301018403030000830100\
    84030300008301008403030000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_frame_reads_to_its_fields_and_members() {
    let b = hex(FRAME);
    let g = Goose::read(&b).unwrap();
    assert_eq!(g.header.appid, 0x1000);
    assert!(!g.header.simulated());
    assert_eq!(g.gocb_ref, b"PlantLDLD0/LLN0$GO$gcbEvents");
    assert_eq!(g.dat_set, b"PlantLDLD0/LLN0$Events");
    assert_eq!(g.go_id, Some(&b"gcbEvents"[..]));
    assert_eq!(g.time_allowed_to_live, 2000);
    assert_eq!(
        (g.st_num, g.sq_num, g.conf_rev, g.num_entries),
        (1, 0, 1, 6)
    );
    assert!(!g.simulation && !g.nds_com);
    assert!(g
        .t
        .is_some_and(|t| t.seconds > 1_700_000_000 && t.micros() < 1_000_000));
    let data: Vec<Data<'_>> = g.data().collect();
    assert_eq!(data.len(), 6);
    assert_eq!(data[0], Data::Bool(true));
    assert!(matches!(data[1], Data::BitString(_)));
}

#[test]
fn a_missing_field_is_named() {
    let mut b = hex(FRAME);
    // stNum's tag [5] (0x85) becomes an unknown [13] (0x8d).
    let at = b.windows(3).position(|w| w == [0x85, 0x01, 0x01]).unwrap();
    b[at] = 0x8d;
    assert_eq!(Goose::read(&b), Err(Error::MissingField("stNum")));
}

#[test]
fn headers_and_pdus_are_checked() {
    let b = hex(FRAME);
    assert_eq!(Goose::read(&b[..7]), Err(Error::Truncated));
    assert_eq!(Goose::read(&b[..100]), Err(Error::InvalidLength));
    let mut short = b.clone();
    short[3] = 4;
    assert_eq!(Goose::read(&short), Err(Error::InvalidLength));
    // A Sampled Values PDU is not a GOOSE one.
    let mut sv = b.clone();
    sv[8] = 0x60;
    assert_eq!(Goose::read(&sv), Err(Error::InvalidPdu));
    // Padding after the APDU (a frame padded to Ethernet's minimum) is left out.
    let mut padded = b.clone();
    padded.extend_from_slice(&[0; 16]);
    assert_eq!(Goose::read(&padded).map(|g| g.st_num), Ok(1));
}

#[test]
fn every_cut_or_flipped_octet_reads_or_errs() {
    let b = hex(FRAME);
    for n in 0..b.len() {
        let _ = Goose::read(&b[..n]).map(|g| g.data().count());
    }
    for i in 0..b.len() {
        for x in [0x00, 0x80, 0xff] {
            let mut c = b.clone();
            c[i] = x;
            let _ = Goose::read(&c).map(|g| g.data().count());
        }
    }
}
