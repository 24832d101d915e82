"""The whole UWS lifecycle through zeep, built from the served WSDL (offline), in one SOAP version.

Usage: lifecycle.py WSDL_URL PORT_NAME      (PORT_NAME: UWSSoap11 or UWSSoap12)

create (parameters and a file in, an endpoint reference out) -> read the quote and the
termination time -> set the termination time (clamped) -> accept the quote -> poll the phase
until it ends -> get the results (and fetch one) -> get the whole job -> destroy -> the
identifier is unknown now: a fault. Then the error path: an identifier that never existed and
a missing identifier, both faults. Prints one JSON object with what each step saw; the vitest
driver asserts on it. Exits non-zero on any unexpected exception.
"""
import datetime
import json
import sys
import uuid

import requests
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin

from offline import client

TNS = "urn:uws-kit:soap:uws-0.3"
WSA = "http://www.w3.org/2005/08/addressing"


def fault_info(fault):
    detail = fault.detail
    error = detail.find(f".//{{{TNS}}}error") if detail is not None else None
    job = detail.find(f".//{{{TNS}}}jobId") if detail is not None else None
    return {
        "code": fault.code,
        "message": fault.message,
        "subcodes": [q.localname if hasattr(q, "localname") else str(q) for q in (fault.subcodes or [])],
        "error": error.text if error is not None else None,
        "jobId": job.text if job is not None else None,
    }


def header_text(envelope, ns, local):
    node = envelope.find(f"{{{envelope.nsmap.get(envelope.prefix) or ''}}}Header/{{{ns}}}{local}")
    if node is None:
        for header in envelope:
            if etree.QName(header).localname == "Header":
                node = header.find(f"{{{ns}}}{local}")
    return node.text if node is not None else None


def main():
    wsdl_url, port_name = sys.argv[1], sys.argv[2]
    history = HistoryPlugin()
    c = client(wsdl_url, plugins=[history])
    service = c.bind("UWS", port_name)
    Parameter = c.get_type(f"{{{TNS}}}Parameter")
    Upload = c.get_type(f"{{{TNS}}}Upload")
    out = {"port": port_name}

    created = service.createJob(
        runId="zeep",
        parameter=[Parameter("SELECT * FROM t WHERE a < 3 & b > 2", id="QUERY"), Parameter("42", id="N")],
        upload=[Upload(b"a,b\n1,2\n", name="TABLE", mimeType="text/csv")],
    )
    job_id = created.body.jobId
    epr = created.body.EndpointReference
    out["create"] = {
        "jobId": job_id,
        "phase": created.body.phase,
        "address": epr.Address._value_1,
        "referenceParameters": [str(v) for v in epr.ReferenceParameters._value_1],
        "headerResourceIdentifier": created.header.ResourceIdentifier,
        "sentAction": header_text(history.last_sent["envelope"], WSA, "Action"),
        "sentMessageID": header_text(history.last_sent["envelope"], WSA, "MessageID"),
        "relatesTo": header_text(history.last_received["envelope"], WSA, "RelatesTo"),
        "replyAction": header_text(history.last_received["envelope"], WSA, "Action"),
    }
    headers = {"ResourceIdentifier": job_id}

    quote = service.getQuote(_soapheaders=headers)
    termination = service.getTerminationTime(_soapheaders=headers)
    out["quote"] = quote.body.quote.isoformat() if quote.body.quote is not None else None
    out["quoteEcho"] = quote.header.ResourceIdentifier
    out["terminationTime"] = termination.body.terminationTime.isoformat()

    wish = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)
    out["terminationWish"] = wish.isoformat()
    out["terminationSet"] = service.setTerminationTime(terminationTime=wish, _soapheaders=headers).body.terminationTime.isoformat()

    out["accepted"] = service.acceptQuote(_soapheaders=headers).body.phase
    phases = []
    phase = out["accepted"]
    for _ in range(200):
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
        phase = service.getPhase(wait=5, _soapheaders=headers).body.phase
        phases.append(phase)
    out["polled"] = phases
    out["phase"] = phase

    results = service.getResults(_soapheaders=headers).body.results
    out["results"] = [{"id": r.id, "href": r.href, "mimeType": r["mime-type"], "size": r.size} for r in results.result]
    if results.result:
        fetched = requests.get(results.result[0].href, timeout=30)
        out["resultContent"] = {"status": fetched.status_code, "text": fetched.text, "type": fetched.headers.get("content-type")}

    job = service.getSummary(_soapheaders=headers).body.job
    out["summary"] = {
        "jobId": job.jobId,
        "runId": job.runId,
        "phase": job.phase,
        "version": job.version,
        "executionDuration": job.executionDuration,
        "destruction": job.destruction.isoformat(),
        "parameters": [p.id for p in job.parameters.parameter],
    }

    out["destroyed"] = bool(service.destroy(_soapheaders=headers).body.success)
    try:
        service.getPhase(_soapheaders=headers)
        out["afterDestroy"] = "no fault"
    except zeep.exceptions.Fault as fault:
        out["afterDestroy"] = fault_info(fault)

    try:
        service.getPhase(_soapheaders={"ResourceIdentifier": "never-" + uuid.uuid4().hex})
        out["unknown"] = "no fault"
    except zeep.exceptions.Fault as fault:
        out["unknown"] = fault_info(fault)
    try:
        service.getQuote()
        out["missing"] = "no fault"
    except zeep.exceptions.Fault as fault:
        out["missing"] = fault_info(fault)

    print(json.dumps(out))


if __name__ == "__main__":
    main()
