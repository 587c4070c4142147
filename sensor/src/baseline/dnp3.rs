//! What a DNP3 pair's baseline holds: the master's request function codes, and per object
//! group and variation (apart for what the master sends and what the outstation answers) the
//! point indices seen and the envelopes of analog and counter values.

use decoders::dnp3::object::{Limits, Value};
use decoders::dnp3::Fragment;
use serde::{Deserialize, Serialize};

use super::anomaly::Kind;
use super::judge::{detail, Judge, Request};
use super::model::{Activity, OpKey, Protocol, Values};
use super::ranges::Ranges;
use decoders::dnp3::application::Kind as FragmentKind;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Function codes of the master's requests.
    pub functions: Vec<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Object>,
}

/// Which end sent an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Master,
    Outstation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub from: Side,
    pub group: u8,
    pub variation: u8,
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

/// What a request function does.
pub fn activity(function: u8) -> Activity {
    match function {
        1 => Activity::Read,
        2 | 7..=12 => Activity::Write,
        // Select, operate, direct operate (CROB, analog outputs); restarts; application
        // start/stop and data initialisation.
        3..=6 | 13..=18 => Activity::Control,
        19 | 25..=31 => Activity::Program,
        _ => Activity::Other,
    }
}

/// Groups whose points carry a process value worth enveloping: counters, analog inputs,
/// analog output status.
fn enveloped(group: u8) -> bool {
    matches!(group, 20..=23 | 30 | 32 | 40 | 42)
}

/// Learn or check one application fragment.
pub fn observe(facts: &mut Facts, frag: &Fragment<'_>, j: &mut Judge<'_>) -> Option<Request> {
    let function = frag.function();
    let (side, request) = match frag.kind() {
        FragmentKind::Request if function == 0 => return None,
        FragmentKind::Request => (Side::Master, true),
        FragmentKind::Response | FragmentKind::UnsolicitedResponse => (Side::Outstation, false),
    };
    let act = activity(function);
    if request {
        j.function(&mut facts.functions, function, act, "dnp3.function", || {
            format!("DNP3 function {function} not learned for this pair")
        });
    }
    j.from_server = side == Side::Outstation;
    let mut op = OpKey::new(Protocol::Dnp3, u16::from(function));
    let mut first = true;
    for o in frag.objects(Limits::default()) {
        let key = (side, o.group, o.variation);
        let i = match facts
            .objects
            .binary_search_by_key(&key, |x| (x.from, x.group, x.variation))
        {
            Ok(i) => i,
            Err(i) => {
                j.report(|| {
                    let learned: Vec<[u8; 2]> = facts
                        .objects
                        .iter()
                        .filter(|x| x.from == side)
                        .map(|x| [x.group, x.variation])
                        .collect();
                    super::anomaly::Finding::new(
                        Kind::NewFunction,
                        "dnp3.object",
                        detail(&[side as u64, u64::from(o.group), u64::from(o.variation)]),
                        format!(
                            "DNP3 object g{}v{} from the {} not learned for this pair",
                            o.group,
                            o.variation,
                            if side == Side::Master {
                                "master"
                            } else {
                                "outstation"
                            }
                        ),
                    )
                    .values([o.group, o.variation], learned)
                });
                facts.objects.insert(
                    i,
                    Object {
                        from: side,
                        group: o.group,
                        variation: o.variation,
                        points: Ranges::default(),
                        values: Values::new(),
                    },
                );
                i
            }
        };
        if first && request {
            op.object = u16::from(o.group) << 8 | u16::from(o.variation);
            first = false;
        }
        let obj = &mut facts.objects[i];
        let (g, v) = (o.group, o.variation);
        // Range qualifiers name their points in the header, even where no data follows.
        if matches!(o.range_code(), 0..=2) && o.stop >= o.start {
            j.range(
                &mut obj.points,
                o.start,
                o.stop,
                "dnp3.point",
                detail(&[side as u64, u64::from(g), u64::from(v)]),
                || {
                    format!(
                        "DNP3 g{g}v{v} points {}-{} outside the learned ranges",
                        o.start, o.stop
                    )
                },
            );
        }
        for p in o.points() {
            if !matches!(o.range_code(), 0..=2) {
                let idx = p.index;
                j.range(
                    &mut obj.points,
                    idx,
                    idx,
                    "dnp3.point",
                    detail(&[side as u64, u64::from(g), u64::from(v)]),
                    || format!("DNP3 g{g}v{v} point {idx} outside the learned ranges"),
                );
            }
            if !enveloped(g) {
                continue;
            }
            let value = p.fields().find_map(|(name, v)| match (name, v) {
                ("value", Value::Uint(x)) => Some(x as f64),
                ("value", Value::Int(x)) => Some(x as f64),
                ("value", Value::Float(x)) => Some(x),
                _ => None,
            });
            if let Some(x) = value {
                let idx = p.index;
                j.value(
                    &mut obj.values,
                    idx,
                    x,
                    "dnp3.value",
                    detail(&[u64::from(g), u64::from(idx)]),
                    || format!("DNP3 g{g}v{v} point {idx} = {x} outside the learned envelope"),
                );
            }
        }
    }
    request.then_some(Request {
        function: u16::from(function),
        activity: act,
        op,
    })
}
