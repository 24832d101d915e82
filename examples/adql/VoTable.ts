/**
 * The ADQL service's VOTable 1.4 documents (TABLEDATA). A table is written one row per line,
 * `<TR>…</TR>`, between a head ending in `<DATA><TABLEDATA>` and a tail; the cursor reads pages
 * of a stored table by those lines.
 */
import { XmlEscape } from "@uws-kit/http"
import type { columns } from "./Catalogue.js"

export const mimeType = "application/x-votable+xml"

type Column = (typeof columns)[number]

const field = (c: Column) =>
  `   <FIELD name="${c.name}" datatype="${c.datatype}"${"unit" in c ? ` unit="${c.unit}"` : ""}${"ucd" in c ? ` ucd="${c.ucd}"` : ""}>` +
  `<DESCRIPTION>${XmlEscape.text(c.description)}</DESCRIPTION></FIELD>\n`

/** The document up to the table's metadata; `withData` opens the rows. */
export const head = (query: string, fields: ReadonlyArray<Column>, withData: boolean): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n` +
  `<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n` +
  ` <RESOURCE type="results">\n` +
  `  <INFO name="QUERY_STATUS" value="OK"/>\n` +
  `  <INFO name="QUERY" value="${XmlEscape.attribute(query)}"/>\n` +
  `  <TABLE name="result">\n` +
  fields.map(field).join("") +
  (withData ? `   <DATA><TABLEDATA>\n` : "")

/** The line that opens the rows (what the cursor looks for). */
export const dataOpening = "   <DATA><TABLEDATA>"

/** One row, on one line. Numbers only: the catalogue holds no text. */
export const row = (values: ReadonlyArray<unknown>): string => `<TR>${values.map((v) => `<TD>${v === null ? "" : String(v)}</TD>`).join("")}</TR>\n`

/** Closes the rows (if open), the table and the document, with INFO elements after the table. */
export const tail = (withData: boolean, infos: ReadonlyArray<{ readonly name: string; readonly value: string; readonly text?: string }> = []): string =>
  (withData ? `   </TABLEDATA></DATA>\n` : "") +
  `  </TABLE>\n` +
  infos
    .map((i) => `  <INFO name="${XmlEscape.attribute(i.name)}" value="${XmlEscape.attribute(i.value)}"${i.text === undefined ? "/>" : `>${XmlEscape.text(i.text)}</INFO>`}\n`)
    .join("") +
  ` </RESOURCE>\n` +
  `</VOTABLE>\n`
