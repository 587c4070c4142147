//! Modbus/TCP in the sensor: one `modbus` event per ADU.

use decoders::modbus::{Adu, ModbusParser};
use decoders::Direction;
use serde::Serialize;

use super::{AppCtx, Logged};

#[derive(Serialize)]
struct Body {
    modbus: Side,
}

#[derive(Serialize)]
enum Side {
    #[serde(rename = "request")]
    Request(Pdu),
    #[serde(rename = "response")]
    Response(Pdu),
}

#[derive(Serialize)]
struct Pdu {
    transaction_id: u16,
    protocol_id: u16,
    unit_id: u8,
    length: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception_raw: Option<u8>,
}

impl Logged for ModbusParser {
    type State = ();

    fn log(_state: &mut (), ctx: &mut AppCtx<'_>, dir: Direction, adu: Adu<'_>) {
        let pdu = Pdu {
            transaction_id: adu.header.transaction_id,
            protocol_id: adu.header.protocol_id,
            unit_id: adu.header.unit_id,
            length: adu.header.length,
            function_raw: adu.function_code(),
            exception_raw: adu
                .is_exception()
                .then(|| adu.data().first().copied())
                .flatten(),
        };
        let side = match dir {
            Direction::ToServer => Side::Request(pdu),
            Direction::ToClient => Side::Response(pdu),
        };
        ctx.event("modbus", Body { modbus: side });
    }
}
