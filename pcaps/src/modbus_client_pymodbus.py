#!/usr/bin/env python3
"""Modbus/TCP polling client built on pymodbus 3.x (used by make-captures.sh).

usage: modbus_client_pymodbus.py [--host H] [--port P] [--rounds N] [--sessions S]

Each session opens one TCP connection and, for unit ids 1 and 2, runs
FC1, FC2, FC3, FC4, FC5, FC6, FC15, FC16, FC23, FC22 and FC17 per round,
plus two requests that the server answers with an exception: a read at an
out-of-range address (exception 02) and read-device-identification (FC43/14),
which libmodbus does not implement (exception 01).
"""
import argparse
import logging
import sys
import time

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

failures = 0


def check(what, fn, expect_exception=False):
    global failures
    try:
        rr = fn()
    except ModbusException as exc:
        print(f"  {what:30s} FAILED: {exc}", file=sys.stderr)
        failures += 1
        return None
    if rr.isError() and not expect_exception:
        print(f"  {what:30s} FAILED: {rr}", file=sys.stderr)
        failures += 1
    elif rr.isError():
        print(f"  {what:30s} exception as expected: {rr}", file=sys.stderr)
    elif expect_exception:
        print(f"  {what:30s} unexpectedly succeeded: {rr}", file=sys.stderr)
        failures += 1
    else:
        print(f"  {what:30s} ok", file=sys.stderr)
    return rr


def poll(client, rnd, unit):
    print(f"round {rnd} unit {unit}", file=sys.stderr)
    d = unit
    check("FC01 read coils", lambda: client.read_coils(0, count=16, device_id=d))
    check("FC02 read discrete inputs", lambda: client.read_discrete_inputs(0, count=16, device_id=d))
    check("FC03 read holding registers", lambda: client.read_holding_registers(0, count=10, device_id=d))
    check("FC04 read input registers", lambda: client.read_input_registers(0, count=10, device_id=d))
    check("FC05 write single coil", lambda: client.write_coil(3, rnd % 2 == 0, device_id=d))
    check("FC06 write single register", lambda: client.write_register(1, 4660 + rnd, device_id=d))
    check("FC15 write multiple coils",
          lambda: client.write_coils(10, [True, False, True, True, False, False, True, False, True], device_id=d))
    check("FC16 write multiple registers",
          lambda: client.write_registers(20, [100, 200, 300, 400 + rnd], device_id=d))
    check("FC23 read/write registers",
          lambda: client.readwrite_registers(read_address=20, read_count=4, write_address=30,
                                             values=[0xBEEF, rnd], device_id=d))
    check("FC22 mask write register",
          lambda: client.mask_write_register(address=2, and_mask=0x00F2, or_mask=0x0025, device_id=d))
    check("FC17 report server id", lambda: client.report_device_id(device_id=d))
    check("FC03 illegal data address",
          lambda: client.read_holding_registers(500, count=4, device_id=d), expect_exception=True)
    if rnd == 0:
        check("FC43/14 read device id",
              lambda: client.read_device_information(device_id=d), expect_exception=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=502)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--units", default="1,2")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    units = [int(u) for u in args.units.split(",")]

    for session in range(args.sessions):
        client = ModbusTcpClient(args.host, port=args.port, timeout=2, retries=0)
        if not client.connect():
            print(f"cannot connect to {args.host}:{args.port}", file=sys.stderr)
            return 1
        for rnd in range(args.rounds):
            for unit in units:
                poll(client, rnd, unit)
            time.sleep(0.2)
        client.close()
        time.sleep(0.3)
    print(f"pymodbus client done, {failures} unexpected failure(s)", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
