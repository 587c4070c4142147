#!/usr/bin/env python3
"""The HMI of the simulated plant (used by make-captures.sh for the baseline
captures): polls a Modbus/TCP PLC with pymodbus 3.x and an S7 PLC with the
native Snap7 client (python-snap7 2.x), at the same time, from one host.

usage: plant_hmi.py [--modbus-plc H] [--s7-plc H] [--source A] [--duration S]
                    [--seed N]

Both pollers run on a fixed 1 s schedule for --duration seconds, each over
one TCP connection kept open throughout:

  Modbus (unit 1), every second: FC3 holding registers 0-9, FC1 coils 0-15,
    FC4 input registers 100-104; in every tenth cycle (cycles 5, 15, 25, ...)
    also FC6 holding register 5 := a level setpoint drawn from 450-550 (an
    operator's setpoint change).
  S7 (rack 0, slot 1), every second, 0.3 s after the Modbus poll: read_var
    DB1 bytes 0-19 and read_var M bytes 0-3.

--source is the address the Modbus client binds to; the Snap7 library has
no such option, so make-captures.sh runs this program with its bind_source
LD_PRELOAD shim and BIND_SOURCE_ADDR set to the same address.  Exits 2 if
any request fails.
"""
import argparse
import logging
import os
import random
import struct
import sys
import threading
import time

import snap7
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

failures = []
lock = threading.Lock()


def say(t0, what):
    with lock:
        print(f"{time.monotonic() - t0:8.3f} {what}", file=sys.stderr, flush=True)


def fail(t0, what, exc):
    with lock:
        failures.append(what)
    say(t0, f"FAILED {what}: {exc}")


def modbus_poller(args, rng, t0, cycles):
    client = ModbusTcpClient(args.modbus_plc, port=args.modbus_port, source_address=(args.source, 0),
                             timeout=2, retries=0)
    if not client.connect():
        fail(t0, "modbus connect", f"cannot connect to {args.modbus_plc}:{args.modbus_port}")
        return
    say(t0, f"modbus connected {client.socket.getsockname()} -> {args.modbus_plc}:{args.modbus_port}")
    writes = 0
    for k in range(cycles):
        time.sleep(max(0.0, t0 + k - time.monotonic()))
        reqs = [
            ("FC3 HR 0-9", lambda: client.read_holding_registers(0, count=10, device_id=1)),
            ("FC1 coils 0-15", lambda: client.read_coils(0, count=16, device_id=1)),
            ("FC4 IR 100-104", lambda: client.read_input_registers(100, count=5, device_id=1)),
        ]
        if k % 10 == 5:
            sp = rng.randint(450, 550)
            reqs.append((f"FC6 HR5 := {sp}", lambda sp=sp: client.write_register(5, sp, device_id=1)))
        for what, fn in reqs:
            try:
                rr = fn()
            except ModbusException as exc:
                fail(t0, what, exc)
                continue
            if rr.isError():
                fail(t0, what, rr)
            elif what.startswith("FC6"):
                writes += 1
                say(t0, f"modbus cycle {k}: {what}")
            elif k % 30 == 0 and what.startswith("FC3"):
                say(t0, f"modbus cycle {k}: HR0-9 {rr.registers}")
    client.close()
    say(t0, f"modbus poller done: {cycles} cycles, {writes} setpoint writes")


def s7_poller(args, t0, cycles):
    client = snap7.client.Client()
    try:
        client.connect(args.s7_plc, 0, 1, args.s7_port)
    except Exception as exc:  # snap7 2.x raises RuntimeError
        fail(t0, "s7 connect", exc)
        return
    say(t0, f"s7 connected -> {args.s7_plc}:{args.s7_port}")
    for k in range(cycles):
        time.sleep(max(0.0, t0 + k + 0.3 - time.monotonic()))
        try:
            db = bytes(client.db_read(1, 0, 20))
            mk = bytes(client.mb_read(0, 4))
        except Exception as exc:
            fail(t0, f"s7 cycle {k}", exc)
            continue
        if k % 30 == 0:
            say(t0, f"s7 cycle {k}: DB1 {struct.unpack('>hhffhhHH', db)} M {mk.hex()}")
    client.disconnect()
    client.destroy()
    say(t0, f"s7 poller done: {cycles} cycles")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modbus-plc", default="127.0.0.10")
    ap.add_argument("--modbus-port", type=int, default=502)
    ap.add_argument("--s7-plc", default="127.0.0.20")
    ap.add_argument("--s7-port", type=int, default=102)
    ap.add_argument("--source", default="127.0.0.5")
    ap.add_argument("--duration", type=int, default=180, help="seconds (= poll cycles)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if os.environ.get("BIND_SOURCE_ADDR") != args.source:
        print(f"warning: BIND_SOURCE_ADDR is not {args.source}; the S7 connection will use the default source",
              file=sys.stderr)

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    t0 = time.monotonic()
    say(t0, f"HMI {args.source}: {args.duration} s, seed {seed}, python-snap7 {getattr(snap7, '__version__', '?')}")
    threads = [
        threading.Thread(target=modbus_poller, args=(args, rng, t0, args.duration)),
        threading.Thread(target=s7_poller, args=(args, t0, args.duration)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say(t0, f"HMI done, {len(failures)} failure(s): {failures[:5]}")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
