#!/usr/bin/env python3
"""Write a capture of a large flat network for the baseline's memory bound: N Modbus/TCP
clients, each polling its own server once per second for R rounds (holding registers 0-9).
Usage: many_pairs.py OUT.pcap N R"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes([2, 0, 0, 0, 0, 2]) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00"
    return eth + ip + tcp


def main():
    out, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t0 = 1_800_000_000
        for r in range(rounds):
            for i in range(n):
                c = bytes([10, 1 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                s = bytes([10, 128 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                tid = r & 0xFFFF
                req = struct.pack("!HHHBBHH", tid, 0, 6, 1, 3, 0, 10)
                resp = struct.pack("!HHHBBB", tid, 0, 23, 1, 3, 20) + bytes(range(20))
                us = r * 1_000_000 + i * (1_000_000 // max(n, 1))
                for pkt, ts in (
                    (frame(c, s, 40000, 502, 1 + r * 12, 1 + r * 29, req), us),
                    (frame(s, c, 502, 40000, 1 + r * 29, 1 + (r + 1) * 12, resp), us + 500),
                ):
                    sec, usec = divmod(t0 * 1_000_000 + ts, 1_000_000)
                    f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)))
                    f.write(pkt)


main()
