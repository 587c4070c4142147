//! A CIP message (CIP Vol. 1, 2-4): a request is a service code, a path of segments (class,
//! instance, attribute …) and data; a response is the service code with bit 7 set, a general
//! status, extended status words and data. Read lazily from the borrowed bytes; whatever does
//! not check reads as absent.

/// An electronic key segment (special logical type, key format 4) and its length.
const ELECTRONIC_KEY: u8 = 0x34;
const ELECTRONIC_KEY_LEN: usize = 10;

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

    /// The logical type's name, as EVE's `segment_type` writes it.
    pub fn name(&self) -> &'static str {
        match self.logical_type {
            Segment::CLASS => "class",
            Segment::INSTANCE => "instance",
            Segment::ATTRIBUTE => "attribute",
            2 => "member",
            3 => "connection_point",
            _ => "logical",
        }
    }
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
        Cip::logical(self.path_and_data().map_or(&[][..], |(p, _)| p))
    }

    /// The logical segments at the start of `path`; an electronic key (0x34, eight octets of
    /// vendor, device type, product code and revision to match) is stepped over.
    fn logical(mut path: &'a [u8]) -> impl Iterator<Item = Segment> + 'a {
        core::iter::from_fn(move || {
            if path.first() == Some(&ELECTRONIC_KEY) {
                path = path.get(ELECTRONIC_KEY_LEN..)?;
            }
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

/// The Connection Manager object's class.
pub const CONNECTION_MANAGER: u32 = 0x06;

/// A service's name, as Suricata 8 logs it (CIP Vol. 1, Appendix A; Vol. 1, 3-5.5 for the
/// Connection Manager; Logix tag services): class-specific codes are named by the class the
/// request addresses, and left unnamed without one.
pub fn service_name(service: u8, class: Option<u32>) -> Option<&'static str> {
    Some(match (service, class) {
        (0x01, _) => "Get Attributes All",
        (0x02, _) => "Set Attributes All",
        (0x03, _) => "Get Attribute List",
        (0x04, _) => "Set Attribute List",
        (0x05, _) => "Reset",
        (0x06, _) => "Start",
        (0x07, _) => "Stop",
        (0x08, _) => "Create",
        (0x09, _) => "Delete",
        (0x0a, _) => "Multiple Service Packet",
        (0x0d, _) => "Apply Attributes",
        (0x0e, _) => "Get Attribute Single",
        (0x10, _) => "Set Attribute Single",
        (0x11, _) => "Find Next Object Instance",
        (0x14, _) => "Error Response",
        (0x15, _) => "Restore",
        (0x16, _) => "Save",
        (0x17, _) => "No Operation",
        (0x18, _) => "Get Member",
        (0x19, _) => "Set Member",
        (0x1a, _) => "Insert Member",
        (0x1b, _) => "Remove Member",
        (0x1c, _) => "Group Sync",
        (0x4e, Some(CONNECTION_MANAGER)) => "Forward Close",
        (0x52, Some(CONNECTION_MANAGER)) => "Unconnected Send",
        (0x54, Some(CONNECTION_MANAGER)) => "Forward Open",
        (0x56, Some(CONNECTION_MANAGER)) => "Get Connection Data",
        (0x57, Some(CONNECTION_MANAGER)) => "Search Connection Data",
        (0x5a, Some(CONNECTION_MANAGER)) => "Get Connection Owner",
        (0x5b, Some(CONNECTION_MANAGER)) => "Large Forward Open",
        // Logix controllers: services on tags (symbolic paths) and the Symbol class.
        (0x4c, _) => "Read Tag",
        (0x4d, _) => "Write Tag",
        (0x4e, _) => "Read Modify Write Tag",
        (0x52, _) => "Read Tag Fragmented",
        (0x53, _) => "Write Tag Fragmented",
        (0x55, _) => "Get Instance Attribute List",
        _ => return None,
    })
}

/// An object class's name (CIP Vol. 1, 5-1; Vol. 2 for the EtherNet/IP classes).
pub fn class_name(class: u32) -> Option<&'static str> {
    Some(match class {
        0x01 => "Identity",
        0x02 => "Message Router",
        0x03 => "DeviceNet",
        0x04 => "Assembly",
        0x05 => "Connection",
        0x06 => "Connection Manager",
        0x07 => "Register",
        0x08 => "Discrete Input Point",
        0x09 => "Discrete Output Point",
        0x0a => "Analog Input Point",
        0x0b => "Analog Output Point",
        0x0e => "Presence Sensing",
        0x0f => "Parameter",
        0x10 => "Parameter Group",
        0x12 => "Group",
        0x1d => "Discrete Input Group",
        0x1e => "Discrete Output Group",
        0x1f => "Discrete Group",
        0x20 => "Analog Input Group",
        0x21 => "Analog Output Group",
        0x22 => "Analog Group",
        0x23 => "Position Sensor",
        0x24 => "Position Controller Supervisor",
        0x25 => "Position Controller",
        0x26 => "Block Sequencer",
        0x27 => "Command Block",
        0x28 => "Motor Data",
        0x29 => "Control Supervisor",
        0x2a => "AC/DC Drive",
        0x2b => "Acknowledge Handler",
        0x2c => "Overload",
        0x2d => "Softstart",
        0x2e => "Selection",
        0x30 => "S-Device Supervisor",
        0x31 => "S-Analog Sensor",
        0x32 => "S-Analog Actor",
        0x33 => "S-Single Stage Controller",
        0x34 => "S-Gas Calibration",
        0x35 => "Trip Point",
        0x37 => "File",
        0x38 => "S-Partial Pressure",
        0x39 => "Safety Supervisor",
        0x3a => "Safety Validator",
        0x3b => "Safety Discrete Output Point",
        0x3c => "Safety Discrete Output Group",
        0x3d => "Safety Discrete Input Point",
        0x3e => "Safety Discrete Input Group",
        0x3f => "Safety Dual Channel Output",
        0x40 => "S-Sensor Calibration",
        0x41 => "Event Log",
        0x42 => "Motion Axis",
        0x43 => "Time Sync",
        0x44 => "Modbus",
        0x45 => "Originator Connection List",
        0x46 => "Modbus Serial Link",
        0x47 => "Device Level Ring",
        0x48 => "QoS",
        0x4c => "Energy Base",
        0x4d => "Electrical Energy",
        0x4e => "Non-Electrical Energy",
        0x4f => "Base Switch",
        0x50 => "SNMP",
        0x51 => "Power Management",
        0x52 => "RSTP Bridge",
        0x53 => "RSTP Port",
        0x54 => "PRP/HSR Protocol",
        0x55 => "PRP/HSR Nodes Table",
        0x56 => "Safety Feedback",
        0x57 => "Safety Dual Channel Feedback",
        0x58 => "Safety Stop Functions",
        0x59 => "Safety Limit Functions",
        0x5a => "Power Curtailment",
        0x5b => "CIP Security",
        0x5c => "EtherNet/IP Security",
        0x5d => "Certificate Management",
        0x67 => "PCCC",
        0x6b => "Symbol",
        0x6c => "Template",
        0x8e => "Controller",
        0xa1 => "Non-Volatile Storage",
        0xac => "Program",
        0xf0 => "ControlNet",
        0xf1 => "ControlNet Keeper",
        0xf2 => "ControlNet Scheduling",
        0xf3 => "Connection Configuration",
        0xf4 => "Port",
        0xf5 => "TCP/IP Interface",
        0xf6 => "Ethernet Link",
        0xf7 => "CompoNet",
        0xf8 => "CompoNet Repeater",
        _ => return None,
    })
}

/// A general status's name (CIP Vol. 1, Appendix B).
pub fn status_name(status: u8) -> Option<&'static str> {
    Some(match status {
        0x00 => "Success",
        0x01 => "Connection Failure",
        0x02 => "Resource Unavailable",
        0x03 => "Invalid Parameter Value",
        0x04 => "Path Segment Error",
        0x05 => "Path Destination Unknown",
        0x06 => "Partial Transfer",
        0x07 => "Connection Lost",
        0x08 => "Service Not Supported",
        0x09 => "Invalid Attribute Value",
        0x0a => "Attribute List Error",
        0x0b => "Already In Requested Mode/State",
        0x0c => "Object State Conflict",
        0x0d => "Object Already Exists",
        0x0e => "Attribute Not Settable",
        0x0f => "Privilege Violation",
        0x10 => "Device State Conflict",
        0x11 => "Reply Data Too Large",
        0x12 => "Fragmentation Of A Primitive Value",
        0x13 => "Not Enough Data",
        0x14 => "Attribute Not Supported",
        0x15 => "Too Much Data",
        0x16 => "Object Does Not Exist",
        0x17 => "Service Fragmentation Sequence Not In Progress",
        0x18 => "No Stored Attribute Data",
        0x19 => "Store Operation Failure",
        0x1a => "Routing Failure, Request Packet Too Large",
        0x1b => "Routing Failure, Response Packet Too Large",
        0x1c => "Missing Attribute List Entry Data",
        0x1d => "Invalid Attribute Value List",
        0x1e => "Embedded Service Error",
        0x1f => "Vendor Specific Error",
        0x20 => "Invalid Parameter",
        0x21 => "Write-Once Value Or Medium Already Written",
        0x22 => "Invalid Reply Received",
        0x23 => "Buffer Overflow",
        0x24 => "Invalid Message Format",
        0x25 => "Key Failure In Path",
        0x26 => "Path Size Invalid",
        0x27 => "Unexpected Attribute In List",
        0x28 => "Invalid Member ID",
        0x29 => "Member Not Settable",
        0x2a => "Group 2 Only Server General Failure",
        0x2b => "Unknown Modbus Error",
        0x2c => "Attribute Not Gettable",
        _ => return None,
    })
}

/// What a Connection Manager extended status means (CIP Vol. 1, 3-5.6).
pub fn extended_status_meaning(status: u8, extended: u16) -> Option<&'static str> {
    if status != 0x01 {
        return None;
    }
    Some(match extended {
        0x0100 => "Connection In Use Or Duplicate Forward Open",
        0x0103 => "Transport Class And Trigger Combination Not Supported",
        0x0106 => "Ownership Conflict",
        0x0107 => "Target Connection Not Found",
        0x0108 => "Invalid Network Connection Parameter",
        0x0109 => "Invalid Connection Size",
        0x0110 => "Target For Connection Not Configured",
        0x0111 => "RPI Not Supported",
        0x0113 => "Out Of Connections",
        0x0114 => "Vendor ID Or Product Code Mismatch",
        0x0115 => "Device Type Mismatch",
        0x0116 => "Revision Mismatch",
        0x0117 => "Invalid Produced Or Consumed Application Path",
        0x0118 => "Invalid Or Inconsistent Configuration Application Path",
        0x0119 => "Non-Listen Only Connection Not Opened",
        0x011a => "Target Object Out Of Connections",
        0x011b => "RPI Is Smaller Than The Production Inhibit Time",
        0x0203 => "Connection Timed Out",
        0x0204 => "Unconnected Request Timed Out",
        0x0205 => "Parameter Error In Unconnected Request",
        0x0206 => "Message Too Large For Unconnected Send",
        0x0207 => "Unconnected Acknowledge Without Reply",
        0x0301 => "No Buffer Memory Available",
        0x0302 => "Network Bandwidth Not Available For Data",
        0x0303 => "No Consumed Connection ID Filter Available",
        0x0304 => "Not Configured To Send Scheduled Priority Data",
        0x0305 => "Schedule Signature Mismatch",
        0x0306 => "Schedule Signature Validation Not Possible",
        0x0311 => "Port Not Available",
        0x0312 => "Link Address Not Valid",
        0x0315 => "Invalid Segment In Connection Path",
        0x0316 => "Error In Forward Close Service Connection Path",
        0x0317 => "Scheduling Not Specified",
        0x0318 => "Link Address To Self Invalid",
        0x0319 => "Secondary Resources Unavailable",
        0x031a => "Rack Connection Already Established",
        0x031b => "Module Connection Already Established",
        0x031c => "Miscellaneous",
        0x031d => "Redundant Connection Mismatch",
        _ => return None,
    })
}

/// A Forward Open (or Large Forward Open) request to the Connection Manager: the connection
/// it asks for and where to (CIP Vol. 1, 3-5.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    pub large: bool,
    /// Originator-to-target and target-to-originator connection ids.
    pub o_t_id: u32,
    pub t_o_id: u32,
    pub serial: u16,
    pub vendor_id: u16,
    pub originator_serial: u32,
    /// Requested packet intervals, microseconds.
    pub o_t_rpi: u32,
    pub t_o_rpi: u32,
    /// Transport class and trigger.
    pub transport: u8,
    /// The connection path: port segments (the route) and the target's logical segments.
    pub path: &'a [u8],
}

impl<'a> Cip<'a> {
    /// The request's data after its path.
    pub fn request_data(&self) -> Option<&'a [u8]> {
        self.path_and_data().map(|(_, d)| d)
    }

    /// The attributes a Get Attribute List request names in its data (count, then ids).
    pub fn attribute_list(&self) -> impl Iterator<Item = u16> + 'a {
        let data = match (self.service(), self.is_response()) {
            (Some(0x03), false) => self.request_data().unwrap_or_default(),
            _ => &[],
        };
        let count = data
            .get(..2)
            .map_or(0, |c| usize::from(u16::from_le_bytes([c[0], c[1]])));
        data.get(2..)
            .unwrap_or_default()
            .chunks_exact(2)
            .take(count)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
    }

    /// The requests this message carries at its first level: itself, the services a Multiple
    /// Service Packet bundles, and the request an Unconnected Send carries.
    pub fn carried(&self) -> impl Iterator<Item = Cip<'a>> + 'a {
        core::iter::once(*self)
            .chain(self.bundled())
            .chain(self.unconnected_send())
    }

    /// The request an Unconnected Send (service 0x52 to the Connection Manager) carries to
    /// the target its route path names.
    pub fn unconnected_send(&self) -> Option<Cip<'a>> {
        if self.service() != Some(0x52)
            || self.is_response()
            || self.path_value(Segment::CLASS) != Some(CONNECTION_MANAGER)
        {
            return None;
        }
        // Priority/tick, timeout ticks, message size, then the message.
        let d = self.request_data()?;
        let size = usize::from(u16::from_le_bytes(d.get(2..4)?.try_into().ok()?));
        d.get(4..4 + size).filter(|m| !m.is_empty()).map(Cip::new)
    }

    /// A response's extended status (its first additional status word).
    pub fn extended_status(&self) -> Option<u16> {
        if !self.is_response() || *self.bytes.get(3)? == 0 {
            return None;
        }
        Some(u16::from_le_bytes(self.bytes.get(4..6)?.try_into().ok()?))
    }

    /// The ANSI extended symbolic segments (0x91) of the request path: a Logix tag's name,
    /// one part a segment (`Program:Main`, `Tank`, `Level`).
    pub fn symbols(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut path = self.path_and_data().map_or(&[][..], |(p, _)| p);
        core::iter::from_fn(move || loop {
            let &kind = path.first()?;
            let len = match kind {
                0x91 => {
                    let n = usize::from(*path.get(1)?);
                    let name = path.get(2..2 + n)?;
                    path = path.get(2 + n + (n & 1)..).unwrap_or_default();
                    return Some(name);
                }
                // Logical segments: 8, 16, 32-bit values (the 16/32-bit ones padded).
                k if k >> 5 == 1 => match k & 0x03 {
                    0 => 2,
                    1 => 4,
                    2 => 6,
                    _ => return None,
                },
                _ => return None,
            };
            path = path.get(len..)?;
        })
    }

    /// A Forward Open or Large Forward Open request, read.
    pub fn forward_open(&self) -> Option<ForwardOpen<'a>> {
        let large = match self.service()? {
            0x54 => false,
            0x5b => true,
            _ => return None,
        };
        if self.is_response() || self.path_value(Segment::CLASS) != Some(CONNECTION_MANAGER) {
            return None;
        }
        let d = self.request_data()?;
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
        };
        let u16_at = |at: usize| -> Option<u16> {
            Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
        };
        // Network parameters are 16 bits, or 32 in a Large Forward Open.
        let params = if large { 4 } else { 2 };
        let t_o_rpi_at = 26 + params;
        let transport_at = t_o_rpi_at + 4 + params;
        let words = usize::from(*d.get(transport_at + 1)?);
        let path = d.get(transport_at + 2..transport_at + 2 + 2 * words)?;
        Some(ForwardOpen {
            large,
            o_t_id: u32_at(2)?,
            t_o_id: u32_at(6)?,
            serial: u16_at(10)?,
            vendor_id: u16_at(12)?,
            originator_serial: u32_at(14)?,
            o_t_rpi: u32_at(22)?,
            t_o_rpi: u32_at(t_o_rpi_at)?,
            transport: *d.get(transport_at)?,
            path,
        })
    }
}

/// The logical segments of a connection path, after its port segments (the route).
pub fn connection_target(path: &[u8]) -> impl Iterator<Item = Segment> + '_ {
    let mut rest = path;
    // Port segments (type 0): port in the low nibble; bit 4 an extended link address.
    while let Some(&k) = rest.first() {
        if k >> 5 != 0 {
            break;
        }
        let len = if k & 0x10 != 0 {
            let n = usize::from(*rest.get(1).unwrap_or(&0));
            2 + n + (n & 1)
        } else {
            2
        };
        rest = rest.get(len..).unwrap_or_default();
    }
    Cip::logical(rest)
}
