#!/usr/bin/env python3
"""Modbus/TCP PLC of a simulated tank process, on pymodbus 3.x (used by
make-captures.sh for the baseline captures).

usage: plant_modbus_plc.py [--host H] [--port P] [--seed N]

Unit id 1 (pymodbus SimDevice, separate blocks):

  holding registers 0-999 (0-9 used, the rest read as 0)
    HR0 tank level            400-600   (follows the setpoint HR5)
    HR1 temperature           200-260   (held around HR6 by the heater)
    HR2 flow                  100-150
    HR3 pressure              300-350
    HR4 pump speed %           40-80
    HR5 level setpoint        450-550   (initially 500; written by the HMI)
    HR6 temperature setpoint  230
    HR7 high level alarm      580
    HR8 low level alarm       420
    HR9 status word           1 (running)
  coils 0-63 (0-7 used): 0 pump 1 running, 1 pump 2 (on below setpoint-15,
    off above setpoint+15), 2 inlet valve (with pump 2), 3 outlet valve,
    4 heater (on below 225, off above 235), 5 high level alarm, 6 low level
    alarm, 7 auto mode
  discrete inputs 0-15: 0 power ok, 1 door closed, 2 e-stop released
  input registers 100-104: level x10, temperature x10, flow x10,
    pressure x10 (raw analog inputs), motor current 50-70

Every second the process moves by a small random step and stays inside
those envelopes.  A register or coil that a client writes and that the
simulation drives (HR0-4, coils 0-7) keeps the written value from then on
(the program no longer overwrites it), so what was written is what later
reads return.  Read device identification (FC43/14) is answered from a
fixed identity.  Runs until SIGTERM/SIGINT.
"""
import argparse
import asyncio
import logging
import os
import random
import signal
import sys

from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

HR_SIZE = 1000
COILS = 64
IR_BASE = 100


class Tank:
    """The process behind the registers."""

    def __init__(self, rng):
        self.rng = rng
        self.setpoint = 500
        self.temp_setpoint = 230
        self.level = rng.uniform(480.0, 520.0)
        self.temp = rng.uniform(222.0, 238.0)
        self.flow = rng.uniform(115.0, 135.0)
        self.pressure = rng.uniform(315.0, 335.0)
        self.speed = rng.uniform(55.0, 65.0)
        self.current = rng.uniform(57.0, 63.0)
        self.pump2 = self.level < self.setpoint
        self.heater = self.temp < self.temp_setpoint
        self.forced_hr = {}  # address -> value written by a client
        self.forced_coils = {}

    @staticmethod
    def clamp(v, lo, hi):
        return max(lo, min(hi, v))

    def step(self):
        r = self.rng
        self.level = self.clamp(self.level + 0.15 * (self.setpoint - self.level) + r.gauss(0, 2.5), 401, 599)
        self.temp = self.clamp(self.temp + (0.9 if self.heater else -0.9) + r.gauss(0, 0.6), 201, 259)
        self.flow = self.clamp(self.flow + 0.1 * (125 - self.flow) + r.gauss(0, 1.5), 101, 149)
        self.pressure = self.clamp(self.pressure + 0.1 * (325 - self.pressure) + r.gauss(0, 1.5), 301, 349)
        self.speed = self.clamp(self.speed + 0.1 * (60 - self.speed) + r.gauss(0, 1.2), 41, 79)
        self.current = self.clamp(self.current + 0.2 * (60 - self.current) + r.gauss(0, 0.8), 51, 69)
        if self.level < self.setpoint - 15:
            self.pump2 = True
        elif self.level > self.setpoint + 15:
            self.pump2 = False
        if self.temp < self.temp_setpoint - 5:
            self.heater = True
        elif self.temp > self.temp_setpoint + 5:
            self.heater = False

    def holding(self):
        regs = [round(self.level), round(self.temp), round(self.flow), round(self.pressure),
                round(self.speed), self.setpoint, self.temp_setpoint, 580, 420, 1]
        for addr, value in self.forced_hr.items():
            regs[addr] = value
        return regs

    def coils(self):
        bits = [True, self.pump2, self.pump2, True, self.heater,
                self.level > 580, self.level < 420, True] + [False] * 8
        for addr, value in self.forced_coils.items():
            if addr < len(bits):
                bits[addr] = value
        return bits

    def inputs(self):
        return [round(self.level * 10), round(self.temp * 10), round(self.flow * 10),
                round(self.pressure * 10), round(self.current)]


def pack_bits(bits):
    word = 0
    for i, bit in enumerate(bits):
        if bit:
            word |= 1 << i
    return word


def make_device(tank):
    async def action(func_code, start_address, address, count, registers, set_values):
        # Called before every access to a block; `registers` is that block.
        if set_values is not None:
            if func_code in (6, 16, 22, 23):
                for i, value in enumerate(set_values):
                    addr = address + i
                    if addr == 5:
                        tank.setpoint = int(value)
                    elif addr < 5:
                        tank.forced_hr[addr] = int(value)
            elif func_code in (5, 15):
                for i, value in enumerate(set_values):
                    if address + i < 8:
                        tank.forced_coils[address + i] = bool(value)
            return None
        if func_code == 3:
            for i, value in enumerate(tank.holding()):
                registers[i - start_address] = value
        elif func_code == 1:
            registers[0 - start_address] = pack_bits(tank.coils())
        elif func_code == 4:
            for i, value in enumerate(tank.inputs()):
                registers[IR_BASE + i - start_address] = value
        return None

    return SimDevice(
        id=1,
        simdata=(
            [SimData(0, values=tank.coils() + [False] * (COILS - 16), datatype=DataType.BITS)],
            [SimData(0, values=[True, True, True] + [False] * 13, datatype=DataType.BITS)],
            [SimData(0, values=tank.holding(), datatype=DataType.REGISTERS),
             SimData(10, count=HR_SIZE - 10, values=0, datatype=DataType.REGISTERS)],
            [SimData(IR_BASE, values=tank.inputs(), datatype=DataType.REGISTERS)],
        ),
        action=action,
    )


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=502)
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from os.urandom)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    tank = Tank(random.Random(seed))
    identity = ModbusDeviceIdentification(
        info_name={
            "VendorName": "icsight-plant",
            "ProductCode": "TFC-200",
            "MajorMinorRevision": "2.4.1",
            "VendorUrl": "http://plc-tank.plant.local/",
            "ProductName": "Tank farm controller",
            "ModelName": "TFC-200 simulated PLC",
            "UserApplicationName": "tank 1 level and temperature",
        }
    )
    server = ModbusTcpServer(make_device(tank), identity=identity, address=(args.host, args.port))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.serve_forever(background=True)
    print(f"modbus PLC (pymodbus) listening on {args.host}:{args.port}, seed {seed}", flush=True)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            tank.step()
    print(f"final HR0-9 {tank.holding()}, forced HR {tank.forced_hr}, coils {tank.forced_coils}", flush=True)
    await server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
