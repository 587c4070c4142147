#!/usr/bin/env python3
"""S7comm server built on python-snap7 (used by make-captures.sh).

Works with python-snap7 2.x (the wheel's native libsnap7 server) and 3.x
(pure-Python server).  Registers DB1 (256 bytes), DB2 (512 bytes), process
inputs (I/PE), outputs (Q/PA), merkers (M/MK), timers and counters, then
serves until SIGTERM/SIGINT.

usage: s7_server_snap7.py [--host H] [--port P]
"""
import argparse
import ctypes
import logging
import signal
import struct
import sys
import time

import snap7
from snap7.type import SrvArea


def area(size, fill):
    buf = (ctypes.c_uint8 * size)()
    for i in range(size):
        buf[i] = fill(i)
    return buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=102)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="[%(levelname)s] %(message)s")

    # Keep references to the buffers: the native server reads/writes them in place.
    db1 = area(256, lambda i: i & 0xFF)
    struct.pack_into(">hfI", db1, 0, 1234, 21.5, 0xCAFEBABE)
    areas = {
        (SrvArea.DB, 1): db1,
        (SrvArea.DB, 2): area(512, lambda i: 0x20 + (i % 64)),
        (SrvArea.PE, 0): area(32, lambda i: 0x5A if i % 2 else 0xA5),
        (SrvArea.PA, 0): area(32, lambda i: 0),
        (SrvArea.MK, 0): area(64, lambda i: i),
        (SrvArea.TM, 0): area(32, lambda i: 0),
        (SrvArea.CT, 0): area(32, lambda i: 0),
    }

    server = snap7.server.Server(log=False)
    for (kind, index), buf in areas.items():
        server.register_area(kind, index, buf)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    server.start_to(args.host, args.port)
    print(f"snap7 {getattr(snap7, '__version__', '?')} server listening on {args.host}:{args.port}", flush=True)
    while not stop:
        event = server.pick_event()
        while event:
            print(server.event_text(event), flush=True)
            event = server.pick_event()
        time.sleep(0.1)
    server.stop()
    server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
