//! A veth pair in this namespace, for live capture next to a stand-in collector on 127.0.0.1
//! (which stays reachable, unlike from a separate namespace).

use std::process::Command;

pub struct Veth {
    /// The end the sensor captures on.
    pub capture: String,
    /// The end a capture file is replayed into.
    pub replay: String,
}

impl Veth {
    /// A pair named after `tag` (one letter per test binary) and this process, so that test
    /// binaries running at once do not collide.
    pub fn new(tag: char) -> Veth {
        let id = std::process::id() % 100_000;
        let v = Veth {
            capture: format!("ics{tag}c{id}"),
            replay: format!("ics{tag}r{id}"),
        };
        let run = |args: &[&str]| {
            let ok = Command::new(args[0])
                .args(&args[1..])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "{args:?} failed");
        };
        run(&[
            "ip", "link", "add", &v.capture, "type", "veth", "peer", "name", &v.replay,
        ]);
        for end in [&v.capture, &v.replay] {
            // No IPv6: the kernel's own router solicitations are not ours to count.
            run(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{end}.disable_ipv6=1"),
            ]);
            run(&["ip", "link", "set", end, "up"]);
        }
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.capture])
            .status();
    }
}
