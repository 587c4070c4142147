#!/usr/bin/env python3
"""Modbus/TCP operations client built on pymodbus 3.x (used by make-captures.sh).

usage: modbus_ops_pymodbus.py --mode diagnostics|poll [--host H] [--port P]
                              [--polls N] [--period S]

diagnostics  (against the pymodbus server, which implements them) unit 1:
             FC8 sub-functions 0 (return query data), 2 (return diagnostic
             register), 10 (clear counters and diagnostic register), 4
             (force listen-only mode; no answer expected), 1 (restart
             communications); FC7 read exception status; FC11 get comm event
             counter; FC12 get comm event log; FC17 report server id; FC43/14
             read device identification (basic, regular, extended and one
             object); FC20 read file record; FC21 write file record; a final
             FC3 read.
poll         an HMI's cyclic poll of unit 1: every --period seconds FC3
             (holding registers 0-9) and FC1 (coils 0-15), and every sixth
             cycle also FC4 (input registers 0-7) and FC2 (discrete inputs
             0-15); --polls cycles; reads only.
"""
import argparse
import logging
import sys
import time

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu.file_message import FileRecord

failures = []


def check(what, fn, expect_exception=False, expect_silence=False):
    try:
        rr = fn()
    except ModbusException as exc:
        if expect_silence:
            print(f"  {what:44s} no answer, as expected ({exc})", file=sys.stderr)
        else:
            print(f"  {what:44s} FAILED: {exc}", file=sys.stderr)
            failures.append(what)
        return None
    if rr is None:
        print(f"  {what:44s} sent (no answer expected)", file=sys.stderr)
    elif rr.isError() and not expect_exception:
        print(f"  {what:44s} FAILED: {rr}", file=sys.stderr)
        failures.append(what)
    elif rr.isError():
        print(f"  {what:44s} exception as expected: {rr}", file=sys.stderr)
    else:
        print(f"  {what:44s} ok {str(rr)[:80]}", file=sys.stderr)
    time.sleep(0.05)
    return rr


def diagnostics(client):
    d = 1
    check("FC03 read HR 0-3", lambda: client.read_holding_registers(0, count=4, device_id=d))
    check("FC08/00 return query data", lambda: client.diag_query_data(b"\xa5\x37", device_id=d))
    check("FC08/02 return diagnostic register", lambda: client.diag_read_diagnostic_register(device_id=d))
    check("FC08/10 clear counters", lambda: client.diag_clear_counters(device_id=d))
    check("FC08/04 force listen-only mode",
          lambda: client.diag_force_listen_only(device_id=d, no_response_expected=True))
    time.sleep(0.3)
    check("FC08/01 restart communications", lambda: client.diag_restart_communication(False, device_id=d))
    check("FC07 read exception status", lambda: client.read_exception_status(device_id=d))
    check("FC11 get comm event counter", lambda: client.diag_get_comm_event_counter(device_id=d))
    check("FC12 get comm event log", lambda: client.diag_get_comm_event_log(device_id=d))
    check("FC17 report server id", lambda: client.report_device_id(device_id=d))
    for code, name in ((1, "basic"), (2, "regular"), (3, "extended")):
        check(f"FC43/14 read device id ({name})",
              lambda c=code: client.read_device_information(read_code=c, object_id=0, device_id=d))
    check("FC43/14 read device id (object 4)",
          lambda: client.read_device_information(read_code=4, object_id=4, device_id=d))
    check("FC20 read file record (file 4, rec 1)",
          lambda: client.read_file_record([FileRecord(file_number=4, record_number=1, record_length=8)],
                                          device_id=d))
    check("FC21 write file record (file 4, rec 1)",
          lambda: client.write_file_record([FileRecord(file_number=4, record_number=1,
                                                       record_data=b"\x00\x01PATCHED!")], device_id=d))
    check("FC03 read HR 0-3", lambda: client.read_holding_registers(0, count=4, device_id=d))


def poll(client, polls, period):
    d = 1
    for n in range(polls):
        start = time.monotonic()
        for what, fn in (
            ("FC03 HR 0-9", lambda: client.read_holding_registers(0, count=10, device_id=d)),
            ("FC01 coils 0-15", lambda: client.read_coils(0, count=16, device_id=d)),
        ):
            rr = fn()
            if rr.isError():
                failures.append(what)
        if n % 6 == 0:
            for what, fn in (
                ("FC04 IR 0-7", lambda: client.read_input_registers(0, count=8, device_id=d)),
                ("FC02 DI 0-15", lambda: client.read_discrete_inputs(0, count=16, device_id=d)),
            ):
                rr = fn()
                if rr.isError():
                    failures.append(what)
        time.sleep(max(0.0, period - (time.monotonic() - start)))
    print(f"  {polls} poll cycles done", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["diagnostics", "poll"], required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=502)
    ap.add_argument("--polls", type=int, default=60)
    ap.add_argument("--period", type=float, default=0.2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    client = ModbusTcpClient(args.host, port=args.port, timeout=1, retries=0)
    if not client.connect():
        print(f"cannot connect to {args.host}:{args.port}", file=sys.stderr)
        return 1
    if args.mode == "diagnostics":
        diagnostics(client)
    else:
        poll(client, args.polls, args.period)
    client.close()
    print(f"pymodbus {args.mode} client done, {len(failures)} failure(s): {failures[:5]}", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
