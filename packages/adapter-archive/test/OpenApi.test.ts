/**
 * The archive's OpenAPI 3.1 document: structurally valid (an independent validator,
 * @seriousme/openapi-schema-validator, against the official 3.1 schema), covering exactly the
 * routes the adapter serves (each path's methods as its router answers OPTIONS), and true to the
 * answers: real answers decode with the schemas the document is generated from. Its page lists
 * every operation.
 */
import { Validator } from "@seriousme/openapi-schema-validator"
import { ApiSchemas, MemoryStorage, OpenApi } from "@uws-kit/adapter-archive"
import { Either, Schema } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { makeHarness, seedForm, type Harness } from "./support/harness.js"

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})
const setup = async () => {
  const h = await makeHarness({ storages: [{ name: "memory", plugin: MemoryStorage.make() }] })
  open.push(h)
  return h
}

type Doc = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } }

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1 and the same at /api/openapi.json", async () => {
    const h = await setup()
    const served = await h.json("GET", "/api/openapi.json")
    expect(served.status).toBe(200)
    expect(served.body).toEqual(h.api.openapi)
    const result = await new Validator().validate(served.body)
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
    expect(result.valid).toBe(true)
    expect(served.body.openapi).toBe("3.1.0")
  })

  it("the validator does refuse a broken document (it is not a pass-everything check)", async () => {
    const h = await setup()
    const validator = new Validator()
    // A path parameter in a place OpenAPI 3.1 does not have (Swagger 2's "body").
    const badParameter = structuredClone(h.api.openapi) as Doc
    ;(badParameter.paths["/api/document/{id}"]!["get"] as unknown as { parameters: Array<{ in: string }> }).parameters[0]!.in = "body"
    expect((await validator.validate(badParameter)).valid).toBe(false)
    // An answer without its description.
    const noDescription = structuredClone(h.api.openapi) as Doc
    delete (noDescription.paths["/api/document/search"]!["post"]!.responses["200"] as { description?: string }).description
    expect((await validator.validate(noDescription)).valid).toBe(false)
  })

  it("lists every route the adapter serves, with exactly the methods its router allows, and nothing else", async () => {
    const h = await setup()
    const doc = h.api.openapi as unknown as Doc
    const declared = new Map(h.api.routes.map((r) => [OpenApi.openApiPath(r.path).path, [...r.methods].sort()]))
    const documented = new Map(Object.entries(doc.paths).map(([p, item]) => [p, Object.keys(item).map((m) => m.toUpperCase()).sort()]))
    expect(documented).toEqual(declared)
    expect(declared.size).toBeGreaterThanOrEqual(14)
    for (const [path, methods] of documented) {
      const concrete = path.replace(/\{[^}]+\}/g, "x")
      const options = await h.call("OPTIONS", concrete)
      expect(options.status, path).toBe(204)
      const allow = (options.headers.get("allow") ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "HEAD" && m !== "OPTIONS")
      expect(allow.sort(), path).toEqual(methods)
    }
    // A path the document does not name is not served.
    const missing = await h.json("GET", "/api/not-a-route")
    expect(missing.body.errorCode).toBe("RouteNotFound")
  })

  it("documents every operation with a summary, an id and an error answer", async () => {
    const h = await setup()
    const doc = h.api.openapi as unknown as Doc
    const ids = new Set<string>()
    const undescribed: Array<string> = []
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item) as Array<Record<string, unknown>>) {
        // A route added without `docs` where it is declared in ArchiveAdapter.ts lands here.
        if (/not described/.test(String(op["summary"]))) undescribed.push(String(op["summary"]))
        ids.add(String(op["operationId"]))
        expect(Object.keys(op["responses"] as object)).toContain("default")
      }
    }
    expect(undescribed).toEqual([])
    expect(ids.size).toBe(Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0))
  })

  it("a route declared without a description still appears, marked so", () => {
    const doc = OpenApi.document([{ path: "/x/:id", methods: { GET: () => undefined as never } }], { title: "t", version: "1" }) as unknown as Doc
    expect(doc.paths["/x/{id}"]!["get"]).toMatchObject({ summary: "GET /x/{id} (not described)" })
    expect(OpenApi.openApiPath("/api/fetch/*")).toEqual({ path: "/api/fetch/{rest}", params: ["rest"] })
  })

  it("its schemas are the handlers': real answers decode with them", async () => {
    const h = await setup()
    const decode = <A, I>(schema: Schema.Schema<A, I>, body: unknown, what: string) => {
      const result = Schema.decodeUnknownEither(ApiSchemas.Envelope(schema, "X"), { onExcessProperty: "error" })(body)
      expect(Either.isRight(result), `${what}: ${Either.isLeft(result) ? String(result.left) : ""}`).toBe(true)
    }
    const up = await h.json("POST", "/api/document/content", seedForm(), { "x-caller": "4" })
    decode(ApiSchemas.ContainerId, up.body, "upload")
    await h.settle()
    const id = up.body.data as string
    decode(ApiSchemas.ContainerDetail, (await h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "4" })).body, "detail")
    decode(ApiSchemas.SearchAnswer, (await h.json("POST", "/api/document/search", "{}", { "x-caller": "4" })).body, "search")
    decode(Schema.Int, (await h.json("GET", `/api/document/${id}/status`, undefined, { "x-caller": "4" })).body, "status")
    decode(Schema.Array(ApiSchemas.Status), (await h.json("GET", "/api/dictionary/statuses")).body, "statuses")
    decode(Schema.Array(ApiSchemas.Storage), (await h.json("GET", "/api/user/storages", undefined, { "x-caller": "4" })).body, "storages")
    decode(Schema.Array(ApiSchemas.PluginState), (await h.json("GET", "/api/plugins", undefined, { "x-caller": "admin" })).body, "plugins")
    const refused = (await h.json("GET", "/api/document/nope", undefined, { "x-caller": "4" })).body
    expect(Either.isRight(Schema.decodeUnknownEither(ApiSchemas.ErrorEnvelope)(refused))).toBe(true)
    // The document's components are those schemas, by name.
    const doc = h.api.openapi as unknown as Doc
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["ContainerDetail", "SearchBody", "SearchAnswer", "UploadForm", "ErrorEnvelope"]))
  })

  it("its page shows every operation and every schema, escaped, with no script", async () => {
    const h = await setup()
    const page = await h.call("GET", "/api/docs")
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toMatch(/^text\/html/)
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'none'/)
    const html = await page.text()
    expect(html).not.toMatch(/<script/i)
    const doc = h.api.openapi as unknown as Doc
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) expect(html).toContain(`id="op-${op.operationId}"`)
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`)
  })
})
