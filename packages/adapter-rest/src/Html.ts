/**
 * HTML pages for browsers (UWS 1.1 §2.2.2 allows an HTML representation chosen by Accept).
 * Plain server-rendered pages whose forms post to the standard UWS endpoints, so a person can
 * create, run, abort, re-schedule and delete jobs with nothing but a browser. Every value shown
 * is escaped. The pages carry no inline script or style, so they work under a strict
 * Content-Security-Policy (`script-src 'self'; style-src 'self'`): their stylesheet
 * ({@link stylesheet}) and their one script ({@link script}) are files the binding serves
 * itself ({@link assetName}). The pages need no JavaScript, with one exception: the free-form
 * parameter box of the creation form turns its `NAME=value` lines into form fields, because HTML
 * alone cannot let a user choose a field's name (see {@link jobListPage}). Deleting a job asks
 * for confirmation on a page of its own ({@link deleteConfirmationPage}).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { type Job, type Parameter, type ResultRef, uploadName } from "@uws-kit/core/Job"
import type { Phase } from "@uws-kit/core/Phase"
import * as QuoteMachine from "@uws-kit/core/QuoteMachine"

/**
 * Where a page finds its stylesheet and script (absolute URLs; the binding serves them under
 * its base path). Absent: the page links neither (it is still usable, unstyled).
 *
 * @since 0.1.0
 * @category models
 */
export interface Assets {
  readonly stylesheet: string
  readonly script: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobListView {
  /** The stylesheet's and script's URLs. */
  readonly assets?: Assets
  /** The application's name, e.g. "echo". */
  readonly title: string
  /** Absolute URL of the job list (forms post here to create a job). */
  readonly listUrl: string
  readonly jobs: ReadonlyArray<Job>
  readonly jobUrl: (jobId: string) => string
  /** The filters of this listing as a query string ("" when none), to show what is filtered. */
  readonly query: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobView {
  /** The stylesheet's and script's URLs. */
  readonly assets?: Assets
  readonly title: string
  readonly listUrl: string
  readonly jobUrl: string
  readonly job: Job
  readonly resultUrl: (resultId: string) => string
  /** Core event types the job accepts now (`JobMachine.acceptedEvents(job.phase)`), to show only forms that can work. */
  readonly acceptedEvents: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorView {
  /** The stylesheet's and script's URLs. */
  readonly assets?: Assets
  readonly status: number
  readonly title: string
  readonly message: string
  readonly backUrl?: string
}

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @since 0.1.0
 * @category utils
 */
export const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

// Phases in the order a person meets them; the filter links follow it.
const filterPhases: ReadonlyArray<Phase> = [
  "PENDING",
  "QUEUED",
  "EXECUTING",
  "SUSPENDED",
  "HELD",
  "COMPLETED",
  "ERROR",
  "ABORTED",
  "ARCHIVED",
  "UNKNOWN"
]

// Phases that change without anyone acting: their pages reload themselves.
const moving: ReadonlySet<Phase> = new Set<Phase>(["QUEUED", "EXECUTING", "SUSPENDED"])

/**
 * The pages' stylesheet, served as a file (the CSP allows no inline style).
 *
 * @since 0.1.0
 * @category assets
 */
export const stylesheet = `
:root{color-scheme:light dark;--muted:#667;--line:#ccd;--accent:#2456a6}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:62rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line)}
a{color:var(--accent)}nav{font-size:.9rem;color:var(--muted)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600}td.v{white-space:pre-wrap;word-break:break-all;font-family:ui-monospace,monospace}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.fields dt{font-weight:600}dl.fields dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.phase{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem;font-weight:600;background:#e4e7ee;color:#223}
.phase-COMPLETED{background:#d3f2d8;color:#124d1d}.phase-ERROR{background:#fadada;color:#7a1212}.phase-ABORTED{background:#f6e3c8;color:#6a3c00}
.phase-EXECUTING,.phase-QUEUED{background:#d6e6fb;color:#0d3a78}.phase-HELD,.phase-SUSPENDED{background:#efe0f8;color:#4d1d70}
.filters a,.filters strong{margin-right:.6rem}.muted{color:var(--muted)}
form.inline{display:inline-block;margin:0 .6rem .6rem 0}fieldset{border:1px solid var(--line);border-radius:.4rem;margin:0 0 1rem;padding:.6rem .9rem}
textarea{width:100%;font-family:ui-monospace,monospace}button{cursor:pointer}
.error{border-left:4px solid #c33;padding:.4rem .8rem;background:#fff3f3;color:#511}
progress{width:18rem;max-width:100%;height:1rem;vertical-align:middle}progress.bar{width:6rem;margin-left:.4rem}
#live{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .9rem;margin:0 0 1rem}#live p{margin:.2rem 0}
`

const page = (title: string, body: string, assets: Assets | undefined, head = "", withScript = false) =>
  `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
  `<meta name="viewport" content="width=device-width, initial-scale=1">` +
  // No icon: otherwise every page view costs a request for /favicon.ico, which the host may not serve.
  `<link rel="icon" href="data:,">` +
  `<title>${escape(title)}</title>${head}` +
  (assets === undefined ? "" : `<link rel="stylesheet" href="${escape(assets.stylesheet)}">`) +
  (assets === undefined || !withScript ? "" : `<script src="${escape(assets.script)}" defer></script>`) +
  `</head><body>${body}</body></html>\n`

// The UTC value is the text (no JavaScript) and the hover title; the pages' script shows the
// text in the browser's local time.
const time = (ms: number | null): string =>
  ms === null || !Number.isFinite(ms)
    ? `<span class="muted">none</span>`
    : `<time datetime="${new Date(ms).toISOString()}" title="${new Date(ms).toISOString()} (UTC)">${new Date(ms).toISOString()}</time>`

const phaseBadge = (phase: string) => `<span class="phase phase-${escape(phase)}">${escape(phase)}</span>`

/**
 * How far a job is, from 0 to 1, read from the `progress` entry of its jobInfo (what
 * applications report with `reportProgress`): `3/10`, `30%` or `0.3`. `null` when the job
 * reports none or nothing readable.
 *
 * @since 0.1.0
 * @category utils
 */
export const progressOf = (job: Pick<Job, "jobInfo">): number | null => {
  const info = job.jobInfo
  if (info === null) return null
  const key = Object.keys(info).find((k) => k.toLowerCase() === "progress")
  const raw = key === undefined ? undefined : info[key]?.trim()
  if (raw === undefined) return null
  const number = "\\s*(\\d+(?:\\.\\d+)?|\\.\\d+)\\s*"
  let value: number | undefined
  const ratio = new RegExp(`^${number}/${number}$`).exec(raw)
  const percent = new RegExp(`^${number}%$`).exec(raw)
  const plain = new RegExp(`^${number}$`).exec(raw)
  if (ratio !== null) value = Number(ratio[2]) > 0 ? Number(ratio[1]) / Number(ratio[2]) : undefined
  else if (percent !== null) value = Number(percent[1]) / 100
  else if (plain !== null && Number(plain[1]) <= 1) value = Number(plain[1])
  return value === undefined || !Number.isFinite(value) ? null : Math.min(1, Math.max(0, value))
}

const percentText = (p: number) => `${Math.round(p * 100)}%`

const progressBar = (p: number, attrs: string) => `<progress max="1" value="${p}"${attrs}>${percentText(p)}</progress>`

const text = (s: string | null) => (s === null ? `<span class="muted">none</span>` : escape(s))

/** The phases a listing's query string filters on, upper-cased (PHASE is repeatable). */
const queriedPhases = (query: string): ReadonlyArray<string> => {
  const params = new URLSearchParams(query.startsWith("?") ? query.slice(1) : query)
  const out: Array<string> = []
  for (const [k, v] of params) if (k.toUpperCase() === "PHASE") out.push(v.trim().toUpperCase())
  return out
}

const withQuery = (url: string, query: string) => (query === "" ? url : `${url}?${query}`)

/**
 * The pages' one script, served as a file (the CSP allows no inline script): in the creation
 * form, `NAME=value` lines become hidden fields named NAME; the textarea itself has no name, so
 * it is never sent. A line without "=" blocks the submission with a message next to the box.
 *
 * @since 0.1.0
 * @category assets
 */
export const script = `
document.querySelectorAll("form[data-uws-create]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var box = form.querySelector("textarea[data-uws-parameters]");
    form.querySelectorAll("input[data-uws-generated]").forEach(function (el) { el.remove(); });
    box.setCustomValidity("");
    var lines = box.value.split(/\\r?\\n/);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.trim() === "") continue;
      var eq = line.indexOf("=");
      var name = eq < 0 ? "" : line.slice(0, eq).trim();
      if (name === "") {
        box.setCustomValidity("Line " + (i + 1) + " is not NAME=value: " + line);
        box.reportValidity();
        event.preventDefault();
        return;
      }
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = line.slice(eq + 1);
      input.setAttribute("data-uws-generated", "");
      form.appendChild(input);
    }
  });
  form.querySelector("textarea[data-uws-parameters]").addEventListener("input", function (e) { e.target.setCustomValidity(""); });
});
(function () {
  function localize() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) el.textContent = d.toLocaleString();
    });
  }
  function span(ms) {
    var s = Math.max(0, Math.round(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h > 0 ? h + " h " : "") + (h > 0 || m > 0 ? m + " min " : "") + (s % 60) + " s";
  }
  function set(id, text, muted) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; el.className = muted ? "muted" : ""; }
  }
  var state = null, skew = 0, source = null, timer = null, reloading = false;
  function time(iso) { return iso === null || iso === undefined ? null : new Date(iso).getTime(); }
  function show() {
    if (!state) return;
    var now = Date.now() + skew;
    var start = time(state.startTime), end = time(state.endTime), destruction = time(state.destruction);
    set("elapsed", start === null ? "none" : span((end === null ? now : end) - start), start === null);
    var limit = start === null || end !== null || !state.executionDuration ? null : start + state.executionDuration * 1000 - now;
    set("left-execution", limit === null ? "none" : span(limit), limit === null);
    set("left-destruction", destruction === null ? "none" : span(destruction - now), destruction === null);
  }
  function apply(job) {
    state = job;
    skew = time(job.now) - Date.now();
    var bar = document.getElementById("progress-bar");
    if (bar && job.progress !== null) {
      bar.value = job.progress;
      bar.textContent = Math.round(job.progress * 100) + "%";
      set("progress-text", Math.round(job.progress * 100) + "%", false);
    }
    var info = document.getElementById("job-info");
    if (info) {
      var body = info.tBodies[0];
      while (body.firstChild) body.removeChild(body.firstChild);
      Object.keys(job.jobInfo).forEach(function (k) {
        var tr = body.insertRow(), th = document.createElement("th"), td = tr.insertCell();
        th.textContent = k; td.className = "v"; td.textContent = job.jobInfo[k];
        tr.insertBefore(th, td);
      });
    }
    show();
  }
  // A new phase brings other forms, fields and results: the page's own HTML, fetched (no navigation).
  function refresh(live) {
    if (reloading) return;
    reloading = true;
    fetch(live.getAttribute("data-job"), { headers: { accept: "text/html,application/xhtml+xml" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.title = doc.title;
        document.body.innerHTML = doc.body.innerHTML;
        reloading = false;
        start();
      }, function () { reloading = false; });
  }
  function start() {
    localize();
    var live = document.getElementById("live");
    if (!live) return;
    state = {
      startTime: live.getAttribute("data-start"), endTime: live.getAttribute("data-end"),
      destruction: live.getAttribute("data-destruction"), executionDuration: Number(live.getAttribute("data-duration"))
    };
    skew = time(live.getAttribute("data-now")) - Date.now();
    if (timer === null) timer = setInterval(show, 1000);
    var url = live.getAttribute("data-events");
    if (source !== null || !url || typeof EventSource === "undefined") return;
    source = new EventSource(url);
    source.addEventListener("job", function (e) {
      var job = JSON.parse(e.data), here = document.getElementById("live");
      var final = ["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"].indexOf(job.phase) >= 0;
      if (final) { source.close(); source = null; }
      var news = !document.getElementById("job-info") && Object.keys(job.jobInfo).length > 0;
      if (here && (here.getAttribute("data-phase") !== job.phase || news)) refresh(here);
      else apply(job);
    });
    source.addEventListener("gone", function () { source.close(); source = null; });
  }
  start();
})();
`

const version = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12)

/**
 * The file names the binding serves its assets under: versioned by content, so that they can be
 * cached for ever and a new release is fetched at once.
 *
 * @since 0.1.0
 * @category assets
 */
export const assetName = { stylesheet: `uws-pages.${version(stylesheet)}.css`, script: `uws-pages.${version(script)}.js` } as const

/** An EXECUTING job's bar in a listing (nothing when it reports no progress). */
const listProgress = (job: Job): string => {
  const p = job.phase === "EXECUTING" ? progressOf(job) : null
  return p === null ? "" : progressBar(p, ` class="bar" title="${percentText(p)}"`)
}

/**
 * The job list: filter links by phase, a table of the jobs, and a form that creates a job.
 *
 * The creation form posts `application/x-www-form-urlencoded` to the list URL. Its parameters
 * are typed as `NAME=value` lines (job-control parameters such as `RUNID=…` or
 * `EXECUTIONDURATION=…` included); the pages' script ({@link script}) turns each line into a form field,
 * since HTML offers no field whose *name* the user types. Without JavaScript the form still
 * creates (and, with "Run now", runs) a job, without parameters, and says so.
 *
 * @since 0.1.0
 * @category pages
 */
export const jobListPage = (view: JobListView): string => {
  const active = queriedPhases(view.query)
  const filterLink = (label: string, query: string, current: boolean) =>
    current ? `<strong>${escape(label)}</strong>` : `<a href="${escape(withQuery(view.listUrl, query))}">${escape(label)}</a>`
  const filters =
    filterLink("All but archived", "", active.length === 0 && view.query === "") +
    filterPhases
      .map((p) => filterLink(p.charAt(0) + p.slice(1).toLowerCase(), `PHASE=${p}`, active.length === 1 && active[0] === p))
      .join("")
  const filtered = view.query === "" ? "" : `<p class="muted">Filtered by <code>${escape(view.query)}</code>.</p>`
  const rows = view.jobs
    .map(
      (j) =>
        `<tr><td><a href="${escape(view.jobUrl(j.jobId))}">${escape(j.jobId)}</a></td>` +
        `<td>${phaseBadge(j.phase)}${listProgress(j)}</td><td>${text(j.runId)}</td><td>${text(j.ownerId)}</td>` +
        `<td>${time(j.creationTime)}</td><td>${j.results.length}</td></tr>`
    )
    .join("")
  const table =
    view.jobs.length === 0
      ? `<p class="muted" id="no-jobs">No jobs${view.query === "" ? " yet" : " match this filter"}.</p>`
      : `<table id="jobs"><thead><tr><th>Job</th><th>Phase</th><th>Run id</th><th>Owner</th><th>Created</th><th>Results</th></tr></thead><tbody>${rows}</tbody></table>`
  const form =
    `<form method="post" action="${escape(view.listUrl)}" enctype="application/x-www-form-urlencoded" data-uws-create id="create">` +
    `<fieldset><label for="parameters">Parameters, one <code>NAME=value</code> per line ` +
    `<span class="muted">(job control too: RUNID, EXECUTIONDURATION, DESTRUCTION)</span></label>` +
    `<textarea id="parameters" rows="5" data-uws-parameters placeholder="SECONDS=5&#10;RUNID=my-run"></textarea>` +
    `<noscript><p class="muted">Parameters need JavaScript; without it the job is created without any.</p></noscript>` +
    `<p><label><input type="checkbox" name="PHASE" value="RUN" id="run-now"> Run now</label> ` +
    `<button type="submit">Create job</button></p></fieldset></form>`
  return page(
    `${view.title} jobs`,
    `<nav><a href="${escape(view.listUrl)}">${escape(view.title)}</a> · UWS 1.1 job list</nav>` +
      `<h1>${escape(view.title)} jobs</h1>` +
      `<p class="filters">${filters}</p>${filtered}${table}` +
      `<h2>New job</h2>${form}`,
    view.assets,
    "",
    true
  )
}

const parameterRow = (jobUrl: string, p: Parameter) => {
  const upload = uploadName(p)
  const value =
    upload !== undefined
      ? `<a href="${escape(`${jobUrl}/parameters/${encodeURIComponent(upload)}`)}">${escape(p.value)}</a>`
      : p.byReference === true && /^https?:\/\//i.test(p.value)
        ? `<a href="${escape(p.value)}">${escape(p.value)}</a>`
        : escape(p.value)
  return `<tr><td>${escape(p.name)}</td><td class="v">${value}</td><td>${p.byReference === true ? "by reference" : ""}</td></tr>`
}

const resultRow = (view: JobView, r: ResultRef) =>
  `<tr><td><a href="${escape(r.href ?? view.resultUrl(r.id))}">${escape(r.id)}</a></td>` +
  `<td>${text(r.mimeType ?? null)}</td><td>${r.size === undefined ? `<span class="muted">?</span>` : `${r.size} B`}</td></tr>`

/** `YYYY-MM-DDTHH:MM:SS` in UTC: what a `datetime-local` input shows and submits. */
const localInput = (ms: number) => new Date(ms).toISOString().slice(0, 19)

/** The quote's instant and where it stands: estimated, accepted (and when), exceeded or unknown. */
const quoteField = (job: Job): string => {
  const quote = QuoteMachine.ofJob(job)
  const status = `<span class="quote-status quote-${quote.status}" id="quote-status">${quote.status}</span>`
  return `${time(job.quote)} ${status}${quote.acceptedAt === null ? "" : ` <span class="muted">on ${time(quote.acceptedAt)}</span>`}`
}

/** `1 h 2 min 3 s`: a span of time for people. */
const span = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return `${h > 0 ? `${h} h ` : ""}${h > 0 || m > 0 ? `${m} min ` : ""}${s % 60} s`
}

/**
 * Where a started job stands: its progress bar, the time it has run, and the time left before
 * its execution limit and its destruction. The values are right when the page is made; the
 * pages' script keeps them current from the job's events (`data-events`), counting from the
 * server's clock (`data-now`).
 */
const liveSection = (view: JobView, now: number): string => {
  const { job } = view
  const follow = moving.has(job.phase)
  if (!follow && job.startTime === null) return ""
  const p = progressOf(job)
  const elapsed = job.startTime === null ? null : (job.endTime ?? now) - job.startTime
  const limit = job.startTime === null || job.executionDuration === 0 || job.endTime !== null ? null : job.startTime + job.executionDuration * 1000 - now
  const destruction = job.destruction === null ? null : job.destruction - now
  const none = `<span class="muted">none</span>`
  const attrs = [
    follow ? ` data-events="${escape(`${view.jobUrl}/events`)}"` : "",
    ` data-job="${escape(view.jobUrl)}" data-phase="${escape(job.phase)}" data-now="${new Date(now).toISOString()}"`,
    job.startTime === null ? "" : ` data-start="${new Date(job.startTime).toISOString()}"`,
    job.endTime === null ? "" : ` data-end="${new Date(job.endTime).toISOString()}"`,
    ` data-duration="${job.executionDuration}"`,
    job.destruction === null ? "" : ` data-destruction="${new Date(job.destruction).toISOString()}"`
  ].join("")
  return (
    `<section id="live"${attrs}>` +
    `<p><label for="progress-bar">Progress</label> ` +
    (p === null
      ? `<progress id="progress-bar" max="1"></progress> <span id="progress-text" class="muted">not reported</span>`
      : `${progressBar(p, ` id="progress-bar"`)} <span id="progress-text">${percentText(p)}</span>`) +
    `</p><p>Running for <span id="elapsed">${elapsed === null ? none : span(elapsed)}</span>` +
    ` · left before the execution limit: <span id="left-execution">${limit === null ? none : span(limit)}</span>` +
    ` · before destruction: <span id="left-destruction">${destruction === null ? none : span(destruction)}</span></p>` +
    `</section>`
  )
}

const duration = (seconds: number) => (seconds === 0 ? "0 (unlimited)" : `${seconds} s`)

/**
 * A job: every field of the job record, its parameters, results, error summary and progress,
 * and the forms that work in its phase (run, abort, destruction, execution duration, delete).
 * A started job shows a progress bar, the time it has run and the time left before its execution
 * limit and its destruction. Jobs that move by themselves (QUEUED, EXECUTING, SUSPENDED) are
 * followed live: the pages' script reads the job's server-sent events (`…/events`), updates the
 * bar, times and progress table in place, and on a phase change fetches the page again and
 * swaps its content (no navigation). Without JavaScript the page reloads itself with a short
 * blocking `WAIT` guarded by its phase (`<noscript>` meta refresh). Times show in the browser's
 * local time, their UTC value on hover.
 *
 * @since 0.1.0
 * @category pages
 */
export const jobPage = (view: JobView, now: number = Date.now()): string => {
  const { job } = view
  const accepts = (event: string) => view.acceptedEvents.includes(event)
  const jobUrl = escape(view.jobUrl)
  const fields: ReadonlyArray<readonly [string, string]> = [
    ["jobId", escape(job.jobId)],
    ["runId", text(job.runId)],
    ["ownerId", text(job.ownerId)],
    ["phase", phaseBadge(job.phase)],
    ["quote", quoteField(job)],
    ["creationTime", time(job.creationTime)],
    ["startTime", time(job.startTime)],
    ["endTime", time(job.endTime)],
    ["executionDuration", escape(duration(job.executionDuration))],
    ["destruction", time(job.destruction)]
  ]
  const list = `<dl class="fields" id="fields">${fields.map(([k, v]) => `<dt>${k}</dt><dd id="field-${k}">${v}</dd>`).join("")}</dl>`
  const error =
    job.errorSummary === null
      ? ""
      : `<h2>Error</h2><div class="error" id="error"><p><strong>${escape(job.errorSummary.type)}</strong>: ${escape(job.errorSummary.message)}</p>` +
        (job.errorSummary.hasDetail ? `<p><a href="${jobUrl}/error">Details</a></p>` : "") +
        `</div>`
  const parameters =
    job.parameters.length === 0
      ? `<p class="muted">No parameters.</p>`
      : `<table id="parameters"><thead><tr><th>Name</th><th>Value</th><th></th></tr></thead><tbody>${job.parameters
          .map((p) => parameterRow(view.jobUrl, p))
          .join("")}</tbody></table>`
  const results =
    job.results.length === 0
      ? `<p class="muted">No results${moving.has(job.phase) || job.phase === "PENDING" ? " yet" : ""}.</p>`
      : `<table id="results"><thead><tr><th>Result</th><th>Type</th><th>Size</th></tr></thead><tbody>${job.results
          .map((r) => resultRow(view, r))
          .join("")}</tbody></table>`
  const info =
    job.jobInfo === null || Object.keys(job.jobInfo).length === 0
      ? ""
      : `<h2>Progress</h2><table id="job-info"><tbody>${Object.entries(job.jobInfo)
          .map(([k, v]) => `<tr><th>${escape(k)}</th><td class="v">${escape(v)}</td></tr>`)
          .join("")}</tbody></table>`

  // The v0.3 two-phase commit: a PENDING job's quote is the current prediction, which the
  // client accepts (POST …/quote) to run the job; past the destruction time it will not run.
  const quote = QuoteMachine.ofJob(job)
  const willNotRun = quote.status === "exceeded"
  const quoteSection =
    job.phase !== "PENDING"
      ? ""
      : `<h2>Quote</h2><div id="quote">` +
        (willNotRun
          ? `<p class="error">The quote (${time(job.quote)}) is past the destruction time (${time(job.destruction)}): this job will not be run. Change its parameters or set a later destruction.</p>`
          : `<p>${quote.quote === null ? "The service cannot predict when this job will be complete." : `The service predicts this job will be complete by ${time(quote.quote)}.`} ` +
            `It is re-estimated whenever the parameters change; accepting it commits the job, which then runs with this quote recorded.</p>` +
            `<form class="inline" method="post" action="${jobUrl}/quote" id="accept-quote-form"><button type="submit">Accept quote and run</button></form>`) +
        `</div>`

  const phaseForm = (phase: "RUN" | "ABORT", label: string) =>
    `<form class="inline" method="post" action="${jobUrl}/phase" id="${phase.toLowerCase()}-form">` +
    `<input type="hidden" name="PHASE" value="${phase}"><button type="submit">${label}</button></form>`
  const actions: Array<string> = []
  if (accepts("RUN") && !willNotRun) actions.push(phaseForm("RUN", "Run"))
  if (accepts("ABORT")) actions.push(phaseForm("ABORT", "Abort"))
  if (accepts("DELETE")) {
    // A page of its own asks first (works without JavaScript); its form does the delete.
    actions.push(
      `<form class="inline" method="get" action="${jobUrl}/delete" id="delete-form">` +
        `<button type="submit">Delete…</button></form>`
    )
  }
  const settings: Array<string> = []
  if (accepts("SET_DESTRUCTION")) {
    const value = job.destruction === null ? "" : ` value="${localInput(job.destruction)}"`
    settings.push(
      `<form method="post" action="${jobUrl}/destruction" id="destruction-form"><fieldset>` +
        `<label for="destruction">Destruction (UTC)</label> ` +
        `<input type="datetime-local" step="1" name="DESTRUCTION" id="destruction" required${value}> ` +
        `<button type="submit">Set destruction</button></fieldset></form>`
    )
  }
  if (accepts("SET_EXECUTION_DURATION")) {
    settings.push(
      `<form method="post" action="${jobUrl}/executionduration" id="executionduration-form"><fieldset>` +
        `<label for="executionduration">Execution duration (seconds, 0 = unlimited)</label> ` +
        `<input type="number" min="0" step="1" name="EXECUTIONDURATION" id="executionduration" required value="${job.executionDuration}"> ` +
        `<button type="submit">Set execution duration</button></fieldset></form>`
    )
  }
  // Without JavaScript the page reloads itself (a WAIT answers on a phase change only: a short
  // one keeps the progress shown current too); with it, the events stream updates it in place.
  const refresh = moving.has(job.phase)
    ? `<noscript><meta http-equiv="refresh" content="1; url=${escape(`${view.jobUrl}?WAIT=3&PHASE=${job.phase}`)}"></noscript>`
    : ""
  return page(
    `Job ${job.jobId} (${job.phase}) · ${view.title}`,
    `<nav><a href="${escape(view.listUrl)}">${escape(view.title)} jobs</a> › ${escape(job.jobId)}</nav>` +
      `<h1>Job ${escape(job.jobId)} ${phaseBadge(job.phase)}</h1>` +
      (refresh === "" ? "" : `<p class="muted">This page follows the job until it stops moving.</p>`) +
      liveSection(view, now) +
      (actions.length === 0 ? "" : `<div id="actions">${actions.join("")}</div>`) +
      list +
      quoteSection +
      error +
      `<h2>Results</h2>${results}` +
      `<h2>Parameters</h2>${parameters}` +
      info +
      (settings.length === 0 ? "" : `<h2>Settings</h2>${settings.join("")}`),
    view.assets,
    refresh,
    true
  )
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DeleteConfirmationView {
  readonly assets?: Assets
  readonly title: string
  readonly listUrl: string
  readonly jobUrl: string
  readonly job: Job
}

/**
 * Asks whether to delete a job: its form posts `ACTION=DELETE` to the job, "Cancel" goes back.
 * The job page's Delete button leads here, so a stray click deletes nothing.
 *
 * @since 0.1.0
 * @category pages
 */
export const deleteConfirmationPage = (view: DeleteConfirmationView): string => {
  const { job } = view
  const results = job.results.length === 0 ? "" : ` and its ${job.results.length} result${job.results.length === 1 ? "" : "s"}`
  return page(
    `Delete job ${job.jobId}? · ${view.title}`,
    `<nav><a href="${escape(view.listUrl)}">${escape(view.title)} jobs</a> › <a href="${escape(view.jobUrl)}">${escape(job.jobId)}</a></nav>` +
      `<h1>Delete job ${escape(job.jobId)}?</h1>` +
      `<p id="confirm-message">The job ${escape(job.jobId)} ${phaseBadge(job.phase)}${results} will be deleted for good.</p>` +
      `<form class="inline" method="post" action="${escape(view.jobUrl)}" id="confirm-delete-form">` +
      `<input type="hidden" name="ACTION" value="DELETE"><button type="submit">Delete the job</button></form>` +
      `<a href="${escape(view.jobUrl)}" id="cancel-delete">Cancel</a>`,
    view.assets
  )
}

/**
 * An error, with the message a person can act on and a way back.
 *
 * @since 0.1.0
 * @category pages
 */
export const errorPage = (view: ErrorView): string =>
  page(
    `${view.status} ${view.title}`,
    `<h1>${view.status} ${escape(view.title)}</h1><div class="error" id="message"><p>${escape(view.message)}</p></div>` +
      (view.backUrl === undefined ? "" : `<p><a href="${escape(view.backUrl)}" id="back">Back</a></p>`),
    view.assets
  )
