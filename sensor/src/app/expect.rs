//! Connections a control connection announced and the sensor expects: FTP's data connections.
//! A new flow that matches one is handed to the protocol it was announced for, with what the
//! announcement said (the command, the file name), before any probing.
//!
//! The table is capped and entries age out, so a client announcing ports it never uses costs
//! a bounded amount.

use std::collections::VecDeque;
use std::net::IpAddr;

use decoders::ftp::DataCommand;

/// Expectations held at once, all flows together; beyond, the oldest is dropped.
pub const MAX_EXPECTED: usize = 1024;
/// Seconds an expectation waits for its connection.
pub const EXPECT_SECS: u64 = 300;

/// What an FTP data connection was announced for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FtpData {
    /// `None` when the connection came before its command.
    pub command: Option<DataCommand>,
    pub filename: Vec<u8>,
}

/// One expected connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Where the connection goes: the side that listens.
    pub listen: (IpAddr, u16),
    /// The address it comes from.
    pub from: IpAddr,
    pub data: FtpData,
    /// When it was announced, seconds of packet time.
    pub secs: u64,
}

/// The expected connections.
#[derive(Debug, Default)]
pub struct Expectations {
    list: VecDeque<Expectation>,
    /// Dropped for the cap or their age before any connection came.
    pub dropped: u64,
}

impl Expectations {
    pub fn expect(&mut self, e: Expectation) {
        let now = e.secs;
        let before = self.list.len();
        self.list
            .retain(|o| now.saturating_sub(o.secs) <= EXPECT_SECS && o.listen != e.listen);
        self.dropped += (before - self.list.len()) as u64;
        if self.list.len() >= MAX_EXPECTED {
            self.list.pop_front();
            self.dropped += 1;
        }
        self.list.push_back(e);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The expectation a new flow between `client` and `server` fulfils, taken out. Either
    /// end may be the listening one: a flow seen without its SYN may be oriented either way.
    pub fn take(&mut self, client: (IpAddr, u16), server: (IpAddr, u16)) -> Option<Expectation> {
        let i = self.list.iter().position(|e| {
            (e.listen == server && e.from == client.0) || (e.listen == client && e.from == server.0)
        })?;
        self.list.remove(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(port: u16, secs: u64) -> Expectation {
        Expectation {
            listen: (IpAddr::from([10, 0, 0, 1]), port),
            from: IpAddr::from([10, 0, 0, 2]),
            data: FtpData {
                command: Some(DataCommand::Retr),
                filename: b"plc.bin".to_vec(),
            },
            secs,
        }
    }

    #[test]
    fn taken_once_either_way_round_and_bounded() {
        let mut x = Expectations::default();
        x.expect(e(40000, 0));
        let c = (IpAddr::from([10, 0, 0, 2]), 51000);
        let s = (IpAddr::from([10, 0, 0, 1]), 40000);
        assert_eq!(x.take(c, (s.0, 40001)), None);
        assert!(x.take(s, c).is_some());
        assert_eq!(x.take(c, s), None);
        // Aged out when the next comes.
        x.expect(e(1, 0));
        x.expect(e(2, EXPECT_SECS + 1));
        assert_eq!(x.take(c, (s.0, 1)), None);
        assert_eq!(x.dropped, 1);
        for p in 0..2 * MAX_EXPECTED as u16 {
            x.expect(e(p, EXPECT_SECS + 1));
        }
        assert_eq!(x.list.len(), MAX_EXPECTED);
    }
}
