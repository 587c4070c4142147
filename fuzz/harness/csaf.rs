//! The advisory reader on arbitrary bytes: a CSAF document parsed and checked, and if it
//! loads, matched against the identities the sensor reports (an S7 CPU with and without
//! firmware, a Modbus device); every line of the input read as a version range and as a
//! version and compared. Nothing may panic, and a refusal must name a JSON path.

use collector::csaf::version::{Range, Version};
use collector::csaf::{self, Catalogue, Device};

pub fn run(data: &[u8]) {
    match csaf::parse(data) {
        Ok(a) => {
            let c = Catalogue::new([a]);
            for (vendor, product, model, firmware) in [
                (
                    None,
                    Some("6ES7 315-2EH14-0AB0"),
                    Some("CPU 315-2 PN/DP"),
                    Some("V3.2.6"),
                ),
                (None, Some("6ES7 315-2EH14-0AB0"), None, None),
                (
                    Some("Schneider Electric"),
                    Some("BMX P34 2020"),
                    Some("M340"),
                    Some("2.6"),
                ),
            ] {
                let d = Device {
                    vendor: vendor.map(Into::into),
                    product: product.map(Into::into),
                    model: model.map(Into::into),
                    firmware: firmware.map(Into::into),
                };
                for h in c.matches(&d) {
                    assert!(!h.why.is_empty() && (0.0..=10.0).contains(&h.cvss));
                }
            }
        }
        Err(r) => assert!(r.path.starts_with('$'), "{r}"),
    }
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        let range = Range::parse(line);
        let _ = range.fixed_in();
        for v in ["V3.2.6", "2.6.1", "V15.1 Upd4", line] {
            if let Some(v) = Version::parse(v) {
                let _ = range.check(Some(&v));
                let _ = v.compare(&v);
            }
        }
        let _ = range.check(None);
    }
}
