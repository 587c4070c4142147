//! What an IEC 104 pair's baseline holds: the ASDU types the controlling station sends
//! (commands, system commands, parameters, file transfer: learned by what they do), the common
//! addresses the pair speaks of, and per type and side the information object addresses seen
//! and the envelopes of measured values, counters and set-points.
//!
//! Confirmations and terminations of commands are the station's echo of what was sent and
//! teach nothing of their own; S- and U-frames carry no ASDU.

use decoders::iec104::{Apdu, Class, Element, Value};
use serde::{Deserialize, Serialize};

use super::anomaly::{Finding, Kind};
use super::judge::{detail, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};
use super::ranges::Ranges;

/// Common addresses kept per pair: a station has one, a gateway a few; this bounds a sweep.
const MAX_COMMON_ADDRESSES: usize = 64;
/// Common addresses kept per host's identity.
pub const MAX_IDENTITY_ADDRESSES: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Type ids the controlling station sends (with cause request, activation or
    /// deactivation).
    pub types: Vec<u8>,
    /// Common addresses of the ASDUs either side sends.
    pub common_addresses: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Object>,
}

/// Which station sent an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The controlling station (the SCADA master, the client).
    Controlling,
    /// The controlled station (the RTU or substation gateway, the server).
    Controlled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub from: Side,
    pub type_id: u8,
    #[serde(default, skip_serializing_if = "Ranges::is_empty")]
    pub points: Ranges,
    #[serde(default, skip_serializing_if = "Values::is_empty")]
    pub values: Values,
}

impl Facts {
    pub fn points(&self) -> usize {
        self.objects.iter().map(|o| o.values.len()).sum()
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        super::ranges::validate_objects(self.objects.iter().map(|o| &o.points))
    }
}

/// What a type sent by the controlling station does.
pub fn activity(type_id: u8) -> Activity {
    match type_id {
        // Interrogation, counter interrogation, read.
        100..=102 => Activity::Read,
        // Set-points and bitstring commands write values.
        48..=51 | 61..=64 => Activity::Write,
        // Switching commands, clock synchronisation, reset process.
        45..=47 | 58..=60 | 103 | 105 => Activity::Control,
        // Parameters of measured values and file transfer change what the station is.
        110..=113 | 120..=127 => Activity::Program,
        _ => Activity::Other,
    }
}

/// Types whose element carries a process value worth enveloping: step positions, measured
/// values, integrated totals, set-points, parameters of measured values.
fn enveloped(type_id: u8) -> bool {
    matches!(type_id, 5 | 6 | 9..=16 | 21 | 32 | 34..=37 | 48..=50 | 61..=63 | 110..=112)
}

fn number(e: &Element<'_>) -> Option<f64> {
    match e.value()? {
        Value::Single(_) | Value::Double(_) | Value::Bits(_) => None,
        v => Some(v.number()),
    }
}

/// Learn or check one APDU. The identity is the controlled station's: the common addresses
/// it reports from are part of who it is. Returns the request it makes, if any, and whether
/// the identity changed.
pub fn observe(
    facts: &mut Facts,
    identity: &mut Identity,
    apdu: &Apdu<'_>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    let Some(asdu) = apdu.asdu() else {
        return (None, false);
    };
    let Some(ty) = asdu.type_info() else {
        return (None, false);
    };
    let cot = asdu.cot();
    let side = match ty.class {
        Class::Monitor | Class::SystemMonitor => Side::Controlled,
        _ if matches!(cot.cause, 5 | 6 | 8) && !cot.negative => Side::Controlling,
        _ => return (None, false),
    };
    let request = side == Side::Controlling;
    let ca = asdu.common_address();
    let mut id_changed = false;
    if side == Side::Controlled {
        id_changed = identity.add_iec104_address(ca);
    }
    let act = activity(ty.id);
    if request {
        j.function(&mut facts.types, ty.id, act, "iec104.type", || {
            format!("IEC 104 {} ({}) not learned for this pair", ty.name, ty.id)
        });
    }
    j.from_server = side == Side::Controlled;
    if facts.common_addresses.binary_search(&ca).is_ok()
        || facts.common_addresses.len() < MAX_COMMON_ADDRESSES
    {
        j.member(
            &mut facts.common_addresses,
            ca,
            Kind::AddressOutsideRange,
            "iec104.common_address",
            || format!("IEC 104 common address {ca} not learned for this pair"),
        );
    }
    let key = (side, ty.id);
    let i = match facts
        .objects
        .binary_search_by_key(&key, |o| (o.from, o.type_id))
    {
        Ok(i) => i,
        Err(i) => {
            if !request {
                // Reported once: its addresses would only repeat it.
                j.fresh_function |= j.report(|| {
                    let learned: Vec<u8> = facts
                        .objects
                        .iter()
                        .filter(|o| o.from == side)
                        .map(|o| o.type_id)
                        .collect();
                    Finding::new(
                        Kind::NewFunction,
                        "iec104.monitored_type",
                        detail(&[u64::from(ty.id)]),
                        format!(
                            "IEC 104 {} ({}) from the controlled station not learned for this pair",
                            ty.name, ty.id
                        ),
                    )
                    .values(ty.id, learned)
                });
            }
            facts.objects.insert(
                i,
                Object {
                    from: side,
                    type_id: ty.id,
                    points: Ranges::default(),
                    values: Values::new(),
                },
            );
            i
        }
    };
    let obj = &mut facts.objects[i];
    let mut first = None;
    for o in asdu.objects() {
        let ioa = o.ioa;
        first.get_or_insert(ioa);
        let d = detail(&[side as u64, u64::from(ty.id), u64::from(ca)]);
        j.range(&mut obj.points, ioa, ioa, "iec104.ioa", d, || {
            format!(
                "IEC 104 {} at object address {ioa} (common address {ca}) outside the learned ranges",
                ty.name
            )
        });
        if !enveloped(ty.id) {
            continue;
        }
        if let Some(x) = number(&o.element) {
            j.value(
                &mut obj.values,
                ioa,
                x,
                "iec104.value",
                detail(&[u64::from(ty.id), u64::from(ioa)]),
                || {
                    format!(
                        "IEC 104 {} at {ioa} = {x} outside the learned envelope",
                        ty.name
                    )
                },
            );
        }
    }
    let request = request.then(|| {
        let mut op = OpKey::new(Protocol::Iec104, u16::from(ty.id));
        op.unit = ca;
        op.address = first.unwrap_or(0);
        Request {
            function: u16::from(ty.id),
            activity: act,
            op,
        }
    });
    (request, id_changed)
}
