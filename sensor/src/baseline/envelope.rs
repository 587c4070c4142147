//! The envelope of a process value: the range it kept while learning, and how it was spread.
//!
//! Kept per point (a Modbus register, an S7 address, a DNP3 point) as minimum, maximum, count,
//! mean and spread (Welford's running variance), which merge exactly when more is learned into
//! a baseline. A value is outside the envelope when it leaves [min, max] widened by a tolerance:
//! a fraction of the learned span, and never less than one unit, so a value that never moved
//! while learning may still move by one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub min: f64,
    pub max: f64,
    pub count: u64,
    pub mean: f64,
    /// Standard deviation of the values learned.
    pub std: f64,
}

impl Envelope {
    pub fn new(v: f64) -> Self {
        Envelope {
            min: v,
            max: v,
            count: 1,
            mean: v,
            std: 0.0,
        }
    }

    pub fn add(&mut self, v: f64) {
        self.merge(&Envelope::new(v));
    }

    /// Combine with another envelope (parallel variance formula).
    pub fn merge(&mut self, o: &Envelope) {
        let (n1, n2) = (self.count as f64, o.count as f64);
        let n = n1 + n2;
        if n2 == 0.0 {
            return;
        }
        let delta = o.mean - self.mean;
        let m2 = self.std * self.std * n1 + o.std * o.std * n2 + delta * delta * n1 * n2 / n;
        self.mean += delta * n2 / n;
        self.std = (m2 / n).max(0.0).sqrt();
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// How far outside the widened envelope `v` lies, or `None` inside it. `tolerance` is the
    /// fraction of the learned span allowed beyond either end.
    pub fn excess(&self, v: f64, tolerance: f64) -> Option<f64> {
        let margin = ((self.max - self.min) * tolerance).max(1.0);
        if v < self.min - margin {
            Some(self.min - v)
        } else if v > self.max + margin {
            Some(v - self.max)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_range_and_spread() {
        let mut e = Envelope::new(400.0);
        for v in [450.0, 500.0, 550.0, 600.0] {
            e.add(v);
        }
        assert_eq!((e.min, e.max, e.count), (400.0, 600.0, 5));
        assert!((e.mean - 500.0).abs() < 1e-9);
        assert!((e.std - 70.710678).abs() < 1e-4);
        assert_eq!(e.excess(610.0, 0.1), None, "within 10% of the span");
        assert_eq!(e.excess(9999.0, 0.1), Some(9399.0));
        assert_eq!(e.excess(100.0, 0.1), Some(300.0));
    }

    #[test]
    fn merge_equals_learning_everything_at_once() {
        let (a, b) = ([1.0, 5.0, 9.0], [2.0, 100.0]);
        let mut whole = Envelope::new(a[0]);
        a[1..].iter().chain(&b).for_each(|&v| whole.add(v));
        let mut left = Envelope::new(a[0]);
        a[1..].iter().for_each(|&v| left.add(v));
        let mut right = Envelope::new(b[0]);
        right.add(b[1]);
        left.merge(&right);
        assert_eq!(
            (left.min, left.max, left.count),
            (whole.min, whole.max, whole.count)
        );
        assert!((left.mean - whole.mean).abs() < 1e-9 && (left.std - whole.std).abs() < 1e-9);
    }

    #[test]
    fn a_constant_may_move_by_one() {
        let e = Envelope::new(7.0);
        assert_eq!(e.excess(8.0, 0.1), None);
        assert_eq!(e.excess(9.0, 0.1), Some(2.0));
    }
}
