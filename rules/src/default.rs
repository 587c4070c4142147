//! The default ICS ruleset, built in: what the sensor loads when no rules are named. The files
//! live in `rules/default/`, one per protocol; `rules/default/README.md` lists every rule with
//! its ATT&CK for ICS technique and the capture in `pcaps/` that fires it.

/// (file name, text) of each default rules file.
pub const SOURCES: [(&str, &str); 9] = [
    (
        "rules/default/modbus.rules",
        include_str!("../default/modbus.rules"),
    ),
    (
        "rules/default/s7comm.rules",
        include_str!("../default/s7comm.rules"),
    ),
    (
        "rules/default/dnp3.rules",
        include_str!("../default/dnp3.rules"),
    ),
    (
        "rules/default/enip.rules",
        include_str!("../default/enip.rules"),
    ),
    (
        "rules/default/iec104.rules",
        include_str!("../default/iec104.rules"),
    ),
    (
        "rules/default/opcua.rules",
        include_str!("../default/opcua.rules"),
    ),
    (
        "rules/default/mms.rules",
        include_str!("../default/mms.rules"),
    ),
    (
        "rules/default/goose.rules",
        include_str!("../default/goose.rules"),
    ),
    (
        "rules/default/it.rules",
        include_str!("../default/it.rules"),
    ),
];
