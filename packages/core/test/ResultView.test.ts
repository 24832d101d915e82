/**
 * `ResultView.render`: a result with a view is answered through it, with the query and the
 * stored contents; a message from the view is `InvalidParameter`, an error of `read` passes as
 * it is, a throw is `PluginFailure`; the caller's rights are those of reading the result.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Content, Identity, ResultView, Uws, Worker } from "@uws-kit/core"
import { Effect, Either } from "effect"

const alice = Identity.user("alice")
const bob = Identity.user("bob")

const worker = Worker.make({
  name: "viewed",
  views: {
    upper: ({ query, read, resultId, url }) =>
      Effect.gen(function* () {
        if (query.some(([n]) => n === "refuse")) return yield* Effect.fail("refused on purpose")
        const source = query.find(([n]) => n === "from")?.[1] ?? "text"
        const stored = yield* read(source)
        const text = new TextDecoder().decode(yield* Effect.orDie(Content.toBytes(stored.stream)))
        return { mimeType: "text/plain", content: `${resultId} at ${url}: ${text.toUpperCase()}` }
      }),
    broken: () => {
      throw new Error("boom")
    }
  },
  run: async () => [
    { id: "text", mimeType: "text/plain", content: "hello" },
    { id: "upper", content: "" },
    { id: "broken", content: "" }
  ]
})

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

const completedJob = async () => {
  const started = await Uws.start({ worker })
  close = started.close
  const { service } = started
  const job = await Effect.runPromise(service.create(alice, { run: true }))
  await Effect.runPromise(service.waitForChange(alice, job.jobId, { timeout: 5, untilFinal: true }))
  return { service, jobId: job.jobId }
}

const render = (service: Uws.UwsService, caller: Identity.Caller, jobId: string, resultId: string, query: ReadonlyArray<readonly [string, string]> = []) =>
  Effect.runPromise(Effect.either(ResultView.render(service, caller, { jobId, resultId, query, url: "http://x/r" })))

describe("ResultView.render", () => {
  it("answers through the view, which reads the stored results", async () => {
    const { service, jobId } = await completedJob()
    const view = await render(service, alice, jobId, "upper")
    expect(Either.isRight(view)).toBe(true)
    const answered = Either.getOrThrow(view)!
    expect(answered.mimeType).toBe("text/plain")
    expect(new TextDecoder().decode(await Effect.runPromise(Content.toBytes(answered.content)))).toBe("upper at http://x/r: HELLO")
  })

  it("answers undefined for a result without a view", async () => {
    const { service, jobId } = await completedJob()
    expect(await render(service, alice, jobId, "text")).toEqual(Either.right(undefined))
  })

  it("maps a refusal, a failed read and a throw to the core's errors", async () => {
    const { service, jobId } = await completedJob()
    const refused = await render(service, alice, jobId, "upper", [["refuse", "1"]])
    expect(Either.isLeft(refused) && refused.left._tag).toBe("InvalidParameter")
    expect(Either.isLeft(refused) && refused.left.message).toBe("Invalid query: refused on purpose")
    const missing = await render(service, alice, jobId, "upper", [["from", "nothing"]])
    expect(Either.isLeft(missing) && missing.left._tag).toBe("ResourceNotFound")
    const broken = await render(service, alice, jobId, "broken")
    expect(Either.isLeft(broken) && broken.left._tag).toBe("PluginFailure")
    expect(Either.isLeft(broken) && broken.left.message).toContain("boom")
  })

  it("refuses another caller as reading the result does", async () => {
    const { service, jobId } = await completedJob()
    const viewed = await render(service, bob, jobId, "upper")
    const stored = await Effect.runPromise(Effect.either(service.result(bob, jobId, "text")))
    expect(Either.isLeft(viewed) && viewed.left._tag).toBe(Either.isLeft(stored) && stored.left._tag)
    expect(Either.isLeft(viewed)).toBe(true)
  })
})
