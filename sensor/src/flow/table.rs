//! The flow table: a hash map into a slab of flows, threaded on one LRU list per timeout class.
//!
//! Flows in one class share a timeout, and each list is kept in last-seen order, so the flows
//! that may have timed out are always at the heads: expiry looks at a handful of heads instead of
//! scanning the table, and eviction under the caps takes the least recently seen head.

use std::collections::HashMap;

use super::{Flow, FlowKey};
use crate::config::FlowConfig;
use icsight_eve::Timestamp;

/// Timeout classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    TcpNew,
    TcpEstablished,
    TcpClosed,
    UdpNew,
    UdpEstablished,
    OtherNew,
    OtherEstablished,
}

const CLASSES: usize = 7;
const NIL: u32 = u32::MAX;

struct Slot {
    flow: Option<Flow>,
    prev: u32,
    next: u32,
    class: Class,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

pub struct FlowTable {
    map: HashMap<FlowKey, u32, ahash::RandomState>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    lists: [List; CLASSES],
    /// Idle timeout per class, in microseconds.
    timeouts: [u64; CLASSES],
    max_flows: usize,
}

impl FlowTable {
    pub fn new(config: &FlowConfig) -> Self {
        let t = |s: u32| u64::from(s) * 1_000_000;
        let initial = (config.max_flows as usize).min(4096);
        FlowTable {
            map: HashMap::with_capacity_and_hasher(initial, ahash::RandomState::new()),
            slots: Vec::with_capacity(initial),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; CLASSES],
            timeouts: [
                t(config.tcp_new_timeout),
                t(config.tcp_established_timeout),
                t(config.tcp_closed_timeout),
                t(config.udp_new_timeout),
                t(config.udp_established_timeout),
                t(config.other_new_timeout),
                t(config.other_established_timeout),
            ],
            max_flows: config.max_flows as usize,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.map.len() >= self.max_flows
    }

    pub fn get(&self, key: &FlowKey) -> Option<u32> {
        self.map.get(key).copied()
    }

    pub fn flow(&self, idx: u32) -> &Flow {
        self.slots[idx as usize].flow.as_ref().expect("live slot")
    }

    pub fn flow_mut(&mut self, idx: u32) -> &mut Flow {
        self.slots[idx as usize].flow.as_mut().expect("live slot")
    }

    /// Add a flow. The caller makes room first (see [`FlowTable::is_full`]).
    pub fn insert(&mut self, flow: Flow) -> u32 {
        let class = flow.class();
        let key = flow.key;
        let slot = Slot {
            flow: Some(flow),
            prev: NIL,
            next: NIL,
            class,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        self.link_tail(idx, class);
        idx
    }

    /// Mark a flow as just seen: it moves to the tail of its (possibly new) class list.
    pub fn touch(&mut self, idx: u32) {
        let class = self.flow(idx).class();
        self.unlink(idx);
        self.link_tail(idx, class);
    }

    pub fn remove(&mut self, idx: u32) -> Flow {
        self.unlink(idx);
        let flow = self.slots[idx as usize].flow.take().expect("live slot");
        self.map.remove(&flow.key);
        self.free.push(idx);
        flow
    }

    /// A flow idle past its class's timeout at `now`, if any.
    pub fn expired(&self, now: Timestamp) -> Option<u32> {
        (0..CLASSES).find_map(|c| {
            let head = self.lists[c].head;
            (head != NIL && self.flow(head).last.0 + self.timeouts[c] < now.0).then_some(head)
        })
    }

    /// The least recently seen flow: the one to evict under the caps.
    pub fn oldest(&self) -> Option<u32> {
        self.lists
            .iter()
            .filter(|l| l.head != NIL)
            .map(|l| l.head)
            .min_by_key(|&i| self.flow(i).last)
    }

    /// Any flow, for draining the table at shutdown.
    pub fn any(&self) -> Option<u32> {
        self.lists.iter().find(|l| l.head != NIL).map(|l| l.head)
    }

    fn link_tail(&mut self, idx: u32, class: Class) {
        let c = class as usize;
        let tail = self.lists[c].tail;
        {
            let s = &mut self.slots[idx as usize];
            s.class = class;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.lists[c].head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.lists[c].tail = idx;
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next, c) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next, s.class as usize)
        };
        if prev == NIL {
            self.lists[c].head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[c].tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }
}
