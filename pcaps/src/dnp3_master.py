#!/usr/bin/env python3
"""DNP3 master built on yadnp3 (opendnp3 fork) for make-captures.sh.

usage: dnp3_master.py [--transport tcp|udp] [--host H] [--port P] [--local-port P]

Master address 1, outstation address 10.  After the startup sequence
(disable unsolicited, integrity poll class 1/2/3/0, enable unsolicited,
after which the outstation's changes arrive as unsolicited responses) it
runs: integrity poll; disable unsolicited; event poll (class 1/2/3), each
class on its own, class 0, a range scan (g30v1 0-4) and an all-objects scan
(g1v2); CROB direct operate (latch on) and select/operate (pulse on);
analog output direct operate (int16) and select/operate (float32); event
poll; link status check; cold restart; enable unsolicited (unsolicited
responses again); a final integrity poll.  Then it shuts the channel down.
"""
import argparse
import sys
import threading
import time

import opendnp3 as o

OUTSTATION_ADDR = 10
MASTER_ADDR = 1


class SOE(o.ISOEHandler):
    def __init__(self):
        super().__init__()
        self.count = 0
        self.lock = threading.Lock()

    def BeginFragment(self, info):
        pass

    def EndFragment(self, info):
        pass

    def Process(self, info, values):
        with self.lock:
            self.count += len(values)


class App(o.IMasterApplication):
    def __init__(self):
        super().__init__()

    def OnReceiveIIN(self, iin):
        pass

    def OnTaskStart(self, type_, id_):
        pass

    def OnTaskComplete(self, info):
        pass

    def OnOpen(self):
        pass

    def OnClose(self):
        pass

    def AssignClassDuringStartup(self):
        return False

    def Now(self):
        return o.UTCTimestamp(int(time.time() * 1000))


failures = []
EVENT_CLASSES = [o.Header.AllObjects(60, 2), o.Header.AllObjects(60, 3), o.Header.AllObjects(60, 4)]


def run_command(what, fn):
    done = threading.Event()
    result = {}

    def callback(res):
        result["summary"] = res.summary if hasattr(res, "summary") else res
        done.set()

    fn(callback)
    if not done.wait(5.0):
        print(f"  {what:36s} TIMEOUT", file=sys.stderr)
        failures.append(what)
        return
    print(f"  {what:36s} {result['summary']}", file=sys.stderr)
    time.sleep(0.3)


def scan(what, fn, wait=0.4):
    fn()
    print(f"  {what:36s} issued", file=sys.stderr)
    time.sleep(wait)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transport", choices=["tcp", "udp"], default="tcp")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=20000, help="outstation port")
    ap.add_argument("--local-port", type=int, default=20001, help="UDP only: the master's own port")
    args = ap.parse_args()

    manager = o.DNP3Manager(1)
    retry = o.ChannelRetry(o.TimeDuration.Milliseconds(500), o.TimeDuration.Seconds(2))
    if args.transport == "tcp":
        channel = manager.AddTCPClient(
            "client", o.levels.NOTHING, retry,
            [o.IPEndpoint(args.host, args.port)], "127.0.0.1", None)
    else:
        channel = manager.AddUDPChannel(
            "udp", o.levels.NOTHING, retry,
            o.IPEndpoint(args.host, args.local_port), o.IPEndpoint(args.host, args.port), None)

    config = o.MasterStackConfig()
    config.master.disableUnsolOnStartup = True
    config.master.responseTimeout = o.TimeDuration.Seconds(2)
    config.link.LocalAddr = MASTER_ADDR
    config.link.RemoteAddr = OUTSTATION_ADDR
    soe = SOE()
    app = App()
    master = channel.AddMaster("master", soe, app, config)
    master.Enable()
    print(f"dnp3 master ({args.transport}) -> {args.host}:{args.port}", file=sys.stderr)
    time.sleep(2.0)  # startup: disable unsol, integrity poll, enable unsol

    scan("integrity poll (class 1230)", lambda: master.ScanClasses(o.ClassField.AllClasses(), soe))
    # While unsolicited reporting is on, the outstation's changes go out as
    # unsolicited responses; turn it off so that events pile up for polls.
    scan("disable unsolicited (class 123)", lambda: master.PerformFunction(
        "disable unsol", o.FunctionCode.DISABLE_UNSOLICITED, EVENT_CLASSES))
    time.sleep(1.0)
    scan("event poll (class 123)", lambda: master.ScanClasses(o.ClassField.AllEventClasses(), soe))
    time.sleep(0.8)
    scan("class 1 poll", lambda: master.ScanClasses(o.ClassField(False, True, False, False), soe))
    scan("class 2 poll", lambda: master.ScanClasses(o.ClassField(False, False, True, False), soe))
    scan("class 3 poll", lambda: master.ScanClasses(o.ClassField(False, False, False, True), soe))
    scan("class 0 poll", lambda: master.ScanClasses(o.ClassField(True, False, False, False), soe))
    scan("range scan g30v1 0-4", lambda: master.ScanRange(o.GroupVariationID(30, 1), 0, 4, soe))
    scan("all-objects scan g1v2", lambda: master.ScanAllObjects(o.GroupVariationID(1, 2), soe))

    run_command("CROB direct operate latch-on #0",
                lambda cb: master.DirectOperate(o.ControlRelayOutputBlock(o.OperationType.LATCH_ON), 0, cb))
    run_command("CROB select/operate pulse-on #1",
                lambda cb: master.SelectAndOperate(
                    o.ControlRelayOutputBlock(o.OperationType.PULSE_ON, onTime=250, offTime=250), 1, cb))
    run_command("AO int16 direct operate #0",
                lambda cb: master.DirectOperate(o.AnalogOutputInt16(1234), 0, cb))
    run_command("AO float32 select/operate #1",
                lambda cb: master.SelectAndOperate(o.AnalogOutputFloat32(42.5), 1, cb))
    scan("event poll (class 123)", lambda: master.ScanClasses(o.ClassField.AllEventClasses(), soe))
    run_command("link status check", lambda cb: master.CheckLinkStatus(cb))
    run_command("cold restart", lambda cb: master.Restart(o.RestartType.COLD, cb))

    scan("enable unsolicited (class 123)", lambda: master.PerformFunction(
        "enable unsol", o.FunctionCode.ENABLE_UNSOLICITED, EVENT_CLASSES))
    time.sleep(1.5)  # outstation changes arrive as unsolicited responses again
    scan("integrity poll (class 1230)", lambda: master.ScanClasses(o.ClassField.AllClasses(), soe), wait=0.6)

    print(f"  measurements received: {soe.count}", file=sys.stderr)
    master.Disable()
    time.sleep(0.3)
    channel.Shutdown()
    manager.Shutdown()
    print(f"dnp3 master done, {len(failures)} failure(s): {failures}", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
