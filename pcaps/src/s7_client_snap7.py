#!/usr/bin/env python3
"""S7comm client built on python-snap7 (used by make-captures.sh).

Modes:
  basic    (python-snap7 2.x native client, or 3.x): connect (COTP CR/CC +
           setup communication), SZL reads (CPU state 0x0424, CPU info
           0x001C, module id 0x0011, CP info 0x0131, protection 0x0232, SZL
           list), block list / blocks of type / block info, DB read/write,
           M, Q and I read/write, timers/counters, multi-var read, PLC
           clock get/set, a read of a DB that does not exist (error
           reply), disconnect.
  control  connect, CPU state, list blocks, list DBs, upload of DB1 (plain
           and full), download of a small block image as DB2, read back,
           PLC stop, CPU state, hot start, CPU state, PLC stop, cold start,
           CPU state, disconnect (against python-snap7 3.x's server, which
           implements upload and download).
  control-refused
           the same against a server that refuses upload and download
           (the native Snap7 server): those steps must fail.
  attack   what an attacker's engineering tool does, every step through the
           native Snap7 client's own API (against python-snap7 3.x's server):
           recon (SZL 0x0011 module id, 0x001C component id, 0x0232
           protection, 0x0131 communication, 0x0000 SZL list; list blocks,
           list DBs, block info DB1), three password attempts (userdata
           security, set password), clear password, upload DB1 (plain and
           full), PLC stop, download of a block image as DB2 (request
           download / download block / download ended / PI _INSE), delete
           DB2 (PI _DELE), compress memory (PI _GARB), copy RAM to ROM (PI
           _MODU), hot start (PI P_PROGRAM), PLC stop, cold start, writes to
           DB1, outputs (Q), inputs (I), flags (M) and counters (C), set the
           PLC clock, disconnect.
  poll     an HMI's cyclic poll: read DB1 (bytes 0-15) and flags MB0-MB7
           every --period seconds, --polls times; nothing else.

usage: s7_client_snap7.py [--host H] [--port P]
                          [--mode basic|control|control-refused|attack|poll]
                          [--polls N] [--period S]
"""
import argparse
import ctypes
import datetime
import logging
import struct
import sys
import time

import snap7
from snap7.type import Area, Block, WordLen

failures = []


def step(what, fn, expect_error=False):
    try:
        result = fn()
    except Exception as exc:  # snap7 raises RuntimeError (2.x) or S7Error subclasses (3.x)
        if expect_error:
            print(f"  {what:32s} error as expected: {exc}", file=sys.stderr)
        else:
            print(f"  {what:32s} FAILED: {exc}", file=sys.stderr)
            failures.append(what)
        return None
    if expect_error:
        print(f"  {what:32s} unexpectedly succeeded", file=sys.stderr)
        failures.append(what)
    else:
        text = repr(result)
        print(f"  {what:32s} ok {text[:90]}", file=sys.stderr)
    time.sleep(0.02)
    return result


def multi_read(client):
    """Read three variables in one S7 request (2.x ctypes API)."""
    items = (snap7.type.S7DataItem * 3)()
    bufs = []
    for item, (area, db, start, size) in zip(
        items, [(Area.DB, 1, 0, 4), (Area.MK, 0, 0, 2), (Area.PE, 0, 0, 2)]
    ):
        item.Area = ctypes.c_int32(area)
        item.WordLen = ctypes.c_int32(WordLen.Byte)
        item.Result = ctypes.c_int32(0)
        item.DBNumber = ctypes.c_int32(db)
        item.Start = ctypes.c_int32(start)
        item.Amount = ctypes.c_int32(size)
        buf = ctypes.create_string_buffer(size)
        bufs.append(buf)
        item.pData = ctypes.cast(ctypes.pointer(buf), ctypes.POINTER(ctypes.c_uint8))
    rc, out = client.read_multi_vars(items)
    return rc, [bytes(b.raw) for b in bufs]


def basic(client):
    step("get_cpu_state (SZL 0x0424)", client.get_cpu_state)
    step("get_cpu_info (SZL 0x001C)", client.get_cpu_info)
    step("read_szl 0x0011 (module id)", lambda: client.read_szl(0x0011, 0))
    step("get_order_code (SZL 0x0011)", client.get_order_code)
    step("get_cp_info (SZL 0x0131)", client.get_cp_info)
    step("get_protection (SZL 0x0232)", client.get_protection)
    step("read_szl_list (SZL 0x0000)", client.read_szl_list)
    step("list_blocks", client.list_blocks)
    step("list_blocks_of_type DB", lambda: list(client.list_blocks_of_type(Block.DB, 16)))
    step("get_block_info DB1", lambda: client.get_block_info(Block.DB, 1))
    step("db_read DB1.0 len 64", lambda: bytes(client.db_read(1, 0, 64)))
    step("db_write DB1.100 len 8", lambda: client.db_write(1, 100, bytearray(b"\x01\x02\x03\x04icsg")))
    step("db_read DB1.100 len 8", lambda: bytes(client.db_read(1, 100, 8)))
    step("db_read DB2.0 len 32", lambda: bytes(client.db_read(2, 0, 32)))
    step("mb_read M0 len 16", lambda: bytes(client.mb_read(0, 16)))
    step("mb_write M10 len 2", lambda: client.mb_write(10, 2, bytearray(b"\xff\x01")))
    step("mb_read M10 len 2", lambda: bytes(client.mb_read(10, 2)))
    step("ab_write Q0 len 2", lambda: client.ab_write(0, bytearray(b"\x81\x42")))
    step("ab_read Q0 len 4", lambda: bytes(client.ab_read(0, 4)))
    step("eb_read I0 len 4", lambda: bytes(client.eb_read(0, 4)))
    step("eb_write I4 len 1", lambda: client.eb_write(4, 1, bytearray(b"\x0f")))
    step("read_area DB1.4 len 4", lambda: bytes(client.read_area(Area.DB, 1, 4, 4)))
    step("write_area M20 len 4", lambda: client.write_area(Area.MK, 0, 20, bytearray(b"\xde\xad\xbe\xef")))
    step("tm_read T0 x2", lambda: bytes(client.tm_read(0, 2)))
    step("ct_read C0 x2", lambda: bytes(client.ct_read(0, 2)))
    if int(getattr(snap7, "__version__", "2").split(".")[0]) < 3:
        step("read_multi_vars DB1/M/I", lambda: multi_read(client))
    step("get_plc_datetime", client.get_plc_datetime)
    step("set_plc_datetime", lambda: client.set_plc_datetime(datetime.datetime(2024, 5, 17, 8, 30, 0)))
    step("get_plc_datetime", client.get_plc_datetime)
    step("db_read DB99 (missing)", lambda: client.db_read(99, 0, 4), expect_error=True)
    step("db_read DB1.0 len 64", lambda: bytes(client.db_read(1, 0, 64)))


def block_image(number, mc7):
    """A minimal S7 block image: 36-byte compact block header, MC7 (data)
    and an empty 42-byte footer; enough for native Snap7's CheckBlock()."""
    image = bytearray(36) + bytearray(mc7) + bytearray(42)
    image[0:2] = b"pp"  # block signature
    image[2] = 0x01  # block version
    image[4] = 0x05  # language: DB
    image[5] = 0x0A  # sub-block type: DB
    struct.pack_into(">H", image, 6, number)
    struct.pack_into(">I", image, 8, len(image))  # load-memory length
    struct.pack_into(">H", image, 34, len(mc7))  # MC7 length
    return image


def control(client, refused):
    """Upload/download/stop/start.  With refused=True the server is expected
    to refuse upload and download (native Snap7 server)."""
    step("get_cpu_state", client.get_cpu_state)
    step("list_blocks", client.list_blocks)
    step("list_blocks_of_type DB", lambda: list(client.list_blocks_of_type(Block.DB, 16)))
    step("upload DB1", lambda: bytes(client.upload(1)), expect_error=refused)
    step("full_upload DB1", lambda: client.full_upload(Block.DB, 1), expect_error=refused)
    image = block_image(2, b"DNLD" + bytes(range(60)))
    step("download 142-byte block image as DB2", lambda: client.download(image, 2), expect_error=refused)
    if not refused:
        step("db_read DB2.36 len 8", lambda: bytes(client.db_read(2, 36, 8)))
    step("plc_stop", client.plc_stop)
    step("get_cpu_state", client.get_cpu_state)
    step("plc_hot_start", client.plc_hot_start)
    step("get_cpu_state", client.get_cpu_state)
    step("plc_stop", client.plc_stop)
    step("plc_cold_start", client.plc_cold_start)
    step("get_cpu_state", client.get_cpu_state)


def attack(client):
    """Recon, password guessing, upload, stop, download, delete, compress,
    copy RAM to ROM, start, writes, clock (python-snap7 3.x server)."""
    step("get_cpu_info (SZL 0x001C)", client.get_cpu_info)
    step("read_szl 0x0011 (module id)", lambda: client.read_szl(0x0011, 0))
    step("get_protection (SZL 0x0232)", client.get_protection)
    step("get_cp_info (SZL 0x0131)", client.get_cp_info)
    step("read_szl_list (SZL 0x0000)", client.read_szl_list)
    step("list_blocks", client.list_blocks)
    step("list_blocks_of_type DB", lambda: list(client.list_blocks_of_type(Block.DB, 16)))
    step("get_block_info DB1", lambda: client.get_block_info(Block.DB, 1))
    for password in ("secret1", "123456", "admin"):
        step(f"set_session_password {password!r}", lambda pw=password: client.set_session_password(pw))
    step("clear_session_password", client.clear_session_password)
    step("upload DB1", lambda: bytes(client.upload(1)))
    step("full_upload DB1", lambda: client.full_upload(Block.DB, 1))
    step("plc_stop", client.plc_stop)
    image = block_image(2, b"EVIL" + bytes(range(40)))
    step("download block image as DB2", lambda: client.download(image, 2))
    step("delete DB2 (PI _DELE)", lambda: client.delete(Block.DB, 2))
    step("compress (PI _GARB)", lambda: client.compress(1000))
    step("copy_ram_to_rom (PI _MODU)", lambda: client.copy_ram_to_rom(1000))
    step("plc_hot_start", client.plc_hot_start)
    step("plc_stop", client.plc_stop)
    step("plc_cold_start", client.plc_cold_start)
    step("db_write DB1.0 len 4", lambda: client.db_write(1, 0, bytearray(b"\x7f\xff\x00\x00")))
    step("ab_write Q0 len 2", lambda: client.ab_write(0, bytearray(b"\xff\xff")))
    step("eb_write I0 len 1", lambda: client.eb_write(0, 1, bytearray(b"\x00")))
    step("mb_write M0 len 2", lambda: client.mb_write(0, 2, bytearray(b"\x00\x00")))
    step("ct_write C0 x1", lambda: client.ct_write(0, 1, bytearray(b"\x00\x00")))
    step("set_plc_datetime", lambda: client.set_plc_datetime(datetime.datetime(2031, 1, 1, 0, 0, 0)))


def poll(client, polls, period):
    for _ in range(polls):
        start = time.monotonic()
        for what, fn in (("db_read DB1.0 len 16", lambda: client.db_read(1, 0, 16)),
                         ("mb_read M0 len 8", lambda: client.mb_read(0, 8))):
            try:
                fn()
            except Exception as exc:
                print(f"  {what:32s} FAILED: {exc}", file=sys.stderr)
                failures.append(what)
        time.sleep(max(0.0, period - (time.monotonic() - start)))
    print(f"  {polls} poll cycles done", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--mode", choices=["basic", "control", "control-refused", "attack", "poll"], default="basic")
    ap.add_argument("--polls", type=int, default=60)
    ap.add_argument("--period", type=float, default=0.2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    client = snap7.client.Client()
    print(f"python-snap7 {getattr(snap7, '__version__', '?')} client, mode {args.mode}", file=sys.stderr)
    step("connect rack 0 slot 1", lambda: client.connect(args.host, 0, 1, args.port))
    if not client.get_connected():
        return 1
    if args.mode == "poll":
        poll(client, args.polls, args.period)
        client.disconnect()
        client.destroy()
        print(f"s7 client done, {len(failures)} unexpected failure(s): {failures[:5]}", file=sys.stderr)
        return 2 if failures else 0
    step("get_pdu_length", client.get_pdu_length)
    if args.mode == "basic":
        basic(client)
    elif args.mode == "attack":
        attack(client)
    else:
        control(client, refused=args.mode == "control-refused")
    step("disconnect", client.disconnect)
    client.destroy()
    print(f"s7 client done, {len(failures)} unexpected failure(s): {failures}", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
