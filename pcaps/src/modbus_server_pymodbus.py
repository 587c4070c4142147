#!/usr/bin/env python3
"""Modbus/TCP server built on pymodbus 3.x (used by make-captures.sh).

usage: modbus_server_pymodbus.py [--host H] [--port P] [--broadcast]

Serves unit ids 1 and 2 (100 coils, discrete inputs, holding and input
registers each); other unit ids get pymodbus's own reply for a missing
device.  With --broadcast, unit id 0 is a broadcast: the request is carried
out on every unit and not answered.  Answers read device identification
(FC43/14) from a small identity.  Runs until SIGTERM/SIGINT.
"""
import argparse
import asyncio
import logging
import signal

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer


def make_device(base):
    return ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [i % 3 == 0 for i in range(100)]),
        di=ModbusSequentialDataBlock(1, [i % 2 == 0 for i in range(100)]),
        hr=ModbusSequentialDataBlock(1, [base + i * 10 for i in range(100)]),
        ir=ModbusSequentialDataBlock(1, [base + 1000 + i for i in range(100)]),
    )


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5020)
    ap.add_argument("--broadcast", action="store_true", help="treat unit id 0 as broadcast")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    context = ModbusServerContext(devices={1: make_device(0), 2: make_device(5000)})
    identity = ModbusDeviceIdentification(
        info_name={
            "VendorName": "icsight-test",
            "ProductCode": "PM",
            "VendorUrl": "http://localhost/",
            "ProductName": "pymodbus test server",
            "ModelName": "capture-fixture",
        }
    )
    server = ModbusTcpServer(context, identity=identity, address=(args.host, args.port),
                             broadcast_enable=args.broadcast)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.serve_forever(background=True)
    print(f"pymodbus server listening on {args.host}:{args.port}", flush=True)
    await stop.wait()
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
