//! What a device says of itself: the CIP Identity item of a `ListIdentity` reply (CIP Vol. 2,
//! 2-4.2.3), the communications item of a `ListServices` reply (2-4.6.3) and a
//! `RegisterSession`'s protocol version and options (2-4.4). Each is read from its item or
//! data, borrowed; whatever does not fit reads as absent.

/// The CIP Identity item of a `ListIdentity` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The encapsulation protocol version the device speaks.
    pub protocol_version: u16,
    /// The device's TCP/IP socket address, as it states it: port and IPv4 address.
    pub port: u16,
    pub address: [u8; 4],
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    /// Major and minor revision.
    pub revision: (u8, u8),
    /// The Identity object's status word (owned, configured, faults …).
    pub status: u16,
    pub serial: u32,
    /// The product name as sent (at most 32 octets by the specification; bounded by the item).
    pub product_name: &'a [u8],
    pub state: u8,
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

impl<'a> Identity<'a> {
    /// Reads the item's data.
    pub fn read(d: &'a [u8]) -> Option<Self> {
        let name_len = usize::from(*d.get(32)?);
        let product_name = d.get(33..33 + name_len)?;
        Some(Identity {
            protocol_version: u16_le(d, 0)?,
            // sin_family (big-endian 2) then sin_port and sin_addr in network order.
            port: u16::from_be_bytes(d.get(4..6)?.try_into().ok()?),
            address: d.get(6..10)?.try_into().ok()?,
            vendor_id: u16_le(d, 18)?,
            device_type: u16_le(d, 20)?,
            product_code: u16_le(d, 22)?,
            revision: (*d.get(24)?, *d.get(25)?),
            status: u16_le(d, 26)?,
            serial: u32::from_le_bytes(d.get(28..32)?.try_into().ok()?),
            product_name,
            state: d.get(33 + name_len).copied().unwrap_or(0xff),
        })
    }

    /// The revision as Suricata's `enip.revision` compares it: major in the high octet.
    pub fn revision_word(&self) -> u16 {
        u16::from(self.revision.0) << 8 | u16::from(self.revision.1)
    }
}

/// The communications service a `ListServices` reply announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListService<'a> {
    pub protocol_version: u16,
    /// Capability flags: bit 5 CIP over TCP, bit 8 class 0/1 over UDP.
    pub capabilities: u16,
    /// The service's name, NUL padding removed ("Communications").
    pub name: &'a [u8],
}

impl<'a> ListService<'a> {
    pub fn read(d: &'a [u8]) -> Option<Self> {
        let name = d.get(4..)?;
        let name = &name[..name.len().min(16)];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Some(ListService {
            protocol_version: u16_le(d, 0)?,
            capabilities: u16_le(d, 2)?,
            name: &name[..end],
        })
    }
}

/// A `RegisterSession`'s data, request or reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub protocol_version: u16,
    pub options: u16,
}

impl Session {
    pub fn read(d: &[u8]) -> Option<Self> {
        Some(Session {
            protocol_version: u16_le(d, 0)?,
            options: u16_le(d, 2)?,
        })
    }
}

/// Device profiles (CIP Vol. 1, 6-7), by the names Suricata and ODVA use.
pub fn device_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0x00 => "Generic Device (deprecated)",
        0x02 => "AC Drive",
        0x03 => "Motor Overload",
        0x04 => "Limit Switch",
        0x05 => "Inductive Proximity Switch",
        0x06 => "Photoelectric Sensor",
        0x07 => "General Purpose Discrete I/O",
        0x09 => "Resolver",
        0x0c => "Communications Adapter",
        0x0e => "Programmable Logic Controller",
        0x10 => "Position Controller",
        0x13 => "DC Drive",
        0x15 => "Contactor",
        0x16 => "Motor Starter",
        0x17 => "Soft Start",
        0x18 => "Human-Machine Interface",
        0x1a => "Mass Flow Controller",
        0x1b => "Pneumatic Valve",
        0x1c => "Vacuum Pressure Gauge",
        0x1d => "Process Control Value",
        0x1e => "Residual Gas Analyzer",
        0x1f => "DC Power Generator",
        0x20 => "RF Power Generator",
        0x21 => "Turbomolecular Vacuum Pump",
        0x22 => "Encoder",
        0x23 => "Safety Discrete I/O Device",
        0x24 => "Fluid Flow Controller",
        0x25 => "CIP Motion Drive",
        0x26 => "CompoNet Repeater",
        0x27 => "Mass Flow Controller, Enhanced",
        0x28 => "CIP Modbus Device",
        0x29 => "CIP Modbus Translator",
        0x2a => "Safety Analog I/O Device",
        0x2b => "Generic Device (keyable)",
        0x2c => "Managed Ethernet Switch",
        0x32 => "ControlNet Physical Layer Component",
        0xc8 => "Embedded Component",
        _ => return None,
    })
}

/// A vendor's name, for the ids whose holder is certain; others are logged by number.
pub fn vendor_name(v: u16) -> Option<&'static str> {
    match v {
        1 => Some("Rockwell Automation/Allen-Bradley"),
        _ => None,
    }
}
