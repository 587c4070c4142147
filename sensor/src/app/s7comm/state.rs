//! What an S7 flow remembers between TPKTs: COTP fragments per direction, jobs awaiting their
//! acknowledgement, and multi-unit userdata responses in progress. Every part is capped.

use decoders::s7comm::Reassembler;

/// Jobs awaiting their acknowledgement, per flow. S7 servers serve at most `max_amq_called`
/// jobs at a time (rarely more than 8); beyond this many the oldest is forgotten.
pub const MAX_PENDING_JOBS: usize = 32;

/// Jobs by PDU reference, oldest first, in a fixed array allocated once with the flow.
#[derive(Debug)]
pub struct Jobs {
    slots: [(u16, u8); MAX_PENDING_JOBS],
    len: usize,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            slots: [(0, 0); MAX_PENDING_JOBS],
            len: 0,
        }
    }
}

impl Jobs {
    /// Remember a job; returns false when the oldest had to be dropped to make room.
    pub fn insert(&mut self, pdu_ref: u16, function: u8) -> bool {
        if let Some(s) = self.slots[..self.len].iter_mut().find(|s| s.0 == pdu_ref) {
            s.1 = function;
            return true;
        }
        let room = self.len < MAX_PENDING_JOBS;
        if !room {
            self.remove(0);
        }
        self.slots[self.len] = (pdu_ref, function);
        self.len += 1;
        room
    }

    pub fn take(&mut self, pdu_ref: u16) -> Option<u8> {
        let at = self.slots[..self.len].iter().position(|s| s.0 == pdu_ref)?;
        let f = self.slots[at].1;
        self.remove(at);
        Some(f)
    }

    /// Forget every pending job.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    fn remove(&mut self, at: usize) {
        self.slots.copy_within(at + 1..self.len, at);
        self.len -= 1;
    }
}

/// What an S7 flow remembers between TPKTs.
#[derive(Debug, Default)]
pub struct State {
    pub reassembler: Reassembler,
    /// DT TPDUs of the TSDU being assembled, per direction.
    pub tpdus: [u16; 2],
    /// Boxed: allocated once with the flow, and keeps the flow's app state small.
    pub jobs: Box<Jobs>,
    /// Data unit reference of a userdata response whose further units are due, per direction:
    /// those units continue its data and carry no SZL header of their own.
    pub open_unit: [Option<u8>; 2],
    /// The connection turned out to carry MMS: the octets after its first data TPDU that are
    /// MMS's, for detection to go on with.
    pub handover: Option<usize>,
    /// That first TPDU's TPKT, for detection to start on (its header may have come in an
    /// earlier segment).
    pub handing: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_capped_oldest_first() {
        let mut j = Jobs::default();
        for r in 0..MAX_PENDING_JOBS as u16 {
            assert!(j.insert(r, 4));
        }
        assert!(!j.insert(1000, 5));
        assert_eq!(j.take(0), None);
        assert_eq!(j.take(1000), Some(5));
        assert_eq!(j.take(1), Some(4));
        assert_eq!(j.take(1), None);
    }
}
