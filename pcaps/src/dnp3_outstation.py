#!/usr/bin/env python3
"""DNP3 outstation built on yadnp3 (opendnp3 fork) for make-captures.sh.

usage: dnp3_outstation.py [--transport tcp|udp] [--host H] [--port P]
                          [--master-port P] [--updates N] [--period S]
                          [--warm-restart] [--need-time]

Outstation address 10, master address 1.  Ten points of each type (but no
time-and-interval points), all
event-producing points in class 1 (opendnp3 default).  Unsolicited
responses are allowed (the master enables them after its startup
integrity poll).  Every --period seconds, for --updates rounds, it changes
some binaries, analogs and counters, which creates events that go out
unsolicited or in the master's event polls.  Accepted controls (CROB,
analog output) are echoed into the binary/analog output status points.
It answers a cold restart with a coarse 5 s delay (g52v1) and does not
restart; with --warm-restart it also accepts warm restarts (fine delay,
g52v2).  With --need-time it asks for the time (IIN1.4 NEED_TIME) until a
master writes it.  Runs until SIGTERM/SIGINT.
"""
import argparse
import signal
import sys
import threading
import time

import opendnp3 as o

OUTSTATION_ADDR = 10
MASTER_ADDR = 1


class CommandHandler(o.ICommandHandler):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.pending = []

    def Begin(self):
        pass

    def End(self):
        pass

    def Select(self, command, index):
        print(f"select {type(command).__name__} index {index}", flush=True)
        return o.CommandStatus.SUCCESS

    def Operate(self, command, index, handler, op_type):
        print(f"operate {type(command).__name__} index {index} ({op_type})", flush=True)
        with self.lock:
            if isinstance(command, o.ControlRelayOutputBlock):
                on = command.opType in (o.OperationType.LATCH_ON, o.OperationType.PULSE_ON)
                self.pending.append((o.BinaryOutputStatus(on), index))
            else:
                self.pending.append((o.AnalogOutputStatus(float(command.value)), index))
        return o.CommandStatus.SUCCESS

    def take(self):
        with self.lock:
            out, self.pending = self.pending, []
        return out


class App(o.IOutstationApplication):
    def __init__(self, warm_restart=False, need_time=False):
        super().__init__()
        self.warm_restart = warm_restart
        self.need_time = need_time

    def SupportsWriteAbsoluteTime(self):
        return True

    def WriteAbsoluteTime(self, timestamp):
        print("master wrote absolute time", flush=True)
        self.need_time = False
        return True

    def SupportsAssignClass(self):
        return False

    def GetApplicationIIN(self):
        iin = o.ApplicationIIN()
        iin.needTime = self.need_time
        return iin

    def ColdRestartSupport(self):
        return o.RestartMode.SUPPORTED_DELAY_COARSE

    def WarmRestartSupport(self):
        return o.RestartMode.SUPPORTED_DELAY_FINE if self.warm_restart else o.RestartMode.UNSUPPORTED

    def ColdRestart(self):
        print("cold restart requested (answering delay 5 s, not restarting)", flush=True)
        return 5

    def WarmRestart(self):
        print("warm restart requested (answering delay 250 ms, not restarting)", flush=True)
        return 250

    def Now(self):
        return o.DNPTime(int(time.time() * 1000))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transport", choices=["tcp", "udp"], default="tcp")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=20000)
    ap.add_argument("--master-port", type=int, default=20001, help="UDP only: the master's port")
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--period", type=float, default=0.7)
    ap.add_argument("--warm-restart", action="store_true", help="accept warm restarts")
    ap.add_argument("--need-time", action="store_true", help="set NEED_TIME until the master writes the time")
    args = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    manager = o.DNP3Manager(1)
    if args.transport == "tcp":
        channel = manager.AddTCPServer(
            "server", o.levels.NOTHING, o.ServerAcceptMode.CloseExisting,
            o.IPEndpoint(args.host, args.port), None)
    else:
        channel = manager.AddUDPChannel(
            "udp", o.levels.NOTHING, o.ChannelRetry.Default(),
            o.IPEndpoint(args.host, args.port), o.IPEndpoint(args.host, args.master_port), None)

    db = o.DatabaseConfig(10)
    # No time-and-interval (g50v4) points: Wireshark 4.0's DNP3 dissector does
    # not know that object and flags every static response as malformed.
    db.time_and_interval = {}
    config = o.OutstationStackConfig(db)
    config.outstation.params.allowUnsolicited = True
    # opendnp3's default event buffers hold nothing, i.e. no events at all.
    config.outstation.eventBufferConfig = o.EventBufferConfig.AllTypes(100)
    config.link.LocalAddr = OUTSTATION_ADDR
    config.link.RemoteAddr = MASTER_ADDR
    handler = CommandHandler()
    app = App(warm_restart=args.warm_restart, need_time=args.need_time)
    outstation = channel.AddOutstation("outstation", handler, app, config)

    # Initial values for the static (class 0) data.
    b = o.UpdateBuilder()
    for i in range(10):
        b.Update(o.Binary(i % 2 == 0), i)
        b.Update(o.Analog(10.0 * i), i)
        b.Update(o.Counter(100 * i), i)
    outstation.Apply(b.Build())
    outstation.Enable()
    print(f"dnp3 outstation ({args.transport}) on {args.host}:{args.port}", flush=True)

    rounds = 0
    next_update = time.monotonic() + 1.5
    while not stop.is_set():
        echoed = handler.take()
        if echoed:
            eb = o.UpdateBuilder()
            for value, index in echoed:
                eb.Update(value, index)
            outstation.Apply(eb.Build())
        if rounds < args.updates and time.monotonic() >= next_update:
            rounds += 1
            ub = o.UpdateBuilder()
            ub.Update(o.Binary(rounds % 2 == 1), 0)
            ub.Update(o.Analog(10.0 + rounds * 1.5), 1)
            ub.Update(o.Counter(1000 + rounds), 2)
            outstation.Apply(ub.Build())
            print(f"update round {rounds}", flush=True)
            next_update = time.monotonic() + args.period
        stop.wait(0.05)

    outstation.Disable()
    channel.Shutdown()
    manager.Shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
