# A client of the image service (examples/image): start a job, take the quick preview while the
# job is still EXECUTING, check it with astropy, read the SIAP table, then destroy the job.
# Usage: python3 client.py http://localhost:8080/uws/image
import io
import sys
import time
from urllib.parse import urljoin

import requests
from astropy.io import fits, votable
from astropy.wcs import WCS

base = sys.argv[1]
job = requests.post(f"{base}/jobs", data={"POS": "150.05,2.25", "SIZE": "0.1", "FORMAT": "ALL", "DELAY": "30", "PHASE": "RUN"}).url

# Images are listed in the table as they are made: wait for the first.
while True:
    table = requests.get(f"{job}/results/table")
    if table.ok:
        rows = votable.parse_single_table(io.BytesIO(table.content)).to_table()
        if len(rows) > 0:
            break
    time.sleep(0.2)
first = rows[0]
image = requests.get(urljoin(f"{job}/results/table", str(first["access_url"])))
phase = requests.get(f"{job}/phase").text
print(f"{first['access_url']}: {image.headers['content-type']}, {len(image.content)} bytes, job {phase}")

hdu = fits.open(io.BytesIO(image.content))[0]
ny, nx = hdu.data.shape
centre = WCS(hdu.header).pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
print(f"{nx}×{ny} pixels, centre RA {centre.ra.deg:.4f} Dec {centre.dec.deg:.4f}")

# Satisfied with the preview: destroy the job (its other images go with it).
requests.delete(job)
print("after DELETE:", requests.get(job).status_code)
