/**
 * The archive's HTML pages: list and search, a container's detail, the upload form and the error
 * page. Server-rendered, every value escaped, no script at all (they work with JavaScript off),
 * and no inline style: their stylesheet ({@link stylesheet}) is a file the adapter serves
 * ({@link assetName}), so they run under `BrowserPages`' strict Content-Security-Policy as the
 * REST binding's pages do.
 *
 * The detail page renders the container's JSON detail (what `GET /document/{id}` answers), not the
 * container model: the fields it knows get their own place, and every other field — `copies`,
 * `fixity`, `retention`, `timestamps`, whatever a later mechanism adds — gets a section of its
 * own keyed by its name, rendered from its JSON shape. A field that is absent is simply not shown.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @since 0.1.0
 * @category utils
 */
export const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/**
 * The pages' stylesheet (served as a file: the CSP allows no inline style).
 *
 * @since 0.1.0
 * @category assets
 */
export const stylesheet = `
:root{color-scheme:light dark;--muted:#667;--line:#ccd;--accent:#2456a6}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:68rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line)}h3{font-size:1rem;margin:1.2rem 0 .4rem}
a{color:var(--accent)}nav{font-size:.9rem;color:var(--muted)}nav a{margin-right:.8rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td table{width:auto}td td,td th{border-bottom:none;padding:.1rem .4rem}
th{font-weight:600}.v,code,pre{font-family:ui-monospace,monospace;word-break:break-all}pre{white-space:pre-wrap;background:rgba(128,128,128,.08);padding:.5rem;border-radius:.3rem}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.fields dt{font-weight:600}dl.fields dd{margin:0;word-break:break-all}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem;font-weight:600;background:#e4e7ee;color:#223}
.badge-good,.badge-ok,.badge-COMPLETED,.badge-granted,.badge-verified,.badge-stamped{background:#d3f2d8;color:#124d1d}
.badge-bad,.badge-failed,.badge-ERROR,.badge-missing,.badge-corrupt,.badge-mismatch{background:#fadada;color:#7a1212}
.badge-EXECUTING,.badge-QUEUED,.badge-pending{background:#d6e6fb;color:#0d3a78}
.muted{color:var(--muted)}fieldset{border:1px solid var(--line);border-radius:.4rem;margin:0 0 1rem;padding:.6rem .9rem}
form.search{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}form.search label{display:flex;flex-direction:column;font-size:.9rem}
form.upload label{display:block;margin:.5rem 0 .15rem;font-weight:600}form.upload .hint{font-weight:normal;color:var(--muted)}
.paging a,.paging strong{margin-right:.6rem}button{cursor:pointer}
.error{border-left:4px solid #c33;padding:.4rem .8rem;background:#fff3f3;color:#511}
.method{display:inline-block;min-width:4.2rem;font-weight:700;font-family:ui-monospace,monospace}
.op{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0}
`

/**
 * The stylesheet's file name, versioned by content so it can be cached for ever.
 *
 * @since 0.1.0
 * @category assets
 */
export const assetName = { stylesheet: `archive-pages.${createHash("sha256").update(stylesheet).digest("hex").slice(0, 12)}.css` } as const

/**
 * Where the pages link to (absolute paths).
 *
 * @since 0.1.0
 * @category models
 */
export interface Urls {
  readonly stylesheet: string
  /** The list and search page. */
  readonly list: string
  readonly detail: (id: string) => string
  readonly upload: string
  /** The browsable API description and its document. */
  readonly docs: string
  readonly openapi: string
  /** The container's signatures as a zip (the API route). */
  readonly signatures: (id: string) => string
  /** The container's JSON detail (the API route). */
  readonly json: (id: string) => string
}

/**
 * A whole page: the stylesheet, the navigation and `body`.
 *
 * @since 0.1.0
 * @category pages
 */
export const shell = (urls: Pick<Urls, "stylesheet" | "list" | "upload" | "docs">, title: string, body: string): string =>
  `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
  `<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">` +
  `<title>${escape(title)}</title><link rel="stylesheet" href="${escape(urls.stylesheet)}"></head><body>` +
  `<nav><a href="${escape(urls.list)}">Containers</a><a href="${escape(urls.upload)}">Upload</a><a href="${escape(urls.docs)}">API</a></nav>` +
  `${body}</body></html>\n`

const badge = (value: string) => `<span class="badge badge-${escape(value.replace(/[^A-Za-z0-9_-]/g, ""))}">${escape(value)}</span>`

const none = `<span class="muted">none</span>`

// Fields whose values are states: shown as badges wherever they appear.
const stateKeys = new Set(["state", "outcome", "phase", "status", "statusName", "tier", "result"])

/** Any JSON value, rendered from its shape: tables for lists of objects, definition lists for objects. */
const value = (v: unknown, key = ""): string => {
  if (v === null || v === undefined) return none
  if (typeof v === "string") return stateKeys.has(key) ? badge(v) : `<span class="v">${escape(v)}</span>`
  if (typeof v === "number" || typeof v === "boolean") return stateKeys.has(key) && typeof v !== "boolean" ? badge(String(v)) : escape(String(v))
  if (Array.isArray(v)) {
    if (v.length === 0) return `<span class="muted">(none)</span>`
    if (v.every((x) => typeof x === "object" && x !== null && !Array.isArray(x))) return table(v as ReadonlyArray<Record<string, unknown>>)
    return `<ul>${v.map((x) => `<li>${value(x, key)}</li>`).join("")}</ul>`
  }
  if (typeof v === "object") return fields(v as Record<string, unknown>)
  return escape(String(v))
}

const table = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  const columns: Array<string> = []
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k)
  return (
    `<table><thead><tr>${columns.map((c) => `<th>${escape(c)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${columns.map((c) => `<td data-field="${escape(c)}">${c in r ? value(r[c], c) : ""}</td>`).join("")}</tr>`).join("") +
    `</tbody></table>`
  )
}

const fields = (o: Record<string, unknown>, id?: string): string =>
  `<dl class="fields"${id === undefined ? "" : ` id="${escape(id)}"`}>` +
  Object.entries(o)
    .map(([k, v]) => `<dt>${escape(k)}</dt><dd data-field="${escape(k)}">${value(v, k)}</dd>`)
    .join("") +
  `</dl>`

/**
 * The list and search page's view.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListView {
  readonly urls: Urls
  /** The search filters as given in the page's query string (the form shows them back). */
  readonly query: Readonly<Record<string, string>>
  readonly page: number
  readonly pageSize: number
  readonly totalRecords: number
  readonly documents: ReadonlyArray<{ readonly id: string; readonly name: string; readonly status: number; readonly isArchived: boolean }>
  readonly storages: ReadonlyArray<{ readonly id: number; readonly name: string }>
  readonly statuses: ReadonlyArray<{ readonly id: number; readonly name: string }>
}

const option = (v: string, label: string, selected: string | undefined) =>
  `<option value="${escape(v)}"${selected === v ? " selected" : ""}>${escape(label)}</option>`

/**
 * The containers, newest first, with the search's filters (name, storage, source system, status,
 * archived) and paging; a GET form, so a search is a link.
 *
 * @since 0.1.0
 * @category pages
 */
export const listPage = (view: ListView): string => {
  const q = view.query
  const statusName = (n: number) => view.statuses.find((s) => s.id === n)?.name ?? String(n)
  const form =
    `<form class="search" method="get" action="${escape(view.urls.list)}" id="search">` +
    `<label>Name contains<input type="search" name="name" id="search-name" value="${escape(q["name"] ?? "")}"></label>` +
    `<label>Storage<select name="storageId" id="search-storage">${option("", "any", q["storageId"])}${view.storages
      .map((s) => option(String(s.id), `${s.id} · ${s.name}`, q["storageId"]))
      .join("")}</select></label>` +
    `<label>Source system<input name="sourceSystemId" size="8" value="${escape(q["sourceSystemId"] ?? "")}"></label>` +
    `<label>Status<select name="status">${option("", "any", q["status"])}${view.statuses
      .map((s) => option(String(s.id), `${s.id} · ${s.name}`, q["status"]))
      .join("")}</select></label>` +
    `<label>Archived<select name="isArchived">${option("", "any", q["isArchived"])}${option("true", "archived", q["isArchived"])}${option(
      "false",
      "temporary, storage ended",
      q["isArchived"]
    )}</select></label>` +
    `<label>Per page<input type="number" min="1" name="pageSize" size="4" value="${view.pageSize}"></label>` +
    `<button type="submit">Search</button></form>`
  const rows = view.documents
    .map(
      (d) =>
        `<tr><td><a href="${escape(view.urls.detail(d.id))}">${escape(d.name)}</a></td><td class="v">${escape(d.id)}</td>` +
        `<td>${badge(statusName(d.status))}</td><td>${d.isArchived ? "yes" : "no"}</td></tr>`
    )
    .join("")
  const pages = Math.max(1, Math.ceil(view.totalRecords / view.pageSize))
  const link = (p: number) => {
    const params = new URLSearchParams({ ...q, page: String(p), pageSize: String(view.pageSize) })
    return `${view.urls.list}?${params.toString()}`
  }
  const paging =
    pages <= 1
      ? ""
      : `<p class="paging" id="paging">` +
        (view.page > 1 ? `<a href="${escape(link(view.page - 1))}" rel="prev">← previous</a>` : "") +
        `<strong>page ${view.page} of ${pages}</strong>` +
        (view.page < pages ? `<a href="${escape(link(view.page + 1))}" rel="next">next →</a>` : "") +
        `</p>`
  const list =
    view.documents.length === 0
      ? `<p class="muted" id="no-containers">No containers${Object.keys(q).length === 0 ? " yet" : " match this search"}.</p>`
      : `<table id="containers"><thead><tr><th>Name</th><th>Id</th><th>Status</th><th>Archived</th></tr></thead><tbody>${rows}</tbody></table>`
  return shell(
    view.urls,
    "Archive containers",
    `<h1>Containers</h1>${form}<p class="muted" id="total">${view.totalRecords} container${view.totalRecords === 1 ? "" : "s"} found.</p>${list}${paging}`
  )
}

// The detail's fields shown in its summary, in this order; sections follow for the rest.
const summaryKeys = [
  "id",
  "name",
  "statusName",
  "status",
  "phase",
  "isArchived",
  "isAvailable",
  "saveTypeName",
  "saveType",
  "storage",
  "sourceSystem",
  "documentType",
  "structureName",
  "createDate",
  "modifiedDate",
  "archiveUntilDate",
  "signatureUpdateDate",
  "archiveCaPluginName",
  "useArchiveCa",
  "error",
  "unavailableReason",
  "signaturesOmitted"
] as const
// Shown elsewhere or not worth a section: the raw signatures (base64) and the seed's unexplained flags.
const hiddenKeys = new Set(["signatures", "isToBeSigned", "isCreateDate"])
// Sections with a title, in this order when present; any other field gets a section under its own name.
const sectionTitles: ReadonlyArray<readonly [string, string]> = [
  ["retention", "Retention"],
  ["copies", "Copies"],
  ["fixity", "Fixity"],
  ["timestamps", "Time-stamps"],
  ["upgrade", "Signature upgrade (archive time-stamp)"],
  ["hashes", "Hashes"],
  ["postProcessing", "Post-processing"]
]

const summaryValue = (key: string, v: unknown): string => {
  if (key === "storage" || key === "sourceSystem") {
    const o = (v ?? {}) as { id?: unknown; name?: unknown }
    return `${escape(String(o.id ?? ""))}${typeof o.name === "string" ? ` · ${escape(o.name)}` : ""}`
  }
  return value(v, key)
}

/**
 * A container's detail page, from its JSON detail.
 *
 * @since 0.1.0
 * @category pages
 */
export const detailPage = (urls: Urls, detail: Readonly<Record<string, unknown>>): string => {
  const id = String(detail["id"] ?? "")
  const name = String(detail["name"] ?? id)
  const summary =
    `<dl class="fields" id="summary">` +
    summaryKeys
      .filter((k) => k in detail)
      .map((k) => `<dt>${escape(k)}</dt><dd data-field="${escape(k)}">${summaryValue(k, detail[k])}</dd>`)
      .join("") +
    `</dl>`
  type FileEntry = { readonly fileName?: unknown; readonly size?: unknown }
  const isFile = (u: unknown): u is FileEntry => typeof u === "object" && u !== null && !Array.isArray(u)
  const document = isFile(detail["document"]) ? detail["document"] : undefined
  const signatureFiles = Array.isArray(detail["signatureFiles"]) ? (detail["signatureFiles"] as ReadonlyArray<unknown>).filter(isFile) : []
  const fileRow = (kind: string, f: FileEntry) =>
    `<tr><td>${escape(kind)}</td><td class="v">${escape(String(f.fileName ?? ""))}</td><td>${escape(String(f.size ?? ""))} B</td></tr>`
  const documents =
    `<section id="section-documents"><h2>Documents</h2><table id="documents"><thead><tr><th>Part</th><th>File</th><th>Size</th></tr></thead><tbody>` +
    (document === undefined ? "" : fileRow("document", document)) +
    signatureFiles.map((f) => fileRow("signature", f)).join("") +
    `</tbody></table>` +
    (signatureFiles.length === 0 ? "" : `<p><a href="${escape(urls.signatures(id))}" id="download-signatures">Download the signatures (signatures.zip)</a></p>`) +
    `</section>`
  const shown = new Set<string>([...summaryKeys, ...hiddenKeys, "document", "signatureFiles"])
  const sections: Array<string> = []
  const section = (key: string, title: string) => {
    shown.add(key)
    sections.push(`<section id="section-${escape(key)}"><h2>${escape(title)}</h2>${value(detail[key], key)}</section>`)
  }
  for (const [key, title] of sectionTitles) if (key in detail) section(key, title)
  for (const key of Object.keys(detail)) if (!shown.has(key)) section(key, key)
  return shell(
    urls,
    `Container ${name}`,
    `<h1>${escape(name)}</h1><p class="muted">Container <code>${escape(id)}</code> · <a href="${escape(urls.json(id))}">as JSON</a></p>` +
      summary +
      documents +
      sections.join("")
  )
}

/**
 * The upload form's view.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadView {
  readonly urls: Urls
  readonly storages: ReadonlyArray<{ readonly id: number; readonly name: string }>
  /** Enabled DocumentStorage plugins the container may be placed in. */
  readonly plugins: ReadonlyArray<string>
}

/**
 * The upload form: the fields of `POST /document/content`, posted as multipart to the page's own
 * URL (same origin), which answers with the new container's page.
 *
 * @since 0.1.0
 * @category pages
 */
export const uploadPage = (view: UploadView): string =>
  shell(
    view.urls,
    "Upload a container",
    `<h1>Upload a container</h1>` +
      `<form class="upload" method="post" action="${escape(view.urls.upload)}" enctype="multipart/form-data" id="upload"><fieldset>` +
      `<label for="ContainerName">Container name</label><input id="ContainerName" name="ContainerName" required size="40">` +
      `<label for="Content">Document <span class="hint">(the signed document, or the attached signature)</span></label><input type="file" id="Content" name="Content" required>` +
      `<label for="Signs">Detached signatures <span class="hint">(DER, binary; base64 is refused)</span></label><input type="file" id="Signs" name="Signs" multiple>` +
      `<label for="StorageId">Storage</label><select id="StorageId" name="StorageId" required>${view.storages
        .map((s) => `<option value="${s.id}">${s.id} · ${escape(s.name)}</option>`)
        .join("")}</select>` +
      `<label for="SaveType">Save type</label><select id="SaveType" name="SaveType"><option>Permanent</option><option>Temporary</option></select>` +
      `<label for="ArchiveDate">Keep until <span class="hint">(required for Temporary)</span></label><input type="date" id="ArchiveDate" name="ArchiveDate">` +
      `<label for="StructureName">Structure name <span class="hint">(optional)</span></label><input id="StructureName" name="StructureName" size="40">` +
      `<label for="ArchiveCaPluginName">Storage plugin <span class="hint">(default: the database)</span></label><select id="ArchiveCaPluginName" name="ArchiveCaPluginName">` +
      `<option value="">default</option>${view.plugins.map((p) => `<option>${escape(p)}</option>`).join("")}</select>` +
      `<label><input type="checkbox" name="UseArchiveCa" value="true"> Use the archive's CA</label>` +
      `<p><button type="submit">Upload</button></p></fieldset></form>`
  )

/**
 * A refusal or failure, in words, with the archive's `errorCode`.
 *
 * @since 0.1.0
 * @category pages
 */
export const errorPage = (urls: Urls, status: number, code: string, message: string): string =>
  shell(
    urls,
    `${status} ${code}`,
    `<h1>${escape(code)}</h1><div class="error" id="error"><p><strong>${status}</strong> ${escape(message)}</p></div>` +
      `<p><a href="${escape(urls.list)}">Back to the containers</a></p>`
  )
