/**
 * The fixed checks, each naming the section of UWS 1.1 it tests. They assume nothing about the
 * server beyond the standard: not its limits (a clamped value is reported, not failed), not its
 * clock, not its queue (a job may wait in QUEUED or HELD).
 *
 * @since 0.1.0
 */
import type { Phase } from "@uws-kit/core/Phase"
import { Iso8601 } from "@uws-kit/http"
import {
  type Check,
  type Context,
  type Params,
  create,
  expect,
  expectSeeOther,
  expectStatus,
  Failure,
  getJob,
  getList,
  paramValues,
  post,
  readDocument,
  settle,
  Skip,
  unknownId
} from "./Check.js"
import { Documents } from "@uws-kit/client"
import * as Schema from "./Schema.js"

const isText = (contentType: string) => /^text\/plain\b/.test(contentType)
const pendingOrLater = (p: Phase) => p !== "PENDING"
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const textResource = async (ctx: Context, url: string, name: string) => {
  const e = await ctx.http.send({ method: "GET", url: `${url}/${name}` })
  expectStatus(e, [200], `GET …/${name}`)
  expect(isText(e.contentType), `GET …/${name}: an atomic value should be text/plain, got ${e.contentType || "no content type"}.`, e)
  return { text: e.body.trim(), exchange: e }
}

const sameInstant = (text: string, date: Date | null) => {
  if (date === null) return text === ""
  const parsed = Iso8601.parse(text)
  return parsed._tag === "Right" && parsed.right === date.getTime()
}

// Jobs are started with a separate PHASE=RUN, so that a server that ignores PHASE=RUN at
// creation fails that one check (create.run) and not every check that needs a finished job.
const started = async (ctx: Context, params: Params) => {
  const { url } = await create(ctx, params)
  expectSeeOther(await post(ctx, url, "phase", [["PHASE", "RUN"]]), url, "POST PHASE=RUN")
  return { url }
}

const completedQuickJob = async (ctx: Context) => {
  const { url } = await started(ctx, ctx.jobs.quick)
  const job = await settle(ctx, url, ["COMPLETED"])
  return { url, job }
}

/**
 * @since 0.1.0
 * @category checks
 */
export const checks: ReadonlyArray<Check> = [
  {
    id: "create",
    section: "§2.2.3.1",
    title: "POST to the job list creates a PENDING job: 303 with its Location",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job, exchange } = await getJob(ctx, url)
      expect(job.phase === "PENDING", `a job created without PHASE=RUN should be PENDING, it is ${job.phase}.`, exchange)
      expect(job.creationTime !== null, "a UWS 1.1 job has a creationTime.", exchange)
    }
  },
  {
    id: "create.run",
    section: "§2.2.3.1",
    title: "PHASE=RUN with the creation request starts the job",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick, true)
      const { job, exchange } = await getJob(ctx, url)
      expect(pendingOrLater(job.phase), "a job created with PHASE=RUN must not stay PENDING.", exchange)
      await settle(ctx, url, ["COMPLETED"])
    }
  },
  {
    id: "version",
    section: "§2.2.1.1",
    title: 'the job and the job list say version="1.1"',
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job, exchange } = await getJob(ctx, url)
      expect(job.version === "1.1", `the job's version is "${job.version}", a 1.1 service must say "1.1".`, exchange)
      const { list, exchange: l } = await getList(ctx)
      expect(list.version === "1.1", `the job list's version is "${list.version}", a 1.1 service must say "1.1".`, l)
    }
  },
  {
    id: "job.resources",
    section: "§2.2.2",
    title: "every job resource answers, atoms as text/plain agreeing with the job document",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job } = await getJob(ctx, url)
      const phase = await textResource(ctx, url, "phase")
      expect(phase.text === job.phase, `/phase says "${phase.text}", the job says ${job.phase}.`, phase.exchange)
      const ed = await textResource(ctx, url, "executionduration")
      expect(/^\d+$/.test(ed.text) && Number(ed.text) === job.executionDuration, `/executionduration says "${ed.text}", the job says ${job.executionDuration}.`, ed.exchange)
      const d = await textResource(ctx, url, "destruction")
      expect(sameInstant(d.text, job.destruction), `/destruction says "${d.text}", the job says ${job.destruction?.toISOString() ?? "nil (so the resource should be empty)"}.`, d.exchange)
      const q = await textResource(ctx, url, "quote")
      expect(sameInstant(q.text, job.quote), `/quote says "${q.text}", the job says ${job.quote?.toISOString() ?? "none (so the resource should be empty)"}.`, q.exchange)
      await textResource(ctx, url, "owner")
      const p = await ctx.http.send({ method: "GET", url: `${url}/parameters` })
      readDocument(ctx, p, "GET …/parameters", (xml) => Documents.parseParameters(xml, url))
      const r = await ctx.http.send({ method: "GET", url: `${url}/results` })
      readDocument(ctx, r, "GET …/results", (xml) => Documents.parseResults(xml, url))
    }
  },
  {
    id: "job.owner",
    section: "§2.2.2",
    title: "/owner, the job's ownerId and its job-list entry name the same owner",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job } = await getJob(ctx, url)
      const owner = await textResource(ctx, url, "owner")
      const expected = job.ownerId ?? ""
      expect(
        owner.text === expected,
        `/owner says "${owner.text}" but the job's ownerId is ${job.ownerId === null ? "nil (no owner): /owner should be empty" : `"${job.ownerId}"`}.`,
        owner.exchange
      )
      const { list, exchange } = await getList(ctx)
      const ref = list.jobs.find((j) => j.jobId === job.jobId)
      if (ref !== undefined) {
        expect(ref.ownerId === null || ref.ownerId === job.ownerId, `the job list gives the owner as "${ref.ownerId}", the job as "${job.ownerId}".`, exchange)
      }
    }
  },
  {
    id: "phase.run",
    section: "§2.2.3.5",
    title: "POST PHASE=RUN: 303 to the job, which leaves PENDING and completes",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const e = await post(ctx, url, "phase", [["PHASE", "RUN"]])
      expectSeeOther(e, url, "POST PHASE=RUN")
      const { job, exchange } = await getJob(ctx, url)
      expect(pendingOrLater(job.phase), "after PHASE=RUN the job must not be PENDING.", exchange)
      const done = await settle(ctx, url, ["COMPLETED"])
      expect(done.startTime !== null && done.endTime !== null, "a COMPLETED job has a startTime and an endTime.")
    }
  },
  {
    id: "phase.abort",
    section: "§2.2.3.6",
    title: "POST PHASE=ABORT: 303 to the job, which is ABORTED (PENDING, and EXECUTING with a slow job)",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const e = await post(ctx, url, "phase", [["PHASE", "ABORT"]])
      expectSeeOther(e, url, "POST PHASE=ABORT")
      const { job, exchange } = await getJob(ctx, url)
      expect(job.phase === "ABORTED", `an aborted PENDING job should be ABORTED, it is ${job.phase}.`, exchange)
      if (ctx.jobs.slow === undefined) return ctx.note("no slow job given: aborting an EXECUTING job not tried")
      const slow = await started(ctx, ctx.jobs.slow)
      await settle(ctx, slow.url, ["EXECUTING"])
      const a = await post(ctx, slow.url, "phase", [["PHASE", "ABORT"]])
      expectSeeOther(a, slow.url, "POST PHASE=ABORT (EXECUTING)")
      const after = await getJob(ctx, slow.url)
      expect(after.job.phase === "ABORTED", `an aborted EXECUTING job should be ABORTED, it is ${after.job.phase}.`, after.exchange)
    }
  },
  {
    id: "phase.forbidden",
    section: "§2.2",
    title: "a phase change the state does not allow is refused with 403 and changes nothing",
    run: async (ctx) => {
      const { url } = await completedQuickJob(ctx)
      for (const phase of ["RUN", "ABORT"]) {
        const e = await post(ctx, url, "phase", [["PHASE", phase]])
        expectStatus(e, [403], `POST PHASE=${phase} on a COMPLETED job`)
        const { job, exchange } = await getJob(ctx, url)
        expect(job.phase === "COMPLETED", `a refused PHASE=${phase} changed the job to ${job.phase}.`, exchange)
      }
      const bad = await post(ctx, url, "phase", [["PHASE", "FLY"]])
      expect(bad.status >= 400 && bad.status < 500, `POST PHASE=FLY (no such action): expected a 4xx, got ${bad.status}.`, bad)
    }
  },
  {
    id: "job.not-found",
    section: "§2.2",
    title: "an unknown job and its resources answer 404",
    run: async (ctx) => {
      const url = `${ctx.list}/${unknownId()}`
      for (const u of [url, `${url}/phase`]) {
        const e = await ctx.http.send({ method: "GET", url: u })
        expectStatus(e, [404], `GET ${u}`)
      }
      const e = await post(ctx, url, "phase", [["PHASE", "RUN"]])
      expectStatus(e, [404], `POST PHASE=RUN to an unknown job`)
    }
  },
  {
    id: "results",
    section: "§2.2.2.3",
    title: "a COMPLETED job's results are listed alike in the job and /results, and each is reachable",
    run: async (ctx) => {
      const { url, job } = await completedQuickJob(ctx)
      const r = await ctx.http.send({ method: "GET", url: `${url}/results` })
      const listed = readDocument(ctx, r, "GET …/results", (xml) => Documents.parseResults(xml, url))
      const ids = (rs: ReadonlyArray<{ readonly id: string }>) => rs.map((x) => x.id).sort().join(",")
      expect(ids(listed) === ids(job.results), `/results lists [${ids(listed)}], the job lists [${ids(job.results)}].`, r)
      if (listed.length === 0) ctx.note("the quick job made no results: nothing to fetch")
      for (const result of listed) {
        expect(result.href !== null, `result "${result.id}" has no xlink:href.`, r)
        let e = await ctx.http.send({ method: "GET", url: result.href })
        // Results "may have any URI": a redirect to storage elsewhere is fine.
        for (let hop = 0; hop < 5 && e.status >= 300 && e.status < 400 && e.location !== undefined; hop++) {
          e = await ctx.http.send({ method: "GET", url: e.location })
        }
        expectStatus(e, [200], `GET result "${result.id}"`)
      }
    }
  },
  {
    id: "error",
    section: "§2.1.9",
    title: "a failed job is ERROR with an errorSummary, and /error answers",
    needs: "error",
    run: async (ctx) => {
      if (ctx.jobs.error === undefined) throw new Skip("no failing job given (--error NAME=VALUE)")
      const { url } = await started(ctx, ctx.jobs.error)
      const job = await settle(ctx, url, ["ERROR"])
      expect(job.errorSummary !== null, "an ERROR job should carry an errorSummary.")
      const e = await ctx.http.send({ method: "GET", url: `${url}/error` })
      expectStatus(e, [200], "GET …/error")
      expect(e.body.trim() !== "", "GET …/error answered nothing.", e)
    }
  },
  {
    id: "parameters",
    section: "§2.1.11",
    title: "parameters read back (names case-insensitive), update in PENDING only",
    run: async (ctx) => {
      const [first] = ctx.jobs.quick
      if (first === undefined) throw new Skip("the quick job has no parameters to read back")
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job, exchange } = await getJob(ctx, url)
      for (const [name, value] of ctx.jobs.quick) {
        expect(paramValues(job.parameters, name).includes(value), `parameter ${name}=${value} is not in the job (it has ${job.parameters.map((p) => `${p.name}=${p.value}`).join(", ") || "none"}).`, exchange)
      }
      // The same value under a name in another case: one parameter, not two.
      const [name, value] = first
      const flipped = name === name.toUpperCase() ? name.toLowerCase() : name.toUpperCase()
      const u = await post(ctx, url, "parameters", [[flipped, value]])
      if ([403, 405, 501].includes(u.status)) ctx.note(`updating parameters is not offered (${u.status}); it is optional`)
      else {
        expectSeeOther(u, url, `POST …/parameters ${flipped}=${value}`)
        const after = await getJob(ctx, url)
        const count = paramValues(after.job.parameters, name).length
        const before = paramValues(job.parameters, name).length
        expect(count === before, `updating ${flipped} (another case of ${name}) left ${count} values where there were ${before}: names are case-insensitive.`, after.exchange)
      }
      const done = await completedQuickJob(ctx)
      const late = await post(ctx, done.url, "parameters", [[name, value]])
      expect(late.status >= 400 && late.status < 500, `updating a parameter of a COMPLETED job: expected a 4xx (403), got ${late.status}.`, late)
    }
  },
  {
    id: "destruction",
    section: "§2.2.3.3",
    title: "DESTRUCTION: set, read back (the server may substitute its own), bad values refused",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const asked = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000)
      const e = await post(ctx, url, "destruction", [["DESTRUCTION", asked.toISOString()]])
      expectSeeOther(e, url, "POST DESTRUCTION")
      const d = await textResource(ctx, url, "destruction")
      const got = Iso8601.parse(d.text)
      expect(got._tag === "Right", `/destruction should be an ISO 8601 instant, it is "${d.text}".`, d.exchange)
      if (got.right !== asked.getTime()) ctx.note(`asked ${asked.toISOString()}, the server chose ${new Date(got.right).toISOString()} (clamping is allowed)`)
      const bad = await post(ctx, url, "destruction", [["DESTRUCTION", "next tuesday"]])
      expect(bad.status >= 400 && bad.status < 500, `DESTRUCTION=next tuesday: expected a 4xx, got ${bad.status}.`, bad)
      const again = await textResource(ctx, url, "destruction")
      expect(again.text === d.text, `a refused DESTRUCTION changed it from "${d.text}" to "${again.text}".`, again.exchange)
    }
  },
  {
    id: "executionduration",
    section: "§2.2.3.4",
    title: "EXECUTIONDURATION: set, read back (the server may substitute its own), bad values refused",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const e = await post(ctx, url, "executionduration", [["EXECUTIONDURATION", "1234"]])
      expectSeeOther(e, url, "POST EXECUTIONDURATION")
      const d = await textResource(ctx, url, "executionduration")
      expect(/^\d+$/.test(d.text), `/executionduration should be a whole number of seconds, it is "${d.text}".`, d.exchange)
      if (d.text !== "1234") ctx.note(`asked 1234 s, the server chose ${d.text} s (clamping is allowed)`)
      const bad = await post(ctx, url, "executionduration", [["EXECUTIONDURATION", "soon"]])
      expect(bad.status >= 400 && bad.status < 500, `EXECUTIONDURATION=soon: expected a 4xx, got ${bad.status}.`, bad)
      const again = await textResource(ctx, url, "executionduration")
      expect(again.text === d.text, `a refused EXECUTIONDURATION changed it from ${d.text} to ${again.text}.`, again.exchange)
    }
  },
  {
    id: "delete",
    section: "§2.2.3.2",
    title: "DELETE and POST ACTION=DELETE: 303 to the job list, the job gone (404) or ARCHIVED",
    run: async (ctx) => {
      for (const how of ["DELETE", "ACTION=DELETE"] as const) {
        const { url } = await create(ctx, ctx.jobs.quick)
        const e =
          how === "DELETE" ? await ctx.http.send({ method: "DELETE", url }) : await post(ctx, url, "", [["ACTION", "DELETE"]])
        expectSeeOther(e, ctx.list, how)
        ctx.made.delete(url)
        const g = await ctx.http.send({ method: "GET", url })
        if (g.status === 200) {
          const job = readDocument(ctx, g, `GET ${url}`, (xml) => Documents.parseJob(xml, url))
          expect(job.phase === "ARCHIVED", `after ${how} the job answers 200 in ${job.phase}: it should be gone (404) or ARCHIVED.`, g)
        } else expectStatus(g, [404, 410], `GET a deleted job`)
      }
    }
  },
  {
    id: "list",
    section: "§2.2.2.1",
    title: "the job list shows the caller's jobs, and no ARCHIVED job unless asked",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job } = await getJob(ctx, url)
      const { list, exchange } = await getList(ctx)
      expect(list.jobs.some((j) => j.jobId === job.jobId), `the job list does not show the job just created (${job.jobId}).`, exchange)
      const archived = list.jobs.filter((j) => j.phase === "ARCHIVED")
      expect(archived.length === 0, `the default job list shows ARCHIVED jobs (${archived.map((j) => j.jobId).join(", ")}).`, exchange)
      const a = await getList(ctx, "?PHASE=ARCHIVED")
      expect(a.list.jobs.every((j) => j.phase === "ARCHIVED"), "PHASE=ARCHIVED lists jobs in other phases.", a.exchange)
    }
  },
  {
    id: "list.phase",
    section: "§2.2.2.1",
    title: "PHASE filters, repeated PHASE is the union",
    run: async (ctx) => {
      const pending = await create(ctx, ctx.jobs.quick)
      const aborted = await create(ctx, ctx.jobs.quick)
      expectSeeOther(await post(ctx, aborted.url, "phase", [["PHASE", "ABORT"]]), aborted.url, "POST PHASE=ABORT")
      const [p, a] = [(await getJob(ctx, pending.url)).job.jobId, (await getJob(ctx, aborted.url)).job.jobId]
      const one = await getList(ctx, "?PHASE=PENDING")
      expect(one.list.jobs.every((j) => j.phase === "PENDING"), "PHASE=PENDING lists jobs in other phases.", one.exchange)
      expect(one.list.jobs.some((j) => j.jobId === p), `PHASE=PENDING does not list the PENDING job ${p}.`, one.exchange)
      const both = await getList(ctx, "?PHASE=PENDING&PHASE=ABORTED")
      expect(both.list.jobs.every((j) => j.phase === "PENDING" || j.phase === "ABORTED"), "PHASE=PENDING&PHASE=ABORTED lists jobs in other phases.", both.exchange)
      const missing = [p, a].filter((id) => !both.list.jobs.some((j) => j.jobId === id))
      expect(missing.length === 0, `PHASE=PENDING&PHASE=ABORTED should be the union of both phases; it misses ${missing.join(", ")}.`, both.exchange)
    }
  },
  {
    id: "list.after-last",
    section: "§2.2.2.1",
    title: "AFTER is strictly after a creationTime, LAST the most recent by creationTime, filters AND",
    run: async (ctx) => {
      const first = await create(ctx, ctx.jobs.quick)
      const a = (await getJob(ctx, first.url)).job
      // A server may keep creation times to the second: the second job is made a second later.
      await sleep(1100)
      const second = await create(ctx, ctx.jobs.quick)
      const b = (await getJob(ctx, second.url)).job
      expect(a.creationTime !== null && b.creationTime !== null, "jobs without a creationTime cannot be filtered by AFTER or LAST.")
      const after = await getList(ctx, `?AFTER=${encodeURIComponent(a.creationTime.toISOString())}`)
      expect(!after.list.jobs.some((j) => j.jobId === a.jobId), `AFTER=${a.creationTime.toISOString()} lists the job created at that instant (${a.jobId}): AFTER is strictly after.`, after.exchange)
      expect(after.list.jobs.some((j) => j.jobId === b.jobId), `AFTER=${a.creationTime.toISOString()} does not list the job created later (${b.jobId}).`, after.exchange)
      const early = after.list.jobs.filter((j) => j.creationTime !== null && j.creationTime.getTime() <= a.creationTime!.getTime())
      expect(early.length === 0, `AFTER lists jobs created before it: ${early.map((j) => j.jobId).join(", ")}.`, after.exchange)
      const last = await getList(ctx, "?LAST=1")
      // Another client may have made a job since: the one listed must be at least as recent as ours.
      const newest = last.list.jobs[0]
      const recentEnough = newest !== undefined && (newest.jobId === b.jobId || (newest.creationTime?.getTime() ?? -Infinity) >= b.creationTime.getTime())
      expect(last.list.jobs.length === 1 && recentEnough, `LAST=1 should list the most recent job (${b.jobId}), it lists [${last.list.jobs.map((j) => j.jobId).join(", ")}].`, last.exchange)
      const three = await getList(ctx, "?LAST=3")
      const times = three.list.jobs.map((j) => j.creationTime?.getTime() ?? NaN)
      expect(three.list.jobs.length <= 3, `LAST=3 lists ${three.list.jobs.length} jobs.`, three.exchange)
      expect(times.every((t, i) => i === 0 || t <= times[i - 1]!), "LAST=3 is not sorted by descending creationTime.", three.exchange)
      const and = await getList(ctx, `?PHASE=PENDING&AFTER=${encodeURIComponent(a.creationTime.toISOString())}&LAST=5`)
      const ok = and.list.jobs.every((j) => j.phase === "PENDING" && j.jobId !== a.jobId) && and.list.jobs.length <= 5 && and.list.jobs.some((j) => j.jobId === b.jobId)
      expect(ok, "PHASE, AFTER and LAST together should combine with a logical AND.", and.exchange)
    }
  },
  {
    id: "list.invalid",
    section: "§2.2.2.1",
    title: "invalid filter values are answered 400",
    run: async (ctx) => {
      for (const q of ["PHASE=NOTAPHASE", "LAST=0", "LAST=-1", "LAST=many", "AFTER=yesterday"]) {
        const e = await ctx.http.send({ method: "GET", url: `${ctx.list}?${q}` })
        expectStatus(e, [400], `GET the job list with ${q}`)
      }
    }
  },
  {
    id: "wait.blocks",
    section: "§2.2.1.2",
    title: "WAIT blocks on an active job and honours its timeout",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job, exchange } = await getJob(ctx, url, "?WAIT=2")
      expect(exchange.millis >= 1800, `WAIT=2 on a PENDING job answered after ${exchange.millis} ms: it should block until a phase change or 2 s.`, exchange)
      expect(exchange.millis < 7000, `WAIT=2 answered after ${exchange.millis} ms: it should return at its timeout.`, exchange)
      expect(job.phase === "PENDING", `WAIT changed the job to ${job.phase}.`, exchange)
      ctx.note(`WAIT=2 on a PENDING job returned after ${exchange.millis} ms`)
    }
  },
  {
    id: "wait.final",
    section: "§2.2.1.2",
    title: "WAIT returns at once for a job in a final phase",
    run: async (ctx) => {
      const { url } = await completedQuickJob(ctx)
      const { exchange } = await getJob(ctx, url, "?WAIT=10")
      expect(exchange.millis < 1500, `WAIT=10 on a COMPLETED job took ${exchange.millis} ms: it must return immediately.`, exchange)
      ctx.note(`WAIT=10 on a COMPLETED job returned after ${exchange.millis} ms`)
    }
  },
  {
    id: "wait.change",
    section: "§2.2.1.2",
    title: "WAIT returns when the phase changes",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const waiting = getJob(ctx, url, "?WAIT=10")
      await sleep(500)
      const abort = await post(ctx, url, "phase", [["PHASE", "ABORT"]])
      expectSeeOther(abort, url, "POST PHASE=ABORT")
      const { job, exchange } = await waiting
      expect(job.phase === "ABORTED", `a WAIT pending while the job was aborted answered ${job.phase}, after ${exchange.millis} ms.`, exchange)
      const latency = exchange.at - abort.at
      expect(latency < 2000, `WAIT returned ${latency} ms after the phase changed.`, exchange)
      ctx.note(`WAIT returned ${Math.max(0, latency)} ms after the phase change`)
    }
  },
  {
    id: "wait.guard",
    section: "§2.2.1.2",
    title: "WAIT with a PHASE guard returns at once when the job is not in that phase",
    run: async (ctx) => {
      const { url } = await create(ctx, ctx.jobs.quick)
      const { job, exchange } = await getJob(ctx, url, "?WAIT=10&PHASE=EXECUTING")
      expect(exchange.millis < 1500, `WAIT=10&PHASE=EXECUTING on a ${job.phase} job took ${exchange.millis} ms: it must return immediately.`, exchange)
      if (ctx.jobs.slow === undefined) return ctx.note("no slow job given: the guard on an EXECUTING job not tried")
      const slow = await started(ctx, ctx.jobs.slow)
      await settle(ctx, slow.url, ["EXECUTING"])
      const held = await getJob(ctx, slow.url, "?WAIT=1&PHASE=EXECUTING")
      expect(held.exchange.millis >= 800 || held.job.phase !== "EXECUTING", `WAIT=1&PHASE=EXECUTING on an EXECUTING job answered after ${held.exchange.millis} ms without a phase change.`, held.exchange)
      await post(ctx, slow.url, "phase", [["PHASE", "ABORT"]])
    }
  }
]

/**
 * Runs last: every UWS document the other checks read, validated against UWS-v1.1.xsd.
 *
 * @since 0.1.0
 * @category checks
 */
export const schemaCheck: Check = {
  id: "xml.schema",
  section: "§2.2.2",
  title: "every UWS document is valid against UWS-v1.1.xsd",
  run: async (ctx) => {
    const verdicts = await Schema.validate(ctx.documents)
    const bad = verdicts.filter((v) => !v.valid)
    ctx.note(`${verdicts.length - bad.length} of ${verdicts.length} documents valid`)
    if (bad.length > 0) {
      const shown = bad.slice(0, 5).map((v) => `${v.name}\n  ${v.errors.slice(0, 3).join("\n  ")}`)
      throw new Failure(`${bad.length} document(s) invalid against UWS-v1.1.xsd:\n${shown.join("\n")}`)
    }
  }
}
