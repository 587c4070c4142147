//! Userdata (ROSCTR 7): the parameter head (method, type, function group, subfunction, sequence
//! number, and on follow-up units the data unit reference and error code) and the data unit
//! with what the common subfunctions carry (SZL id and index, block type and number, clock).

use super::header::S7Pdu;
use super::param::Block;

mod field {
    pub const PARAM_LEN: usize = 3;
    pub const METHOD: usize = 4;
    pub const TYPE_GROUP: usize = 5;
    pub const SUBFUNC: usize = 6;
    pub const SEQ: usize = 7;
    pub const DATA_UNIT_REF: usize = 8;
    pub const LAST_DATA_UNIT: usize = 9;
    pub const ERROR_CODE: core::ops::Range<usize> = 10..12;
}

/// Function groups.
pub mod group {
    pub const MODE_TRANSITION: u8 = 0x0;
    pub const PROGRAMMER: u8 = 0x1;
    pub const CYCLIC: u8 = 0x2;
    pub const BLOCK: u8 = 0x3;
    pub const CPU: u8 = 0x4;
    pub const SECURITY: u8 = 0x5;
    pub const PBC: u8 = 0x6;
    pub const TIME: u8 = 0x7;
    pub const NC: u8 = 0xf;
}

/// Userdata types (high nibble of the type/group byte).
pub mod kind {
    pub const PUSH: u8 = 0x0;
    pub const REQUEST: u8 = 0x4;
    pub const RESPONSE: u8 = 0x8;
}

/// Why a userdata parameter cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserdataError {
    /// Shorter than the 8-byte parameter head.
    Short(usize),
}

/// The userdata parameter and its data unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Userdata<'a> {
    /// 0x11 request, 0x12 response (of the unit, not of the exchange).
    pub method: u8,
    /// [`kind`]: push, request or response.
    pub kind: u8,
    pub group: u8,
    pub subfunction: u8,
    pub sequence_number: u8,
    pub data_unit_reference: Option<u8>,
    /// 0x00 this is the last data unit, 0x01 more follow.
    pub last_data_unit: Option<u8>,
    pub error_code: Option<u16>,
    /// The data unit: return code, transport size, length and the bytes after them.
    pub data: Option<DataUnit<'a>>,
}

/// The data part of userdata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataUnit<'a> {
    pub return_code: u8,
    pub transport_size: u8,
    pub length: u16,
    pub bytes: &'a [u8],
}

impl<'a> Userdata<'a> {
    pub fn parse(pdu: &S7Pdu<'a>) -> Result<Self, UserdataError> {
        let p = pdu.param;
        // The head is 0x000112 but for mode-transition pushes (0x010010); Wireshark ignores it.
        if p.len() <= field::SEQ {
            return Err(UserdataError::Short(p.len()));
        }
        let long = p[field::PARAM_LEN] >= 8;
        let data = match pdu.data {
            [rc, ts, l0, l1, rest @ ..] => {
                let length = u16::from_be_bytes([*l0, *l1]);
                Some(DataUnit {
                    return_code: *rc,
                    transport_size: *ts,
                    length,
                    bytes: &rest[..usize::from(length).min(rest.len())],
                })
            }
            _ => None,
        };
        Ok(Userdata {
            method: p[field::METHOD],
            kind: p[field::TYPE_GROUP] >> 4,
            group: p[field::TYPE_GROUP] & 0x0f,
            subfunction: p[field::SUBFUNC],
            sequence_number: p[field::SEQ],
            data_unit_reference: long.then(|| p.get(field::DATA_UNIT_REF).copied()).flatten(),
            last_data_unit: long
                .then(|| p.get(field::LAST_DATA_UNIT).copied())
                .flatten(),
            error_code: long
                .then(|| p.get(field::ERROR_CODE))
                .flatten()
                .map(|v| u16::from_be_bytes([v[0], v[1]])),
            data,
        })
    }

    /// More data units of this response follow.
    pub fn more_follows(&self) -> bool {
        self.last_data_unit.is_some_and(|l| l != 0)
    }

    /// Read SZL: the SZL id and index at the front of the data (requests and first response
    /// units; the caller knows which units continue an earlier one).
    pub fn szl(&self) -> Option<(u16, u16)> {
        if (self.group, self.subfunction) != (group::CPU, 0x01) {
            return None;
        }
        match self.data?.bytes {
            [i0, i1, x0, x1, ..] => Some((
                u16::from_be_bytes([*i0, *i1]),
                u16::from_be_bytes([*x0, *x1]),
            )),
            _ => None,
        }
    }

    /// Block functions: the block a "block info" request asks about, or the type a
    /// "list blocks of type" request names (number 0).
    pub fn block(&self) -> Option<Block> {
        if self.group != group::BLOCK || self.kind != kind::REQUEST {
            return None;
        }
        match (self.subfunction, self.data?.bytes) {
            (0x02, [t0, t1, ..]) => Some(Block {
                kind: [*t0, *t1],
                number: 0,
                filesystem: 0,
            }),
            (0x03, [t0, t1, digits @ .., fs]) if digits.len() == 5 => {
                Block::from_ascii([*t0, *t1], digits, *fs)
            }
            _ => None,
        }
    }

    /// Time functions: the clock the data carries (set clock requests, read clock responses).
    pub fn clock(&self) -> Option<Clock> {
        if self.group != group::TIME {
            return None;
        }
        Clock::from_bcd(self.data?.bytes)
    }

    /// Security: a PLC password request (the password itself is never reported).
    pub fn is_password(&self) -> bool {
        self.group == group::SECURITY && self.subfunction == 0x01 && self.kind == kind::REQUEST
    }
}

/// An S7 date and time (BCD): reserved, year (2 bytes), month, day, hour, minute, second,
/// milliseconds (12 bits) and weekday (4 bits). Like Wireshark, the year is read from its second
/// byte alone (below 89: 20xx, else 19xx): Snap7 sends 0x19 0x24 for 2024.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millisecond: u16,
}

fn bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0f);
    (hi < 10 && lo < 10).then_some(hi * 10 + lo)
}

impl Clock {
    fn from_bcd(b: &[u8]) -> Option<Self> {
        let [_, _, y, mo, d, h, mi, s, ms0, ms1, ..] = b else {
            return None;
        };
        let y = u16::from(bcd(*y)?);
        Some(Clock {
            year: if y < 89 { 2000 + y } else { 1900 + y },
            month: bcd(*mo)?,
            day: bcd(*d)?,
            hour: bcd(*h)?,
            minute: bcd(*mi)?,
            second: bcd(*s)?,
            millisecond: u16::from(bcd(*ms0)?) * 10 + u16::from(*ms1 >> 4),
        })
    }
}

impl core::fmt::Display for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

/// Wireshark's userdata type name.
pub fn kind_name(k: u8) -> &'static str {
    match k {
        0x0 => "push",
        0x4 => "request",
        0x8 => "response",
        0x3 => "nc_push",
        0x7 => "nc_request",
        0xb => "nc_response",
        _ => "unknown",
    }
}

/// Wireshark's function group name.
pub fn group_name(g: u8) -> &'static str {
    match g {
        group::MODE_TRANSITION => "mode_transition",
        group::PROGRAMMER => "programmer_commands",
        group::CYCLIC => "cyclic_data",
        group::BLOCK => "block_functions",
        group::CPU => "cpu_functions",
        group::SECURITY => "security",
        group::PBC => "pbc_bsend_brecv",
        group::TIME => "time_functions",
        group::NC => "nc_programming",
        _ => "unknown",
    }
}

/// Wireshark's subfunction name within a function group.
pub fn subfunction_name(g: u8, s: u8) -> &'static str {
    match (g, s) {
        (group::MODE_TRANSITION, 0) => "stop",
        (group::MODE_TRANSITION, 1) => "warm_restart",
        (group::MODE_TRANSITION, 2) => "run",
        (group::MODE_TRANSITION, 3) => "hot_restart",
        (group::MODE_TRANSITION, 4) => "hold",
        (group::MODE_TRANSITION, 6) => "cold_restart",
        (group::MODE_TRANSITION, 9) => "run_r",
        (group::MODE_TRANSITION, 11) => "link_up",
        (group::MODE_TRANSITION, 12) => "update",
        (group::PROGRAMMER, 0x01) => "request_diag_data_type1",
        (group::PROGRAMMER, 0x02) => "vartab",
        (group::PROGRAMMER, 0x0c) => "erase",
        (group::PROGRAMMER, 0x0e) => "read_diag_data",
        (group::PROGRAMMER, 0x0f) => "remove_diag_data",
        (group::PROGRAMMER, 0x10) => "forces",
        (group::PROGRAMMER, 0x13) => "request_diag_data_type2",
        (group::CYCLIC, 0x01) => "cyclic_transfer",
        (group::CYCLIC, 0x04) => "unsubscribe",
        (group::CYCLIC, 0x05) => "change_driven_transfer",
        (group::CYCLIC, 0x07) => "change_driven_transfer_modify",
        (group::CYCLIC, 0x08) => "rdrec",
        (group::BLOCK, 0x01) => "list_blocks",
        (group::BLOCK, 0x02) => "list_blocks_of_type",
        (group::BLOCK, 0x03) => "get_block_info",
        (group::CPU, 0x01) => "read_szl",
        (group::CPU, 0x02) => "message_service",
        (group::CPU, 0x03) => "diagnostic_message",
        (group::CPU, 0x05) => "alarm8_indication",
        (group::CPU, 0x06) => "notify_indication",
        (group::CPU, 0x07) => "alarm8_lock",
        (group::CPU, 0x08) => "alarm8_unlock",
        (group::CPU, 0x09) => "scan_indication",
        (group::CPU, 0x0b) => "alarm_ack",
        (group::CPU, 0x0c) => "alarm_ack_indication",
        (group::CPU, 0x0d) => "alarm_lock_indication",
        (group::CPU, 0x0e) => "alarm_unlock_indication",
        (group::CPU, 0x11) => "alarmsq_indication",
        (group::CPU, 0x12) => "alarms_indication",
        (group::CPU, 0x13) => "alarm_query",
        (group::CPU, 0x16) => "notify8_indication",
        (group::SECURITY, 0x01) => "plc_password",
        (group::SECURITY, 0x02) => "clean_session",
        (group::TIME, 0x01) => "read_clock",
        (group::TIME, 0x02) => "set_clock",
        (group::TIME, 0x03) => "read_clock_following",
        (group::TIME, 0x04) => "set_clock_2",
        _ => "unknown",
    }
}

/// Name of the SZL list an id selects (its low byte, the partial list number), after
/// Wireshark's `packet-s7comm_szl_ids.c`.
pub fn szl_name(id: u16) -> &'static str {
    match id & 0x00ff {
        0x00 => "list_of_all_szl_ids",
        0x11 => "module_identification",
        0x12 => "cpu_characteristics",
        0x13 => "user_memory_areas",
        0x14 => "system_areas",
        0x15 => "block_types",
        0x16 => "priority_classes",
        0x17 => "list_of_permitted_sdbs",
        0x18 => "max_s7_300_io_configuration",
        0x19 => "status_of_module_leds",
        0x1c => "component_identification",
        0x21 => "interrupt_status",
        0x22 => "interrupt_status_ob",
        0x25 => "assignment_of_process_image_partitions",
        0x31 => "communication_capability_parameters",
        0x32 => "communication_status_data",
        0x33 => "diagnostics_logged_on",
        0x37 => "ethernet_details",
        0x71 => "h_cpu_group_information",
        0x74 => "status_of_module_leds",
        0x75 => "switched_dp_slaves_in_h_system",
        0x81 => "start_information_list",
        0x82 => "start_event_list",
        0x90 => "dp_master_system_information",
        0x91 => "module_status_information",
        0x92 => "rack_station_status_information",
        0x94 => "rack_station_status_information_2",
        0x95 => "extended_dp_master_system_information",
        0x96 => "module_status_information_profinet",
        0x9c => "tool_changer_information",
        0xa0 => "diagnostic_buffer",
        0xb1 => "module_diagnostic_information",
        0xb2 => "module_diagnostic_information_record1_geo",
        0xb3 => "module_diagnostic_information_record1_log",
        0xb4 => "diagnostic_data_of_dp_slave",
        0x24 => "operating_mode",
        0x1d => "h_cpu_group_information",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read SZL request for 0x0011 index 0 (Snap7 client, icsnpp-s7comm snap7.pcap frame 3).
    static SZL_REQ: [u8; 26] = [
        0x32, 0x07, 0x00, 0x00, 0x01, 0x00, 0x00, 0x08, 0x00, 0x08, //
        0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, //
        0xff, 0x09, 0x00, 0x04, 0x00, 0x11, 0x00, 0x00,
    ];

    #[test]
    fn read_szl_request() {
        let u = Userdata::parse(&S7Pdu::parse(&SZL_REQ).unwrap()).unwrap();
        assert_eq!((u.method, u.kind, u.group, u.subfunction), (0x11, 4, 4, 1));
        assert_eq!(u.szl(), Some((0x0011, 0)));
        assert_eq!(u.data_unit_reference, None);
        assert_eq!(szl_name(0x0011), "module_identification");
    }

    #[test]
    fn follow_up_unit() {
        let mut b = SZL_REQ.to_vec();
        b[7] = 12; // param length 12
        b[13] = 8;
        b.splice(18..18, [0xd5, 0x01, 0x00, 0x00]);
        let u = Userdata::parse(&S7Pdu::parse(&b).unwrap()).unwrap();
        assert_eq!(u.data_unit_reference, Some(0xd5));
        assert!(u.more_follows());
        assert_eq!(u.error_code, Some(0));
    }

    #[test]
    fn clock() {
        let c =
            Clock::from_bcd(&[0x00, 0x20, 0x14, 0x03, 0x21, 0x13, 0x45, 0x07, 0x12, 0x34]).unwrap();
        assert_eq!(c.to_string(), "2014-03-21T13:45:07.123");
        // Snap7's set clock for 2024-05-17 08:30 (s7comm_snap7.pcap frame 66).
        let snap7 = [0x00, 0x19, 0x24, 0x05, 0x17, 0x08, 0x30, 0x00, 0x00, 0x01];
        assert_eq!(
            Clock::from_bcd(&snap7).unwrap().to_string(),
            "2024-05-17T08:30:00.000"
        );
        assert!(Clock::from_bcd(&[0, 0, 0x2a, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }
}
