#!/usr/bin/env python3
"""Checks and describes the baseline captures with tshark (used by
make-captures.sh).

usage: baseline_check.py verify PCAP --kind normal|attack [--steps TSV]
                                [--cycles N] [--max-bytes B]
       baseline_check.py counts PCAP
       baseline_check.py manifest PCAP [PCAP...] [--steps TSV]

Every fact comes from tshark's dissection of the capture (one pass with
`-T fields`).  The address plan is fixed: HMI 127.0.0.5, Modbus PLC
127.0.0.10 (TCP 502), S7 PLC 127.0.0.20 (TCP 102), intruder 127.0.0.66.

verify    exits 1 with the reasons when the capture does not hold what its
          scenario says.  normal: only the HMI and the two PLCs; the HMI
          polls both PLCs once a second (--cycles cycles, FC3 HR 0-9, FC1
          coils 0-15, FC4 IR 100-104; S7 read_var DB1 0-19 and M 0-3) and
          writes nothing but FC6 HR5 in 450-550 every tenth cycle; every
          request is answered without an exception or error.  attack: the
          same for the HMI over the whole capture, and every row of --steps
          is found: requests from src_ip to dst_ip, each answered, one TCP
          connection per step, in the order of the file; the intruder does
          nothing else; the HMI keeps polling for at least 15 s after the
          last step.  Both kinds: every value the HMI reads lies inside the
          process envelopes of plant_modbus_plc.py and plant_s7_plc.py; in
          the attack capture, once the intruder has written them, HR0-3 read
          9999, coils 0-7 read as written, DB1.DBW12 9999 and MB0 0x00, and
          DB1 and M no longer change after the PLC STOP.
counts    frames per (source address, protocol, function), tab-separated.
manifest  Markdown: per capture its timeline (offsets from the first frame)
          and the counts.
"""
import argparse
import collections
import csv
import datetime
import os
import statistics
import struct
import subprocess
import sys

HMI, MODBUS_PLC, S7_PLC, ATTACKER = "127.0.0.5", "127.0.0.10", "127.0.0.20", "127.0.0.66"
HOSTS = {HMI: "HMI", MODBUS_PLC: "Modbus PLC", S7_PLC: "S7 PLC", ATTACKER: "intruder"}

FIELDS = [
    "frame.number", "frame.time_relative", "frame.time_epoch", "ip.src", "ip.dst", "tcp.stream",
    "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
    "mbtcp.trans_id", "mbtcp.unit_id", "modbus.func_code", "modbus.exception_code", "modbus.mei", "modbus.read_device_id",
    "modbus.reference_num", "modbus.word_cnt", "modbus.bit_cnt", "modbus.data", "modbus.regval_uint16", "modbus.bitval", "modbus.request_frame",
    "cotp.type", "s7comm.header.rosctr", "s7comm.header.pduref", "s7comm.header.errcls",
    "s7comm.header.errcod", "s7comm.param.func", "s7comm.param.item.area", "s7comm.param.item.db",
    "s7comm.param.item.address.byte", "s7comm.param.item.length", "s7comm.resp.data",
    "s7comm.data.returncode",
]
KEYS = [f.replace(".", "_") for f in FIELDS]

S7_FUNCS = {0x04: "read_var", 0x05: "write_var", 0x28: "PI service", 0x29: "PLC stop", 0xF0: "setup communication"}
S7_ROSCTR = {1: "job", 2: "ack", 3: "ack_data", 7: "userdata"}
S7_AREAS = {0x81: "I", 0x82: "Q", 0x83: "M", 0x84: "DB"}
MB_FUNCS = {1: "read coils", 2: "read discrete inputs", 3: "read holding registers", 4: "read input registers",
            5: "write single coil", 6: "write single register", 15: "write multiple coils",
            16: "write multiple registers", 43: "encapsulated interface (MEI 14: read device identification)"}
STEP_WHATS = ("device_identification", "register_sweep", "write_registers", "write_coils",
              "write_db", "write_flags", "write_outputs", "plc_stop")


def num(v):
    """tshark number text (decimal or 0x..) -> int, '' -> None."""
    if v in ("", None):
        return None
    return int(v, 0)


class Frame:
    def __init__(self, values):
        for k, v in zip(KEYS, values):
            setattr(self, k, v.split(",")[0] if v else "")
        # all the register values (FC3/FC4 responses, FC16 requests) and coil bits (FC1 responses)
        self.regs = [int(x) for x in values[KEYS.index("modbus_regval_uint16")].split(",") if x]
        self.bits = [x in ("1", "True") for x in values[KEYS.index("modbus_bitval")].split(",") if x]
        self.n = int(self.frame_number)
        self.t = float(self.frame_time_relative)
        self.stream = num(self.tcp_stream)
        self.mb_func = num(self.modbus_func_code)
        self.mb_exc = num(self.modbus_exception_code)
        self.s7_rosctr = num(self.s7comm_header_rosctr)
        self.s7_func = num(self.s7comm_param_func)
        self.s7_area = num(self.s7comm_param_item_area)

    @property
    def is_modbus(self):
        return self.mb_func is not None

    @property
    def is_s7(self):
        return self.s7_rosctr is not None

    def mb_request(self):
        return self.is_modbus and self.tcp_dstport == "502"

    def s7_job(self):
        return self.is_s7 and self.s7_rosctr == 1

    def label(self):
        """(protocol, function) as counted in the tables."""
        if self.is_modbus:
            f = f"FC{self.mb_func}"
            if self.mb_func == 43 and self.modbus_mei:
                f += f"/{num(self.modbus_mei)}"
            if self.mb_exc is not None:
                f += f" exception {self.mb_exc:02d}"
            return "modbus", f
        if self.is_s7:
            ros = S7_ROSCTR.get(self.s7_rosctr, str(self.s7_rosctr))
            func = S7_FUNCS.get(self.s7_func, "") if self.s7_func is not None else ""
            f = f"{ros} 0x{self.s7_func:02x} {func}".rstrip() if self.s7_func is not None else ros
            if self.s7_func in (0x04, 0x05) and self.s7_area is not None and self.s7_rosctr == 1:
                f += f" {S7_AREAS.get(self.s7_area, hex(self.s7_area))}"
            return "s7comm", f
        return None


def load(path):
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    frames = [Frame(line.split("\t")) for line in out.splitlines() if line]
    # frames whose PDUs tshark split over two or more protocol items
    multi = subprocess.run(["tshark", "-r", path, "-Y", "modbus.func_code && count(modbus.func_code) > 1 || "
                            "count(s7comm.header) > 1", "-T", "fields", "-e", "frame.number"],
                           check=True, capture_output=True, text=True).stdout.split()
    return frames, multi


def counts(frames):
    c = collections.Counter()
    for f in frames:
        lab = f.label()
        if lab:
            c[(f.ip_src, lab[0], lab[1])] += 1
    return c


def classify_step(f):
    """The attack step a request of the intruder belongs to."""
    if f.is_modbus:
        return {43: "device_identification", 3: "register_sweep", 16: "write_registers",
                15: "write_coils", 5: "write_coils"}.get(f.mb_func)
    if f.s7_job():
        if f.s7_func == 0x05:
            return {0x84: "write_db", 0x83: "write_flags", 0x82: "write_outputs"}.get(f.s7_area)
        if f.s7_func == 0x29:
            return "plc_stop"
        if f.s7_func == 0xF0:
            return "setup"
    return None


def read_steps(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    need = ["step", "src_ip", "dst_ip", "protocol", "what"]
    if not rows or list(rows[0].keys()) != need:
        raise SystemExit(f"{path}: columns must be {need}")
    for r in rows:
        if r["what"] not in STEP_WHATS or r["protocol"] not in ("modbus", "s7comm"):
            raise SystemExit(f"{path}: bad row {r}")
    return rows


def answered(frames, req, plc):
    """The response to request frame `req`, or None."""
    if req.is_modbus:
        # by transaction id on the same connection (tshark leaves modbus.request_frame
        # empty in exception responses)
        for f in frames:
            if (f.is_modbus and f.stream == req.stream and f.ip_src == plc and f.n > req.n
                    and f.mbtcp_trans_id == req.mbtcp_trans_id):
                return f
        return None
    for f in frames:
        if (f.is_s7 and f.stream == req.stream and f.ip_src == plc and f.s7_rosctr == 3
                and f.s7comm_header_pduref == req.s7comm_header_pduref and f.n > req.n):
            return f
    return None


# What the HMI may read while the process runs undisturbed (plant_modbus_plc.py,
# plant_s7_plc.py): (low, high) per value.
HR_ENVELOPE = [(400, 600), (200, 260), (100, 150), (300, 350), (40, 80), (450, 550), (230, 230),
               (580, 580), (420, 420), (1, 1)]
IR_ENVELOPE = [(4000, 6000), (2000, 2600), (1000, 1500), (3000, 3500), (50, 70)]
DB1_LAYOUT = ">hhffhhHH"
DB1_ENVELOPE = [(400, 600), (200, 260), (10.0, 15.0), (2.0, 3.5), (500, 500), (40, 80), (1, 1), (0, 0)]
DB1_NAMES = ["DBW0", "DBW2", "DBD4", "DBD8", "DBW12", "DBW14", "DBW16", "DBW18"]


def hmi_reads(frames):
    """(time, kind, values) of every answer the HMI gets: kind HR, IR, coils, DB1 or M."""
    out = []
    for f in frames:
        if f.ip_dst != HMI:
            continue
        if f.is_modbus and f.mb_exc is None:
            if f.mb_func == 3:
                out.append((f.t, "HR", f.regs, f))
            elif f.mb_func == 4:
                out.append((f.t, "IR", f.regs, f))
            elif f.mb_func == 1:
                out.append((f.t, "coils", f.bits, f))
        elif f.is_s7 and f.s7_rosctr == 3 and f.s7_func == 0x04 and f.s7comm_resp_data:
            data = bytes.fromhex(f.s7comm_resp_data.replace(":", ""))
            if len(data) == 20:
                out.append((f.t, "DB1", list(struct.unpack(DB1_LAYOUT, data)), f))
            elif len(data) == 4:
                out.append((f.t, "M", list(data), f))
    return out


def outside(values, envelope, names):
    return [f"{n}={v:g} not in {lo:g}..{hi:g}" for v, (lo, hi), n in zip(values, envelope, names)
            if not lo <= v <= hi]


def process_problems(frames, found=None):
    """Values the HMI reads: inside the envelopes while nobody else writes; in
    the attack capture, afterwards, what the intruder wrote, and frozen after
    the PLC STOP."""
    bad = []
    after = {}  # what -> time of its last answer
    during = []  # (first request, last answer) of each write step
    for item in found or []:
        if item:
            after[item["row"]["what"]] = max([x.t for x in item["resps"]] or [item["reqs"][-1].t])
            if item["row"]["what"].startswith("write"):
                during.append((item["reqs"][0].t, after[item["row"]["what"]]))
    first_write = min([after[w] for w in after if w.startswith("write")] or [float("inf")])
    frozen = {}
    for t, kind, vals, f in hmi_reads(frames):
        where = f"frame {f.n} ({t:.1f} s), {kind}"
        if any(a < t <= b for a, b in during):
            continue  # a read between two writes of one step
        if kind == "HR":
            if len(vals) != 10:
                bad.append(f"{where}: {len(vals)} registers")
                continue
            if t > after.get("write_registers", float("inf")):
                if vals[:4] != [9999] * 4:
                    bad.append(f"{where}: HR0-3 {vals[:4]} after the intruder wrote 9999")
                bad += [f"{where}: {p}" for p in outside(vals[4:], HR_ENVELOPE[4:], [f"HR{i}" for i in range(4, 10)])]
            else:
                bad += [f"{where}: {p}" for p in outside(vals, HR_ENVELOPE, [f"HR{i}" for i in range(10)])]
        elif kind == "IR":
            bad += [f"{where}: {p}" for p in outside(vals, IR_ENVELOPE, [f"IR{100 + i}" for i in range(5)])]
        elif kind == "coils":
            if len(vals) != 16 or any(vals[8:]):
                bad.append(f"{where}: coils {vals}")
            elif t > after.get("write_coils", float("inf")):
                if vals[:8] != [False, False, False, False, True, False, False, False]:
                    bad.append(f"{where}: coils 0-7 {vals[:8]}, not what the intruder wrote")
            elif not (vals[0] and vals[3] and vals[7]) or vals[5] or vals[6] or vals[1] != vals[2]:
                bad.append(f"{where}: coils 0-7 {vals[:8]}")
        elif kind == "DB1":
            env = list(DB1_ENVELOPE)
            if t > after.get("write_db", float("inf")):
                if vals[4] != 9999:
                    bad.append(f"{where}: DBW12 {vals[4]} after the intruder wrote 9999")
                env[4] = (9999, 9999)
            bad += [f"{where}: {p}" for p in outside(vals, env, DB1_NAMES)]
        elif kind == "M":
            if t > after.get("write_flags", float("inf")):
                if vals[0] != 0:
                    bad.append(f"{where}: MB0 {vals[0]:#04x} after the intruder wrote 0x00")
            elif vals[0] & 0x07 != 0x07 or vals[0] & 0xE0:
                bad.append(f"{where}: MB0 {vals[0]:#04x}")
            if vals[1] or vals[3] or vals[2] > 7:
                bad.append(f"{where}: MB1-3 {vals[1:]}")
        if kind in ("DB1", "M") and t > after.get("plc_stop", float("inf")) + 1.5:
            if frozen.setdefault(kind, vals) != vals:
                bad.append(f"{where}: {vals} changed while the PLC is in STOP ({frozen[kind]} before)")
    if first_write < float("inf") and not any(t < first_write for t, *_ in hmi_reads(frames)):
        bad.append("no HMI reads before the first write")
    return bad


def hmi_problems(frames, cycles, stop_at=None):
    """What is wrong with the HMI's traffic (list of strings)."""
    bad = []
    mb_req = [f for f in frames if f.ip_src == HMI and f.is_modbus]
    s7_job = [f for f in frames if f.ip_src == HMI and f.s7_job()]
    for f in mb_req:
        if f.ip_dst != MODBUS_PLC or f.tcp_dstport != "502":
            bad.append(f"frame {f.n}: HMI Modbus request to {f.ip_dst}:{f.tcp_dstport}")
        if f.mb_func not in (1, 3, 4, 6):
            bad.append(f"frame {f.n}: HMI sends FC{f.mb_func}")
        if f.mbtcp_unit_id != "1":
            bad.append(f"frame {f.n}: HMI addresses unit {f.mbtcp_unit_id}")
        if f.mb_func == 6:
            value = int(f.modbus_data, 16) if f.modbus_data else -1
            if num(f.modbus_reference_num) != 5 or not 450 <= value <= 550:
                bad.append(f"frame {f.n}: HMI FC6 at {f.modbus_reference_num} value {value}")
    want = {3: (0, 10), 1: (0, 16), 4: (100, 5)}
    for f in mb_req:
        if f.mb_func in want:
            ref, cnt = want[f.mb_func]
            got = num(f.modbus_word_cnt) if f.mb_func != 1 else num(f.modbus_bit_cnt)
            if num(f.modbus_reference_num) != ref or got != cnt:
                bad.append(f"frame {f.n}: HMI FC{f.mb_func} at {f.modbus_reference_num} count {got}")
    for f in s7_job:
        if f.ip_dst != S7_PLC:
            bad.append(f"frame {f.n}: HMI S7 job to {f.ip_dst}")
        if f.s7_func not in (0x04, 0xF0):
            bad.append(f"frame {f.n}: HMI S7 function 0x{f.s7_func:02x}")
        if f.s7_func == 0x04:
            spec = (f.s7_area, num(f.s7comm_param_item_db), num(f.s7comm_param_item_address_byte),
                    num(f.s7comm_param_item_length))
            if spec not in ((0x84, 1, 0, 20), (0x83, 0, 0, 4)):
                bad.append(f"frame {f.n}: HMI read_var {spec}")
    by_func = collections.Counter(f.mb_func for f in mb_req)
    s7_reads = [f for f in s7_job if f.s7_func == 0x04]
    for fc in (1, 3, 4):
        if by_func[fc] != cycles:
            bad.append(f"HMI FC{fc} requests: {by_func[fc]}, expected {cycles}")
    if by_func[6] != len(range(5, cycles, 10)):
        bad.append(f"HMI FC6 requests: {by_func[6]}, expected {len(range(5, cycles, 10))}")
    if len(s7_reads) != 2 * cycles:
        bad.append(f"HMI S7 read_var requests: {len(s7_reads)}, expected {2 * cycles}")
    fc3 = [f.t for f in mb_req if f.mb_func == 3]
    gaps = [b - a for a, b in zip(fc3, fc3[1:])]
    if gaps and not (0.9 <= statistics.median(gaps) <= 1.1 and max(gaps) < 1.6):
        bad.append(f"HMI poll period: median {statistics.median(gaps):.3f} s, max {max(gaps):.3f} s")
    # every HMI request answered, without exception or error
    for f in frames:
        if f.ip_src == MODBUS_PLC and f.is_modbus and f.ip_dst == HMI and f.mb_exc is not None:
            bad.append(f"frame {f.n}: exception {f.mb_exc} to the HMI")
        if f.ip_src == S7_PLC and f.ip_dst == HMI and f.is_s7:
            if num(f.s7comm_header_errcls) or (f.s7comm_data_returncode and num(f.s7comm_data_returncode) != 0xFF):
                bad.append(f"frame {f.n}: S7 error to the HMI")
    answers_mb = {(f.stream, f.mbtcp_trans_id) for f in frames if f.ip_dst == HMI and f.is_modbus}
    missing = [f.n for f in mb_req if (f.stream, f.mbtcp_trans_id) not in answers_mb]
    if missing:
        bad.append(f"HMI Modbus requests without response: frames {missing[:10]}")
    s7_acks = collections.Counter(f.s7comm_header_pduref for f in frames
                                  if f.ip_src == S7_PLC and f.ip_dst == HMI and f.s7_rosctr == 3)
    if sum(s7_acks.values()) != len(s7_job):
        bad.append(f"HMI S7 jobs {len(s7_job)}, answers {sum(s7_acks.values())}")
    if stop_at is not None:
        last = max(f.t for f in frames if f.ip_src == HMI and (f.is_modbus or f.is_s7))
        if last < stop_at + 15:
            bad.append(f"HMI stops polling at {last:.1f} s, less than 15 s after the last step ({stop_at:.1f} s)")
    return bad


def attack_steps(frames, steps):
    """Per TSV row: dict with its requests, responses, streams; and problems."""
    bad, found = [], []
    for r in steps:
        src, dst = r["src_ip"], r["dst_ip"]
        plc_port = "502" if r["protocol"] == "modbus" else "102"
        reqs = [f for f in frames if f.ip_src == src and f.ip_dst == dst and f.tcp_dstport == plc_port
                and ((f.is_modbus and r["protocol"] == "modbus") or (f.s7_job() and r["protocol"] == "s7comm"))
                and classify_step(f) == r["what"]]
        if not reqs:
            bad.append(f"step {r['step']} {r['what']}: no request from {src} to {dst}")
            found.append(None)
            continue
        resps = []
        for q in reqs:
            a = answered(frames, q, dst)
            if a is None:
                bad.append(f"step {r['step']} {r['what']}: request frame {q.n} has no response")
            else:
                resps.append(a)
                if a.is_s7 and (num(a.s7comm_header_errcls) or
                                (a.s7comm_data_returncode and num(a.s7comm_data_returncode) != 0xFF)):
                    bad.append(f"step {r['step']} {r['what']}: S7 error in frame {a.n}")
        streams = sorted({q.stream for q in reqs})
        found.append({"row": r, "reqs": reqs, "resps": resps, "streams": streams})
    # order, one connection per step, nothing else from the intruder
    prev = None
    step_streams = {}
    for item in found:
        if item is None:
            continue
        if prev is not None and item["reqs"][0].t <= prev["reqs"][-1].t:
            bad.append(f"step {item['row']['step']} starts before step {prev['row']['step']} ends")
        for s in item["streams"]:
            if s in step_streams and step_streams[s] != item["row"]["step"]:
                bad.append(f"steps {step_streams[s]} and {item['row']['step']} share TCP stream {s}")
            step_streams[s] = item["row"]["step"]
        prev = item
    attackers = {r["src_ip"] for r in steps}
    for f in frames:
        if f.ip_src in attackers and (f.is_modbus or f.s7_job()):
            what = classify_step(f)
            if what is None or (what != "setup" and f.stream not in step_streams):
                bad.append(f"frame {f.n}: {f.ip_src} sends {f.label()} outside the listed steps")
    return found, bad


def verify(args):
    frames, multi = load(args.pcap)
    bad = []
    if multi:
        bad.append(f"frames with more than one Modbus/S7 PDU: {multi[:10]}")
    size = os.stat(args.pcap).st_size
    if size > args.max_bytes:
        bad.append(f"{size} bytes, over {args.max_bytes}")
    ips = collections.Counter(f.ip_src for f in frames)
    allowed = {HMI, MODBUS_PLC, S7_PLC} | ({ATTACKER} if args.kind == "attack" else set())
    for ip in ips:
        if ip not in allowed:
            bad.append(f"{ips[ip]} frames from {ip}")
    for f in frames:
        if f.tcp_flags_reset == "1" or f.tcp_flags_reset == "True":
            bad.append(f"frame {f.n}: TCP reset")
    syn = [f for f in frames if f.tcp_flags_syn in ("1", "True") and f.tcp_flags_ack in ("0", "False")]
    fin_streams = collections.Counter(f.stream for f in frames if f.tcp_flags_fin in ("1", "True"))
    for f in syn:
        if fin_streams[f.stream] < 2:
            bad.append(f"TCP stream {f.stream} ({f.ip_src}:{f.tcp_srcport}) not closed by both ends")
    stop_at = None
    found = None
    if args.kind == "attack":
        steps = read_steps(args.steps)
        found, problems = attack_steps(frames, steps)
        bad += problems
        firsts = [i["reqs"][0].t for i in found if i]
        if firsts and min(firsts) < 30:
            bad.append(f"the first step comes at {min(firsts):.1f} s, before 30 s of normal polling")
        done = [max([x.t for x in i["resps"]] or [i["reqs"][-1].t]) for i in found if i]
        stop_at = max(done) if done else None
    else:
        if any(f.ip_src == ATTACKER or f.ip_dst == ATTACKER for f in frames):
            bad.append("traffic of 127.0.0.66")
        writes = [f for f in frames if f.is_modbus and f.mb_request() and f.mb_func not in (1, 2, 3, 4)]
        for f in writes:
            if not (f.ip_src == HMI and f.mb_func == 6):
                bad.append(f"frame {f.n}: FC{f.mb_func} (not a read) from {f.ip_src}")
        for f in frames:
            if f.s7_job() and f.s7_func not in (0x04, 0xF0):
                bad.append(f"frame {f.n}: S7 function 0x{f.s7_func:02x} from {f.ip_src}")
    bad += hmi_problems(frames, args.cycles, stop_at)
    bad += process_problems(frames, found if args.kind == "attack" else None)
    if bad:
        print(f"{args.pcap}: {len(bad)} problem(s)", file=sys.stderr)
        for b in bad[:40]:
            print(f"  {b}", file=sys.stderr)
        return 1
    print(f"{args.pcap}: ok ({len(frames)} frames)", file=sys.stderr)
    return 0


def cmd_counts(args):
    frames, _ = load(args.pcap)
    for (src, proto, func), n in sorted(counts(frames).items()):
        print(f"{src}\t{proto}\t{func}\t{n}")
    return 0


def fmt_t(t):
    return f"{t:.3f}"


def stream_table(frames):
    """One entry per TCP connection: client, server, open/close, frames."""
    out = {}
    for f in frames:
        s = out.setdefault(f.stream, {"first": f.t, "last": f.t, "client": None, "server": None, "cport": None})
        s["last"] = f.t
        if f.tcp_flags_syn in ("1", "True") and f.tcp_flags_ack in ("0", "False"):
            s["client"], s["server"], s["cport"], s["sport"] = f.ip_src, f.ip_dst, f.tcp_srcport, f.tcp_dstport
    return out


def manifest(args):
    steps = read_steps(args.steps) if args.steps else None
    for path in args.pcap:
        frames, _ = load(path)
        name = path.rsplit("/", 1)[-1]
        start = datetime.datetime.fromtimestamp(float(frames[0].frame_time_epoch), datetime.timezone.utc)
        end = frames[-1].t
        streams = stream_table(frames)
        print(f"#### `{name}`")
        print()
        print(f"Recorded {start:%Y-%m-%d %H:%M:%S} UTC, {end:.1f} s from the first to the last frame, "
              f"{len(frames)} frames, {len(streams)} TCP connections. Offsets are seconds from the first "
              f"frame (`frame.time_relative`).")
        print()
        print("| offset (s) | hosts | operation |")
        print("|---|---|---|")
        rows = []
        for sid, s in sorted(streams.items()):
            if s["client"] == HMI:
                rows.append((s["first"], f"{HMI} → {s['server']}:{s['sport']}",
                             f"HMI opens its {'Modbus/TCP' if s['sport'] == '502' else 'S7 (COTP + setup communication)'}"
                             f" connection (client port {s['cport']}); closed at {fmt_t(s['last'])}"))
        mb = [f for f in frames if f.ip_src == HMI and f.is_modbus]
        polls = [f for f in mb if f.mb_func == 3]
        if polls:
            rows.append((polls[0].t, f"{HMI} → {MODBUS_PLC}:502",
                         f"{len(polls)} Modbus poll cycles, one a second, last at {fmt_t(polls[-1].t)}: "
                         f"FC3 HR 0-9, FC1 coils 0-15, FC4 IR 100-104 (unit 1)"))
        s7 = [f for f in frames if f.ip_src == HMI and f.s7_job() and f.s7_func == 0x04 and f.s7_area == 0x84]
        if s7:
            rows.append((s7[0].t, f"{HMI} → {S7_PLC}:102",
                         f"{len(s7)} S7 poll cycles, one a second, last at {fmt_t(s7[-1].t)}: "
                         f"read_var DB1.DBB0 (20 bytes), read_var MB0 (4 bytes)"))
        for f in mb:
            if f.mb_func == 6:
                rows.append((f.t, f"{HMI} → {MODBUS_PLC}:502",
                             f"FC6 HR5 (level setpoint) := {int(f.modbus_data, 16)} (operator)"))
        found = []
        if steps and any(f.ip_src == ATTACKER for f in frames):
            found, _ = attack_steps(frames, steps)
            for item in found:
                if not item:
                    continue
                r, reqs, resps = item["row"], item["reqs"], item["resps"]
                s = streams[item["streams"][0]]
                last = max([x.t for x in resps] or [reqs[-1].t])
                rows.append((reqs[0].t, f"{r['src_ip']} → {r['dst_ip']}:{s['sport']}",
                             f"**step {r['step']} `{r['what']}`** ({r['protocol']}): {describe(reqs, resps)}; "
                             f"connection (client port {s['cport']}) opened at {fmt_t(s['first'])}, "
                             f"last response at {fmt_t(last)}, closed at {fmt_t(s['last'])}"))
        for t, hosts, what in sorted(rows, key=lambda x: x[0]):
            print(f"| {fmt_t(t)} | {hosts} | {what} |")
        print(f"| {fmt_t(end)} | | last frame |")
        print()
        print("Frames per source address, protocol and function (tshark `-Y modbus -e ip.src -e "
              "modbus.func_code`, `-Y s7comm -e ip.src -e s7comm.header.rosctr -e s7comm.param.func`):")
        print()
        print("| source | host | protocol | function | frames |")
        print("|---|---|---|---|---|")
        for (src, proto, func), n in sorted(counts(frames).items(), key=lambda x: (tuple(map(int, x[0][0].split("."))), x[0][1:])):
            print(f"| {src} | {HOSTS.get(src, '?')} | {proto} | {func} | {n} |")
        print()
    return 0


def describe(reqs, resps):
    f = reqs[0]
    if f.is_modbus:
        if f.mb_func == 43:
            codes = ", ".join(f"read code {num(q.modbus_read_device_id)}" for q in reqs)
            return f"FC43/14 read device identification ({codes}), answered with the identity objects"
        if f.mb_func == 3:
            addrs = [num(q.modbus_reference_num) for q in reqs]
            ok = sum(1 for a in resps if a.mb_exc is None)
            exc = collections.Counter(a.mb_exc for a in resps if a.mb_exc is not None)
            exc_text = ", ".join(f"{n} with exception {e:02d}" for e, n in sorted(exc.items()))
            return (f"{len(reqs)} FC3 reads of {num(reqs[0].modbus_word_cnt)} holding registers at "
                    f"{addrs[0]}..{addrs[-1]} (step 100): {ok} answered with data, {exc_text}")
        parts = []
        for q in reqs:
            if q.mb_func == 16:
                vals = q.regs
                parts.append(f"FC16 HR {num(q.modbus_reference_num)}-{num(q.modbus_reference_num) + len(vals) - 1}"
                             f" := {vals}")
            elif q.mb_func == 15:
                parts.append(f"FC15 coils {num(q.modbus_reference_num)}-"
                             f"{num(q.modbus_reference_num) + num(q.modbus_bit_cnt) - 1} := 0x{q.modbus_data}")
            elif q.mb_func == 5:
                parts.append(f"FC5 coil {num(q.modbus_reference_num)} := "
                             f"{'on' if q.modbus_data.startswith('ff') else 'off'}")
        return ", ".join(parts) + ", each answered"
    if f.s7_func == 0x05:
        q = f
        area = S7_AREAS.get(q.s7_area, hex(q.s7_area))
        length = num(q.s7comm_param_item_length)
        width = {1: "B", 2: "W", 4: "D"}.get(length, "B")
        start = num(q.s7comm_param_item_address_byte)
        where = f"DB{num(q.s7comm_param_item_db)}.DB{width}{start}" if area == "DB" else f"{area}{width}{start}"
        return (f"write_var {where} ({length} byte{'s' if length != 1 else ''}) := 0x{q.s7comm_resp_data}, "
                f"acknowledged (return code 0xff)")
    if f.s7_func == 0x29:
        return "PLC STOP (function 0x29), acknowledged; the PLC program halts"
    return f.label()[1]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("pcap")
    v.add_argument("--kind", choices=["normal", "attack"], required=True)
    v.add_argument("--steps")
    v.add_argument("--cycles", type=int, required=True)
    v.add_argument("--max-bytes", type=int, default=2_000_000)
    c = sub.add_parser("counts")
    c.add_argument("pcap")
    m = sub.add_parser("manifest")
    m.add_argument("pcap", nargs="+")
    m.add_argument("--steps")
    args = ap.parse_args()
    if args.cmd == "verify":
        if args.kind == "attack" and not args.steps:
            ap.error("--kind attack needs --steps")
        return verify(args)
    if args.cmd == "counts":
        return cmd_counts(args)
    return manifest(args)


if __name__ == "__main__":
    sys.exit(main())
