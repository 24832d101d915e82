/**
 * The UTF-8 file name workaround in front of @effect/platform's multipart parser: whatever the
 * names, contents and chunking, the parser then sees every part with its field name, its file
 * name as sent and its bytes unchanged; bodies without non-ASCII names pass through byte for byte.
 */
import { Multipart } from "@effect/platform"
import { propertyRuns } from "@uws-kit/core/testing"
import { Chunk, Effect, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { utf8FileNames } from "../src/MultipartNames.js"

interface Part {
  readonly key: string
  readonly fileName: string
  readonly content: Uint8Array
}

const serialize = (boundary: string, parts: ReadonlyArray<Part>, preamble: string) => {
  const out: Array<Buffer> = [Buffer.from(preamble)]
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.key}"; filename="${p.fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`, "utf8"))
    out.push(Buffer.from(p.content), Buffer.from("\r\n"))
  }
  out.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(out)
}

const chunked = (bytes: Buffer, cuts: ReadonlyArray<number>) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Array<Uint8Array> = []
  let at = 0
  for (const p of [...points, bytes.length]) {
    if (p > at) pieces.push(Uint8Array.from(bytes.subarray(at, p)))
    at = Math.max(at, p)
  }
  return pieces
}

const parse = (boundary: string, pieces: ReadonlyArray<Uint8Array>, rewrite: boolean, onCut?: (reason: string) => void, fail?: Error) => {
  async function* source() {
    for (const p of pieces) yield p
    if (fail !== undefined) throw fail
  }
  const body = Stream.fromAsyncIterable(rewrite ? utf8FileNames(source(), boundary, onCut) : source(), (e) => e)
  return Effect.runPromise(
    body.pipe(
      Stream.pipeThroughChannel(Multipart.makeChannel<unknown>({ "content-type": `multipart/form-data; boundary="${boundary}"` })),
      Multipart.withLimitsStream({ fieldMimeTypes: [] }),
      Stream.mapEffect((part) =>
        part._tag === "File"
          ? Stream.runCollect(part.content).pipe(
              Effect.map((chunks) => ({ key: part.key, fileName: part.name, content: Buffer.concat([...Chunk.toReadonlyArray(chunks)]) }))
            )
          : Effect.succeed({ key: part.key, fileName: "(field)", content: Buffer.from((part as Multipart.Field).value) })
      ),
      Stream.runCollect,
      Effect.map((c) => Chunk.toReadonlyArray(c))
    )
  )
}

const fileName = fc.string({ unit: fc.oneof(fc.constantFrom(...Array.from("Договор № 17 подпись_.sig-()αβγ😀ü ")), fc.constantFrom("a", "B", "1", ".", " ")), minLength: 1, maxLength: 24 })
  .filter((n) => n.trim() !== "")

describe("utf8FileNames", () => {
  it("lets the parser read raw UTF-8 file names (it loses the whole part without)", async () => {
    const boundary = "----formdata-undici-0123"
    const body = serialize(boundary, [{ key: "Content", fileName: "Договор № 17.txt", content: Buffer.from("текст") }], "")
    const without = await parse(boundary, [body], false)
    expect(without[0]!.key).toBe("") // the parser's defect this works around
    expect(await parse(boundary, [body], true)).toEqual([{ key: "Content", fileName: "Договор № 17.txt", content: Buffer.from("текст") }])
  })

  it("property: every part arrives with its field name, file name and exact bytes, however the body is chunked", async () => {
    const boundaryArb = fc.stringMatching(/^[A-Za-z0-9'()+_,-]{8,40}$/)
    await fc.assert(
      fc.asyncProperty(
        boundaryArb,
        fc.array(
          fc.record({
            key: fc.constantFrom("Content", "Signs", "Other"),
            fileName,
            content: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(Buffer.from("\r\n--"), Buffer.from("\r\n\r\n--x"), Buffer.from("Content-Disposition: form-data; filename=\"Ж\"\r\n\r\n")))
          }),
          { minLength: 1, maxLength: 5 }
        ),
        fc.constantFrom("", "preamble\r\n"),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (boundary, parts, preamble, cuts) => {
          fc.pre(parts.every((p) => !Buffer.from(p.content).includes(`\r\n--${boundary}`) && !Buffer.from(p.content).includes(`--${boundary}`)))
          const body = serialize(boundary, parts, preamble)
          const parsed = await parse(boundary, chunked(body, cuts), true)
          expect(parsed).toEqual(parts.map((p) => ({ key: p.key, fileName: p.fileName, content: Buffer.from(p.content) })))
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })

  it("property: a body cut off (or failing) anywhere ends the parse instead of hanging it, and is reported cut", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.nat(), fc.boolean(), async (bytes, at, failing) => {
        const boundary = "cut-boundary"
        fc.pre(!Buffer.from(bytes).includes(`--${boundary}`))
        const body = serialize(boundary, [{ key: "Content", fileName: "Договор.bin", content: bytes }, { key: "Signs", fileName: "s.sig", content: bytes }], "")
        const p = at % body.length
        const complete = p >= body.lastIndexOf(`--${boundary}--`) + `--${boundary}--`.length
        let cut: string | undefined
        const parsed = parse(boundary, [body.subarray(0, p)], true, (r) => (cut = r), failing ? new Error("connection reset") : undefined).then(
          () => "ended",
          () => "ended"
        )
        const outcome = await Promise.race([parsed, new Promise((r) => setTimeout(() => r("hung"), 2000))])
        expect(outcome).toBe("ended")
        expect(cut !== undefined).toBe(!complete || failing)
      }),
      { numRuns: propertyRuns(150) }
    )
  })

  it("property: a body without non-ASCII file names passes through byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 8 }), async (bytes, cuts) => {
        const boundary = "b0undary"
        const body = serialize(boundary, [{ key: "Content", fileName: "d.txt", content: bytes }], "")
        fc.pre(!Buffer.from(bytes).includes(`--${boundary}`))
        const out: Array<Uint8Array> = []
        async function* source() {
          for (const p of chunked(body, cuts)) yield p
        }
        for await (const c of utf8FileNames(source(), boundary)) out.push(c)
        expect(Buffer.concat(out).equals(body)).toBe(true)
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})

describe("through the REST binding", () => {
  it("an upload whose file name is raw UTF-8 keeps its parameter name and content", async () => {
    const { Uws, Worker } = await import("@uws-kit/core")
    const { RestAdapter } = await import("@uws-kit/adapter-rest")
    const { service, close } = await Uws.start({ worker: Worker.noop })
    const rest = RestAdapter.makeRestAdapter({ service })
    try {
      const b = "XyZ"
      const body = Buffer.concat([
        Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="UPLOAD"; filename="`),
        Buffer.from("Договор.csv", "utf8"),
        Buffer.from(`"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--${b}--\r\n`)
      ])
      const created = await rest.handler(
        new Request("http://h/jobs", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${b}` }, body })
      )
      expect(created.status).toBe(303)
      const job = created.headers.get("location")!
      const parameters = await (await rest.handler(new Request(`${job}/parameters`, { headers: { accept: "application/json" } }))).json()
      expect(parameters.parameters).toEqual([expect.objectContaining({ id: "upload", byReference: true })])
      const content = await rest.handler(new Request(`${job}/parameters/UPLOAD`))
      expect(await content.text()).toBe("a,b\n1,2\n")
    } finally {
      await rest.dispose()
      await close()
    }
  })
})
