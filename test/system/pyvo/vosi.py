"""Reads the VOSI documents of the services given as base URLs with pyvo's VOSI parsers
(pyvo.io.vosi.parse_availability / parse_capabilities, in pedantic mode) and prints, per
service, what pyvo understood, as one JSON object."""
import io
import json
import sys
import urllib.request

from pyvo.io import vosi


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


out = {}
for base in sys.argv[1:]:
    availability = vosi.parse_availability(io.BytesIO(fetch(base + "/availability")), pedantic=True)
    capabilities = vosi.parse_capabilities(io.BytesIO(fetch(base + "/capabilities")), pedantic=True)
    out[base] = {
        "available": bool(availability.available),
        "upSince": None if availability.upsince is None else str(availability.upsince),
        "notes": list(availability.notes),
        "capabilities": [
            {
                "standardID": c.standardid,
                "type": type(c).__name__,
                "interfaces": [
                    {"type": type(i).__name__, "accessURLs": [u.content for u in i.accessurls]}
                    for i in c.interfaces
                ],
                "languages": [l.name for l in getattr(c, "languages", [])],
            }
            for c in capabilities
        ],
    }
print(json.dumps(out))
