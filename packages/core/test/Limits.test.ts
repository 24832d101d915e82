/**
 * The service's size limits and quotas by default: what a client is refused, and that a refusal
 * changes nothing (no job, no stored upload, no changed parameter).
 */
import { Effect, Either, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { Content, Identity, JobStore, Policy, ResultStore, Uws, Worker } from "@uws-kit/core"

const started: Array<Uws.Started> = []
afterEach(async () => {
  for (const s of started.splice(0)) await s.close()
})

const start = async (policy: Partial<Policy.Policy> = {}) => {
  const resultStore = ResultStore.makeMemory()
  const s = await Uws.start({ worker: Worker.noop, policy, resultStore })
  started.push(s)
  return { service: s.service, resultStore }
}
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(e))
const refusal = (r: Either.Either<unknown, { readonly _tag: string; readonly message: string }>) =>
  Either.isLeft(r) ? `${r.left._tag}: ${r.left.message}` : "accepted"
const stream = (bytes: number, chunk = 1000): Content.Content =>
  Stream.range(0, Math.ceil(bytes / chunk) - 1).pipe(Stream.map((i) => new Uint8Array(Math.min(chunk, bytes - i * chunk))))

describe("limits by default", () => {
  it("are the documented ones", () => {
    expect(Policy.defaults).toMatchObject({
      maxParametersPerJob: 1000,
      maxParameterValueBytes: 65_536,
      maxParameterBytesPerJob: 262_144,
      maxUploadBytes: 16_777_216,
      maxUploadBytesPerJob: 67_108_864,
      maxActiveJobsPerOwner: 100,
      maxStoredJobs: 10_000
    })
  })

  it("refuse a job of 3,000,000 parameters or a 16 MB value, creating nothing", async () => {
    const { service } = await start()
    const many = new Array(3_000_000).fill({ name: "P", value: "1" })
    expect(refusal(await run(service.create(Identity.anonymous, { parameters: many })))).toBe(
      "LimitExceeded: Request too large: this service takes at most 1000 parameters per job (got 3000000)."
    )
    expect(refusal(await run(service.create(Identity.anonymous, { parameters: [{ name: "Q", value: "x".repeat(16_000_000) }] })))).toMatch(
      /^LimitExceeded: .*at most 64 KiB \(65536 bytes\) each/
    )
    expect(refusal(await run(service.create(Identity.anonymous, { runId: "r".repeat(70_000) })))).toMatch(/^LimitExceeded: .*RUNID/)
    const listed = await Effect.runPromise(service.list(Identity.system, {}))
    expect(listed.jobs).toHaveLength(0)
  })

  it("count anonymous callers together, unless the host gives each a quota key", async () => {
    const { service } = await start({ maxActiveJobsPerOwner: 2 })
    for (let i = 0; i < 2; i++) await Effect.runPromise(service.create(Identity.anonymous, {}))
    expect(refusal(await run(service.create(Identity.anonymous, {})))).toBe(
      "QuotaExceeded: Quota exceeded: anonymous users may have at most 2 active jobs (maxActiveJobsPerOwner); wait for some to finish or delete them."
    )
    const a = Identity.anonymousAs("client:192.0.2.1")
    const b = Identity.anonymousAs("client:192.0.2.2")
    const first = await Effect.runPromise(service.create(a, {}))
    await Effect.runPromise(service.create(a, {}))
    expect(refusal(await run(service.create(a, {})))).toBe(
      "QuotaExceeded: Quota exceeded: this client may have at most 2 active jobs (maxActiveJobsPerOwner); wait for some to finish or delete them."
    )
    // Another client is unaffected, and a quota key makes no one an owner.
    expect(refusal(await run(service.create(b, {})))).toBe("accepted")
    expect(first.ownerId).toBeNull()
    expect(refusal(await run(service.get(b, first.jobId)))).toBe("accepted")
    // A finished job no longer counts.
    await Effect.runPromise(service.abort(a, first.jobId))
    expect(refusal(await run(service.create(a, {})))).toBe("accepted")
    expect(refusal(await run(service.create(Identity.user("alice"), {})))).toBe("accepted")
  })

  it("refuse a job past the stored-jobs limit until one is deleted", async () => {
    const { service } = await start({ maxStoredJobs: 3 })
    const jobs = []
    for (const who of ["alice", "bob", "carol"]) jobs.push(await Effect.runPromise(service.create(Identity.user(who), {})))
    expect(refusal(await run(service.create(Identity.user("dave"), {})))).toBe(
      "QuotaExceeded: Quota exceeded: this service keeps at most 3 jobs (maxStoredJobs); try again when some have been destroyed."
    )
    await Effect.runPromise(service.delete(Identity.user("alice"), jobs[0]!.jobId))
    expect(refusal(await run(service.create(Identity.user("dave"), {})))).toBe("accepted")
  })

  it("hold under concurrent creations whose inserts take their time (a durable commit)", async () => {
    // Concurrent creations no longer queue for the quota one insert after another: each is
    // counted from its check until its insert is stored.
    const memory = JobStore.makeMemory()
    const jobStore: JobStore.JobStoreService = { ...memory, insert: (job, deadlines) => Effect.zipRight(Effect.sleep("5 millis"), memory.insert(job, deadlines)) }
    const s = await Uws.start({ worker: Worker.noop, policy: { maxActiveJobsPerOwner: 3, maxStoredJobs: 5 }, jobStore })
    started.push(s)
    const create = (who: string) => run(s.service.create(Identity.user(who), {}))
    const alice = await Promise.all(Array.from({ length: 8 }, () => create("alice")))
    expect(alice.filter((r) => r._tag === "Right")).toHaveLength(3)
    const others = await Promise.all(["bob", "bob", "carol", "carol", "dave"].map(create))
    expect(others.filter((r) => r._tag === "Right")).toHaveLength(2)
    expect(await Effect.runPromise(memory.count({ phases: ["PENDING"] }))).toBe(5)
  })

  it("refuse an update that would pass a limit, changing nothing", async () => {
    const { service } = await start({ maxParametersPerJob: 3, maxParameterBytesPerJob: 100, newParametersAfterCreation: true })
    const job = await Effect.runPromise(service.create(Identity.anonymous, { parameters: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }))
    expect(refusal(await run(service.updateParameters(Identity.anonymous, job.jobId, [{ name: "C", value: "3" }, { name: "D", value: "4" }])))).toMatch(
      /^LimitExceeded: .*at most 3 parameters per job \(got 4\)/
    )
    expect(refusal(await run(service.updateParameters(Identity.anonymous, job.jobId, [{ name: "A", value: "x".repeat(99) }])))).toMatch(
      /^LimitExceeded: .*at most 100 bytes of parameter names and values per job/
    )
    const after = await Effect.runPromise(service.get(Identity.anonymous, job.jobId))
    expect(after.parameters).toEqual(job.parameters)
    expect(after.version).toBe(job.version)
    // Within the limits the same update goes through.
    expect(refusal(await run(service.updateParameters(Identity.anonymous, job.jobId, [{ name: "A", value: "x".repeat(90) }])))).toBe("accepted")
  })

  it("measure streamed uploads as they are stored: over the limit, no job and no stored bytes", async () => {
    const { service, resultStore } = await start({ maxUploadBytes: 10_000, maxUploadBytesPerJob: 15_000 })
    const over = await run(service.create(Identity.anonymous, { jobId: "big", uploads: [{ name: "F", content: stream(10_001) }] }))
    expect(refusal(over)).toBe('LimitExceeded: Request too large: this service takes uploads of at most 10000 bytes each (got more than 10000 bytes in "f").')
    expect(refusal(await run(service.get(Identity.anonymous, "big")))).toMatch(/^JobNotFound/)
    expect(await Effect.runPromise(resultStore.get("big", "parameters/f"))).toBeUndefined()
    const both = await run(service.create(Identity.anonymous, { jobId: "two", uploads: [{ name: "F", content: stream(8_000) }, { name: "G", content: stream(8_000) }] }))
    expect(refusal(both)).toMatch(/^LimitExceeded: .*at most 15000 bytes of uploads per job/)
    expect(await Effect.runPromise(resultStore.get("two", "parameters/f"))).toBeUndefined()

    // Per job, across updates: the uploads kept count towards the job's total.
    await Effect.runPromise(service.create(Identity.anonymous, { jobId: "ok", uploads: [{ name: "F", content: stream(10_000) }] }))
    expect(refusal(await run(service.updateParameters(Identity.anonymous, "ok", [], [{ name: "G", content: stream(6_000) }])))).toMatch(
      /^LimitExceeded: .*of uploads per job/
    )
    const job = await Effect.runPromise(service.get(Identity.anonymous, "ok"))
    expect(job.parameters.map((p) => p.name)).toEqual(["f"])
    // Replacing F is within the limit: F's old bytes are not kept.
    expect(refusal(await run(service.updateParameters(Identity.anonymous, "ok", [], [{ name: "F", content: stream(9_000) }])))).toBe("accepted")
    expect((await Effect.runPromise(resultStore.get("ok", "parameters/f")))?.size).toBe(9_000)
  })
})
