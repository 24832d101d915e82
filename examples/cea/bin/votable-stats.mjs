#!/usr/bin/env node
// votable-stats [--format=votable|json] [--] <input.vot> <output>
// Count, min, max and mean of every numeric column of the first TABLE of a VOTable (TABLEDATA
// serialization). Empty cells, NaN and the column's declared null value are not counted.
import { createReadStream, writeFileSync } from "node:fs"
import { SaxesParser } from "saxes"

const args = process.argv.slice(2)
let format = "votable"
const files = []
for (let i = 0, options = true; i < args.length; i++) {
  const a = args[i]
  if (options && a === "--") options = false
  else if (options && a.startsWith("--format=")) format = a.slice("--format=".length)
  else files.push(a)
}
if (files.length !== 2 || !["votable", "json"].includes(format)) {
  console.error("usage: votable-stats [--format=votable|json] [--] <input.vot> <output>")
  process.exit(2)
}
const [input, output] = files

const NUMERIC = new Set(["short", "int", "long", "float", "double", "unsignedByte"])
const fields = []
let nulls = []
let stats = []
let tables = 0
let inTable = false
let col = -1
let text = ""
let inTd = false

const parser = new SaxesParser({ xmlns: false })
parser.on("doctype", () => {
  throw new Error("DOCTYPE declarations are not accepted.")
})
parser.on("opentag", (tag) => {
  const name = tag.name.replace(/^.*:/, "")
  if (name === "TABLE") {
    tables++
    inTable = tables === 1
  }
  if (!inTable) return
  if (name === "FIELD") fields.push({ name: String(tag.attributes.name ?? `col${fields.length + 1}`), datatype: String(tag.attributes.datatype ?? ""), arraysize: tag.attributes.arraysize })
  else if (name === "VALUES" && tag.attributes.null !== undefined && fields.length > 0) nulls[fields.length - 1] = String(tag.attributes.null)
  else if (name === "TR") col = -1
  else if (name === "TD") {
    col++
    inTd = true
    text = ""
  } else if (name === "BINARY" || name === "BINARY2" || name === "FITS") throw new Error(`${name} serialization is not supported; send TABLEDATA.`)
})
parser.on("text", (t) => {
  if (inTd) text += t
})
parser.on("closetag", (tag) => {
  const name = tag.name.replace(/^.*:/, "")
  if (name === "TABLE") inTable = false
  if (!inTable || name !== "TD") return
  inTd = false
  const f = fields[col]
  if (f === undefined || !NUMERIC.has(f.datatype) || (f.arraysize !== undefined && f.arraysize !== "1")) return
  const v = text.trim()
  if (v === "" || v === nulls[col]) return
  const n = Number(v)
  if (!Number.isFinite(n)) return
  const s = (stats[col] ??= { count: 0, min: n, max: n, sum: 0 })
  s.count++
  s.min = Math.min(s.min, n)
  s.max = Math.max(s.max, n)
  s.sum += n
})
parser.on("error", (e) => {
  throw e
})

try {
  for await (const chunk of createReadStream(input, { encoding: "utf8" })) parser.write(chunk)
  parser.close()
} catch (e) {
  console.error(`votable-stats: ${input} is not a VOTable this tool reads: ${e.message}`)
  process.exit(1)
}
if (tables === 0) {
  console.error("votable-stats: the document holds no TABLE.")
  process.exit(1)
}

const rows = fields
  .map((f, i) => ({ f, i }))
  .filter(({ f }) => NUMERIC.has(f.datatype) && (f.arraysize === undefined || f.arraysize === "1"))
  .map(({ f, i }) => {
    const s = stats[i]
    return { column: f.name, count: s?.count ?? 0, min: s?.min ?? null, max: s?.max ?? null, mean: s === undefined ? null : s.sum / s.count }
  })

const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;")
const cell = (v) => (v === null ? "" : String(v))
writeFileSync(
  output,
  format === "json"
    ? JSON.stringify({ columns: rows }, null, 2) + "\n"
    : `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
 <RESOURCE type="results">
  <TABLE name="stats">
   <DESCRIPTION>Statistics of the numeric columns of ${xml(input.replace(/^.*\//, ""))}</DESCRIPTION>
   <FIELD name="column" datatype="char" arraysize="*"/>
   <FIELD name="count" datatype="long"/>
   <FIELD name="min" datatype="double"/>
   <FIELD name="max" datatype="double"/>
   <FIELD name="mean" datatype="double"/>
   <DATA><TABLEDATA>
${rows.map((r) => `    <TR><TD>${xml(r.column)}</TD><TD>${r.count}</TD><TD>${cell(r.min)}</TD><TD>${cell(r.max)}</TD><TD>${cell(r.mean)}</TD></TR>`).join("\n")}
   </TABLEDATA></DATA>
  </TABLE>
 </RESOURCE>
</VOTABLE>
`
)
console.log(`votable-stats: ${rows.length} numeric column(s) summarised.`)
