"""pyvo against the demo's ADQL service (/uws/adql): prints what it saw as JSON.

Usage: session.py BASE_URL [PATH]   (the demo's root, e.g. http://127.0.0.1:8080; PATH: where
the service is mounted, default /uws/adql)
"""
import io
import json
import sys

from astropy.io.votable import parse

import pyvo
import requests

base = sys.argv[1]
tap = pyvo.dal.TAPService(base + (sys.argv[2] if len(sys.argv) > 2 else "/uws/adql"))
seen = {}

# run_async: submit, run, wait, fetch the result (pyvo takes the first result: `table`).
query = "SELECT TOP 10 id, ra, dec, mag FROM stars WHERE mag < 9 ORDER BY mag, id"
table = tap.run_async(query).to_table()
seen["async"] = {
    "columns": table.colnames,
    "ids": [int(v) for v in table["id"]],
    "mags": [float(v) for v in table["mag"]],
    "units": {name: str(table[name].unit) for name in ["ra", "dec", "mag"]},
}

# The same query, synchronously.
seen["sync_ids"] = [int(v) for v in tap.run_sync(query).to_table()["id"]]

# A job kept to read its results by name, then the cursor's pages.
job = tap.submit_job("SELECT TOP 25 id FROM stars WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 180, 0, 10)) = 1 ORDER BY id")
job.run().wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
job.raise_if_error()
seen["results"] = [r.id_ for r in job.results]
seen["result_uri"] = job.result_uri
whole = [int(v) for v in job.fetch_result().to_table()["id"]]
pages = []
url = job.result_uri.rsplit("/", 1)[0] + "/cursor?FIRST=1&LAST=10"
while url is not None:
    answer = requests.get(url)
    answer.raise_for_status()
    document = parse(io.BytesIO(answer.content))
    pages.append([int(v) for v in document.get_first_table().to_table()["id"]])
    infos = {info.name: info.value for info in document.resources[0].infos}
    url = infos.get("next")
seen["whole"] = whole
seen["pages"] = pages
job.delete()

# A query outside the subset: DALQueryError, and the job's error says where.
try:
    tap.run_async("SELECT TOP 10 id FROM stars WHERE")
    seen["async_error"] = None
except pyvo.dal.DALQueryError as e:
    seen["async_error"] = type(e).__name__
bad = tap.submit_job("SELECT nope FROM stars")
bad.run().wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
seen["bad_phase"] = bad.phase
seen["bad_message"] = requests.get(bad.url + "/error").text.strip()
try:
    tap.run_sync("SELECT TOP 1 id FROM stars ORDER BY nope")
    seen["sync_error"] = None
except pyvo.dal.DALQueryError as e:
    seen["sync_error"] = str(e)

print(json.dumps(seen))
