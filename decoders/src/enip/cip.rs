//! A CIP message (CIP Vol. 1, 2-4): a request is a service code, a path of segments (class,
//! instance, attribute …) and data; a response is the service code with bit 7 set, a general
//! status, extended status words and data. Read lazily from the borrowed bytes; whatever does
//! not check reads as absent.

/// The Multiple Service Packet service.
pub const MULTIPLE_SERVICE: u8 = 0x0a;
/// Services a Multiple Service Packet may bundle, read at most.
const MAX_BUNDLED: usize = 64;

/// A CIP message, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cip<'a> {
    bytes: &'a [u8],
}

/// One logical segment of a request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The logical type: 0 class, 1 instance, 2 member, 3 connection point, 4 attribute.
    pub logical_type: u8,
    pub value: u32,
}

impl Segment {
    pub const CLASS: u8 = 0;
    pub const INSTANCE: u8 = 1;
    pub const ATTRIBUTE: u8 = 4;
}

impl<'a> Cip<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cip { bytes }
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The service code, response bit cleared.
    pub fn service(&self) -> Option<u8> {
        self.bytes.first().map(|s| s & 0x7f)
    }

    pub fn is_response(&self) -> bool {
        self.bytes.first().is_some_and(|s| s & 0x80 != 0)
    }

    /// A request's path bytes, and the data after it.
    fn path_and_data(&self) -> Option<(&'a [u8], &'a [u8])> {
        if self.is_response() {
            return None;
        }
        let words = usize::from(*self.bytes.get(1)?);
        let path = self.bytes.get(2..2 + 2 * words)?;
        Some((path, &self.bytes[2 + 2 * words..]))
    }

    /// A request path's logical segments, in order; reading stops at the first segment that
    /// is not logical or does not fit.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + 'a {
        let mut path = self.path_and_data().map_or(&[][..], |(p, _)| p);
        core::iter::from_fn(move || {
            let &kind = path.first()?;
            if kind >> 5 != 1 {
                return None;
            }
            let logical_type = (kind >> 2) & 0x07;
            let (value, len) = match kind & 0x03 {
                0 => (u32::from(*path.get(1)?), 2),
                1 => (
                    u32::from(u16::from_le_bytes([*path.get(2)?, *path.get(3)?])),
                    4,
                ),
                2 => (u32::from_le_bytes(path.get(2..6)?.try_into().ok()?), 6),
                _ => return None,
            };
            path = path.get(len..)?;
            Some(Segment {
                logical_type,
                value,
            })
        })
    }

    /// The value of the path's first segment of `logical_type`.
    pub fn path_value(&self, logical_type: u8) -> Option<u32> {
        self.segments()
            .find(|s| s.logical_type == logical_type)
            .map(|s| s.value)
    }

    /// A response's general status.
    pub fn general_status(&self) -> Option<u8> {
        if !self.is_response() {
            return None;
        }
        self.bytes.get(2).copied()
    }

    /// A response's data, after its status words.
    fn response_data(&self) -> Option<&'a [u8]> {
        let words = usize::from(*self.bytes.get(3)?);
        self.bytes.get(4 + 2 * words..)
    }

    /// The services a Multiple Service Packet bundles (request or response): each at the
    /// offset its table gives, up to the next one.
    pub fn bundled(&self) -> impl Iterator<Item = Cip<'a>> + 'a {
        let data = if self.service() != Some(MULTIPLE_SERVICE) {
            None
        } else if self.is_response() {
            self.response_data()
        } else {
            self.path_and_data().map(|(_, d)| d)
        };
        let data = data.unwrap_or_default();
        let count = data
            .get(..2)
            .map_or(0, |c| usize::from(u16::from_le_bytes([c[0], c[1]])))
            .min(MAX_BUNDLED);
        let offset = move |i: usize| -> Option<usize> {
            let at = 2 + 2 * i;
            Some(usize::from(u16::from_le_bytes(
                data.get(at..at + 2)?.try_into().ok()?,
            )))
        };
        (0..count).filter_map(move |i| {
            let start = offset(i)?;
            let end = if i + 1 < count {
                offset(i + 1)?
            } else {
                data.len()
            };
            data.get(start..end).filter(|b| !b.is_empty()).map(Cip::new)
        })
    }
}
