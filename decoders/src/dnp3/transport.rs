//! The DNP3 transport function: one header octet (FIN, FIR, sequence) at the front of each
//! link frame's user data, and the reassembly of segments into application fragments.
//!
//! A [`Reassembler`] keeps one direction's fragment in progress. It owns a buffer that is
//! reused from fragment to fragment, so a long-lived flow stops allocating once the buffer has
//! grown to its largest fragment; the buffer never grows past [`Reassembler::max`].

use super::link::{Frame, LinkHeader};

/// Largest reassembled fragment by default: 63 segments of 255 octets, the bound Suricata
/// applies (its `too_long_reassembly` event).
pub const MAX_FRAGMENT: usize = 63 * 255;

/// Sequence numbers run modulo 64.
const SEQ_MOD: u8 = 64;

/// The transport header octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportHeader(pub u8);

impl TransportHeader {
    /// FIN: the last segment of a fragment.
    pub fn fin(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// FIR: the first segment of a fragment.
    pub fn fir(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub fn seq(self) -> u8 {
        self.0 & 0x3f
    }
}

/// A whole application fragment, borrowed from the reassembler until the next push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assembled<'r> {
    /// The link header of the fragment's first frame.
    pub link: LinkHeader,
    /// The transport header of its first segment.
    pub transport: TransportHeader,
    /// The application bytes, CRCs and transport headers removed.
    pub data: &'r [u8],
}

/// What a link frame did to the fragment in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push<'r> {
    /// Not a user-data frame (link reset, status, acknowledgement): no transport segment.
    LinkOnly,
    /// A user-data frame too short for the transport and application headers.
    LenTooSmall,
    /// A user-data block whose CRC does not check; the segment is dropped.
    BadCrc,
    /// A segment without FIR that does not continue the fragment in progress; dropped.
    OutOfSequence,
    /// The segment was kept; the fragment is not finished.
    Pending,
    /// The fragment grew past the cap; it is dropped, and so are segments until the next FIR.
    TooLong,
    /// The segment finished a fragment.
    Fragment(Assembled<'r>),
}

/// One direction's transport reassembly.
#[derive(Clone, Debug)]
pub struct Reassembler {
    buf: Vec<u8>,
    active: bool,
    link: LinkHeader,
    first: TransportHeader,
    last_seq: u8,
    max: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::with_max(MAX_FRAGMENT)
    }
}

impl Reassembler {
    /// A reassembler whose fragments may hold at most `max` application bytes.
    pub fn with_max(max: usize) -> Self {
        Reassembler {
            buf: Vec::new(),
            active: false,
            link: LinkHeader::default(),
            first: TransportHeader(0),
            last_seq: 0,
            max,
        }
    }

    /// The cap on a fragment's size.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Heap bytes held (the reused buffer).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether a fragment is in progress.
    pub fn in_progress(&self) -> bool {
        self.active
    }

    /// Drop the fragment in progress (after a gap in the stream).
    pub fn reset(&mut self) {
        self.active = false;
        self.buf.clear();
    }

    /// Take one link frame.
    pub fn push(&mut self, frame: &Frame<'_>) -> Push<'_> {
        let control = frame.link_control();
        if !control.is_user_data() {
            return Push::LinkOnly;
        }
        // Transport header, then the application header: 2 octets from the master, 4 (with
        // the internal indications) from the outstation.
        let min_user = if control.dir() { 3 } else { 5 };
        let user_len = frame.user_len();
        // The transport header is read before its block's CRC is checked; nothing is kept
        // unless every CRC checks.
        let Some(&th) = frame.body().first().filter(|_| user_len >= 1) else {
            return Push::LenTooSmall;
        };
        let th = TransportHeader(th);
        let link = frame.header();
        if th.fir() {
            if user_len < min_user {
                return Push::LenTooSmall;
            }
        } else if !self.active
            || self.link.source != link.source
            || self.link.destination != link.destination
            || (self.last_seq + 1) % SEQ_MOD != th.seq()
        {
            return if frame.blocks_ok() {
                Push::OutOfSequence
            } else {
                Push::BadCrc
            };
        }
        let kept = if th.fir() { 0 } else { self.buf.len() };
        if kept + user_len - 1 > self.max {
            self.reset();
            return Push::TooLong;
        }
        // Check and copy in one pass, after what is held; a FIR then drops what came before.
        let mark = self.buf.len();
        for (i, (block, ok)) in frame.blocks().enumerate() {
            if !ok {
                self.buf.truncate(mark);
                return Push::BadCrc;
            }
            let block = if i == 0 {
                block.get(1..).unwrap_or_default()
            } else {
                block
            };
            self.buf.extend_from_slice(block);
        }
        if th.fir() {
            self.buf.drain(..mark);
            self.active = true;
            self.link = link;
            self.first = th;
        }
        self.last_seq = th.seq();
        if !th.fin() {
            return Push::Pending;
        }
        self.active = false;
        Push::Fragment(Assembled {
            link: self.link,
            transport: self.first,
            data: &self.buf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnp3::link::Frame;
    use crate::dnp3::test_frame as frame;

    #[test]
    fn one_segment_fragment() {
        // Read class 1/2/3/0 (from the module tests in mod.rs): TH c0, AC c0, FC 01, objects.
        let bytes = frame(
            0xc4,
            1024,
            1,
            &[0xc0, 0xc0, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06],
        );
        let mut r = Reassembler::default();
        match r.push(&Frame::new(&bytes)) {
            Push::Fragment(a) => {
                assert_eq!(a.data, &[0xc0, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06]);
                assert_eq!(a.link.source, 1);
                assert_eq!(a.link.destination, 1024);
                assert!(a.transport.fir() && a.transport.fin());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn segments_in_and_out_of_sequence() {
        let mut user = vec![0x40 | 5];
        user.extend((0u8..249).map(|i| i.wrapping_mul(7)));
        let first = frame(0x44, 1, 1024, &user);
        let mut tail = vec![0x80 | 6];
        tail.extend([1, 2, 3]);
        let last = frame(0x44, 1, 1024, &tail);
        let mut r = Reassembler::default();
        assert_eq!(r.push(&Frame::new(&first)), Push::Pending);
        match r.push(&Frame::new(&last)) {
            Push::Fragment(a) => {
                assert_eq!(a.data.len(), 252);
                assert_eq!(&a.data[..249], &user[1..]);
                assert_eq!(&a.data[249..], &[1, 2, 3]);
                assert_eq!(a.transport.seq(), 5);
            }
            other => panic!("{other:?}"),
        }
        // The same tail again continues nothing.
        assert_eq!(r.push(&Frame::new(&last)), Push::OutOfSequence);
        // A wrong sequence number is dropped.
        assert_eq!(r.push(&Frame::new(&first)), Push::Pending);
        let mut skip = tail.clone();
        skip[0] = 0x80 | 7;
        assert_eq!(
            r.push(&Frame::new(&frame(0x44, 1, 1024, &skip))),
            Push::OutOfSequence
        );
    }

    #[test]
    fn caps_and_checks() {
        let mut r = Reassembler::with_max(300);
        let mut user = vec![0x40];
        user.extend([0u8; 249]);
        assert_eq!(
            r.push(&Frame::new(&frame(0x44, 1, 2, &user))),
            Push::Pending
        );
        user[0] = 1;
        assert_eq!(
            r.push(&Frame::new(&frame(0x44, 1, 2, &user))),
            Push::TooLong
        );
        assert!(!r.in_progress());
        // Link status request: no user data.
        assert_eq!(r.push(&Frame::new(&frame(0xc9, 1, 2, &[]))), Push::LinkOnly);
        // A response first segment needs the IIN octets.
        assert_eq!(
            r.push(&Frame::new(&frame(0x44, 1, 2, &[0xc0, 0xc0, 0x81]))),
            Push::LenTooSmall
        );
        let mut bad = frame(0xc4, 1, 2, &[0xc0, 0xc0, 0x01]);
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        assert_eq!(r.push(&Frame::new(&bad)), Push::BadCrc);
    }
}
