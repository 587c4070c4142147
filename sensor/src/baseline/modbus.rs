//! What a Modbus pair's baseline holds: request function codes, and per unit and table the
//! addresses read and written and the envelopes of register values (read and written).
//!
//! Coils and discrete inputs get ranges but no envelopes: a bit has no range to leave.

use decoders::modbus::mei::DeviceIdResponse;
use decoders::modbus::message::words;
use decoders::modbus::{Data, Message, Read, Write};
use serde::{Deserialize, Serialize};

use super::judge::{detail, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};
use super::ranges::Ranges;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Function codes of the requests.
    pub functions: Vec<u8>,
    pub units: Vec<Unit>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub unit: u8,
    #[serde(default, skip_serializing_if = "Table::is_empty")]
    pub coils: Table,
    #[serde(default, skip_serializing_if = "Table::is_empty")]
    pub discrete_inputs: Table,
    #[serde(default, skip_serializing_if = "Table::is_empty")]
    pub holding_registers: Table,
    #[serde(default, skip_serializing_if = "Table::is_empty")]
    pub input_registers: Table,
}

/// Addresses read and written in one table, and the values seen at them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Table {
    #[serde(skip_serializing_if = "Ranges::is_empty")]
    pub read: Ranges,
    #[serde(skip_serializing_if = "Ranges::is_empty")]
    pub write: Ranges,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub values: Values,
}

impl Table {
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty() && self.values.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Coils,
    DiscreteInputs,
    HoldingRegisters,
    InputRegisters,
}

impl TableKind {
    pub const ALL: [TableKind; 4] = [
        TableKind::Coils,
        TableKind::DiscreteInputs,
        TableKind::HoldingRegisters,
        TableKind::InputRegisters,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Coils => "coils",
            TableKind::DiscreteInputs => "discrete_inputs",
            TableKind::HoldingRegisters => "holding_registers",
            TableKind::InputRegisters => "input_registers",
        }
    }
}

impl Unit {
    fn new(unit: u8) -> Self {
        Unit {
            unit,
            ..Unit::default()
        }
    }

    pub fn table(&self, t: TableKind) -> &Table {
        match t {
            TableKind::Coils => &self.coils,
            TableKind::DiscreteInputs => &self.discrete_inputs,
            TableKind::HoldingRegisters => &self.holding_registers,
            TableKind::InputRegisters => &self.input_registers,
        }
    }

    fn table_mut(&mut self, t: TableKind) -> &mut Table {
        match t {
            TableKind::Coils => &mut self.coils,
            TableKind::DiscreteInputs => &mut self.discrete_inputs,
            TableKind::HoldingRegisters => &mut self.holding_registers,
            TableKind::InputRegisters => &mut self.input_registers,
        }
    }
}

impl Facts {
    pub fn points(&self) -> usize {
        self.units
            .iter()
            .flat_map(|u| TableKind::ALL.map(|t| u.table(t).values.len()))
            .sum()
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, u) in self.units.iter().enumerate() {
            for t in TableKind::ALL {
                let tab = u.table(t);
                for (rw, r) in [("read", &tab.read), ("write", &tab.write)] {
                    r.validate()
                        .map_err(|e| (format!("units[{i}].{}.{rw}", t.name()), e))?;
                }
            }
        }
        Ok(())
    }

    fn unit(&mut self, unit: u8) -> &mut Unit {
        let i = match self.units.binary_search_by_key(&unit, |u| u.unit) {
            Ok(i) => i,
            Err(i) => {
                self.units.insert(i, Unit::new(unit));
                i
            }
        };
        &mut self.units[i]
    }
}

/// What a request function does.
pub fn activity(function: u8, data: &Data<'_>) -> Activity {
    match function {
        1..=4 | 7 | 11 | 12 | 20 | 24 => Activity::Read,
        5 | 6 | 15 | 16 | 22 | 23 => Activity::Write,
        17 => Activity::Identify,
        43 => match data {
            Data::Mei { mei_type: 14, .. } => Activity::Identify,
            _ => Activity::Other,
        },
        // Restart communications, force listen-only mode.
        8 => match data {
            Data::Diagnostic { sub: 1 | 4, .. } => Activity::Control,
            _ => Activity::Other,
        },
        // File record writes, Schneider UMAS (programming and PLC control).
        21 | 90 => Activity::Program,
        _ => Activity::Other,
    }
}

fn table_of_read(function: u8) -> Option<TableKind> {
    Some(match function {
        1 => TableKind::Coils,
        2 => TableKind::DiscreteInputs,
        3 | 23 => TableKind::HoldingRegisters,
        4 => TableKind::InputRegisters,
        _ => return None,
    })
}

/// Learn or check one request and its response; returns the request for the pair's pace,
/// and whether the server's identity changed.
pub fn observe(
    facts: &mut Facts,
    server: &mut Identity,
    request: Option<&Message<'_>>,
    response: Option<&Message<'_>>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    let identity = response.is_some_and(|r| learn_identity(server, r));
    let Some(req) = request else {
        return (None, identity);
    };
    let fc = req.function_raw;
    if fc & 0x80 != 0 {
        return (None, identity);
    }
    let unit = req.header.unit_id;
    let act = activity(fc, &req.data);
    j.function(&mut facts.functions, fc, act, "modbus.function", || {
        format!(
            "Modbus function {fc} ({}) not learned for this pair",
            req.function.name()
        )
    });
    let mut op = OpKey::new(Protocol::Modbus, u16::from(fc));
    op.unit = u16::from(unit);
    let u = facts.unit(unit);
    let mut access = |t: TableKind, write: bool, address: u16, quantity: u16, j: &mut Judge<'_>| {
        let first = u32::from(address);
        let last = first + u32::from(quantity.max(1)) - 1;
        let rw = if write { "write" } else { "read" };
        let tab = u.table_mut(t);
        let ranges = if write { &mut tab.write } else { &mut tab.read };
        j.range(
            ranges,
            first,
            last,
            "modbus.address",
            detail(&[u64::from(unit), t as u64, u64::from(write)]),
            || {
                format!(
                    "Modbus {rw} of unit {unit} {} {first}-{last} outside the learned ranges",
                    t.name()
                )
            },
        );
    };
    match req.data {
        Data::Read(Read::Request { address, quantity }) => {
            if let Some(t) = table_of_read(fc) {
                access(t, false, address, quantity, j);
                (op.address, op.count) = (u32::from(address), u32::from(quantity));
            }
        }
        Data::Write(w) => {
            let t = if fc == 5 || fc == 15 {
                TableKind::Coils
            } else {
                TableKind::HoldingRegisters
            };
            let (address, quantity) = match w {
                Write::Single { address, .. } | Write::Mask { address, .. } => (address, 1),
                Write::Multiple {
                    address, quantity, ..
                }
                | Write::Echo { address, quantity } => (address, quantity),
            };
            access(t, true, address, quantity, j);
            (op.address, op.count) = (u32::from(address), u32::from(quantity));
        }
        Data::ReadWrite {
            read: Read::Request { address, quantity },
            write,
        } => {
            access(TableKind::HoldingRegisters, false, address, quantity, j);
            if let Write::Multiple {
                address, quantity, ..
            } = write
            {
                access(TableKind::HoldingRegisters, true, address, quantity, j);
            }
            (op.address, op.count) = (u32::from(address), u32::from(quantity));
        }
        _ => {}
    }
    values(facts, unit, req, response, j);
    let r = Request {
        function: u16::from(fc),
        activity: act,
        op,
    };
    (Some(r), identity)
}

/// Register values written by the request, and read by its response.
fn values(
    facts: &mut Facts,
    unit: u8,
    req: &Message<'_>,
    response: Option<&Message<'_>>,
    j: &mut Judge<'_>,
) {
    let fc = req.function_raw;
    let u = facts.unit(unit);
    let mut judge = |t: TableKind, address: u32, v: u16, j: &mut Judge<'_>| {
        let tab = u.table_mut(t);
        j.value(
            &mut tab.values,
            address,
            f64::from(v),
            "modbus.value",
            detail(&[u64::from(unit), t as u64, u64::from(address)]),
            || {
                format!(
                    "Modbus unit {unit} {} {address} = {v} outside the learned envelope",
                    t.name()
                )
            },
        );
    };
    match req.data {
        Data::Write(Write::Single { address, value }) if fc == 6 => {
            judge(TableKind::HoldingRegisters, u32::from(address), value, j);
        }
        Data::Write(Write::Multiple { address, data, .. })
        | Data::ReadWrite {
            write: Write::Multiple { address, data, .. },
            ..
        } if fc == 16 || fc == 23 => {
            for (i, v) in words(data).enumerate() {
                judge(
                    TableKind::HoldingRegisters,
                    u32::from(address) + i as u32,
                    v,
                    j,
                );
            }
        }
        _ => {}
    }
    let Some(resp) = response.filter(|r| !r.is_exception()) else {
        return;
    };
    let read_at = match req.data {
        Data::Read(Read::Request { address, .. }) if fc == 3 || fc == 4 => address,
        Data::ReadWrite {
            read: Read::Request { address, .. },
            ..
        } => address,
        _ => return,
    };
    let t = if fc == 4 {
        TableKind::InputRegisters
    } else {
        TableKind::HoldingRegisters
    };
    if let Data::Read(Read::Response { data, .. }) = resp.data {
        j.from_server = true;
        for (i, v) in words(data).enumerate() {
            judge(t, u32::from(read_at) + i as u32, v, j);
        }
        j.from_server = false;
    }
}

/// Read device identification answers: vendor, product code, revision, names.
fn learn_identity(id: &mut Identity, resp: &Message<'_>) -> bool {
    let Data::Mei { mei_type: 14, data } = resp.data else {
        return false;
    };
    let Some(r) = DeviceIdResponse::parse(data) else {
        return false;
    };
    let mut changed = false;
    for o in r.objects() {
        let field = match o.id {
            0 => &mut id.vendor,
            1 => &mut id.product,
            2 => &mut id.firmware,
            4 => &mut id.model,
            6 => &mut id.name,
            _ => continue,
        };
        changed |= Identity::set(field, o.value);
    }
    changed
}
