//! An application-layer anomaly's two spellings: the whole name rules, stats and the collector
//! use (`ftp.file_before_port`), and Suricata's layout on the wire (`anomaly.app_proto` `ftp`,
//! `anomaly.event` `file_before_port`; HTTP's in upper case, as libhtp names them).

/// The whole name of an `anomaly` block: for `type` `applayer` with an `app_proto`, the
/// protocol's module name (`ftp-data` → `ftp_data`) and the event in lower case; any other
/// anomaly's `event` as written.
pub fn anomaly_name(kind: &str, app_proto: Option<&str>, event: &str) -> String {
    match app_proto {
        Some(p) if kind == "applayer" && !event.is_empty() && !event.contains('.') => {
            format!("{}.{}", p.replace('-', "_"), event.to_ascii_lowercase())
        }
        _ => event.to_owned(),
    }
}

/// [`anomaly_name`] of an event's JSON (`None` if it is not an `anomaly` event).
pub fn anomaly_name_of(event: &serde_json::Value) -> Option<String> {
    let a = event.get("anomaly")?;
    Some(anomaly_name(
        a.get("type")?.as_str()?,
        a.get("app_proto").and_then(|p| p.as_str()),
        a.get("event")?.as_str()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names() {
        let n = |p, e| anomaly_name("applayer", p, e);
        assert_eq!(n(Some("ftp"), "file_before_port"), "ftp.file_before_port");
        assert_eq!(n(Some("ftp-data"), "x"), "ftp_data.x");
        assert_eq!(
            n(Some("http"), "REQUEST_AUTH_UNRECOGNIZED"),
            "http.request_auth_unrecognized"
        );
        assert_eq!(
            n(Some("dns"), "applayer.truncated_datagram"),
            "applayer.truncated_datagram"
        );
        assert_eq!(n(None, "modbus.invalid_length"), "modbus.invalid_length");
        assert_eq!(
            anomaly_name("stream", Some("modbus"), "stream.reassembly_gap"),
            "stream.reassembly_gap"
        );
        let ev = serde_json::json!({"anomaly": {"app_proto": "dns", "type": "applayer", "event": "invalid_opcode"}});
        assert_eq!(anomaly_name_of(&ev).as_deref(), Some("dns.invalid_opcode"));
        assert_eq!(anomaly_name_of(&serde_json::json!({"alert": {}})), None);
    }
}
