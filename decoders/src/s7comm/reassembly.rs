//! Reassembly of COTP data TPDUs: an S7 PDU larger than the negotiated TPDU size travels in
//! several DT TPDUs, all but the last with EOT clear. One [`Reassembler`] per flow keeps a buffer
//! per direction, reused from PDU to PDU and capped.

use crate::app::Direction;

/// The most bytes one reassembled TSDU may hold. S7 PDUs are at most 960 bytes (the largest PDU
/// size a CPU negotiates) and S7comm-plus objects run to a few kilobytes; 64 KiB leaves room.
pub const MAX_TSDU: usize = 64 * 1024;

/// A fragment sequence grew beyond the cap; what was held is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong {
    pub len: usize,
}

/// Per-direction COTP DT reassembly buffers.
#[derive(Debug)]
pub struct Reassembler {
    bufs: [Vec<u8>; 2],
    /// The buffer holds a TSDU already handed out: clear it on the next push.
    done: [bool; 2],
    /// A fragment sequence overflowed: drop fragments until its last one.
    skipping: [bool; 2],
    cap: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::with_cap(MAX_TSDU)
    }
}

impl Reassembler {
    pub fn with_cap(cap: usize) -> Self {
        Reassembler {
            bufs: Default::default(),
            done: [false; 2],
            skipping: [false; 2],
            cap,
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bufs.iter().map(Vec::capacity).sum()
    }

    /// Whether a fragment sequence is open in `dir`.
    pub fn pending(&self, dir: Direction) -> bool {
        let i = dir.index();
        !self.done[i] && !self.bufs[i].is_empty()
    }

    /// Forget what `dir` holds (after a gap in the stream).
    pub fn reset(&mut self, dir: Direction) {
        let i = dir.index();
        self.bufs[i].clear();
        self.done[i] = false;
        self.skipping[i] = false;
    }

    /// Add the payload of one DT TPDU. Returns the whole TSDU once its last fragment (`eot`)
    /// arrives: borrowed straight from `payload` when it came in one piece, else from the buffer.
    /// `Ok(None)` while more fragments are due.
    pub fn push<'b>(
        &'b mut self,
        dir: Direction,
        eot: bool,
        payload: &'b [u8],
    ) -> Result<Option<&'b [u8]>, TooLong> {
        let i = dir.index();
        if self.done[i] {
            self.bufs[i].clear();
            self.done[i] = false;
        }
        if self.skipping[i] {
            self.skipping[i] = !eot;
            return Ok(None);
        }
        let buf = &mut self.bufs[i];
        if buf.is_empty() && eot {
            return Ok(Some(payload));
        }
        let len = buf.len().saturating_add(payload.len());
        if len > self.cap {
            buf.clear();
            self.skipping[i] = !eot;
            return Err(TooLong { len });
        }
        buf.extend_from_slice(payload);
        if !eot {
            return Ok(None);
        }
        self.done[i] = true;
        Ok(Some(&self.bufs[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Direction = Direction::ToServer;
    const DOWN: Direction = Direction::ToClient;

    #[test]
    fn whole_tpdu_is_borrowed() {
        let mut r = Reassembler::default();
        let p = [0x32, 1, 2];
        assert_eq!(r.push(UP, true, &p), Ok(Some(&p[..])));
        assert_eq!(r.heap_bytes(), 0);
    }

    #[test]
    fn fragments_join_per_direction() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(UP, false, &[1, 2]), Ok(None));
        assert_eq!(r.push(DOWN, true, &[9]), Ok(Some(&[9][..])));
        assert!(r.pending(UP));
        assert_eq!(r.push(UP, false, &[3]), Ok(None));
        assert_eq!(r.push(UP, true, &[4]), Ok(Some(&[1, 2, 3, 4][..])));
        assert!(!r.pending(UP));
        assert_eq!(r.push(UP, true, &[5]), Ok(Some(&[5][..])));
    }

    #[test]
    fn cap_drops_the_sequence() {
        let mut r = Reassembler::with_cap(4);
        assert_eq!(r.push(UP, false, &[1, 2, 3]), Ok(None));
        assert_eq!(r.push(UP, false, &[4, 5]), Err(TooLong { len: 5 }));
        // The rest of the overlong sequence is dropped, up to and including its last fragment.
        assert_eq!(r.push(UP, false, &[6]), Ok(None));
        assert_eq!(r.push(UP, true, &[7]), Ok(None));
        assert_eq!(r.push(UP, true, &[8]), Ok(Some(&[8][..])));
    }
}
