import sys, requests

UWS = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8080"
jobs = f"{UWS}/uws/cea/jobs"

# What the server runs, before running anything.
print(requests.get(f"{UWS}/uws/cea/applications", params={"format": "xml"}).text[:200])

description = f"""<tool xmlns="urn:uws-kit:cea:1" application="gzip">
  <input>
    <parameter name="file" indirect="true">{UWS}/uws/cea/applications.xml</parameter>
    <parameter name="level">9</parameter>
  </input>
</tool>"""
created = requests.post(jobs, params={"PHASE": "RUN"}, data=description.encode(),
                        headers={"Content-Type": "application/xml"}, allow_redirects=False)
created.raise_for_status()
job = created.headers["Location"]
while (phase := requests.get(f"{job}/phase").text) in ("PENDING", "QUEUED", "EXECUTING"):
    requests.get(job, params={"WAIT": "30"})
print(job, phase)
compressed = requests.get(f"{job}/results/compressed").content
print(len(compressed), "bytes of gzip, magic", compressed[:2].hex())
