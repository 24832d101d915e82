/**
 * The job's named result `table`: SIAP 1.0's image metadata table (a VOTable whose columns carry
 * the SIAP 1.0 UCDs), one row per image computed so far. Each row's access reference is the
 * image result's id, a URL relative to the table's own (`…/results/table` → `…/results/bin4.fits`),
 * so it resolves however the service is reached (/jobs or /async, any host or proxy).
 */
import { XmlEscape } from "@uws-kit/http"
import type { Wcs } from "./wcs.js"

export interface ImageRow {
  readonly title: string
  /** The image centre, degrees. */
  readonly ra: number
  readonly dec: number
  readonly naxis: readonly [number, number]
  readonly wcs: Wcs
  readonly format: string
  /** The result id, which is the image's URL relative to the table. */
  readonly accessReference: string
  readonly fileSize: number
}

const COLUMNS: ReadonlyArray<{ name: string; ucd: string; datatype: string; arraysize?: string; unit?: string; value: (r: ImageRow) => string }> = [
  { name: "title", ucd: "VOX:Image_Title", datatype: "char", arraysize: "*", value: (r) => r.title },
  { name: "ra", ucd: "POS_EQ_RA_MAIN", datatype: "double", unit: "deg", value: (r) => String(r.ra) },
  { name: "dec", ucd: "POS_EQ_DEC_MAIN", datatype: "double", unit: "deg", value: (r) => String(r.dec) },
  { name: "naxes", ucd: "VOX:Image_Naxes", datatype: "int", value: () => "2" },
  { name: "naxis", ucd: "VOX:Image_Naxis", datatype: "int", arraysize: "2", value: (r) => r.naxis.join(" ") },
  { name: "scale", ucd: "VOX:Image_Scale", datatype: "double", arraysize: "2", unit: "deg", value: (r) => r.wcs.cdelt.map(Math.abs).join(" ") },
  { name: "format", ucd: "VOX:Image_Format", datatype: "char", arraysize: "*", value: (r) => r.format },
  { name: "frame", ucd: "VOX:STC_CoordRefFrame", datatype: "char", arraysize: "*", value: () => "ICRS" },
  { name: "projection", ucd: "VOX:WCS_CoordProjection", datatype: "char", arraysize: "3", value: () => "TAN" },
  { name: "crpix", ucd: "VOX:WCS_CoordRefPixel", datatype: "double", arraysize: "2", value: (r) => r.wcs.crpix.join(" ") },
  { name: "crval", ucd: "VOX:WCS_CoordRefValue", datatype: "double", arraysize: "2", unit: "deg", value: (r) => r.wcs.crval.join(" ") },
  { name: "cd", ucd: "VOX:WCS_CDMatrix", datatype: "double", arraysize: "4", unit: "deg", value: (r) => `${r.wcs.cdelt[0]} 0 0 ${r.wcs.cdelt[1]}` },
  { name: "file_size", ucd: "VOX:Image_FileSize", datatype: "long", unit: "byte", value: (r) => String(r.fileSize) },
  { name: "access_url", ucd: "VOX:Image_AccessReference", datatype: "char", arraysize: "*", value: (r) => r.accessReference }
]

/** The metadata table of the images so far, as a VOTable 1.4 document. */
export const imageTable = (description: string, rows: ReadonlyArray<ImageRow>): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n` +
  `<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n` +
  ` <RESOURCE type="results">\n` +
  `  <INFO name="QUERY_STATUS" value="OK"/>\n` +
  `  <TABLE name="images">\n` +
  `   <DESCRIPTION>${XmlEscape.text(description)}</DESCRIPTION>\n` +
  COLUMNS.map(
    (c) =>
      `   <FIELD name="${c.name}" ucd="${c.ucd}" datatype="${c.datatype}"` +
      `${c.arraysize === undefined ? "" : ` arraysize="${c.arraysize}"`}${c.unit === undefined ? "" : ` unit="${c.unit}"`}/>\n`
  ).join("") +
  `   <DATA><TABLEDATA>\n` +
  rows.map((r) => `    <TR>${COLUMNS.map((c) => `<TD>${XmlEscape.text(c.value(r))}</TD>`).join("")}</TR>\n`).join("") +
  `   </TABLEDATA></DATA>\n` +
  `  </TABLE>\n` +
  ` </RESOURCE>\n` +
  `</VOTABLE>\n`
