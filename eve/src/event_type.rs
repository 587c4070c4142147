//! The kinds of event a sensor writes: EVE's `event_type`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An EVE `event_type`. Application protocols' transactions are named after the protocol, as
/// Suricata names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Alert,
    Anomaly,
    Flow,
    Stats,
    Asset,
    Modbus,
    S7comm,
    S7commPlus,
    Dnp3,
    Enip,
    Iec104,
    Opcua,
    Mms,
    /// An IEC 61850 GOOSE message (Ethernet, no flow).
    Goose,
    /// An IEC 61850 Sampled Values stream seen or changed (Ethernet, no flow).
    Sv,
    Http,
    Dns,
    Tls,
    Ssh,
    Ftp,
    /// An FTP data connection: the file or listing it carried.
    FtpData,
    Smtp,
    Smb,
    /// A file seen in a transaction (its metadata; nothing is extracted).
    Fileinfo,
}

impl EventType {
    /// Every type, the sensor's own first, then the transactions in probing order.
    pub const ALL: [EventType; 24] = [
        EventType::Alert,
        EventType::Anomaly,
        EventType::Flow,
        EventType::Stats,
        EventType::Asset,
        EventType::Modbus,
        EventType::S7comm,
        EventType::S7commPlus,
        EventType::Dnp3,
        EventType::Enip,
        EventType::Iec104,
        EventType::Opcua,
        EventType::Mms,
        EventType::Goose,
        EventType::Sv,
        EventType::Http,
        EventType::Dns,
        EventType::Tls,
        EventType::Ssh,
        EventType::Ftp,
        EventType::FtpData,
        EventType::Smtp,
        EventType::Smb,
        EventType::Fileinfo,
    ];

    /// The name EVE spells.
    pub const fn name(self) -> &'static str {
        match self {
            EventType::Alert => "alert",
            EventType::Anomaly => "anomaly",
            EventType::Flow => "flow",
            EventType::Stats => "stats",
            EventType::Asset => "asset",
            EventType::Modbus => "modbus",
            EventType::S7comm => "s7comm",
            EventType::S7commPlus => "s7commplus",
            EventType::Dnp3 => "dnp3",
            EventType::Enip => "enip",
            EventType::Iec104 => "iec104",
            EventType::Opcua => "opcua",
            EventType::Mms => "mms",
            EventType::Goose => "goose",
            EventType::Sv => "sv",
            EventType::Http => "http",
            EventType::Dns => "dns",
            EventType::Tls => "tls",
            EventType::Ssh => "ssh",
            EventType::Ftp => "ftp",
            EventType::FtpData => "ftp_data",
            EventType::Smtp => "smtp",
            EventType::Smb => "smb",
            EventType::Fileinfo => "fileinfo",
        }
    }

    /// Its place in [`EventType::ALL`], for tables indexed by type.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The type a name spells.
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether this is an application protocol's transaction.
    pub const fn is_transaction(self) -> bool {
        matches!(
            self,
            EventType::Modbus
                | EventType::S7comm
                | EventType::S7commPlus
                | EventType::Dnp3
                | EventType::Enip
                | EventType::Iec104
                | EventType::Opcua
                | EventType::Mms
                | EventType::Goose
                | EventType::Sv
                | EventType::Http
                | EventType::Dns
                | EventType::Tls
                | EventType::Ssh
                | EventType::Ftp
                | EventType::FtpData
                | EventType::Smtp
                | EventType::Smb
                | EventType::Fileinfo
        )
    }

    /// Whether this is an industrial protocol's transaction: what a collector stores by
    /// default (the IT protocols' events are many, and their alerts carry them anyway; so are
    /// GOOSE's, one a heartbeat a publisher, whose anomalies and alerts are stored).
    pub const fn is_industrial(self) -> bool {
        matches!(
            self,
            EventType::Modbus
                | EventType::S7comm
                | EventType::S7commPlus
                | EventType::Dnp3
                | EventType::Enip
                | EventType::Iec104
                | EventType::Opcua
                | EventType::Mms
        )
    }

    /// Every name, comma-separated, for error messages.
    pub fn known() -> String {
        Self::ALL.map(EventType::name).join(", ")
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        EventType::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown event_type {s:?} (known: {})",
                EventType::known()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.name()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<EventType>(&json).unwrap(), t);
        }
        for (i, t) in EventType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        assert_eq!(EventType::parse("krb5"), None);
        let e = serde_json::from_str::<EventType>(r#""krb5""#).unwrap_err();
        assert!(e.to_string().contains("unknown event_type \"krb5\""), "{e}");
    }
}
