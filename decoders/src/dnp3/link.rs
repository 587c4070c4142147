//! The DNP3 link layer frame (FT3): a CRC-protected 10-byte header and user data in 16-byte
//! blocks, each followed by its own CRC.

use super::Error;

mod field {
    use core::ops::Range;
    pub const START: Range<usize> = 0..2;
    pub const LENGTH: usize = 2;
    pub const CONTROL: usize = 3;
    pub const DESTINATION: Range<usize> = 4..6;
    pub const SOURCE: Range<usize> = 6..8;
    pub const HEADER_CRC: Range<usize> = 8..10;
}

/// The two start bytes of every frame.
pub const START: [u8; 2] = [0x05, 0x64];
/// Header length, its CRC included.
pub const HEADER_LEN: usize = 10;
/// Smallest length field: control, destination and source.
pub const MIN_LENGTH: u8 = 5;
/// Largest frame: 250 bytes of user data in 16 blocks, each with a 2-byte CRC.
pub const MAX_FRAME_LEN: usize = frame_len(255);

/// User data bytes per CRC-protected block.
pub const BLOCK_LEN: usize = 16;
/// Length of each CRC.
pub const CRC_LEN: usize = 2;

/// Size of a whole frame whose length field is `length` (which must be at least 5).
pub const fn frame_len(length: u8) -> usize {
    let user = length as usize - MIN_LENGTH as usize;
    HEADER_LEN + user + 2 * user.div_ceil(16)
}

/// The DNP3 CRC-16 (polynomial 0x3D65, reflected, complemented).
pub fn crc(data: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut table = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u16;
            let mut bit = 0;
            while bit < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xa6bc
                } else {
                    c >> 1
                };
                bit += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let c = data.iter().fold(0u16, |c, &b| {
        (c >> 8) ^ TABLE[usize::from((c ^ u16::from(b)) as u8)]
    });
    !c
}

/// Check the link header at the front of `buf` and return the frame length it announces;
/// `Ok(None)` while fewer than [`HEADER_LEN`] bytes are there (the start bytes are still checked).
pub fn check_header(buf: &[u8]) -> Result<Option<usize>, Error> {
    if let Some(start) = buf.get(field::START) {
        if start != START {
            return Err(Error::StartBytes);
        }
    } else if buf.first().is_some_and(|&b| b != START[0]) {
        return Err(Error::StartBytes);
    }
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let length = header[field::LENGTH];
    if length < MIN_LENGTH {
        return Err(Error::Length(length));
    }
    let expected = crc(&header[..field::HEADER_CRC.start]);
    let found = u16::from_le_bytes([
        header[field::HEADER_CRC.start],
        header[field::HEADER_CRC.start + 1],
    ]);
    // Fuzzing builds accept any CRC so that the layers above are reached.
    if expected != found && !cfg!(fuzzing) {
        return Err(Error::HeaderCrc { expected, found });
    }
    Ok(Some(frame_len(length)))
}

/// The link control octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkControl(pub u8);

impl LinkControl {
    /// DIR: set on frames from the master.
    pub fn dir(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// PRM: set on frames from the primary (initiating) station.
    pub fn pri(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// FCB: the frame count bit.
    pub fn fcb(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// FCV on primary frames, DFC on secondary ones.
    pub fn fcv(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// The link function code.
    pub fn function(self) -> u8 {
        self.0 & 0x0f
    }
    /// Confirmed (3) or unconfirmed (4) user data: a frame that carries a transport segment.
    pub fn is_user_data(self) -> bool {
        matches!(self.function(), 3 | 4)
    }
}

/// What the link header says, copied out of the frame so it can outlive it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkHeader {
    pub control: u8,
    pub destination: u16,
    pub source: u16,
}

/// One link frame, borrowed; its header has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    buf: &'a [u8],
}

impl<'a> Frame<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        debug_assert!(buf.len() >= HEADER_LEN);
        Frame { buf }
    }

    fn header_u16(&self, range: core::ops::Range<usize>) -> u16 {
        u16::from_le_bytes([self.buf[range.start], self.buf[range.start + 1]])
    }

    /// The link length field: control, addresses and user data, CRCs excluded.
    pub fn length(&self) -> u8 {
        self.buf[field::LENGTH]
    }

    /// The link control byte (DIR, PRM, FCB, FCV and function code).
    pub fn control(&self) -> u8 {
        self.buf[field::CONTROL]
    }

    pub fn destination(&self) -> u16 {
        self.header_u16(field::DESTINATION)
    }

    pub fn source(&self) -> u16 {
        self.header_u16(field::SOURCE)
    }

    /// The user-data blocks with their CRCs, as on the wire.
    pub fn body(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or_default()
    }

    pub fn link_control(&self) -> LinkControl {
        LinkControl(self.control())
    }

    /// The header fields, copied.
    pub fn header(&self) -> LinkHeader {
        LinkHeader {
            control: self.control(),
            destination: self.destination(),
            source: self.source(),
        }
    }

    /// Bytes of user data the length field announces (CRCs excluded).
    pub fn user_len(&self) -> usize {
        usize::from(self.length()).saturating_sub(usize::from(MIN_LENGTH))
    }

    /// The user-data blocks without their CRCs, each with whether its CRC checks.
    pub fn blocks(&self) -> impl Iterator<Item = (&'a [u8], bool)> {
        self.body().chunks(BLOCK_LEN + CRC_LEN).map(|block| {
            let Some(split) = block.len().checked_sub(CRC_LEN).filter(|&n| n > 0) else {
                return (&block[..0], false);
            };
            let (data, sent) = block.split_at(split);
            (data, crc(data).to_le_bytes() == sent || cfg!(fuzzing))
        })
    }

    /// Whether every user-data block's CRC checks.
    pub fn blocks_ok(&self) -> bool {
        self.blocks().all(|(_, ok)| ok)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_reference_vector() {
        // Reset-link-states request, as printed in the IEEE 1815 examples: CRC 0x21e9.
        assert_eq!(
            super::crc(&[0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04]),
            0x21e9
        );
    }

    #[test]
    fn control_bits_and_blocks() {
        // Request from the dnp3-eve capture: 05 64 14 c4 (DIR, PRM, unconfirmed user data).
        let c = super::LinkControl(0xc4);
        assert!(c.dir() && c.pri() && !c.fcb() && !c.fcv());
        assert_eq!(c.function(), 4);
        assert!(c.is_user_data());
        assert!(!super::LinkControl(0x40).is_user_data());
        assert_eq!(super::frame_len(5), 10);
        assert_eq!(super::frame_len(6), 13);
        assert_eq!(super::frame_len(21), 28);
        assert_eq!(super::frame_len(22), 31);
        assert_eq!(super::MAX_FRAME_LEN, 292);
    }
}
