#!/usr/bin/env python3
"""Compare two EVE files event by event, but for what differs between any two runs.

Usage: scripts/eve-compare.py [--renamed PATH=NEW ...] [--added PATH ...] BEFORE.json AFTER.json

Ignored: `event_id` (its run half is the writer's start time), the `stats` event's wall-clock
`timestamp`, `uptime`, the ages the uplink and bulletins report and the spool's size in bytes
(lines carry ids of varying length); `flow_id`s are random per run, so each file's are
renumbered in order of first appearance. `--renamed modbus.request.write.data=bytes` accepts a field renamed on
purpose: where AFTER has `bytes` and not `data` at that place, BEFORE's `data` is read as
`bytes`. `--added packet_info` accepts a field AFTER added on purpose: BEFORE takes AFTER's
value where it lacked the field. Exits 1 on the first difference, naming the line and key.
"""
import json
import sys


# Counters of a `stats` event that depend on the wall clock, not on the traffic.
WALL_CLOCK = {
    "uplink": ["oldest_unsent_age_seconds", "send_lag_seconds", "spool_bytes"],
    "bulletins": ["last_pull_age_seconds"],
}


def events(path):
    ids = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            e = json.loads(line)
            e.pop("event_id", None)
            if e.get("event_type") == "stats":
                e.pop("timestamp", None)
                stats = e.get("stats", {})
                stats.pop("uptime", None)
                for block, keys in WALL_CLOCK.items():
                    for k in keys:
                        stats.get(block, {}).pop(k, None)
            if "flow_id" in e:
                e["flow_id"] = ids.setdefault(e["flow_id"], len(ids) + 1)
            yield n, e


def rename(before, after, path, new):
    """Read `before`'s field at `path` as `new` where `after` renamed it so."""
    *parents, old = path.split(".")
    for key in parents:
        if not isinstance(before, dict) or not isinstance(after, dict):
            return
        before, after = before.get(key), after.get(key)
    if (isinstance(before, dict) and isinstance(after, dict) and old in before
            and old not in after and new in after):
        before[new] = before.pop(old)


def added(before, after, path):
    """Give `before` the field at `path` that `after` added."""
    *parents, key = path.split(".")
    for k in parents:
        if not isinstance(before, dict) or not isinstance(after, dict):
            return
        before, after = before.get(k), after.get(k)
    if isinstance(before, dict) and isinstance(after, dict) and key in after and key not in before:
        before[key] = after[key]


def main():
    args, renames, additions = sys.argv[1:], [], []
    while args and args[0] in ("--renamed", "--added"):
        if args[0] == "--renamed":
            path, _, new = args[1].partition("=")
            renames.append((path, new))
        else:
            additions.append(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit(__doc__)
    before, after = list(events(args[0])), list(events(args[1]))
    for (n, a), (_, b) in zip(before, after):
        for path, new in renames:
            rename(a, b, path, new)
        for path in additions:
            added(a, b, path)
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            print(f"line {n}: differs in {', '.join(keys)}")
            for k in keys:
                print(f"  before {k}: {json.dumps(a.get(k))[:400]}")
                print(f"  after  {k}: {json.dumps(b.get(k))[:400]}")
            sys.exit(1)
    if len(before) != len(after):
        print(f"{len(before)} events before, {len(after)} after")
        sys.exit(1)
    print(f"{len(before)} events equal")


if __name__ == "__main__":
    main()
