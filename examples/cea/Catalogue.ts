/**
 * The published application list (UWS 0.3 §3.4: "the client knows before running the job what
 * results to expect"): each application's inputs and outputs, as an XML document
 * (`applications.xsd` beside this file) and as an HTML page.
 */
import { XmlEscape } from "@uws-kit/http"
import type { Application, Catalogue, Input } from "./Config.js"
import { NS } from "./Description.js"

const required = (i: Input) => i.default === undefined && i.optional !== true

const inputXml = (i: Input) =>
  `    <input name="${i.name}" type="${i.type}" required="${required(i)}"` +
  (i.default === undefined ? "" : ` default="${XmlEscape.attribute(i.default)}"`) +
  (i.min === undefined ? "" : ` min="${i.min}"`) +
  (i.max === undefined ? "" : ` max="${i.max}"`) +
  (i.mimeType === undefined ? "" : ` mimeType="${XmlEscape.attribute(i.mimeType)}"`) +
  `>\n      <description>${XmlEscape.text(i.description)}</description>\n` +
  (i.choices ?? []).map((c) => `      <choice>${XmlEscape.text(c)}</choice>\n`).join("") +
  `    </input>\n`

/** The results every job has besides its application's outputs: the command's stdout (unless an output is it) and stderr. */
const logs = (a: Application) => [
  ...(a.outputs.some((o) => o.from === "stdout") ? [] : [{ name: "stdout", mimeType: "text/plain", description: "The command's standard output." }]),
  { name: "stderr", mimeType: "text/plain", description: "The command's standard error." }
]

const applicationXml = (a: Application) =>
  `  <application name="${a.name}">\n    <description>${XmlEscape.text(a.description)}</description>\n` +
  a.inputs.map(inputXml).join("") +
  [...a.outputs, ...logs(a)].map((o) => `    <output name="${o.name}" mimeType="${XmlEscape.attribute(o.mimeType)}">\n      <description>${XmlEscape.text(o.description)}</description>\n    </output>\n`).join("") +
  `  </application>\n`

export const xml = (catalogue: Catalogue): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<applications xmlns="${NS}">\n${catalogue.applications.map(applicationXml).join("")}</applications>\n`

const h = XmlEscape.text

export const style = "body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}code,pre{font-family:ui-monospace,monospace}td,th{text-align:left;padding:0 .6rem .2rem 0;vertical-align:top}"

export const html = (catalogue: Catalogue, jobsUrl: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cea: applications</title><link rel="icon" href="data:,">
<style>${style}</style>
</head><body>
<h1>Applications of this CEA-style server</h1>
<p>Create a job by POSTing a job description (<code>Content-Type: application/xml</code>, schema <a href="cea-jdl.xsd">cea-jdl.xsd</a>) to <a href="${h(jobsUrl)}">${h(jobsUrl)}</a>, or a form with <code>application=</code> and direct parameters. This list as XML: <a href="applications?format=xml">applications?format=xml</a>.</p>
${catalogue.applications
  .map(
    (a) => `<h2 id="${a.name}">${a.name}</h2>
<p>${h(a.description)}</p>
<table><tr><th>input</th><th>type</th><th></th><th>description</th></tr>
${a.inputs.map((i) => `<tr><td><code>${i.name}</code></td><td>${i.type}${i.choices === undefined ? "" : ` (${i.choices.map(h).join(" | ")})`}${i.min === undefined && i.max === undefined ? "" : ` ${i.min ?? ""}…${i.max ?? ""}`}</td><td>${required(i) ? "required" : i.default === undefined ? "optional" : `default ${h(i.default)}`}</td><td>${h(i.description)}</td></tr>`).join("\n")}
</table>
<table><tr><th>result</th><th>type</th><th>description</th></tr>
${[...a.outputs, ...logs(a)].map((o) => `<tr><td><code>${o.name}</code></td><td>${h(o.mimeType)}</td><td>${h(o.description)}</td></tr>`).join("\n")}
</table>`
  )
  .join("\n")}
</body></html>
`
