#!/usr/bin/env python3
"""S7 PLC of a simulated tank process, on python-snap7 3.x's pure-Python
server (used by make-captures.sh for the baseline captures; that server
carries out PLC STOP).

usage: plant_s7_plc.py [--host H] [--port P] [--seed N]

Areas: DB1 (64 bytes), M (32 bytes), I (16 bytes), Q (16 bytes).

  DB1.DBW0   INT   tank level          400-600
  DB1.DBW2   INT   temperature         200-260
  DB1.DBD4   REAL  flow m3/h           10.0-15.0
  DB1.DBD8   REAL  pressure bar        2.0-3.5
  DB1.DBW12  INT   level setpoint      500
  DB1.DBW14  INT   pump speed %        40-80
  DB1.DBW16  WORD  status              1 (running)
  DB1.DBW18  WORD  alarms              0
  MB0  bit 0 running, 1 auto, 2 pump 1, 3 pump 2 (level hysteresis),
       4 heater (temperature hysteresis)
  MB1  bit 0 high level, bit 1 low level (never set inside the envelope)
  MB2  clock memory: bit 0 toggles every second, bit 1 every 2 s,
       bit 2 every 4 s
  MB3  0
  QB0  outputs mirroring pump 1, pump 2, heater, inlet valve
  IB0  power ok, door closed, e-stop released

Every second, while the CPU is in RUN, the process moves by a small random
step inside those envelopes and the PLC updates DB1, M and Q.  Bytes that a
client has written and that the program drives keep the written value from
then on.  After a PLC STOP the program stops: DB1 and M freeze as they are
and the outputs (Q) go to 0.  Runs until SIGTERM/SIGINT.
"""
import argparse
import logging
import os
import random
import signal
import struct
import sys
import time

import snap7
from snap7.server import CPUState
from snap7.type import SrvArea

DB1_SIZE, MK_SIZE, IO_SIZE = 64, 32, 16


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


class Tank:
    def __init__(self, rng):
        self.rng = rng
        self.setpoint = 500
        self.level = rng.uniform(480.0, 520.0)
        self.temp = rng.uniform(222.0, 238.0)
        self.flow = rng.uniform(11.5, 13.5)
        self.pressure = rng.uniform(2.5, 3.0)
        self.speed = rng.uniform(55.0, 65.0)
        self.pump2 = self.level < self.setpoint
        self.heater = self.temp < 230
        self.ticks = 0

    def step(self):
        r = self.rng
        self.ticks += 1
        self.level = clamp(self.level + 0.15 * (self.setpoint - self.level) + r.gauss(0, 2.5), 401, 599)
        self.temp = clamp(self.temp + (0.9 if self.heater else -0.9) + r.gauss(0, 0.6), 201, 259)
        self.flow = clamp(self.flow + 0.1 * (12.5 - self.flow) + r.gauss(0, 0.15), 10.1, 14.9)
        self.pressure = clamp(self.pressure + 0.1 * (2.75 - self.pressure) + r.gauss(0, 0.04), 2.05, 3.45)
        self.speed = clamp(self.speed + 0.1 * (60 - self.speed) + r.gauss(0, 1.2), 41, 79)
        if self.level < self.setpoint - 15:
            self.pump2 = True
        elif self.level > self.setpoint + 15:
            self.pump2 = False
        if self.temp < 225:
            self.heater = True
        elif self.temp > 235:
            self.heater = False

    def db1(self):
        return struct.pack(">hhffhhHH", round(self.level), round(self.temp), self.flow, self.pressure,
                           self.setpoint, round(self.speed), 1, 0)

    def flags(self):
        mb0 = 0x01 | 0x02 | 0x04 | (0x08 if self.pump2 else 0) | (0x10 if self.heater else 0)
        mb1 = (0x01 if self.level > 580 else 0) | (0x02 if self.level < 420 else 0)
        mb2 = (self.ticks & 1) | ((self.ticks >> 1) & 1) << 1 | ((self.ticks >> 2) & 1) << 2
        return bytes([mb0, mb1, mb2, 0])

    def outputs(self):
        return bytes([0x01 | (0x02 if self.pump2 else 0) | (0x04 if self.heater else 0)
                      | (0x08 if self.pump2 else 0)])


class Program:
    """Writes the process image into the server's areas; leaves alone the
    bytes a client has overwritten."""

    def __init__(self, server, areas):
        self.areas = areas  # key -> bytearray registered with the server
        self.last = {}  # key -> bytes the program wrote last time
        self.forced = {key: set() for key in areas}
        # the server's per-area locks, found through the registered buffers
        self.locks = {}
        for skey, buf in server.memory_areas.items():
            for key, mine in areas.items():
                if buf is mine:
                    self.locks[key] = server.area_locks[skey]
        assert len(self.locks) == len(areas), "server does not share the registered buffers"

    def put(self, key, data):
        buf = self.areas[key]
        with self.locks[key]:
            prev = self.last.get(key, b"")
            for i, byte in enumerate(data):
                if i < len(prev) and buf[i] != prev[i]:
                    self.forced[key].add(i)
                if i not in self.forced[key]:
                    buf[i] = byte
            self.last[key] = bytes(buf[: len(data)])

    def clear(self, key):
        """Zero a whole area, written values included (outputs at STOP)."""
        buf = self.areas[key]
        with self.locks[key]:
            buf[:] = bytes(len(buf))
            self.forced[key].clear()
            self.last[key] = bytes(buf)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.20")
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from os.urandom)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="[%(levelname)s] %(message)s")

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    tank = Tank(random.Random(seed))
    areas = {
        (SrvArea.DB, 1): bytearray(DB1_SIZE),
        (SrvArea.MK, 0): bytearray(MK_SIZE),
        (SrvArea.PE, 0): bytearray([0x07] + [0] * (IO_SIZE - 1)),
        (SrvArea.PA, 0): bytearray(IO_SIZE),
    }
    server = snap7.server.Server(log=False)
    for (kind, index), buf in areas.items():
        server.register_area(kind, index, buf)
    program = Program(server, areas)
    program.put((SrvArea.DB, 1), tank.db1())
    program.put((SrvArea.MK, 0), tank.flags())
    program.put((SrvArea.PA, 0), tank.outputs())

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    server.start_to(args.host, args.port)
    print(f"S7 PLC (python-snap7 {snap7.__version__} server) listening on {args.host}:{args.port}, seed {seed}",
          flush=True)
    next_tick = time.monotonic() + 1.0
    running = True
    while not stop:
        event = server.pick_event()
        while event:
            print(server.event_text(event), flush=True)
            event = server.pick_event()
        if running and server.cpu_state == CPUState.STOP:
            running = False
            program.clear((SrvArea.PA, 0))
            print("CPU in STOP: program halted, outputs off", flush=True)
        elif not running and server.cpu_state == CPUState.RUN:
            running = True
            print("CPU in RUN: program running", flush=True)
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            if running:
                tank.step()
                program.put((SrvArea.DB, 1), tank.db1())
                program.put((SrvArea.MK, 0), tank.flags())
                program.put((SrvArea.PA, 0), tank.outputs())
        time.sleep(0.05)
    print(f"final DB1.0-19 {bytes(areas[(SrvArea.DB, 1)][:20]).hex()} M0-3 {bytes(areas[(SrvArea.MK, 0)][:4]).hex()} "
          f"Q0 {areas[(SrvArea.PA, 0)][0]:#04x}, forced {({k[0].name: sorted(v) for k, v in program.forced.items() if v})}",
          flush=True)
    server.stop()
    server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
