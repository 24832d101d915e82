"""The v0.3 two-phase commit through zeep, built from the served WSDL (offline), in one SOAP version.

Usage: twophase.py WSDL_URL PORT_NAME      (PORT_NAME: UWSSoap11 or UWSSoap12)

create (COST=10) -> getQuoteState (estimated) -> setParameters (COST=5000): the quote changes ->
acceptQuote -> poll the phase until it ends -> getQuoteState (accepted, frozen at the changed
quote, with when) and the job summary's jobInfo extension. Then a job whose quote is past its
termination time: acceptQuote is a fault and the job stays PENDING. Prints one JSON object; the
vitest driver asserts on it.
"""
import json
import sys

import zeep
from lxml import etree

from offline import client

TNS = "urn:uws-kit:soap:uws-0.3"


def iso(value):
    return value.isoformat() if value is not None else None


def state(service, headers):
    body = service.getQuoteState(_soapheaders=headers).body
    return {"quote": iso(body.quote), "status": body.status, "acceptedAt": iso(body.acceptedAt)}


def main():
    wsdl_url, port_name = sys.argv[1], sys.argv[2]
    c = client(wsdl_url)
    service = c.bind("UWS", port_name)
    Parameter = c.get_type(f"{{{TNS}}}Parameter")
    out = {"port": port_name}

    created = service.createJob(parameter=[Parameter("10", id="COST")])
    headers = {"ResourceIdentifier": created.body.jobId}
    out["created"] = state(service, headers)

    changed = service.setParameters(parameter=[Parameter("5000", id="COST")], _soapheaders=headers).body
    out["changed"] = {"quote": iso(changed.quote), "status": changed.status, "acceptedAt": iso(changed.acceptedAt)}

    out["accepted"] = service.acceptQuote(_soapheaders=headers).body.phase
    phase = out["accepted"]
    for _ in range(200):
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
        phase = service.getPhase(wait=5, _soapheaders=headers).body.phase
    out["phase"] = phase
    out["final"] = state(service, headers)

    job = service.getSummary(_soapheaders=headers).body.job
    info = {}
    for element in job.jobInfo._value_1 if job.jobInfo is not None else []:
        node = element if isinstance(element, etree._Element) else None
        if node is not None:
            info[etree.QName(node).localname] = dict(node.attrib)
    out["summary"] = {"quote": iso(job.quote), "jobInfo": info}

    try:
        service.setParameters(parameter=[Parameter("1", id="COST")], _soapheaders=headers)
        out["frozen"] = "no fault"
    except zeep.exceptions.Fault as fault:
        out["frozen"] = fault.message

    # A quote past the termination time (the policy keeps a job 7 days): never run.
    late = service.createJob(parameter=[Parameter(str(30 * 86400), id="COST")])
    late_headers = {"ResourceIdentifier": late.body.jobId}
    out["exceeded"] = state(service, late_headers)
    try:
        service.acceptQuote(_soapheaders=late_headers)
        out["refused"] = "no fault"
    except zeep.exceptions.Fault as fault:
        out["refused"] = fault.message
    out["afterRefusal"] = service.getPhase(_soapheaders=late_headers).body.phase

    print(json.dumps(out))


if __name__ == "__main__":
    main()
