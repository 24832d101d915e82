"""Drives the uws-kit demo with pyvo (Debian python3-pyvo), the UWS client astronomers use.

Usage: /usr/bin/python3 session.py SCENARIO BASE_URL

Each scenario uses only pyvo's public API (AsyncTAPJob, TAPService, pyvo.io.uws) plus the
requests session pyvo itself uses, checks what a pyvo user would rely on, and prints one JSON
object of what it saw. A failed check exits non-zero with the reason on stderr.
"""
import datetime
import functools
import io
import json
import sys
import warnings

warnings.simplefilter("ignore")

import requests  # noqa: E402
from astropy.table import Table  # noqa: E402
from astropy.time import Time  # noqa: E402
from pyvo.dal.exceptions import DALQueryError, DALServiceError  # noqa: E402
from pyvo.dal.tap import AsyncTAPJob, TAPService  # noqa: E402
from pyvo.io.uws import parse_job_list  # noqa: E402


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def utc(t):
    """An astropy Time or a datetime as an aware UTC datetime (millisecond precision)."""
    if isinstance(t, Time):
        t = t.to_datetime()
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def create(session, jobs_url, **params):
    """Create a job the way pyvo's TAPQuery.submit does: POST, follow the 303, job = final URL."""
    response = session.post(jobs_url, data=params)
    check(response.status_code == 200, f"creating a job ended in {response.status_code}, not 200 after the 303")
    check(response.history and response.history[0].status_code == 303, "job creation did not answer 303 See Other")
    return AsyncTAPJob(response.url, session=session)


def rows(job):
    """The echo result (a VOTable of the job's parameters) as {name: value}."""
    table = job.fetch_result().to_table()
    return {str(r["name"]): str(r["value"]) for r in table}


def lifecycle(base):
    """Create, read, destruction, execution duration, run, wait, results, fetch, delete."""
    s = requests.Session()
    jobs_url = f"{base}/uws/echo/jobs"
    job = create(s, jobs_url, GREETING="hello", COLOR="blue sky & sea <3")
    url = job.url
    check(job.phase == "PENDING", f"a new job is {job.phase}, not PENDING")
    check(job.uws_version == "1.1", f"the job says UWS version {job.uws_version}")
    check(url == f"{jobs_url}/{job.job_id}", f"the job URL {url} is not the list URL + '/' + jobId")
    params = {p.id_: p.content for p in job.job.parameters}
    # Names are case-insensitive; the service shows them in lower case (as DaCHS does).
    check(params == {"greeting": "hello", "color": "blue sky & sea <3"}, f"parameters read back as {params}")
    check(job.owner is None, f"an anonymous job has owner {job.owner!r}")
    created = utc(job.job.creationtime)

    # Destruction: pyvo sends YYYY-MM-DDTHH:MM:SS.ffffffZ (microseconds); the server keeps ms.
    wanted = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=654321) + datetime.timedelta(days=2)
    job.destruction = wanted
    got = utc(job.destruction)
    check(got == utc(wanted), f"destruction set to {wanted.isoformat()} reads back as {got.isoformat()}")

    job.execution_duration = 120
    check(float(job.execution_duration.sec) == 120.0, f"execution duration reads back as {job.execution_duration}")

    job.run()
    job.wait(timeout=60)
    check(job.phase == "COMPLETED", f"the echo job ended {job.phase}")
    started, ended = utc(job.job.starttime), utc(job.job.endtime)
    check(created <= started <= ended, "creation, start and end times are out of order")
    check([r.id_ for r in job.results] == ["result"], f"results are {[r.id_ for r in job.results]}")
    check(job.result_uri == f"{url}/results/result", f"result URI is {job.result_uri}")
    echoed = rows(job)
    check(echoed == params, f"the result lists {echoed}, not the parameters {params}")

    job.delete()
    after = s.get(url)
    check(after.status_code == 404, f"a deleted job answers {after.status_code}, not 404")
    return {"jobId": url.rsplit("/", 1)[1], "destruction": got.isoformat(), "echoed": echoed, "afterDelete": after.status_code}


def error(base):
    """A job that ends in ERROR: its message reaches pyvo, and raise_if_error raises."""
    s = requests.Session()
    job = create(s, f"{base}/uws/echo/jobs", ERROR="the sky is cloudy")
    job.run().wait(timeout=60)
    check(job.phase == "ERROR", f"the job ended {job.phase}, not ERROR")
    message = job.job.message
    check(message == "the sky is cloudy", f"the error message reads {message!r}")
    check(job.job.errorsummary.type_ == "fatal", f"the error type is {job.job.errorsummary.type_}")
    try:
        job.raise_if_error()
        raised = False
    except DALQueryError:
        raised = True
    check(raised, "raise_if_error() did not raise for a job in ERROR")
    detail = s.get(f"{job.url}/error")
    check(detail.status_code == 200 and "the sky is cloudy" in detail.text, f"/error answered {detail.status_code}: {detail.text!r}")
    return {"phase": job.phase, "message": message}


def joblist(base):
    """The job list with PHASE (union), AFTER and LAST, read with pyvo.io.uws.parse_job_list."""
    s = requests.Session()
    jobs_url = f"{base}/uws/echo/jobs"

    def listing(**params):
        r = s.get(jobs_url, params=params, stream=True)
        check(r.status_code == 200, f"GET {r.url} answered {r.status_code}")
        # What TAPService.get_job_list does with the response.
        r.raw.read = functools.partial(r.raw.read, decode_content=True)
        return [(j.jobid, j.phase) for j in parse_job_list(r.raw.read)]

    pending = create(s, jobs_url, N="1")
    done = create(s, jobs_url, N="2")
    done.run().wait(timeout=60)
    failed = create(s, jobs_url, ERROR="boom")
    failed.run().wait(timeout=60)
    newest = create(s, jobs_url, N="4")
    ids = [pending.job_id, done.job_id, failed.job_id, newest.job_id]

    everything = listing()
    for i in ids:
        check(i in [j for j, _ in everything], f"job {i} is missing from the full list")
    completed = listing(PHASE="COMPLETED")
    check(all(p == "COMPLETED" for _, p in completed), f"PHASE=COMPLETED lists {completed}")
    check(done.job_id in [j for j, _ in completed] and pending.job_id not in [j for j, _ in completed], "PHASE=COMPLETED is wrong")
    union = listing(PHASE=["PENDING", "ERROR"])
    union_ids = [j for j, _ in union]
    check(all(p in ("PENDING", "ERROR") for _, p in union), f"PHASE=PENDING&PHASE=ERROR lists {union}")
    check(pending.job_id in union_ids and failed.job_id in union_ids and done.job_id not in union_ids, "the PHASE union is wrong")
    last2 = listing(LAST="2")
    check([j for j, _ in last2] == [newest.job_id, failed.job_id], f"LAST=2 lists {last2}, not the two newest, newest first")
    after = utc(done.job.creationtime).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    later = [j for j, _ in listing(AFTER=after)]
    check(failed.job_id in later and newest.job_id in later, f"AFTER={after} misses later jobs: {later}")
    check(pending.job_id not in later and done.job_id not in later, f"AFTER={after} lists earlier jobs: {later}")
    bad = s.get(jobs_url, params={"PHASE": "RUNNING"})
    check(bad.status_code == 400, f"PHASE=RUNNING answered {bad.status_code}, not 400")
    bad_last = s.get(jobs_url, params={"LAST": "-1"})
    check(bad_last.status_code == 400, f"LAST=-1 answered {bad_last.status_code}, not 400")

    # The same through pyvo's TAPService (the TAP layout /async of the same job list).
    service = TAPService(f"{base}/uws/echo")
    via_tap = service.get_job_list(phases=["COMPLETED", "ERROR"], last=10)
    tap_ids = [j.jobid for j in via_tap]
    check(done.job_id in tap_ids and failed.job_id in tap_ids and pending.job_id not in tap_ids, f"TAPService.get_job_list gave {tap_ids}")
    check(service.get_job(done.job_id).phase == "COMPLETED", "TAPService.get_job does not see the job")
    for job in (pending, done, failed, newest):
        job.delete()
    return {"all": len(everything), "completed": len(completed), "union": len(union), "last2": [j for j, _ in last2], "after": len(later)}


def abort(base):
    """A sleep job: progress while EXECUTING, then ABORT stops it."""
    s = requests.Session()
    job = create(s, f"{base}/uws/sleep/jobs", SECONDS="30")
    job.run()
    # A WAIT answers on a phase change only, so pyvo's wait(phases=["EXECUTING"]) on a job that
    # is EXECUTING already would block until it ends: wait with the UWS PHASE guard instead
    # (it answers at once unless the job is still QUEUED).
    s.get(job.url, params={"WAIT": "30", "PHASE": "QUEUED"})
    check(job.phase == "EXECUTING", f"the sleep job is {job.phase}, not EXECUTING")
    job.abort()
    phase = job.phase
    check(phase == "ABORTED", f"after ABORT the job is {phase}")
    check(job.job.endtime is not None, "an aborted job has no endTime")
    try:
        job.wait(timeout=10)
        waited = "returned"
    except DALServiceError as e:
        # pyvo refuses to wait for a job it does not consider active (ABORTED is not in its list).
        waited = f"DALServiceError: {e}"
    job.delete()
    return {"phase": phase, "wait": waited}


def tap(base):
    """pyvo's TAPService against the TAP layout: submit_job, run_async, uploads."""
    service = TAPService(f"{base}/uws/echo")
    job = service.submit_job("SELECT 1", FOO="bar")
    check(job.phase == "PENDING", f"submit_job gave a {job.phase} job")
    job.run().wait(timeout=60)
    echoed = rows(job)
    check(echoed.get("query") == "SELECT 1" and echoed.get("lang") == "ADQL" and echoed.get("foo") == "bar", f"echoed {echoed}")
    job.delete()

    result = service.run_async("SELECT 2")
    table = result.to_table()
    names = {str(r["name"]): str(r["value"]) for r in table}
    check(names.get("query") == "SELECT 2", f"run_async echoed {names}")

    upload = Table({"ra": [10.5, 11.25], "dec": [-1.0, 2.5]})
    with_upload = service.submit_job("SELECT * FROM TAP_UPLOAD.t1", uploads={"t1": upload})
    params = {p.id_: (p.content, p.byreference) for p in with_upload.job.parameters}
    check(params.get("upload", ("",))[0] == "t1,param:t1", f"UPLOAD parameter is {params.get('upload')}")
    check("t1" in params and params["t1"][1], f"the uploaded table is not a by-reference parameter: {params}")
    content = with_upload._session.get(f"{with_upload.url}/parameters/t1")
    check(content.status_code == 200, f"the uploaded content answers {content.status_code}")
    back = Table.read(io.BytesIO(content.content), format="votable")
    check(list(back["ra"]) == [10.5, 11.25], f"the uploaded table came back as {back}")
    with_upload.delete()
    return {"echoed": echoed, "runAsync": names, "upload": params.get("upload")[0]}


def tapjob(base):
    """AsyncTAPJob's accessors and setters on a PENDING job: query, upload, runId."""
    service = TAPService(f"{base}/uws/echo")
    job = service.submit_job("SELECT 1")
    check(job.query == "SELECT 1", f"job.query after creation is {job.query!r}")
    job.query = "SELECT 2"
    check(job.query == "SELECT 2", f"job.query after the setter is {job.query!r}")
    upload = Table({"ra": [1.5], "dec": [2.5]})
    job.upload(t2=upload)
    params = {p.id_: (p.content, p.byreference) for p in job.job.parameters}
    check(params.get("upload", ("",))[0] == "t2,param:t2", f"after job.upload the UPLOAD parameter is {params.get('upload')}")
    check("t2" in params and params["t2"][1], f"the table uploaded to a PENDING job is not a by-reference parameter: {params}")
    # The common runId update: POST RUNID to the job's parameters.
    r = job._session.post(f"{job.url}/parameters", data={"RUNID": "night-3"})
    check(r.status_code == 200 and r.history and r.history[0].status_code == 303, f"POST RUNID answered {r.status_code}")
    check(job.job.runid == "night-3", f"runId reads back as {job.job.runid!r}")
    job.run().wait(timeout=60)
    echoed = rows(job)
    check(echoed.get("query") == "SELECT 2" and echoed.get("t2") is not None, f"the job ran with {echoed}")
    job.delete()
    return {"query": "SELECT 2", "upload": params["upload"][0], "runId": "night-3"}


def syncerror(base):
    """run_sync of a job that ends in ERROR: a DALQueryError carrying the message."""
    service = TAPService(f"{base}/uws/echo")
    try:
        service.run_sync("SELECT 1", ERROR="no such table: t")
        raised = "nothing"
    except DALQueryError as e:
        raised = f"DALQueryError: {e.reason}"
    except Exception as e:  # noqa: BLE001 - report what pyvo raised instead
        raised = f"{type(e).__name__}: {e}"
    check(raised == "DALQueryError: no such table: t", f"run_sync raised {raised}")
    return {"raised": raised}


def unknownjob(base):
    """TAPService.get_job of an id that does not exist: pyvo reads the 404's body, which must parse.

    pyvo 1.2.1's get_job does not look at the status; it parses the body as a UWS job. A
    text/plain body made it raise a bare ValueError ("syntax error"); the DALI VOTable error
    parses, so pyvo answers a job summary without an id or a phase, which a caller can test.
    """
    service = TAPService(f"{base}/uws/echo")
    try:
        summary = service.get_job("no-such-job")
        raised = None
    except ValueError as e:
        raised = f"ValueError: {e}"
    check(raised is None, f"get_job of an unknown id raised {raised}")
    check(summary.jobid is None and summary.phase is None, f"get_job of an unknown id read {summary.jobid!r} {summary.phase!r}")
    return {"raised": raised, "jobId": summary.jobid, "phase": summary.phase}


def waitsleep(base):
    """wait() on a sleep job that reports progress every second: it returns on phase changes only."""
    s = requests.Session()
    job = create(s, f"{base}/uws/sleep/jobs", SECONDS="3")
    job.run()
    job.wait(timeout=60)
    check(job.phase == "COMPLETED", f"the sleep job ended {job.phase}")
    job_id = job.job_id
    job.delete()
    return {"jobId": job_id, "phase": "COMPLETED"}


SCENARIOS = {
    "lifecycle": lifecycle,
    "error": error,
    "joblist": joblist,
    "abort": abort,
    "tap": tap,
    "tapjob": tapjob,
    "syncerror": syncerror,
    "unknownjob": unknownjob,
    "waitsleep": waitsleep,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        print(f"usage: session.py {{{'|'.join(SCENARIOS)}}} BASE_URL", file=sys.stderr)
        sys.exit(2)
    try:
        print(json.dumps(SCENARIOS[sys.argv[1]](sys.argv[2].rstrip("/"))))
    except CheckFailed as failure:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
