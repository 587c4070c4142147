//! What is new, as it happens: critical alerts stored here and incidents opened here or
//! reported from below, for the pages' live view. A broadcast channel: a reader that falls
//! behind loses the oldest items and is told how many, and nothing waits on readers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::event::AlertRow;
use crate::tier::report::Incident;

/// Items kept for a reader that has not caught up.
const BACKLOG: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Alert,
    Incident,
}

/// One new thing, with the scope it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub province: String,
    pub enterprise_id: String,
    /// The alert's sensor; empty for an incident.
    pub sensor_id: String,
    /// The alert's event id, or the incident's id.
    pub id: String,
    pub title: String,
    /// Severity of an alert (1 most severe), priority of an incident (100 most urgent).
    pub rank: u8,
    pub at: u64,
}

#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<Item>>,
    /// Incidents announced lately: a new incident's second version (its evidence) may come
    /// within the second it opened, and is not news.
    announced: Arc<Mutex<VecDeque<String>>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(BACKLOG).0,
            announced: Arc::default(),
        }
    }
}

impl Live {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Item>> {
        self.tx.subscribe()
    }

    /// The critical (severity 1) alerts of a stored batch.
    pub fn alerts(&self, alerts: &[AlertRow]) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        for a in alerts.iter().filter(|a| a.severity == 1) {
            let _ = self.tx.send(Arc::new(Item {
                kind: Kind::Alert,
                province: a.province.clone(),
                enterprise_id: a.enterprise_id.clone(),
                sensor_id: a.sensor_id.clone(),
                id: a.event_id.clone(),
                title: a.signature.clone(),
                rank: a.severity,
                at: u64::from(a.ts),
            }));
        }
    }

    /// Incidents stored: those just opened (a version whose update is its opening).
    pub fn incidents(&self, incidents: &[Incident]) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        for i in incidents
            .iter()
            .filter(|i| i.updated == i.opened && i.state == "open")
        {
            {
                let mut seen = self.announced.lock().unwrap_or_else(|e| e.into_inner());
                if seen.contains(&i.incident_id) {
                    continue;
                }
                if seen.len() == BACKLOG {
                    seen.pop_front();
                }
                seen.push_back(i.incident_id.clone());
            }
            let _ = self.tx.send(Arc::new(Item {
                kind: Kind::Incident,
                province: i.province.clone(),
                enterprise_id: i.enterprise_id.clone(),
                sensor_id: String::new(),
                id: i.incident_id.clone(),
                title: i.title.clone(),
                rank: i.priority,
                at: u64::from(i.opened),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_critical_alerts_and_new_incidents_go_out() {
        let live = Live::default();
        let mut rx = live.subscribe();
        let alert = |severity| AlertRow {
            severity,
            signature: format!("s{severity}"),
            ..serde_json::from_value(serde_json::json!({
                "ts": 1, "ts_us": 1, "received": 1, "event_id": "e", "sensor_id": "s",
                "enterprise_id": "x", "province": "330000", "industry": "", "grade": 1,
                "flow_id": 0, "src_ip": "", "src_port": 0, "dest_ip": "", "dest_port": 0,
                "proto": "", "app_proto": "", "kind": "signature", "action": "", "gid": 1,
                "sid": 1, "rev": 1, "signature": "", "category": "", "severity": 1,
                "technique": "", "techniques": [], "anomaly_event": "", "raw": ""
            }))
            .expect("row")
        };
        live.alerts(&[alert(2), alert(1), alert(3)]);
        let got = rx.try_recv().expect("one");
        assert_eq!((got.kind.clone(), got.title.as_str()), (Kind::Alert, "s1"));
        assert!(rx.try_recv().is_err(), "only severity 1");
    }
}
