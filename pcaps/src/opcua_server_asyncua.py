#!/usr/bin/env python3
"""OPC UA server for make-captures.sh, on asyncua (pure Python).

Endpoint opc.tcp://HOST:PORT/icsight/ with security policy None and, when
--cert/--key are given, Basic256Sha256 Sign and SignAndEncrypt.  Identity
tokens: anonymous and user name + password (operator / --password); any other
user name or password is refused (BadUserAccessDenied).

Address space, namespace urn:icsight:plant (index 2):
  Objects/Plant                     object
    Level        Double  read-only  tank level, moves every 0.5 s
    Setpoint     Double  writable   level set-point (500.0)
    PumpRunning  Boolean read-only  true
    Mode         String  writable   "AUTO"
    StartPump(Boolean run) -> Boolean    method; sets PumpRunning, returns it
"""
import argparse
import asyncio
import logging
import math
import signal

from asyncua import Server, ua, uamethod
from asyncua.crypto.permission_rules import SimpleRoleRuleset, User, UserRole
from asyncua.server.user_managers import UserManager


class Users(UserManager):
    def __init__(self, password):
        self.password = password

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None and password is None:
            return User(role=UserRole.User)  # anonymous (the channel's certificate is no login)
        if username == "operator" and password == self.password:
            return User(role=UserRole.User, name=username)
        return None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=4840)
    ap.add_argument("--password", default="op-2024")
    ap.add_argument("--cert", help="server certificate (DER or PEM) for Basic256Sha256")
    ap.add_argument("--key", help="its private key (PEM)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = Server(user_manager=Users(args.password))
    await server.init()
    server.set_endpoint(f"opc.tcp://{args.host}:{args.port}/icsight/")
    server.set_server_name("icsight plant OPC UA server")
    await server.set_application_uri("urn:icsight:plant:server")
    policies = [ua.SecurityPolicyType.NoSecurity]
    if args.cert and args.key:
        await server.load_certificate(args.cert)
        await server.load_private_key(args.key)
        policies += [ua.SecurityPolicyType.Basic256Sha256_Sign,
                     ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
    server.set_security_policy(policies, permission_ruleset=SimpleRoleRuleset())
    server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])

    idx = await server.register_namespace("urn:icsight:plant")
    plant = await server.nodes.objects.add_object(ua.NodeId("Plant", idx), ua.QualifiedName("Plant", idx))
    level = await plant.add_variable(ua.NodeId("Level", idx), ua.QualifiedName("Level", idx), 480.0)
    setpoint = await plant.add_variable(ua.NodeId("Setpoint", idx), ua.QualifiedName("Setpoint", idx),
                                        500.0)
    await setpoint.set_writable()
    pump = await plant.add_variable(ua.NodeId("PumpRunning", idx), ua.QualifiedName("PumpRunning", idx),
                                    True)
    mode = await plant.add_variable(ua.NodeId("Mode", idx), ua.QualifiedName("Mode", idx), "AUTO")
    await mode.set_writable()

    @uamethod
    async def start_pump(parent, run):
        await pump.write_value(bool(run))
        print(f"StartPump({run})", flush=True)
        return bool(run)

    await plant.add_method(ua.NodeId("StartPump", idx), ua.QualifiedName("StartPump", idx), start_pump,
                           [ua.VariantType.Boolean], [ua.VariantType.Boolean])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"listening on {args.host}:{args.port}", flush=True)
        n = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
            n += 1
            await level.write_value(480.0 + round(20.0 * math.sin(n / 4.0), 2))


if __name__ == "__main__":
    asyncio.run(main())
