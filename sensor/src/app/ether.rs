//! What the protocols on Ethernet alone (GOOSE, Sampled Values) share: the table of the senders
//! they follow, and the names of the frames that do not read.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use decoders::goose::Error;

/// The senders of multicast frames followed, each told by its source MAC, APPID and name
/// (gocbRef, svID), with the state `T` kept of it. At most `max` are held; a sender past that,
/// or one whose key another already holds, is not followed.
pub struct Senders<T> {
    map: HashMap<u64, (Sender, T), ahash::RandomState>,
    hasher: ahash::RandomState,
    max: usize,
}

/// Who a sender is.
struct Sender {
    mac: [u8; 6],
    appid: u16,
    name: Box<[u8]>,
}

/// A frame's sender in the table.
pub enum Slot<'a, T> {
    Known(&'a mut T),
    /// Seen first now: its state is the one made.
    New,
    /// Not followed: the table is full, or another sender holds its key.
    Dropped,
}

impl<T> Senders<T> {
    pub fn new(max: usize) -> Self {
        Senders {
            map: HashMap::default(),
            // Seeded per run: nobody can prepare a sender whose key shuts a real one out.
            hasher: ahash::RandomState::new(),
            max,
        }
    }

    /// How many senders are followed.
    pub fn count(&self) -> usize {
        self.map.len()
    }

    /// The state of sender (`mac`, `appid`, `name`); a sender not seen before is given
    /// `make()`'s, allocating only then.
    pub fn get(
        &mut self,
        mac: [u8; 6],
        appid: u16,
        name: &[u8],
        make: impl FnOnce() -> T,
    ) -> Slot<'_, T> {
        let mut h = self.hasher.build_hasher();
        h.write(&mac);
        h.write_u16(appid);
        h.write(name);
        let key = h.finish();
        let full = self.map.len() >= self.max;
        match self.map.entry(key) {
            Entry::Occupied(o) => {
                let (s, state) = o.into_mut();
                if s.mac == mac && s.appid == appid && *s.name == *name {
                    Slot::Known(state)
                } else {
                    Slot::Dropped
                }
            }
            Entry::Vacant(_) if full => Slot::Dropped,
            Entry::Vacant(v) => {
                let sender = Sender {
                    mac,
                    appid,
                    name: name.into(),
                };
                v.insert((sender, make()));
                Slot::New
            }
        }
    }
}

/// The block of an anomaly about a frame that did not read: none.
#[derive(serde::Serialize)]
pub struct Empty {}

/// An error's anomaly name among a protocol's four (`goose.truncated` …), in [`Error`]'s order.
pub fn error_event(e: Error, names: &[&'static str; 4]) -> &'static str {
    names[match e {
        Error::Truncated => 0,
        Error::InvalidLength => 1,
        Error::InvalidPdu => 2,
        Error::MissingField(_) => 3,
    }]
}
