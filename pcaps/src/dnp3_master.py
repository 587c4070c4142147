#!/usr/bin/env python3
"""DNP3 master built on yadnp3 (opendnp3 fork) for make-captures.sh.

usage: dnp3_master.py [--transport tcp|udp] [--host H] [--port P] [--local-port P]
                      [--scenario reference|attack|poll] [--polls N] [--period S]

Master address 1, outstation address 10.

reference (default): after the startup sequence (disable unsolicited,
integrity poll class 1/2/3/0, enable unsolicited, after which the
outstation's changes arrive as unsolicited responses) it runs: integrity
poll; disable unsolicited; event poll (class 1/2/3), each class on its own,
class 0, a range scan (g30v1 0-4) and an all-objects scan (g1v2); CROB
direct operate (latch on) and select/operate (pulse on); analog output
direct operate (int16) and select/operate (float32); event poll; link status
check; cold restart; enable unsolicited (unsolicited responses again); a
final integrity poll.

attack: the master also synchronises the time (non-LAN: delay measurement,
then a write of g50v1) when the outstation asks for it, and clears the
outstation's restart indication (write g80v1) during startup.  Then:
disable unsolicited; CROB select/operate (pulse on); six CROB direct
operates in a row (latch on/off); CROB direct operate without
acknowledgement (function 6: the master library sends the g12v1 object as
raw bytes given here, through its PerformFunction API); analog output
direct operate (g41v2, g41v1) and select/operate (g41v3); analog input
dead-band write (g34); assign class; immediate freeze and freeze-and-clear
of the counters; initialize data; stop application; initialize application;
start application; activate configuration; delete file; warm restart; cold
restart; event poll.

poll: an ordinary polling master: startup (integrity poll, enable
unsolicited; the restart indication is left alone and no time is written),
then a class 1/2/3 event poll every --period seconds, --polls times.

Then it shuts the channel down.
"""
import argparse
import struct
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


def reference(master, soe, args):
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


def crob_raw(index, code, on_ms=1000, off_ms=1000):
    """g12v1 (CROB), qualifier 0x28 (16-bit count and index), one object."""
    return bytes([12, 1, 0x28]) + struct.pack("<HHBBIIB", 1, index, code, 1, on_ms, off_ms, 0)


def attack(master, soe, args):
    scan("disable unsolicited (class 123)", lambda: master.PerformFunction(
        "disable unsol", o.FunctionCode.DISABLE_UNSOLICITED, EVENT_CLASSES))
    run_command("CROB select/operate pulse-on #1",
                lambda cb: master.SelectAndOperate(
                    o.ControlRelayOutputBlock(o.OperationType.PULSE_ON, onTime=250, offTime=250), 1, cb))
    for i in range(6):
        op = o.OperationType.LATCH_ON if i % 2 == 0 else o.OperationType.LATCH_OFF
        run_command(f"CROB direct operate {op.name} #0",
                    lambda cb, op=op: master.DirectOperate(o.ControlRelayOutputBlock(op), 0, cb))
    scan("CROB direct operate no ack #2", lambda: master.PerformFunction(
        "direct operate nr", o.FunctionCode.DIRECT_OPERATE_NR, [o.Header.Raw(crob_raw(2, 0x03))]))
    run_command("AO int16 direct operate #0",
                lambda cb: master.DirectOperate(o.AnalogOutputInt16(32767), 0, cb))
    run_command("AO int32 direct operate #2",
                lambda cb: master.DirectOperate(o.AnalogOutputInt32(-100000), 2, cb))
    run_command("AO float32 select/operate #1",
                lambda cb: master.SelectAndOperate(o.AnalogOutputFloat32(9999.5), 1, cb))
    run_command("write analog dead-bands #0,#1",
                lambda cb: master.WriteDeadBands(
                    [o.IndexedAnalogInputDeadband(o.AnalogInputDeadband(1000.0), 0),
                     o.IndexedAnalogInputDeadband(o.AnalogInputDeadband(1000.0), 1)], cb))
    scan("assign class 3 to analog inputs", lambda: master.PerformFunction(
        "assign class", o.FunctionCode.ASSIGN_CLASS, [o.Header.AllObjects(60, 4), o.Header.AllObjects(30, 0)]))
    scan("immediate freeze counters", lambda: master.Freeze(
        o.FreezeType.ImmediateFreeze, [o.Header.AllObjects(20, 0)]))
    scan("freeze and clear counters", lambda: master.Freeze(
        o.FreezeType.FreezeAndClear, [o.Header.AllObjects(20, 0)]))
    for name, fc in (("initialize data", o.FunctionCode.INITIALIZE_DATA),
                     ("stop application", o.FunctionCode.STOP_APPLICATION),
                     ("initialize application", o.FunctionCode.INITIALIZE_APPLICATION),
                     ("start application", o.FunctionCode.START_APPLICATION),
                     ("activate configuration", o.FunctionCode.ACTIVATE_CONFIG)):
        scan(name, lambda name=name, fc=fc: master.PerformFunction(name, fc, []))
    run_command("delete file /plc/logic.bin", lambda cb: master.DeleteFile("/plc/logic.bin", cb))
    run_command("warm restart", lambda cb: master.Restart(o.RestartType.WARM, cb))
    run_command("cold restart", lambda cb: master.Restart(o.RestartType.COLD, cb))
    scan("event poll (class 123)", lambda: master.ScanClasses(o.ClassField.AllEventClasses(), soe), wait=0.6)


def poll(master, soe, args):
    for _ in range(args.polls):
        start = time.monotonic()
        master.ScanClasses(o.ClassField.AllEventClasses(), soe)
        time.sleep(max(0.0, args.period - (time.monotonic() - start)))
    print(f"  {args.polls} event polls issued", file=sys.stderr)
    time.sleep(0.5)


SCENARIOS = {"reference": reference, "attack": attack, "poll": poll}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transport", choices=["tcp", "udp"], default="tcp")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=20000, help="outstation port")
    ap.add_argument("--local-port", type=int, default=20001, help="UDP only: the master's own port")
    ap.add_argument("--scenario", choices=["reference", "attack", "poll"], default="reference")
    ap.add_argument("--polls", type=int, default=40, help="poll: number of event polls")
    ap.add_argument("--period", type=float, default=0.5, help="poll: seconds between event polls")
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
    config.master.disableUnsolOnStartup = args.scenario != "poll"
    if args.scenario == "attack":
        config.master.timeSyncMode = o.TimeSyncMode.NonLAN
    if args.scenario == "poll":
        config.master.ignoreRestartIIN = True
    config.master.responseTimeout = o.TimeDuration.Seconds(2)
    config.link.LocalAddr = MASTER_ADDR
    config.link.RemoteAddr = OUTSTATION_ADDR
    soe = SOE()
    app = App()
    master = channel.AddMaster("master", soe, app, config)
    master.Enable()
    print(f"dnp3 master ({args.transport}, {args.scenario}) -> {args.host}:{args.port}", file=sys.stderr)

    time.sleep(2.0)  # startup: (disable unsol,) integrity poll, (enable unsol)
    SCENARIOS[args.scenario](master, soe, args)

    print(f"  measurements received: {soe.count}", file=sys.stderr)
    master.Disable()
    time.sleep(0.3)
    channel.Shutdown()
    manager.Shutdown()
    print(f"dnp3 master done, {len(failures)} failure(s): {failures}", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
