/**
 * The container lifecycle machine: every (stage, event) pair against a table written by hand,
 * the derived table against xstate's `transition()` over random event sequences, every stage
 * reachable, and the status a job shows equal to the rule the archive answered with before the
 * machine (so the seed API's answers do not change), for any record, written by the step or not.
 */
import { Container as Containers, ContainerLifecycle as Lifecycle, MemoryStorage } from "@uws-kit/adapter-archive"
import type { PostProcessor } from "@uws-kit/adapter-archive"
import type { Job } from "@uws-kit/core"
import { Phase } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { getShortestPaths } from "xstate/graph"
import { afterEach, describe, expect, it } from "vitest"
import { corruptingStorage, makeHarness, seedForm, type Harness } from "./support/harness.js"

type Stage = Lifecycle.Stage
type EventType = Lifecycle.StageEventType

/** Every accepted pair, by hand; every pair not listed is refused. */
const expected: Record<Stage, Partial<Record<EventType, Stage>>> = {
  uploaded: { STORED: "stored", FAIL: "failed" },
  stored: { START: "verifying", FAIL: "failed", EXPIRE: "storageEnded" },
  verifying: { START: "verifying", VERIFIED: "verified", POST_PROCESSED: "postProcessed", REQUEUE: "stored", FAIL: "failed", EXPIRE: "storageEnded" },
  verified: { START: "verifying", POST_PROCESSED: "postProcessed", REQUEUE: "stored", FAIL: "failed", EXPIRE: "storageEnded" },
  postProcessed: { START: "verifying", COMPLETE: "archived", REQUEUE: "stored", FAIL: "failed", EXPIRE: "storageEnded" },
  archived: { EXPIRE: "storageEnded" },
  failed: { EXPIRE: "storageEnded" },
  storageEnded: {}
}

const pairs = Lifecycle.stages.flatMap((stage) => Lifecycle.eventTypes.map((event) => [stage, event, expected[stage][event] ?? null] as const))

describe("every (stage, event) pair", () => {
  it.each(pairs)("%s + %s → %s", (stage, type, outcome) => {
    const decided = Lifecycle.decide("c1", stage, { type })
    if (outcome === null) {
      expect(Either.isLeft(decided)).toBe(true)
      const error = Either.getLeft(decided).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      expect(error._tag).toBe("InvalidStageTransition")
      expect(error.message).toBe(`${type} is not allowed in ${stage} (container "c1").`)
    } else {
      expect(decided).toEqual(Either.right(outcome))
    }
  })

  it("shows the seed's status numbers per stage", () => {
    expect(Object.fromEntries(Lifecycle.stages.map((s) => [s, Lifecycle.statusOf(s)]))).toEqual({
      uploaded: 1,
      stored: 1,
      verifying: 2,
      verified: 2,
      postProcessed: 2,
      archived: 4,
      failed: 3,
      storageEnded: 5
    })
  })
})

describe("the derived table", () => {
  it("decides exactly as xstate's transition() over random event sequences", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...Lifecycle.eventTypes), { maxLength: 30 }), (events) => {
        let fast: Stage = "uploaded"
        let reference: Stage = "uploaded"
        for (const type of events) {
          const a = Lifecycle.decide("c", fast, { type })
          const b = Lifecycle.decideWithXState("c", reference, { type })
          expect(a).toEqual(b)
          if (Either.isRight(a)) fast = a.right
          if (Either.isRight(b)) reference = b.right
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("reaches every stage from uploaded, and storage ended from every stage", () => {
    const paths = getShortestPaths(Lifecycle.lifecycleMachine)
    expect(new Set(paths.map((p) => p.state.value as string))).toEqual(new Set(Lifecycle.stages))
    for (const stage of Lifecycle.stages) {
      let at: Stage = stage
      // Every stage ends, whichever way: through EXPIRE (after FAIL where EXPIRE is not yet accepted).
      for (const type of ["FAIL", "EXPIRE"] as const) at = Either.getOrElse(Lifecycle.decide("c", at, { type }), () => at)
      expect(at, stage).toBe("storageEnded")
    }
  })
})

// ---- the status of a job -------------------------------------------------------------------

const manifest = (signatures: number) =>
  JSON.stringify({
    version: 1,
    document: { name: "document", fileName: "d.txt", mimeType: "text/plain", size: 1, sha256: "00", storage: "s", locator: "l0" },
    signatures: Array.from({ length: signatures }, (_, i) => ({
      name: `signature-${i + 1}`,
      fileName: `s${i}.sig`,
      mimeType: "application/sig",
      size: 1,
      sha256: "00",
      storage: "s",
      locator: `l${i + 1}`
    }))
  })

/** The status rule of the archive before the machine, kept here as the reference for its answers. */
const statusBefore = (job: Job.Job, now: number, verified: boolean, temporary: boolean): number => {
  const storageEnded = temporary && (job.phase === "ARCHIVED" || (job.destruction !== null && job.destruction <= now))
  return storageEnded
    ? 5
    : job.phase === "COMPLETED" || (job.phase === "ARCHIVED" && job.errorSummary === null && verified)
      ? 4
      : job.phase === "EXECUTING" || job.phase === "SUSPENDED"
        ? 2
        : job.phase === "PENDING" || job.phase === "QUEUED" || job.phase === "HELD"
          ? 1
          : 3
}

const T0 = 1_700_000_000_000
const recordArbitrary = fc.record({
  phase: fc.constantFrom(...Phase.all),
  temporary: fc.boolean(),
  destruction: fc.option(fc.integer({ min: -2, max: 2 }), { nil: null }),
  failed: fc.boolean(),
  signatures: fc.integer({ min: 0, max: 2 }),
  hashed: fc.integer({ min: 0, max: 3 }),
  // What the step wrote: a stage (also one it never writes, or garbage), a step key of an earlier
  // version, both, or nothing.
  stage: fc.option(fc.constantFrom<string>(...Lifecycle.stages, "nonsense"), { nil: undefined }),
  step: fc.option(fc.constantFrom("verifying", "upgrading", "post-processing", "done", "failed", "??"), { nil: undefined })
})

const jobOf = (r: typeof recordArbitrary extends fc.Arbitrary<infer A> ? A : never): Job.Job => {
  const parts = ["document", ...Array.from({ length: r.signatures }, (_, i) => `signature-${i + 1}`)]
  const jobInfo: Record<string, string> = {}
  for (const part of parts.slice(0, r.hashed)) jobInfo[Containers.Info.hash(part)] = "AA=="
  if (r.stage !== undefined) jobInfo[Containers.Info.stage] = r.stage
  if (r.step !== undefined) jobInfo["step"] = r.step
  return {
    jobId: "c1",
    runId: null,
    ownerId: "4",
    quote: null,
    creationTime: T0 - 10,
    startTime: null,
    endTime: null,
    executionDuration: 60,
    destruction: r.temporary && r.destruction !== null ? T0 + r.destruction : null,
    parameters: [
      { name: Containers.Param.ContainerName, value: "c" },
      { name: Containers.Param.SaveType, value: r.temporary ? "Temporary" : "Permanent" },
      { name: Containers.Param.StorageId, value: "4" },
      { name: Containers.Param.Manifest, value: manifest(r.signatures) }
    ],
    results: [],
    errorSummary: r.failed ? { type: "fatal", message: "failed", hasDetail: false } : null,
    jobInfo: Object.keys(jobInfo).length === 0 ? null : jobInfo,
    phase: r.phase,
    version: 1
  }
}

describe("the status a container shows", () => {
  it("is the status its job showed before the machine, for any record", () => {
    fc.assert(
      fc.property(recordArbitrary, (r) => {
        const job = jobOf(r)
        const container = Containers.fromJob(job, T0)!
        expect(container.status).toBe(statusBefore(job, T0, r.hashed >= 1 + r.signatures, r.temporary))
        expect(container.status).toBe(Lifecycle.statusOf(container.stage))
      }),
      { numRuns: propertyRuns(1000) }
    )
  })

  it("follows the stage the step wrote, moved on by the phase", () => {
    const at = (phase: Phase.Phase, stage: string | undefined, overrides: { failed?: boolean } = {}) =>
      Containers.lifecycleOf(
        jobOf({ phase, temporary: false, destruction: null, failed: overrides.failed === true, signatures: 0, hashed: 1, stage, step: undefined }),
        T0
      )
    expect(at("QUEUED", undefined)).toEqual({ stage: "stored", consistent: true })
    expect(at("EXECUTING", undefined)).toEqual({ stage: "verifying", consistent: true })
    expect(at("EXECUTING", "verified")).toEqual({ stage: "verified", consistent: true })
    // Put back in the queue (recovery after a crash): it starts over.
    expect(at("HELD", "verified")).toEqual({ stage: "stored", consistent: true })
    expect(at("COMPLETED", "postProcessed")).toEqual({ stage: "archived", consistent: true })
    expect(at("ERROR", "postProcessed", { failed: true })).toEqual({ stage: "failed", consistent: true })
    expect(at("ABORTED", "verified")).toEqual({ stage: "failed", consistent: true })
    // A completed job whose step never wrote post-processed was not written by this archive: the
    // phase has the last word, and the record says it is not consistent.
    expect(at("COMPLETED", "verifying")).toEqual({ stage: "archived", consistent: false })
  })
})

// ---- through the archive -------------------------------------------------------------------

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})

const admin = { id: "admin", admin: true } as const

describe("the background step", () => {
  it("moves a container through stored, verifying, verified and post-processed to archived, writing each stage", async () => {
    let seenByPostProcessor: { stage: Stage; status: number } | undefined
    let h: Harness | undefined = undefined
    const watcher: PostProcessor.PostProcessor = {
      process: async (c) => {
        const now = await Effect.runPromise(h!.archive.get(admin, c.id))
        seenByPostProcessor = { stage: now.stage, status: now.status }
        return { _tag: "Right", right: undefined }
      }
    }
    h = await makeHarness({ storages: [{ name: "memory", plugin: MemoryStorage.make() }], postProcessors: [{ name: "watcher", plugin: watcher }] })
    open.push(h)
    const id = (await h.json("POST", "/api/document/content", seedForm(), { "x-caller": "4" })).body.data as string
    await h.settle()
    expect(seenByPostProcessor).toEqual({ stage: "verified", status: 2 })
    const job = await Effect.runPromise(h.archive.uws.get(admin, id))
    expect(job.jobInfo?.["stage"]).toBe("postProcessed")
    expect(job.jobInfo?.["step"]).toBeUndefined()
    expect(Containers.lifecycleOf(job, Date.now())).toEqual({ stage: "archived", consistent: true })
    expect((await h.json("GET", `/api/document/${id}/status`)).body.data).toBe(4)
  })

  it("post-processes a container whose verification failed, then leaves it failed", async () => {
    const corrupting = corruptingStorage()
    const h = await makeHarness({ storages: [{ name: "corrupting", plugin: corrupting }] })
    open.push(h)
    const id = (await h.json("POST", "/api/document/content", seedForm(), { "x-caller": "4" })).body.data as string
    await h.settle()
    const job = await Effect.runPromise(h.archive.uws.get(admin, id))
    expect(job.phase).toBe("ERROR")
    expect(job.jobInfo?.["stage"]).toBe("postProcessed")
    expect(Containers.lifecycleOf(job, Date.now())).toEqual({ stage: "failed", consistent: true })
    expect((await h.json("GET", `/api/document/${id}/status`)).body.data).toBe(3)
  })
})
