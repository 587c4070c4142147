//! What breaks a baseline, and the EVE `alert` each deviation becomes.
//!
//! Every kind of deviation has its own signature id (9300001 up), severity and ATT&CK for ICS
//! technique, so analysts can query and tune anomalies as they do signatures. The `anomaly`
//! block names the fact broken, the value observed and the one learned.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use icsight_eve::AlertRecord;

use crate::detect::alert;
pub use crate::detect::alert::Place;
use crate::eve::EveWriter;

/// The kinds of deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NewAsset,
    NewPair,
    NewProtocol,
    NewFunction,
    /// A write from a client that had only read.
    ReadOnlyWrites,
    /// PLC stop/start, restarts, controls: the device's operating state.
    PlcControl,
    /// Download, upload, delete of program blocks; file transfer.
    Programming,
    AddressOutsideRange,
    ValueOutsideEnvelope,
    PeriodTooShort,
    PeriodTooLong,
    RateHigh,
    RateLow,
    MasterSilent,
}

/// The gid of anomaly alerts (signatures use 1).
pub const GID: u32 = 1;
/// Anomaly signature ids: 9300000 + the kind's number.
pub const SID_BASE: u32 = 9_300_000;
pub const CATEGORY: &str = "Deviation from the learned baseline";

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::NewAsset,
        Kind::NewPair,
        Kind::NewProtocol,
        Kind::NewFunction,
        Kind::ReadOnlyWrites,
        Kind::PlcControl,
        Kind::Programming,
        Kind::AddressOutsideRange,
        Kind::ValueOutsideEnvelope,
        Kind::PeriodTooShort,
        Kind::PeriodTooLong,
        Kind::RateHigh,
        Kind::RateLow,
        Kind::MasterSilent,
    ];

    pub fn sid(self) -> u32 {
        SID_BASE + 1 + Kind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::NewAsset => "new_asset",
            Kind::NewPair => "new_pair",
            Kind::NewProtocol => "new_protocol",
            Kind::NewFunction => "new_function",
            Kind::ReadOnlyWrites => "read_only_host_writes",
            Kind::PlcControl => "plc_control",
            Kind::Programming => "programming",
            Kind::AddressOutsideRange => "address_outside_range",
            Kind::ValueOutsideEnvelope => "value_outside_envelope",
            Kind::PeriodTooShort => "period_too_short",
            Kind::PeriodTooLong => "period_too_long",
            Kind::RateHigh => "rate_high",
            Kind::RateLow => "rate_low",
            Kind::MasterSilent => "master_silent",
        }
    }

    /// EVE severity: 1 is the most severe.
    pub fn severity(self) -> u8 {
        match self {
            Kind::ReadOnlyWrites | Kind::PlcControl | Kind::Programming => 1,
            Kind::NewAsset
            | Kind::NewPair
            | Kind::NewProtocol
            | Kind::ValueOutsideEnvelope
            | Kind::RateHigh
            | Kind::MasterSilent => 2,
            Kind::NewFunction
            | Kind::AddressOutsideRange
            | Kind::PeriodTooShort
            | Kind::PeriodTooLong
            | Kind::RateLow => 3,
        }
    }

    /// The ATT&CK for ICS technique most deviations of this kind point to.
    pub fn technique(self) -> (&'static str, &'static str) {
        match self {
            Kind::NewAsset => ("T0848", "Rogue Master"),
            Kind::NewPair => ("T0886", "Remote Services"),
            Kind::NewProtocol => ("T0869", "Standard Application Layer Protocol"),
            Kind::NewFunction => ("T0855", "Unauthorized Command Message"),
            Kind::ReadOnlyWrites => ("T0855", "Unauthorized Command Message"),
            Kind::PlcControl => ("T0858", "Change Operating Mode"),
            Kind::Programming => ("T0843", "Program Download"),
            Kind::AddressOutsideRange => ("T0861", "Point & Tag Identification"),
            Kind::ValueOutsideEnvelope => ("T0836", "Modify Parameter"),
            Kind::PeriodTooShort | Kind::RateHigh => ("T0814", "Denial of Service"),
            Kind::PeriodTooLong | Kind::RateLow | Kind::MasterSilent => ("T0815", "Denial of View"),
        }
    }

    pub fn signature(self) -> &'static str {
        match self {
            Kind::NewAsset => "ICSIGHT ANOMALY new asset",
            Kind::NewPair => "ICSIGHT ANOMALY new communication pair",
            Kind::NewProtocol => "ICSIGHT ANOMALY new protocol on a pair",
            Kind::NewFunction => "ICSIGHT ANOMALY new function code on a pair",
            Kind::ReadOnlyWrites => "ICSIGHT ANOMALY host that only read starts writing",
            Kind::PlcControl => "ICSIGHT ANOMALY new PLC control command",
            Kind::Programming => "ICSIGHT ANOMALY new programming command",
            Kind::AddressOutsideRange => "ICSIGHT ANOMALY address outside learned ranges",
            Kind::ValueOutsideEnvelope => "ICSIGHT ANOMALY value outside learned envelope",
            Kind::PeriodTooShort => "ICSIGHT ANOMALY polling faster than learned",
            Kind::PeriodTooLong => "ICSIGHT ANOMALY polling slower than learned",
            Kind::RateHigh => "ICSIGHT ANOMALY request rate above learned",
            Kind::RateLow => "ICSIGHT ANOMALY request rate below learned",
            Kind::MasterSilent => "ICSIGHT ANOMALY master went silent",
        }
    }
}

/// One deviation, before it is written.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    /// The baseline fact broken, such as `modbus.function` or `s7comm.area`.
    pub fact: &'static str,
    /// Tells deviations of one kind on one pair apart, for re-alert suppression.
    pub detail: u64,
    pub message: String,
    pub observed: Value,
    pub learned: Value,
    /// The server deviated (a value it answered), not the client.
    pub by_server: bool,
}

impl Finding {
    pub fn new(kind: Kind, fact: &'static str, detail: u64, message: String) -> Self {
        Finding {
            kind,
            fact,
            detail,
            message,
            observed: Value::Null,
            learned: Value::Null,
            by_server: false,
        }
    }

    pub fn values(mut self, observed: impl Serialize, learned: impl Serialize) -> Self {
        self.observed = serde_json::to_value(observed).unwrap_or(Value::Null);
        self.learned = serde_json::to_value(learned).unwrap_or(Value::Null);
        self
    }
}

#[derive(Serialize)]
struct Metadata {
    mitre_attack_ics: [&'static str; 1],
    mitre_technique_name: [&'static str; 1],
}

#[derive(Serialize)]
struct AnomalyRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'static str,
    fact: &'static str,
    /// The host that deviated.
    host: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    message: &'a str,
    observed: &'a Value,
    learned: &'a Value,
}

/// Who a finding is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub host: IpAddr,
    pub pair: Option<(IpAddr, IpAddr)>,
    pub protocol: Option<&'static str>,
}

/// Write one finding as an `alert` event carrying `app` (the transaction's block) if any.
pub fn write<A: Serialize>(
    eve: &mut EveWriter,
    place: &Place<'_>,
    subject: &Subject,
    f: &Finding,
    app: Option<&A>,
) {
    let (technique, technique_name) = f.kind.technique();
    let record = AlertRecord::allowed(
        (GID, f.kind.sid(), 1),
        f.kind.signature(),
        CATEGORY,
        f.kind.severity(),
        Some(Metadata {
            mitre_attack_ics: [technique],
            mitre_technique_name: [technique_name],
        }),
    );
    let anomaly = AnomalyRecord {
        kind: "baseline",
        event: f.kind.name(),
        fact: f.fact,
        host: subject.host,
        client: subject.pair.map(|p| p.0),
        server: subject.pair.map(|p| p.1),
        protocol: subject.protocol,
        message: &f.message,
        observed: &f.observed,
        learned: &f.learned,
    };
    alert::write(eve, place, &record, Some(&anomaly), app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_distinct_and_stable() {
        let sids: std::collections::HashSet<u32> = Kind::ALL.iter().map(|k| k.sid()).collect();
        assert_eq!(sids.len(), Kind::ALL.len());
        assert_eq!(Kind::NewAsset.sid(), 9_300_001);
        assert_eq!(Kind::MasterSilent.sid(), 9_300_014);
    }
}
