//! The sensor's uplink: the EVE events of the types in `[uplink] events` go to the provincial
//! collector through the `uplink` crate's spool and sender (see that crate and
//! `docs/uplink.md`). What this module adds is the sensor's part: which event types are sent,
//! and the sensor's id in every request.

use std::path::PathBuf;
use std::time::Duration;

pub use uplink::{UplinkError, UplinkStats};

use icsight_eve::{EventType, SensorIdentity};

use crate::config::UplinkSection;

/// The `sensor.toml` table the uplink is configured in: its errors and log lines are named so.
pub const TABLE: &str = "uplink";

/// The running uplink, sending the configured event types.
#[derive(Debug)]
pub struct Uplink {
    link: uplink::Uplink,
    /// Bit `t.index()` set: events of type `t` are sent.
    events: u64,
}

impl Uplink {
    /// Check the event types, open the spool (recovering what a previous run left), load the
    /// credentials and start the sender thread, which names this sensor in every request.
    pub fn start(cfg: &UplinkSection, identity: &SensorIdentity) -> Result<Uplink, UplinkError> {
        let events = event_bits(&cfg.events)?;
        let link = uplink::Uplink::start(&cfg.link, TABLE, &identity.id)?;
        Ok(Uplink { link, events })
    }

    /// Whether events of this type are sent.
    pub fn sends(&self, event_type: EventType) -> bool {
        self.events & bit(event_type) != 0
    }

    /// Spool one EVE line (ending in `\n`) if its type is sent. Never blocks on the network and
    /// never fails: what the disk refuses is counted in `dropped_write_error`.
    pub fn push(&mut self, event_type: EventType, line: &[u8]) {
        if self.sends(event_type) {
            self.link.push(line);
        }
    }

    /// A sink into this uplink's spool, for an EVE writer (each capture worker's, when there
    /// are several): it spools the configured types while this owner keeps the sender.
    pub fn sink(&self) -> UplinkSink {
        UplinkSink {
            pusher: self.link.pusher(),
            events: self.events,
        }
    }

    /// Close the open segment if it is `segment_seconds` old, so a quiet sensor's events go out.
    /// Call it regularly from the capture loop.
    pub fn tick(&mut self) {
        self.link.tick();
    }

    pub fn stats(&self) -> UplinkStats {
        self.link.stats()
    }

    /// The spool's directory.
    pub fn spool_dir(&self) -> PathBuf {
        self.link.spool_dir()
    }

    /// Close the open segment, wait up to `drain` for the spool to empty, stop the sender and
    /// return the final counters. What is not sent stays on disk for the next start.
    pub fn finish(self, drain: Duration) -> UplinkStats {
        self.link.finish(drain)
    }
}

/// An EVE writer's way into the uplink's spool: a peer of its EVE file. Clones share the spool.
#[derive(Clone, Debug)]
pub struct UplinkSink {
    pusher: uplink::Pusher,
    events: u64,
}

impl UplinkSink {
    /// Spool one EVE line if its type is sent, as [`Uplink::push`] does.
    pub fn push(&mut self, event_type: EventType, line: &[u8]) {
        if self.events & bit(event_type) != 0 {
            self.pusher.push(line);
        }
    }

    /// Close the open segment if it is `segment_seconds` old. Call it regularly.
    pub fn tick(&mut self) {
        self.pusher.tick();
    }

    pub fn stats(&self) -> UplinkStats {
        self.pusher.stats()
    }
}

// Every event type has its bit.
const _: () = assert!(EventType::ALL.len() <= u64::BITS as usize);

/// The bit of events of type `t`.
const fn bit(t: EventType) -> u64 {
    1 << t.index()
}

/// The set of `events` as bits by [`EventType::index`].
fn event_bits(events: &[String]) -> Result<u64, UplinkError> {
    let mut bits = 0u64;
    for e in events {
        let Some(t) = EventType::parse(e) else {
            return Err(UplinkError::invalid(
                TABLE,
                "events",
                format!("{e:?} is not an event type that can be sent"),
            ));
        };
        bits |= bit(t);
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_its_own_bit() {
        for t in EventType::ALL {
            let bits = event_bits(&[t.name().to_owned()]).unwrap();
            let sent: Vec<_> = EventType::ALL
                .into_iter()
                .filter(|&u| bits & bit(u) != 0)
                .collect();
            assert_eq!(sent, [t]);
        }
        let e = event_bits(&["nope".to_owned()]).unwrap_err().to_string();
        assert!(e.contains("uplink") && e.contains("events"), "{e}");
    }
}
