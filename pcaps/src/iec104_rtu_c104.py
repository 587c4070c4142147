#!/usr/bin/env python3
"""IEC 60870-5-104 outstation (RTU) for make-captures.sh, on c104 (lib60870-C).

Two stations (common addresses 1 and 2) with monitoring points of every
common measured-value type and a few command points.  While --spontaneous
is on, the server changes some measurands every second and reports them
with cause "spontaneous" (3) to every client that has sent STARTDT.

Point map (IOA: type):

  CA 1   100, 101  M_SP_NA_1  single point (breaker 1 closed, breaker 2 closed)
         110       M_SP_TB_1  single point with CP56Time2a (protection trip)
         200, 201  M_DP_NA_1  double point (disconnector 1, 2)
         300, 301  M_ME_NA_1  normalised (voltage pu, current pu)
         310, 311  M_ME_NB_1  scaled (active power kW, reactive power kvar)
         320, 321  M_ME_NC_1  short float (frequency Hz, temperature C)
         330       M_ME_TF_1  short float with CP56Time2a (transformer load %)
         400, 401  M_IT_NA_1  integrated totals (energy import/export counters)
         1000      C_SC_NA_1  single command, select-before-operate (breaker 1)
         1001      C_SC_NA_1  single command, direct (breaker 2)
         1100      C_DC_NA_1  double command, direct (disconnector 1)
         1200      C_SE_NA_1  set-point normalised (voltage set-point)
         1201      C_SE_NB_1  set-point scaled (power limit)
         1202      C_SE_NC_1  set-point float (frequency set-point)
  CA 2   100       M_SP_NA_1  single point (feeder 2 breaker)
         300       M_ME_NC_1  short float (feeder 2 current A)
         310       M_ME_NB_1  scaled (feeder 2 power kW)
"""
import argparse
import datetime
import math
import signal
import sys
import threading
import time

import c104


def build(server):
    st1 = server.add_station(common_address=1)
    st2 = server.add_station(common_address=2)
    pts = {}

    def add(st, ioa, typ, value=None, **kw):
        p = st.add_point(io_address=ioa, type=typ, **kw)
        if p is None:
            sys.exit(f"cannot add IOA {ioa} {typ}")
        if value is not None:
            p.value = value
        pts[(st.common_address, ioa)] = p
        return p

    T = c104.Type
    add(st1, 100, T.M_SP_NA_1, True)
    add(st1, 101, T.M_SP_NA_1, True)
    add(st1, 110, T.M_SP_TB_1, False)
    add(st1, 200, T.M_DP_NA_1, c104.Double.ON)
    add(st1, 201, T.M_DP_NA_1, c104.Double.OFF)
    add(st1, 300, T.M_ME_NA_1, c104.NormalizedFloat(0.5))
    add(st1, 301, T.M_ME_NA_1, c104.NormalizedFloat(-0.25))
    add(st1, 310, T.M_ME_NB_1, c104.Int16(1250))
    add(st1, 311, T.M_ME_NB_1, c104.Int16(-320))
    add(st1, 320, T.M_ME_NC_1, 50.0)
    add(st1, 321, T.M_ME_NC_1, 21.5)
    add(st1, 330, T.M_ME_TF_1, 63.0)
    for ioa, v in ((400, 123456), (401, 654)):
        p = add(st1, ioa, T.M_IT_NA_1)
        p.value = v

    def on_command(point: c104.Point, previous_info: c104.Information,
                   message: c104.IncomingMessage) -> c104.ResponseState:
        print(f"command CA {point.station.common_address} IOA {point.io_address} {point.type} "
              f"cot {message.cot} value {point.value}", flush=True)
        return c104.ResponseState.SUCCESS

    for ioa, typ, mode in ((1000, T.C_SC_NA_1, c104.CommandMode.SELECT_AND_EXECUTE),
                           (1001, T.C_SC_NA_1, c104.CommandMode.DIRECT),
                           (1100, T.C_DC_NA_1, c104.CommandMode.DIRECT),
                           (1200, T.C_SE_NA_1, c104.CommandMode.DIRECT),
                           (1201, T.C_SE_NB_1, c104.CommandMode.DIRECT),
                           (1202, T.C_SE_NC_1, c104.CommandMode.DIRECT)):
        p = add(st1, ioa, typ, command_mode=mode)
        p.on_receive(callable=on_command)

    add(st2, 100, T.M_SP_NA_1, True)
    add(st2, 300, T.M_ME_NC_1, 182.5)
    add(st2, 310, T.M_ME_NB_1, c104.Int16(880))
    return pts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=2404)
    ap.add_argument("--spontaneous", type=float, default=1.0,
                    help="seconds between spontaneous measurand changes (0: none)")
    ap.add_argument("--quiet", type=float, default=2.5,
                    help="seconds from the first connection to the first spontaneous change")
    args = ap.parse_args()

    server = c104.Server(ip=args.host, port=args.port, tick_rate_ms=100,
                         select_timeout_ms=5000, max_connections=4)
    pts = build(server)

    def on_clock_sync(server: c104.Server, ip: str, date_time: datetime.datetime) -> c104.ResponseState:
        print(f"clock sync from {ip}: {date_time}", flush=True)
        return c104.ResponseState.SUCCESS

    server.on_clock_sync(callable=on_clock_sync)
    server.start()
    print(f"listening on {args.host}:{args.port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # Deterministic process: tick n drives the measurands along fixed curves. The first
    # change comes --quiet seconds after a client connected, so that the master's start-up
    # (STARTDT, interrogations) is not interleaved with spontaneous data.
    n = 0
    first_active = None
    while not stop.wait(0.1):
        if args.spontaneous <= 0 or not server.has_active_connections:
            continue
        now = time.monotonic()
        if first_active is None:
            first_active = now
            next_tick = now + args.quiet
        if now < next_tick:
            continue
        next_tick += args.spontaneous
        n += 1
        p = pts[(1, 320)]
        p.value = 50.0 + 0.02 * math.sin(n)
        p.transmit(cause=c104.Cot.SPONTANEOUS)
        p = pts[(1, 310)]
        p.value = c104.Int16(1250 + 10 * n)
        p.transmit(cause=c104.Cot.SPONTANEOUS)
        if n % 3 == 0:
            p = pts[(1, 330)]
            p.value = 63.0 + n
            p.transmit(cause=c104.Cot.SPONTANEOUS)
        if n % 4 == 0:
            p = pts[(1, 110)]
            p.value = not p.value
            p.transmit(cause=c104.Cot.SPONTANEOUS)
        if n % 5 == 0:
            p = pts[(2, 300)]
            p.value = 182.5 + n
            p.transmit(cause=c104.Cot.SPONTANEOUS)
    server.stop()


if __name__ == "__main__":
    main()
