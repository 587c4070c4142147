//! The DNP3 application layer: a reassembled fragment's header (control, function code and,
//! on responses, the internal indications) and its object headers.

use super::object::{Limits, Objects};

mod field {
    pub const CONTROL: usize = 0;
    pub const FUNCTION: usize = 1;
    pub const IIN1: usize = 2;
    pub const IIN2: usize = 3;
}

/// Application header length of a request.
pub const REQUEST_HEADER_LEN: usize = 2;
/// Application header length of a response: the IIN octets follow the function code.
pub const RESPONSE_HEADER_LEN: usize = 4;

/// The function codes the logs treat specially.
pub mod function {
    pub const CONFIRM: u8 = 0x00;
    pub const RESPONSE: u8 = 0x81;
    pub const UNSOLICITED_RESPONSE: u8 = 0x82;
    pub const AUTHENTICATE_RESPONSE: u8 = 0x83;
}

/// The application control octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppControl(pub u8);

impl AppControl {
    pub fn fir(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub fn fin(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// CON: the receiver must confirm.
    pub fn con(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// UNS: an unsolicited response (or its confirmation).
    pub fn uns(self) -> bool {
        self.0 & 0x10 != 0
    }
    pub fn sequence(self) -> u8 {
        self.0 & 0x0f
    }
}

/// The internal indications of a response: IIN1 in the high octet, IIN2 in the low one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iin(pub u16);

/// Indicator names as Suricata spells them, in the order it lists them.
const INDICATORS: [(&str, u16); 16] = [
    ("all_stations", 0x0100),
    ("class_1_events", 0x0200),
    ("class_2_events", 0x0400),
    ("class_3_events", 0x0800),
    ("need_time", 0x1000),
    ("local_control", 0x2000),
    ("device_trouble", 0x4000),
    ("device_restart", 0x8000),
    ("function_code_not_implemented", 0x0001),
    ("object_unknown", 0x0002),
    ("parameter_error", 0x0004),
    ("event_buffer_overflow", 0x0008),
    ("already_executing", 0x0010),
    ("config_corrupt", 0x0020),
    ("reserved_2", 0x0040),
    ("reserved_1", 0x0080),
];

impl Iin {
    /// The bit of the indication called `name` (IIN1 in the high octet).
    pub fn bit(name: &str) -> Option<u16> {
        INDICATORS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bit)| *bit)
    }

    /// The names of the indications that are set.
    pub fn indicators(self) -> impl Iterator<Item = &'static str> + Clone {
        INDICATORS
            .into_iter()
            .filter(move |(_, bit)| self.0 & bit != 0)
            .map(|(name, _)| name)
    }
}

/// What kind of message a fragment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
    UnsolicitedResponse,
}

impl Kind {
    /// The name Suricata writes in `dnp3.type`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::UnsolicitedResponse => "unsolicited_response",
        }
    }
}

/// A reassembled application fragment, borrowed. Its header has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    buf: &'a [u8],
}

/// Why a fragment cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooShort;

impl<'a> Fragment<'a> {
    /// Check the header: two octets, four on a response.
    pub fn new(buf: &'a [u8]) -> Result<Self, TooShort> {
        let function = *buf.get(field::FUNCTION).ok_or(TooShort)?;
        if is_response(function) && buf.len() < RESPONSE_HEADER_LEN {
            return Err(TooShort);
        }
        Ok(Fragment { buf })
    }

    fn byte(&self, at: usize) -> u8 {
        self.buf.get(at).copied().unwrap_or_default()
    }

    pub fn control(&self) -> AppControl {
        AppControl(self.byte(field::CONTROL))
    }

    pub fn function(&self) -> u8 {
        self.byte(field::FUNCTION)
    }

    pub fn kind(&self) -> Kind {
        match self.function() {
            function::UNSOLICITED_RESPONSE => Kind::UnsolicitedResponse,
            f if is_response(f) => Kind::Response,
            _ => Kind::Request,
        }
    }

    /// The internal indications, on responses.
    pub fn iin(&self) -> Option<Iin> {
        (self.kind() != Kind::Request).then(|| {
            Iin(u16::from_be_bytes([
                self.byte(field::IIN1),
                self.byte(field::IIN2),
            ]))
        })
    }

    /// The object headers and their data, after the application header.
    pub fn object_bytes(&self) -> &'a [u8] {
        let at = match self.kind() {
            Kind::Request => REQUEST_HEADER_LEN,
            _ => RESPONSE_HEADER_LEN,
        };
        self.buf.get(at..).unwrap_or_default()
    }

    /// The objects, decoded lazily, within `limits`.
    pub fn objects(&self, limits: Limits) -> Objects<'a> {
        if self.kind() == Kind::Request && headers_only(self.function()) {
            Objects::headers_only(self.object_bytes(), limits)
        } else {
            Objects::new(self.object_bytes(), limits)
        }
    }

    /// The whole fragment.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
}

/// Whether a request with this function code names objects without their data: read,
/// the immediate freezes, enable and disable unsolicited, assign class.
pub fn headers_only(function: u8) -> bool {
    matches!(function, 0x01 | 0x07..=0x0a | 0x14..=0x16)
}

/// Whether an application function code is a response's.
pub fn is_response(function: u8) -> bool {
    matches!(
        function,
        function::RESPONSE | function::UNSOLICITED_RESPONSE | function::AUTHENTICATE_RESPONSE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_headers() {
        // Disable unsolicited (dnp3-eve capture, frame 4): C0 15 3C 02 06 3C 03 06 3C 04 06.
        let req = [
            0xc0, 0x15, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06,
        ];
        let f = Fragment::new(&req).unwrap();
        assert_eq!(f.kind(), Kind::Request);
        assert_eq!(f.function(), 21);
        let c = f.control();
        assert!(c.fir() && c.fin() && !c.con() && !c.uns());
        assert_eq!(c.sequence(), 0);
        assert_eq!(f.iin(), None);
        assert_eq!(f.object_bytes().len(), 9);

        // Unsolicited null response after restart: F0 82 80 00.
        let uns = [0xf0, 0x82, 0x80, 0x00];
        let f = Fragment::new(&uns).unwrap();
        assert_eq!(f.kind(), Kind::UnsolicitedResponse);
        assert!(f.control().con() && f.control().uns());
        assert_eq!(
            f.iin().unwrap().indicators().collect::<Vec<_>>(),
            ["device_restart"]
        );
        assert!(f.object_bytes().is_empty());
        assert_eq!(Fragment::new(&[0xc0, 0x81, 0x00]), Err(TooShort));
        assert_eq!(Fragment::new(&[0xc0]), Err(TooShort));
        assert_eq!(
            Iin(0x9002).indicators().collect::<Vec<_>>(),
            ["need_time", "device_restart", "object_unknown"]
        );
    }
}
