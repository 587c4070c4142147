//! DNP3 in the sensor: link frames are framed and counted in `stats.app_layer.dnp3`; transaction
//! events come with the full DNP3 decoder.

use decoders::dnp3::{Dnp3Parser, Frame};
use decoders::Direction;

use super::{AppCtx, Logged};

impl Logged for Dnp3Parser {
    type State = ();

    fn log(_state: &mut (), _ctx: &mut AppCtx<'_>, _dir: Direction, _frame: Frame<'_>) {}
}
