//! What the sensor's benches share.

use std::path::{Path, PathBuf};

/// The capture a bench runs on: `ICSIGHT_BENCH_PCAP`, else the largest Modbus capture of the
/// public corpus (`channel_5d_3s.pcap`, 143,809 packets), else the project's own Modbus capture.
pub fn capture() -> PathBuf {
    if let Some(p) = std::env::var_os("ICSIGHT_BENCH_PCAP") {
        return p.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let big = root.join("../shared/pcaps/modbus/Modbus_dataset-CSET16/channel_5d_3s.pcap");
    if big.exists() {
        big
    } else {
        root.join("pcaps/modbus_pymodbus_libmodbus.pcap")
    }
}
