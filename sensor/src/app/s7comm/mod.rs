//! S7comm in the sensor: TPKTs are framed and counted in `stats.app_layer.s7comm`; transaction
//! events come with the full S7 decoder.

use decoders::s7comm::{S7commParser, Tpkt};
use decoders::Direction;

use super::{AppCtx, Logged};

impl Logged for S7commParser {
    type State = ();

    fn log(_state: &mut (), _ctx: &mut AppCtx<'_>, _dir: Direction, _tpkt: Tpkt<'_>) {}
}
