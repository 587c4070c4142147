#!/usr/bin/env python3
"""GOOSE (and Sampled Values) publisher for icsight's reference captures:
libiec61850 1.6's GoosePublisher and SVPublisher (pyiec61850-ng bindings)
sending on a Linux interface (lo) through a raw packet socket.

GOOSE: gocbRef PlantLDLD0/LLN0$GO$gcbEvents, datSet PlantLDLD0/LLN0$Events,
goID gcbEvents, appid 0x1000, destination 01:0c:cd:01:00:01, 802.1Q tag VLAN
10 priority 4, confRev 1; the data set's six members (GGIO1 Ind1 stVal/q,
Ind2 stVal/q, SPCSO1 stVal/q) as boolean and 13-bit quality bit strings.
libiec61850 numbers the frames itself: sqNum goes up by one per frame sent,
GoosePublisher_increaseStNum raises stNum and puts sqNum back to 0 and the
event time t to now. Heartbeat every 1 s (timeAllowedtoLive 2000 ms); after
a state change, retransmissions 4, 8, 16, ... 512 ms apart (timeAllowedtoLive
twice the next gap), then the heartbeat again.

Sampled Values (--sv): svID PlantMU01, appid 0x4000, destination
01:0c:cd:04:00:01, no VLAN tag, one ASDU per frame carrying the 9-2LE data
set (4 currents, 4 voltages: INT32 value + quality each), smpRate 4000,
smpSynch 2, smpCnt from 0; --sv-frames frames 250 us apart (as closely as a
Python loop keeps it).

--mode normal: SV burst, GOOSE stNum 1 with 3 heartbeats, a change of Ind2
  (stNum 2) and its retransmissions, 3 heartbeats, a change of Ind2 and
  SPCSO1 (stNum 3), retransmissions, 2 heartbeats.
--mode heartbeat: GOOSE stNum 1, a heartbeat every second for --duration s.
"""
import argparse
import math
import signal
import sys
import time

import pyiec61850.pyiec61850 as L

GOCB_REF = "PlantLDLD0/LLN0$GO$gcbEvents"
DATSET = "PlantLDLD0/LLN0$Events"
GO_ID = "gcbEvents"
GOOSE_APPID = 0x1000
GOOSE_DST = (0x01, 0x0C, 0xCD, 0x01, 0x00, 0x01)
SV_APPID = 0x4000
SV_DST = (0x01, 0x0C, 0xCD, 0x04, 0x00, 0x01)
HEARTBEAT_S = 1.0
RETRANSMIT_S = [0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512]

stopping = []


def log(msg):
    print(f"{time.time():.6f} {msg}", flush=True)


class Goose:
    def __init__(self, iface):
        p = L.CommParameters()
        p.appId = GOOSE_APPID
        p.vlanId = 10
        p.vlanPriority = 4
        L.CommParameters_setDstAddress(p, *GOOSE_DST)
        self.pub = L.GoosePublisher_createEx(p, iface, True)
        if not self.pub:
            sys.exit(f"GoosePublisher_createEx failed on {iface} (root needed for a raw socket)")
        L.GoosePublisher_setGoCbRef(self.pub, GOCB_REF)
        L.GoosePublisher_setDataSetRef(self.pub, DATSET)
        L.GoosePublisher_setGoID(self.pub, GO_ID)
        L.GoosePublisher_setConfRev(self.pub, 1)
        self.values = L.LinkedList_create()
        self.members = {}
        # Ind1 (closed), Ind2 (no alarm), SPCSO1 (off); quality good (all 13 bits 0)
        for name, state in (("Ind1", True), ("Ind2", False), ("SPCSO1", False)):
            b = L.MmsValue_newBoolean(state)
            q = L.MmsValue_newBitString(13)
            L.LinkedList_add(self.values, b)
            L.LinkedList_add(self.values, q)
            self.members[name] = b
        self.st, self.sq = 1, 0

    def send(self, tal_ms, what):
        L.GoosePublisher_setTimeAllowedToLive(self.pub, int(tal_ms))
        if L.GoosePublisher_publish(self.pub, self.values) != 0:
            sys.exit("GoosePublisher_publish failed")
        log(f"GOOSE stNum {self.st} sqNum {self.sq} TAL {int(tal_ms)} {what}")
        self.sq += 1

    def change(self, **states):
        for name, state in states.items():
            L.MmsValue_setBoolean(self.members[name], state)
        L.GoosePublisher_increaseStNum(self.pub)
        self.st, self.sq = self.st + 1, 0

    def burst(self, what):
        """A state change's first frame and its retransmissions."""
        gaps = RETRANSMIT_S
        for i, gap in enumerate([0.0] + gaps):
            if i:
                sleep(gap)
            nxt = gaps[i] if i < len(gaps) else HEARTBEAT_S
            self.send(max(2000 * nxt, 20), what if i == 0 else "retransmission")

    def heartbeats(self, n):
        for _ in range(n):
            if stopping:
                return
            sleep(HEARTBEAT_S)
            self.send(2000 * HEARTBEAT_S, "heartbeat")

    def close(self):
        L.GoosePublisher_destroy(self.pub)


def sleep(s):
    end = time.monotonic() + s
    while not stopping:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def sv_burst(iface, frames):
    p = L.CommParameters()
    p.appId = SV_APPID
    p.vlanId = 0
    p.vlanPriority = 4
    L.CommParameters_setDstAddress(p, *SV_DST)
    pub = L.SVPublisher_createEx(p, iface, False)
    if not pub:
        sys.exit(f"SVPublisher_createEx failed on {iface}")
    asdu = L.SVPublisher_addASDU(pub, "PlantMU01", None, 1)
    idx = []
    for _ in range(8):  # IA IB IC IN VA VB VC VN
        idx.append((L.SVPublisher_ASDU_addINT32(asdu), L.SVPublisher_ASDU_addQuality(asdu)))
    L.SVPublisher_ASDU_setSmpRate(asdu, 4000)
    L.SVPublisher_setupComplete(pub)
    # smpSynch lives in the encoded frame, which exists only after setupComplete
    L.SVPublisher_ASDU_setSmpSynch(asdu, 2)
    t_next = time.perf_counter()
    for n in range(frames):
        ph = 2 * math.pi * n / 80.0  # 80 samples per 50 Hz cycle
        amps = [int(120000 * math.sin(ph - k * 2 * math.pi / 3)) for k in range(3)]  # mA
        volts = [int(11000 * 100 * math.sqrt(2 / 3) * math.sin(ph - k * 2 * math.pi / 3)) for k in range(3)]
        vals = amps + [sum(amps)] + volts + [sum(volts)]  # 10 mV units for voltages
        for (vi, qi), v in zip(idx, vals):
            L.SVPublisher_ASDU_setINT32(asdu, vi, v)
            L.SVPublisher_ASDU_setQuality(asdu, qi, 0)
        L.SVPublisher_ASDU_setSmpCnt(asdu, n)
        L.SVPublisher_publish(pub)
        t_next += 0.00025
        while time.perf_counter() < t_next:
            pass
    L.SVPublisher_destroy(pub)
    log(f"SV svID PlantMU01 smpCnt 0..{frames - 1}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iface", default="lo")
    ap.add_argument("--mode", choices=("normal", "heartbeat"), required=True)
    ap.add_argument("--duration", type=float, default=30.0, help="heartbeat mode: seconds")
    ap.add_argument("--sv", action="store_true", help="normal mode: a Sampled Values burst first")
    ap.add_argument("--sv-frames", type=int, default=80)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    if a.mode == "normal" and a.sv:
        sv_burst(a.iface, a.sv_frames)
        time.sleep(0.2)
    g = Goose(a.iface)
    g.send(2000 * HEARTBEAT_S, "first frame")
    if a.mode == "normal":
        g.heartbeats(3)
        sleep(0.3)
        g.change(Ind2=True)
        g.burst("state change: Ind2 true")
        g.heartbeats(3)
        sleep(0.4)
        g.change(Ind2=False, SPCSO1=True)
        g.burst("state change: Ind2 false, SPCSO1 true")
        g.heartbeats(2)
    else:
        g.heartbeats(int(a.duration / HEARTBEAT_S))
    g.close()


if __name__ == "__main__":
    main()
