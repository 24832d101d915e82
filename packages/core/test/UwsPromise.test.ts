/**
 * The Promise facade: every operation a host without Effect needs, and refusals as rejected
 * tagged errors (the core's own classes, not a FiberFailure).
 */
import { afterEach, describe, expect, it } from "vitest"
import { Errors, Identity, UwsPromise, Worker } from "@uws-kit/core"

const alice = Identity.user("alice")
const bob = Identity.user("bob")

const echo = Worker.make({
  name: "echo",
  run: async (job) => {
    const fail = job.parameters.find((p) => p.name === "fail")
    if (fail !== undefined) throw new Worker.JobFailure({ message: fail.value })
    return [{ id: "echo", mimeType: "text/plain", content: job.parameters.map((p) => `${p.name}=${p.value}`).join("&") }]
  }
})

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

const started = async (options: Partial<Parameters<typeof UwsPromise.start>[0]> = {}) => {
  const s = await UwsPromise.start({ worker: echo, ...options })
  close = s.close
  return s.uws
}

const text = async (stream: ReadableStream<Uint8Array>) => new Response(stream).text()

describe("UwsPromise", () => {
  it("creates, lists, runs and waits for a job, and serves its results", async () => {
    const uws = await started()
    const job = await uws.create(alice, { parameters: [{ name: "Q", value: "42" }] })
    expect(job.phase).toBe("PENDING")
    expect((await uws.get(alice, job.jobId)).parameters).toEqual([{ name: "q", value: "42" }])
    expect((await uws.list(alice)).jobs.map((j) => j.jobId)).toEqual([job.jobId])
    expect((await uws.list(bob)).jobs).toEqual([])
    expect((await uws.run(alice, job.jobId)).phase).toBe("QUEUED")
    const done = await uws.wait(alice, job.jobId, { timeout: "10 seconds", untilFinal: true })
    expect(done.phase).toBe("COMPLETED")
    expect((await uws.results(alice, job.jobId)).map((r) => r.id)).toEqual(["echo"])
    const result = await uws.result(alice, job.jobId, "echo")
    expect(result.content?.mimeType).toBe("text/plain")
    expect(await text(result.content!.stream)).toBe("q=42")
  })

  it("changes parameters, destruction and duration of a pending job, aborts and deletes", async () => {
    const uws = await started()
    const job = await uws.create(alice, { parameters: [{ name: "a", value: "1" }] })
    expect((await uws.setParameters(alice, job.jobId, [{ name: "A", value: "2" }])).parameters).toEqual([{ name: "a", value: "2" }])
    const soon = new Date(job.creationTime + 3_600_000)
    expect((await uws.setDestruction(alice, job.jobId, soon)).destruction).toBe(soon.getTime())
    expect((await uws.setExecutionDuration(alice, job.jobId, 30)).executionDuration).toBe(30)
    expect((await uws.abort(alice, job.jobId)).phase).toBe("ABORTED")
    await uws.delete(alice, job.jobId)
    await expect(uws.get(alice, job.jobId)).rejects.toBeInstanceOf(Errors.JobNotFound)
  })

  it("answers a failed job's error summary", async () => {
    const uws = await started()
    const job = await uws.create(alice, { parameters: [{ name: "fail", value: "the dome is closed" }], run: true })
    expect((await uws.wait(alice, job.jobId, { timeout: "10 seconds", untilFinal: true })).phase).toBe("ERROR")
    expect((await uws.error(alice, job.jobId)).message).toBe("the dome is closed")
  })

  it("rejects with the core's tagged errors, and a refusal changes nothing", async () => {
    const uws = await started({ policy: { overLimit: "refuse", maxExecutionDuration: 60, defaultExecutionDuration: 60 } })
    const job = await uws.create(alice)
    const refusals: ReadonlyArray<readonly [Promise<unknown>, new (...args: never) => Error, string]> = [
      [uws.get(alice, "no-such-job"), Errors.JobNotFound, "JobNotFound"],
      [uws.get(bob, job.jobId), Errors.Forbidden, "Forbidden"],
      [uws.abort(bob, job.jobId), Errors.Forbidden, "Forbidden"],
      [uws.setExecutionDuration(alice, job.jobId, 600), Errors.InvalidParameter, "InvalidParameter"],
      [uws.setDestruction(alice, job.jobId, new Date(0)), Errors.InvalidParameter, "InvalidParameter"],
      [uws.result(alice, job.jobId, "none"), Errors.ResourceNotFound, "ResourceNotFound"],
      [uws.error(alice, job.jobId), Errors.ResourceNotFound, "ResourceNotFound"],
      [uws.list(alice, { last: 0 }), Errors.InvalidParameter, "InvalidParameter"]
    ]
    for (const [refused, type, tag] of refusals) {
      const error = await refused.then(
        () => expect.fail(`expected ${tag}`),
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(type)
      expect(error).toMatchObject({ _tag: tag })
      expect((error as Error).message.length).toBeGreaterThan(0)
    }
    await uws.abort(alice, job.jobId)
    await expect(uws.run(alice, job.jobId)).rejects.toMatchObject({ _tag: "InvalidTransition", message: expect.stringContaining("RUN is not allowed in ABORTED") })
    expect(await uws.get(alice, job.jobId)).toMatchObject({ phase: "ABORTED", executionDuration: job.executionDuration, destruction: job.destruction })
  })
})
