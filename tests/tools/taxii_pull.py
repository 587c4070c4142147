#!/usr/bin/env python3
"""Pull every collection of a TAXII 2.1 server with the independent `taxii2-client` package,
the way a national sharing platform's consumer would, and print what it got as JSON.

usage: taxii_pull.py DISCOVERY_URL TOKEN CA_PEM PAGE_SIZE
"""
import json
import os
import sys

# requests lets a CA bundle named in the environment override the one a session is given.
for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(name, None)

import requests
from taxii2client.v21 import Server, as_pages

url, token, ca, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


class Bearer(requests.auth.AuthBase):
    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + token
        return r


server = Server(url, verify=ca, auth=Bearer())
out = {"title": server.title, "roots": [], "collections": {}}
for root in server.api_roots:
    out["roots"].append(root.url)
    for c in root.collections:
        objects, pages = [], 0
        for envelope in as_pages(c.get_objects, per_request=per):
            pages += 1
            objects.extend(envelope.get("objects", []))
        manifest = c.get_manifest()
        out["collections"][c.title] = {
            "id": c.id,
            "can_read": c.can_read,
            "pages": pages,
            "objects": objects,
            "manifest": len(manifest.get("objects", [])),
        }
print(json.dumps(out))
