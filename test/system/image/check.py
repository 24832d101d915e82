# Checks the image service (examples/image) with astropy: every FITS result opens and its WCS puts
# the requested position at the image centre (within a pixel); the `table` result parses as a
# VOTable with the SIAP 1.0 columns, one row per image, each access reference resolving to that
# image; a region off the sky completes with an empty table; bad parameters are refused.
# Usage: python3 check.py http://localhost:8080/uws/image   (prints a JSON summary)
import io
import json
import struct
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import requests
from astropy.coordinates import SkyCoord
from astropy.io import fits, votable
from astropy.wcs import WCS
import astropy.units as u

base = sys.argv[1]
UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
XLINK = "{http://www.w3.org/1999/xlink}href"
SIAP_UCDS = ["VOX:Image_Title", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN", "VOX:Image_Naxes", "VOX:Image_Naxis",
             "VOX:Image_Scale", "VOX:Image_Format", "VOX:Image_AccessReference"]
summary = {}


def run(params):
    job = requests.post(f"{base}/jobs", data={**params, "PHASE": "RUN"}).url
    phase = "QUEUED"
    while phase in ("QUEUED", "EXECUTING"):
        phase = ET.fromstring(requests.get(job, params={"WAIT": "30", "PHASE": phase}).content).find(f"{UWS}phase").text
    results = ET.fromstring(requests.get(f"{job}/results").content)
    return job, phase, {r.get("id"): r.get(XLINK) for r in results.findall(f"{UWS}result")}


# One job, both formats, no pause.
ra, dec = 150.1, 2.15
job, phase, results = run({"POS": f"{ra},{dec}", "SIZE": "0.2,0.1", "FORMAT": "ALL", "DELAY": "0"})
assert phase == "COMPLETED", phase
summary["results"] = sorted(results)
table = votable.parse_single_table(io.BytesIO(requests.get(results["table"]).content))
ucds = [f.ucd for f in table.fields]
assert all(ucd in ucds for ucd in SIAP_UCDS), ucds
rows = table.to_table()
column = {ucd: table.fields[ucds.index(ucd)].name for ucd in SIAP_UCDS}
summary["rows"] = len(rows)
checked = []
for row in rows:
    href = urljoin(results["table"], str(row[column["VOX:Image_AccessReference"]]))
    assert href in results.values(), (href, results)
    image = requests.get(href)
    fmt = str(row[column["VOX:Image_Format"]])
    assert image.headers["content-type"].startswith(fmt), (image.headers["content-type"], fmt)
    nx, ny = (int(n) for n in row[column["VOX:Image_Naxis"]])
    scale = float(row[column["VOX:Image_Scale"]][1])
    assert abs(float(row[column["POS_EQ_RA_MAIN"]]) - ra) < 1e-9 and abs(float(row[column["POS_EQ_DEC_MAIN"]]) - dec) < 1e-9
    if fmt == "image/fits":
        hdul = fits.open(io.BytesIO(image.content))
        hdul.verify("exception")
        hdu = hdul[0]
        assert hdu.data.shape == (ny, nx), (hdu.data.shape, nx, ny)
        wcs = WCS(hdu.header)
        centre = wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
        off = centre.separation(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")).deg
        assert off < scale, (href, off, scale)
        assert abs(wcs.proj_plane_pixel_scales()[1].to(u.deg).value - scale) < 1e-12
        # North up, east left: one pixel up raises Dec, one pixel right lowers RA.
        up = wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2 + 1)
        right = wcs.pixel_to_world((nx - 1) / 2 + 1, (ny - 1) / 2)
        assert up.dec.deg > centre.dec.deg and right.ra.deg < centre.ra.deg
        checked.append({"id": href.rsplit("/", 1)[1], "shape": [nx, ny], "offPixels": off / scale})
    else:
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", image.content[16:24]) == (nx, ny)
        checked.append({"id": href.rsplit("/", 1)[1], "shape": [nx, ny]})
summary["images"] = checked

# A region off the sky: SIAP's answer, an empty table.
_, phase, results = run({"POS": "10,-40", "SIZE": "0.1"})
empty = votable.parse_single_table(io.BytesIO(requests.get(results["table"]).content)).to_table()
summary["offSky"] = {"phase": phase, "results": sorted(results), "rows": len(empty)}

# Bad parameters: refused with a message, no job made.
bad = requests.post(f"{base}/jobs", data={"POS": "150", "SIZE": "0.1"}, allow_redirects=False)
summary["bad"] = {"status": bad.status_code, "message": bad.text.strip()}
print(json.dumps(summary))
