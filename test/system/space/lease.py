"""The space application's lease driven by zeep (UWS v0.3 section 3.3), files by requests.

Usage: lease.py WSDL_URL SPACES_DIR

create a space (a lease: size parameter, termination time, run) -> read its identifier with
getResults -> extend the lease, then ask past the policy (clamped) -> put, list and get a file
-> a second owner (from 127.0.0.2) cannot read, write or list -> destroy -> the file is gone
(404) and so is the folder. Then a short lease (3 s) that lapses: its files go by themselves.
Prints one JSON object; the vitest driver asserts on it.
"""
import datetime
import json
import os
import sys
import time

import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zeep"))
from offline import client  # noqa: E402

TNS = "urn:uws-kit:soap:uws-0.3"
VOS = "vos://uws-kit.demo!space/"


class FromAddress(HTTPAdapter):
    """Connects from a given local address: the demo tells owners apart by it."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def space_url(vos_id, base):
    """The same mapping as examples/space/index.ts spaceUrl."""
    return f"{base}/spaces/{vos_id[len(VOS):]}/" if vos_id.startswith(VOS) else None


def create(service, Parameter, lease):
    created = service.createJob(parameter=[Parameter("1000", id="size")], terminationTime=now() + lease, run=True)
    headers = {"ResourceIdentifier": created.body.jobId}
    phase = created.body.phase
    for _ in range(100):
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
        phase = service.getPhase(wait=5, _soapheaders=headers).body.phase
    return created.body.jobId, headers, phase


def main():
    wsdl_url, spaces_dir = sys.argv[1], sys.argv[2]
    base = wsdl_url.split("/soap/")[0]
    c = client(wsdl_url)
    service = c.bind("UWS", "UWSSoap11")
    Parameter = c.get_type(f"{{{TNS}}}Parameter")
    other = requests.Session()
    other.mount("http://", FromAddress("127.0.0.2"))
    out = {}

    space_id, headers, phase = create(service, Parameter, datetime.timedelta(hours=1))
    out["phase"] = phase
    results = service.getResults(_soapheaders=headers).body.results.result
    out["results"] = [{"id": r.id, "href": r.href} for r in results]
    vos_id = results[0].href
    url = space_url(vos_id, base)
    out["folderBefore"] = os.path.isdir(os.path.join(spaces_dir, space_id))

    created = service.getSummary(_soapheaders=headers).body.job.creationTime
    wish = now() + datetime.timedelta(hours=2)
    out["extendAsked"] = wish.isoformat()
    out["extendSet"] = service.setTerminationTime(terminationTime=wish, _soapheaders=headers).body.terminationTime.isoformat()
    too_far = service.setTerminationTime(terminationTime=now() + datetime.timedelta(days=30), _soapheaders=headers).body.terminationTime
    out["clampedSeconds"] = (too_far - created).total_seconds()

    out["put"] = requests.put(url + "notes.txt", data=b"kept while the lease runs", timeout=30).status_code
    out["list"] = requests.get(url, timeout=30).text
    got = requests.get(url + "notes.txt", timeout=30)
    out["get"] = {"status": got.status_code, "text": got.text}
    out["traversal"] = requests.put(url + "%2e%2e", data=b"x", timeout=30).status_code
    out["other"] = {
        "get": other.get(url + "notes.txt", timeout=30).status_code,
        "put": other.put(url + "notes.txt", data=b"mine now", timeout=30).status_code,
        "delete": other.delete(url + "notes.txt", timeout=30).status_code,
        "list": other.get(url, timeout=30).status_code,
    }
    out["afterOther"] = requests.get(url + "notes.txt", timeout=30).text

    out["destroyed"] = bool(service.destroy(_soapheaders=headers).body.success)
    out["afterDestroy"] = requests.get(url + "notes.txt", timeout=30).status_code
    out["folderAfterDestroy"] = os.path.isdir(os.path.join(spaces_dir, space_id))

    short_id, short_headers, _ = create(service, Parameter, datetime.timedelta(seconds=3))
    short_url = space_url(service.getResults(_soapheaders=short_headers).body.results.result[0].href, base)
    out["shortPut"] = requests.put(short_url + "brief.txt", data=b"gone soon", timeout=30).status_code
    out["shortFolderBefore"] = os.path.isdir(os.path.join(spaces_dir, short_id))
    status = 200
    for _ in range(60):
        status = requests.get(short_url + "brief.txt", timeout=30).status_code
        if status == 404:
            break
        time.sleep(0.5)
    out["shortAfterLease"] = status
    for _ in range(20):
        if not os.path.isdir(os.path.join(spaces_dir, short_id)):
            break
        time.sleep(0.25)
    out["shortFolderAfter"] = os.path.isdir(os.path.join(spaces_dir, short_id))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
