//! The `alert` block of an alert event, as Suricata writes it: the one shape a signature's
//! alert and a baseline's alert share, and the collector reads.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// What an alert says about the rule (or baseline fact) that fired. `M` is its `metadata`:
/// a rule's keys with their lists of values, or a baseline alert's ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord<'a, M = serde_json::Value> {
    /// `allowed`: the sensor is passive and blocks nothing.
    #[serde(borrow)]
    pub action: Cow<'a, str>,
    pub gid: u32,
    pub signature_id: u32,
    pub rev: u32,
    #[serde(borrow)]
    pub signature: Cow<'a, str>,
    #[serde(borrow)]
    pub category: Cow<'a, str>,
    /// 1 (highest) to 255.
    pub severity: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<M>,
    /// The rule's `tag` request, as written (`session,5,packets`): what a tagging IDS would
    /// record next. A passive sensor records it as a note beside the alert.
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    pub tag: Option<Cow<'a, str>>,
}

impl<'a, M> AlertRecord<'a, M> {
    /// The action of every alert a passive sensor writes.
    pub const ALLOWED: &'static str = "allowed";

    /// An alert that blocked nothing, borrowing its texts.
    pub fn allowed(
        (gid, signature_id, rev): (u32, u32, u32),
        signature: &'a str,
        category: &'a str,
        severity: u8,
        metadata: Option<M>,
    ) -> Self {
        AlertRecord {
            action: Cow::Borrowed(Self::ALLOWED),
            gid,
            signature_id,
            rev,
            signature: Cow::Borrowed(signature),
            category: Cow::Borrowed(category),
            severity,
            metadata,
            tag: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        let a: AlertRecord<'_> = AlertRecord::allowed(
            (1, 9100002, 1),
            "ICSIGHT MODBUS write",
            "c",
            2,
            Some(serde_json::json!({"mitre_attack_ics": ["T0836"]})),
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"ICSIGHT MODBUS write","category":"c","severity":2,"metadata":{"mitre_attack_ics":["T0836"]}}"#
        );
        let back: AlertRecord<'_> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        let none: AlertRecord<'_, ()> = AlertRecord::allowed((1, 2, 3), "s\"q", "", 3, None);
        let json = serde_json::to_string(&none).unwrap();
        assert!(!json.contains("metadata"), "{json}");
        let back: AlertRecord<'_, ()> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.signature, "s\"q");
    }
}
