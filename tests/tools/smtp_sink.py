#!/usr/bin/python3
"""An SMTP sink for the notification tests: a real SMTP server (aiosmtpd) that insists on
STARTTLS and a login, and writes each message it accepts to DIR as JSON (envelope, decoded
subject and body, whether the session was encrypted, who logged in).

usage: smtp_sink.py PORT CERT KEY DIR USER PASSWORD   (prints "ready" when listening)
"""
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, out, user, password = sys.argv[1:7]
port = int(port)


class Sink:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        self.n += 1
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "body": body.get_content() if body else "",
            "tls": session.ssl is not None,
            "login": session.authenticated and user,
        }
        path = os.path.join(out, "%06d.json" % self.n)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Sink(),
    hostname="127.0.0.1",
    port=port,
    tls_context=context,
    require_starttls=True,
    authenticator=authenticate,
    auth_required=True,
)
controller.start()
print("ready", flush=True)
# Until the test closes our stdin.
sys.stdin.read()
controller.stop()
