#!/usr/bin/env python3
"""IEC 60870-5-104 controlling station (master) for make-captures.sh.

Every APDU it sends is built with scapy's IEC 104 layer
(scapy.contrib.scada.iec104), independent of the outstation's lib60870-C;
received APDUs are split from the TCP stream by their start byte and length
and decoded with the same layer for the log.  The master keeps the send and
receive sequence numbers itself, acknowledges I-frames with S-frames (at
latest every 8 I-frames, k=12/w=8 as in the standard's defaults) and answers
TESTFR act.

Modes:
  normal    STARTDT, TESTFR, general interrogation of CA 1 and CA 2, counter
            interrogation of CA 1, --listen seconds of spontaneous data (one
            TESTFR in the middle), a last general interrogation, STOPDT
  scada     STARTDT, general interrogation, one single command (direct, IOA
            1001 on), then a general interrogation every --period seconds for
            --duration seconds, STOPDT
  intruder  the attack steps below, --gap seconds apart, after --delay s
"""
import argparse
import datetime
import socket
import sys
import time

from scapy.contrib.scada import iec104 as s104

COT_NAMES = {1: "per/cyc", 2: "back", 3: "spont", 4: "init", 5: "req", 6: "act", 7: "actcon",
             8: "deact", 9: "deactcon", 10: "actterm", 11: "retrem", 12: "retloc", 20: "inrogen",
             37: "reqcogen", 44: "unknown type", 45: "unknown cot", 46: "unknown CA",
             47: "unknown IOA"}


def cp56(now=None):
    """CP56Time2a fields (scapy names) for a UTC datetime."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return dict(sec_milli=now.second * 1000 + now.microsecond // 1000, minutes=now.minute,
                hours=now.hour, weekday=now.isoweekday(), day_of_month=now.day,
                month=now.month, year=now.year % 100)


class Master:
    W = 8  # acknowledge at latest after this many I-frames

    def __init__(self, host, port, source, log):
        self.log = log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        self.vs = 0       # next send sequence number
        self.vr = 0       # next expected receive sequence number
        self.unacked = 0  # I-frames received since our last acknowledgement
        self.t0 = time.monotonic()
        self.say(f"connected {self.sock.getsockname()} -> {host}:{port}")

    def say(self, msg):
        print(f"[{time.monotonic() - self.t0:7.3f}] {msg}", file=self.log, flush=True)

    # -- sending -------------------------------------------------------------
    def send_u(self, **flag):
        self.sock.sendall(bytes(s104.IEC104_U_Message(**flag)))
        self.say(f"-> U {' '.join(flag)}")

    def send_s(self):
        self.sock.sendall(bytes(s104.IEC104_S_Message(rx_seq_num=self.vr)))
        self.unacked = 0
        self.say(f"-> S N(R)={self.vr}")

    def send_i(self, ca, cot, io, test=0, negative=0):
        pkt = s104.IEC104_I_Message_SingleIOA(tx_seq_num=self.vs, rx_seq_num=self.vr, cot=cot,
                                              common_asdu_address=ca, origin_address=0,
                                              test=test, ack=negative, io=[io])
        self.sock.sendall(bytes(pkt))
        self.say(f"-> I N(S)={self.vs} {io.name} CA {ca} IOA {io.information_object_address} "
                 f"cot {cot}({COT_NAMES.get(cot, '?')})")
        self.vs = (self.vs + 1) % 32768
        self.unacked = 0  # an I-frame carries N(R) too

    # -- receiving -----------------------------------------------------------
    def _frames(self, timeout):
        """Yield received APDUs until timeout seconds pass without one."""
        self.sock.settimeout(timeout)
        while True:
            while len(self.buf) >= 2 and len(self.buf) >= self.buf[1] + 2:
                if self.buf[0] != 0x68:
                    raise RuntimeError(f"bad start byte {self.buf[0]:#x}")
                n = self.buf[1] + 2
                frame, self.buf = self.buf[:n], self.buf[n:]
                yield frame
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return
            if not data:
                raise RuntimeError("connection closed by the outstation")
            self.buf += data

    def _handle(self, frame):
        """Process one APDU; returns (type_id, cot, negative, ca) for I-frames, else None."""
        c1 = frame[2]
        if c1 & 0x01 == 0:  # I-format
            ns = (frame[2] | frame[3] << 8) >> 1
            if ns != self.vr:
                raise RuntimeError(f"sequence error: N(S)={ns}, expected {self.vr}")
            self.vr = (self.vr + 1) % 32768
            self.unacked += 1
            type_id, vsq, cot_b, ca = frame[6], frame[7], frame[8], frame[10] | frame[11] << 8
            try:
                desc = s104.iec104_decode(frame).summary()
            except Exception:  # decoding is for the log only
                desc = "?"
            cot = cot_b & 0x3F
            neg = bool(cot_b & 0x40)
            self.say(f"<- I N(S)={ns} type {type_id} n={vsq & 0x7F} CA {ca} "
                     f"cot {cot}({COT_NAMES.get(cot, '?')}){' P/N=1' if neg else ''}  {desc}")
            if self.unacked >= self.W:
                self.send_s()
            return type_id, cot, neg, ca
        if c1 & 0x03 == 0x01:
            self.say(f"<- S N(R)={(frame[4] | frame[5] << 8) >> 1}")
            return None
        if c1 & 0x43 == 0x43:  # TESTFR act from the outstation
            self.say("<- U testfr_act")
            self.send_u(testfr_con=1)
            return None
        names = {0x07: "startdt_act", 0x0B: "startdt_con", 0x13: "stopdt_act",
                 0x23: "stopdt_con", 0x83: "testfr_con"}
        self.say(f"<- U {names.get(c1, hex(c1))}")
        return ("U", c1)

    def wait(self, done, timeout=5.0, settle=0.3):
        """Read until done(result) holds for a received APDU, then settle s more."""
        deadline = time.monotonic() + timeout
        got = False
        while not got:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no answer in time")
            for frame in self._frames(left):
                r = self._handle(frame)
                if r is not None and done(r):
                    got = True
                    break
                if time.monotonic() >= deadline:
                    break
        for frame in self._frames(settle):
            self._handle(frame)

    def listen(self, seconds):
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            for frame in self._frames(left):
                self._handle(frame)
                if time.monotonic() >= end:
                    break

    def ack(self):
        if self.unacked:
            self.send_s()

    # -- procedures ----------------------------------------------------------
    def startdt(self):
        self.send_u(startdt_act=1)
        self.wait(lambda r: r == ("U", 0x0B))

    def stopdt(self):
        self.ack()
        self.send_u(stopdt_act=1)
        self.wait(lambda r: r == ("U", 0x23), settle=0.1)

    def testfr(self):
        self.send_u(testfr_act=1)
        self.wait(lambda r: r == ("U", 0x83), settle=0.1)

    def activation(self, ca, io, term=False, timeout=5.0):
        """Send io with cot 6 (act); wait for its actterm, or with term=False for its actcon
        (an actterm that follows within the settle time is read too); a negative
        confirmation or an unknown-type/cot/CA/IOA answer ends the wait as well."""
        type_id = io.iec104_io_type_id()
        self.send_i(ca, 6, io)

        def done(r):
            if r[0] != type_id:
                return False
            t, cot, neg, _ = r
            if cot == 10:
                return True
            if cot in (44, 45, 46, 47) or (cot == 7 and (neg or not term)):
                return True
            return False
        self.wait(done, timeout=timeout)
        self.ack()

    def interrogation(self, ca, qoi=20):
        self.activation(ca, s104.IEC104_IO_C_IC_NA_1_IOA(information_object_address=0, qoi=qoi),
                        term=True)

    def counter_interrogation(self, ca, rqt=5, frz=0):
        self.activation(ca, s104.IEC104_IO_C_CI_NA_1_IOA(information_object_address=0, rqt=rqt,
                                                          frz=frz), term=True)

    def read(self, ca, ioa):
        """C_RD_NA_1: the answer is the point with cot 5 (request), or a negative actcon."""
        self.send_i(ca, 5, s104.IEC104_IO_C_RD_NA_1_IOA(information_object_address=ioa))
        self.wait(lambda r: r[1] in (5, 44, 45, 46, 47) or r[0] == 102)
        self.ack()

    def close(self):
        self.sock.shutdown(socket.SHUT_WR)
        try:
            self.sock.settimeout(2)
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()
        self.say("closed")


def run_normal(m, args):
    m.startdt()
    m.testfr()
    m.interrogation(1)
    m.interrogation(2)
    m.counter_interrogation(1)
    half = args.listen / 2
    m.listen(half)
    m.ack()
    m.testfr()
    m.listen(args.listen - half)
    m.ack()
    m.interrogation(1)
    m.stopdt()


def run_scada(m, args):
    m.startdt()
    m.interrogation(1)
    m.counter_interrogation(1)
    # operator switches breaker 2 on: single command, direct execute
    m.activation(1, s104.IEC104_IO_C_SC_NA_1_IOA(information_object_address=1001, scs=1,
                                                  s_or_e=0))
    end = time.monotonic() + args.duration
    while time.monotonic() + args.period < end:
        m.listen(args.period)
        m.interrogation(1)
    m.listen(max(0.0, end - time.monotonic()))
    m.stopdt()


def intruder_steps(m):
    """(name, action, what a sensor sees) for each attack step, in order."""
    IO = s104
    sc = IO.IEC104_IO_C_SC_NA_1_IOA
    return [
        ("startdt", m.startdt,
         "U STARTDT act, answered STARTDT con"),
        ("general_interrogation", lambda: m.interrogation(1),
         "C_IC_NA_1 (100) cot 6 CA 1 IOA 0 QOI 20; actcon 7, monitoring ASDUs cot 20, actterm 10"),
        ("single_command_select",
         lambda: m.activation(1, sc(information_object_address=1000, scs=0, s_or_e=1)),
         "C_SC_NA_1 (45) cot 6 CA 1 IOA 1000 S/E=1 (select) SCS=0; actcon 7"),
        ("single_command_execute",
         lambda: m.activation(1, sc(information_object_address=1000, scs=0, s_or_e=0)),
         "C_SC_NA_1 (45) cot 6 CA 1 IOA 1000 S/E=0 (execute) SCS=0; actcon 7, actterm 10"),
        ("single_command_direct",
         lambda: m.activation(1, sc(information_object_address=1001, scs=0, s_or_e=0)),
         "C_SC_NA_1 (45) cot 6 CA 1 IOA 1001 S/E=0 SCS=0 (direct execute, no select); actcon 7"),
        ("double_command",
         lambda: m.activation(1, IO.IEC104_IO_C_DC_NA_1_IOA(information_object_address=1100,
                                                             dcs=1, s_or_e=0)),
         "C_DC_NA_1 (46) cot 6 CA 1 IOA 1100 DCS=1 (off), direct; actcon 7"),
        ("setpoint_normalized",
         lambda: m.activation(1, IO.IEC104_IO_C_SE_NA_1_IOA(information_object_address=1200,
                                                             normed_value=round(0.9 * 32768))),
         "C_SE_NA_1 (48) cot 6 CA 1 IOA 1200 NVA 29491 (0.9); actcon 7"),
        ("setpoint_scaled",
         lambda: m.activation(1, IO.IEC104_IO_C_SE_NB_1_IOA(information_object_address=1201,
                                                             scaled_value=30000)),
         "C_SE_NB_1 (49) cot 6 CA 1 IOA 1201 SVA 30000; actcon 7"),
        ("setpoint_float",
         lambda: m.activation(1, IO.IEC104_IO_C_SE_NC_1_IOA(information_object_address=1202,
                                                             scaled_value=55.0)),
         "C_SE_NC_1 (50) cot 6 CA 1 IOA 1202 value 55.0; actcon 7"),
        ("clock_sync",
         lambda: m.activation(1, IO.IEC104_IO_C_CS_NA_1_IOA(information_object_address=0,
                                                             **cp56())),
         "C_CS_NA_1 (103) cot 6 CA 1 IOA 0 CP56Time2a (UTC now); actcon 7"),
        ("reset_process",
         lambda: m.activation(1, IO.IEC104_IO_C_RP_NA_1_IOA(information_object_address=0,
                                                             qrp=1)),
         "C_RP_NA_1 (105) cot 6 CA 1 IOA 0 QRP 1 (general reset); refused: actcon 7 with P/N=1, "
         "then cot 47 (c104 does not implement it)"),
        ("read", lambda: m.read(1, 320),
         "C_RD_NA_1 (102) cot 5 CA 1 IOA 320; actcon 7, then M_ME_NC_1 (13) cot 5 IOA 320"),
        ("command_unknown_ioa",
         lambda: m.activation(1, sc(information_object_address=5000, scs=1, s_or_e=0)),
         "C_SC_NA_1 (45) cot 6 CA 1 IOA 5000 (no such point) SCS=1; actcon 7 with P/N=1, "
         "then cot 47 (unknown IOA)"),
        ("interrogation_unknown_ca", lambda: m.interrogation(99),
         "C_IC_NA_1 (100) cot 6 CA 99 (no such station) QOI 20; actcon 7 with P/N=1, "
         "then cot 46 (unknown CA)"),
        ("stopdt", m.stopdt,
         "U STOPDT act, answered STOPDT con; then TCP FIN"),
    ]


def run_intruder(m, args):
    """Prints 'STEP <n> <name> <unix time> <what>' (tab-separated) on stdout per step."""
    steps = intruder_steps(m)
    for n, (name, action, what) in enumerate(steps, 1):
        if n > 1:
            time.sleep(args.gap)
        m.say(f"STEP {n} {name}")
        print(f"STEP\t{n}\t{name}\t{time.time():.6f}\t{what}", flush=True)
        action()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=2404)
    ap.add_argument("--source", default="127.0.0.5")
    ap.add_argument("--mode", choices=("normal", "scada", "intruder"), default="normal")
    ap.add_argument("--listen", type=float, default=10.0, help="normal: seconds of spontaneous data")
    ap.add_argument("--duration", type=float, default=30.0, help="scada: seconds connected")
    ap.add_argument("--period", type=float, default=5.0, help="scada: seconds between interrogations")
    ap.add_argument("--delay", type=float, default=0.0, help="intruder: seconds before connecting")
    ap.add_argument("--gap", type=float, default=1.0, help="intruder: seconds between steps")
    args = ap.parse_args()

    time.sleep(args.delay)
    m = Master(args.host, args.port, args.source, sys.stderr)
    {"normal": run_normal, "scada": run_scada, "intruder": run_intruder}[args.mode](m, args)
    m.close()


if __name__ == "__main__":
    main()
