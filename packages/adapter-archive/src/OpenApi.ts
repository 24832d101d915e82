/**
 * The OpenAPI 3.1 document of the archive API, generated from the adapter's route table: every
 * route declared there is in the document, each method with the operation description attached
 * where the route is declared ({@link DocumentedRoute}), its bodies' JSON Schemas made from the
 * `effect/Schema`s the handlers answer with (`ApiSchemas`, via `JSONSchema.fromAST`). A route
 * declared without a description (one a later change adds) still appears, marked so, with the
 * envelope as its answer. Also the browsable page of the document ({@link docsPage}): plain HTML
 * rendered here from the document, no script and nothing loaded from elsewhere.
 *
 * @since 0.1.0
 */
import type { Routes } from "@uws-kit/http"
import { JSONSchema, type Schema } from "effect"
import * as ApiSchemas from "./ApiSchemas.js"
import { escape, shell, type Urls } from "./ArchivePages.js"

/**
 * A query parameter of an operation.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryParameter {
  readonly name: string
  readonly description: string
  readonly schema: Schema.Schema.AnyNoContext
  readonly required?: boolean
}

/**
 * What the document says of one method of a route.
 *
 * @since 0.1.0
 * @category models
 */
export interface Operation {
  readonly summary: string
  readonly description?: string
  /** Groups on the browsable page (default `archive`). */
  readonly tag?: string
  readonly query?: ReadonlyArray<QueryParameter>
  /** The request's body: its media type and schema (`multipart/form-data` with a Struct of its fields). */
  readonly body?: { readonly type: string; readonly schema: Schema.Schema.AnyNoContext; readonly required?: boolean }
  /**
   * The successful answer: status (default 200), media type and schema (`application/json`:
   * `data` of the envelope, unless `enveloped` is false). No schema: a binary or HTML body.
   */
  readonly answer: {
    readonly status?: number
    readonly type: string
    readonly description: string
    readonly schema?: Schema.Schema.AnyNoContext
    readonly enveloped?: boolean
  }
  /** Answers in the HTML pages' form (errors as pages, not envelopes). */
  readonly html?: boolean
}

/**
 * A route as the adapter declares it, with the description of each of its methods.
 *
 * @since 0.1.0
 * @category models
 */
export interface DocumentedRoute<I, E, R> extends Routes.Route<I, E, R> {
  readonly docs?: { readonly [M in Routes.Method]?: Operation }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Info {
  readonly title: string
  readonly version: string
  readonly description?: string
}

/**
 * `/document/:id` → `/document/{id}` (and a final wildcard `*` → `{rest}`), and the names of its parameters.
 *
 * @since 0.1.0
 * @category utils
 */
export const openApiPath = (path: string): { readonly path: string; readonly params: ReadonlyArray<string> } => {
  const params: Array<string> = []
  const converted = path
    .replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
      params.push(name)
      return `{${name}}`
    })
    // find-my-way's wildcard: the rest of the path (slashes included), a parameter named "rest".
    .replace(/\*$/, () => {
      params.push("rest")
      return "{rest}"
    })
  return { path: converted, params }
}

const methodOrder: ReadonlyArray<Routes.Method> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

/**
 * The OpenAPI 3.1 document of `routes` (paths as declared, the base path included).
 *
 * @since 0.1.0
 * @category constructors
 */
export const document = (routes: ReadonlyArray<DocumentedRoute<never, unknown, unknown>>, info: Info): Record<string, unknown> => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const json = (s: Schema.Schema.AnyNoContext): unknown =>
    JSONSchema.fromAST(s.ast, {
      definitions,
      definitionPath: "#/components/schemas/",
      target: "openApi3.1",
      // Later mechanisms add fields (copies, retention…): a client of this document must accept them.
      additionalPropertiesStrategy: "allow"
    })
  const errorAnswer = { $ref: "#/components/schemas/ErrorEnvelope" }
  json(ApiSchemas.ErrorEnvelope)
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const { path, params } = openApiPath(String(route.path))
    const item: Record<string, unknown> = {}
    for (const method of methodOrder) {
      if (route.methods[method] === undefined) continue
      const op = route.docs?.[method]
      const parameters = [
        ...params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
        ...(op?.query ?? []).map((q) => ({ name: q.name, in: "query", required: q.required ?? false, description: q.description, schema: json(q.schema) }))
      ]
      const answer = op?.answer
      const status = String(answer?.status ?? 200)
      const content =
        answer === undefined
          ? { "application/json": { schema: errorAnswer } }
          : answer.schema === undefined
            ? { [answer.type]: { schema: { type: "string", ...(answer.type.startsWith("text/") ? {} : { contentMediaType: answer.type }) } } }
            : answer.enveloped === false
              ? { [answer.type]: { schema: json(answer.schema) } }
              : { [answer.type]: { schema: json(ApiSchemas.Envelope(answer.schema, envelopeName(answer.schema))) } }
      item[method.toLowerCase()] = {
        operationId: operationId(method, path),
        summary: op?.summary ?? `${method} ${path} (not described)`,
        ...(op?.description === undefined ? {} : { description: op.description }),
        tags: [op?.tag ?? "archive"],
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(op?.body === undefined ? {} : { requestBody: { required: op.body.required ?? true, content: { [op.body.type]: { schema: json(op.body.schema) } } } }),
        responses: {
          [status]: { description: answer?.description ?? "the answer, in the archive's envelope", content },
          default: op?.html === true
            ? { description: "a refusal or failure, as a page", content: { "text/html": { schema: { type: "string" } } } }
            : { description: "a refusal or failure, in the archive's envelope", content: { "application/json": { schema: errorAnswer } } }
        }
      }
    }
    paths[path] = { ...(paths[path] ?? {}), ...item }
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, ...(info.description === undefined ? {} : { description: info.description }) },
    paths,
    components: { schemas: definitions }
  }
}

const envelopeName = (s: Schema.Schema.AnyNoContext): string => {
  const id = s.ast.annotations[Symbol.for("effect/annotation/Identifier")]
  return `${typeof id === "string" ? id : "Data"}Envelope`
}

const operationId = (method: string, path: string) =>
  `${method.toLowerCase()}${path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => s.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase()))
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join("")}`

const pretty = (v: unknown) => JSON.stringify(v, null, 2)

/** A schema shown as a link to its component, or inline. */
const schemaHtml = (schema: unknown): string => {
  const ref = (schema as { $ref?: unknown } | undefined)?.$ref
  if (typeof ref === "string" && ref.startsWith("#/components/schemas/")) {
    const name = ref.slice("#/components/schemas/".length)
    return `<a href="#schema-${escape(name)}"><code>${escape(name)}</code></a>`
  }
  return `<pre>${escape(pretty(schema))}</pre>`
}

/**
 * The browsable page of an OpenAPI document: its operations grouped by tag, with parameters,
 * bodies and answers, then every schema.
 *
 * @since 0.1.0
 * @category pages
 */
export const docsPage = (urls: Pick<Urls, "stylesheet" | "list" | "upload" | "docs" | "openapi">, doc: Record<string, unknown>): string => {
  const info = doc["info"] as Info
  const paths = doc["paths"] as Record<string, Record<string, Record<string, unknown>>>
  const byTag = new Map<string, Array<string>>()
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = ((op["tags"] as ReadonlyArray<string> | undefined) ?? ["archive"])[0] ?? "archive"
      const parameters = (op["parameters"] as ReadonlyArray<Record<string, unknown>> | undefined) ?? []
      const body = op["requestBody"] as { content: Record<string, { schema: unknown }> } | undefined
      const responses = op["responses"] as Record<string, { description: string; content?: Record<string, { schema: unknown }> }>
      const html =
        `<div class="op" id="op-${escape(String(op["operationId"]))}"><p><span class="method">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code> — ${escape(
          String(op["summary"] ?? "")
        )}</p>` +
        (typeof op["description"] === "string" ? `<p>${escape(op["description"])}</p>` : "") +
        (parameters.length === 0
          ? ""
          : `<table><thead><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr></thead><tbody>${parameters
              .map(
                (p) =>
                  `<tr><td><code>${escape(String(p["name"]))}</code></td><td>${escape(String(p["in"]))}</td><td>${p["required"] === true ? "yes" : "no"}</td><td>${escape(
                    String(p["description"] ?? "")
                  )}</td></tr>`
              )
              .join("")}</tbody></table>`) +
        (body === undefined
          ? ""
          : `<h3>Request body</h3>${Object.entries(body.content)
              .map(([type, c]) => `<p><code>${escape(type)}</code> ${schemaHtml(c.schema)}</p>`)
              .join("")}`) +
        `<h3>Answers</h3><table><tbody>${Object.entries(responses)
          .map(
            ([status, r]) =>
              `<tr><td>${escape(status)}</td><td>${escape(r.description)}</td><td>${Object.entries(r.content ?? {})
                .map(([type, c]) => `<code>${escape(type)}</code> ${schemaHtml(c.schema)}`)
                .join("<br>")}</td></tr>`
          )
          .join("")}</tbody></table></div>`
      byTag.set(tag, [...(byTag.get(tag) ?? []), html])
    }
  }
  const schemas = ((doc["components"] as { schemas?: Record<string, unknown> } | undefined)?.schemas ?? {}) as Record<string, unknown>
  return shell(
    urls,
    `${info.title} · API`,
    `<h1>${escape(info.title)} <span class="muted">${escape(info.version)}</span></h1>` +
      (info.description === undefined ? "" : `<p>${escape(info.description)}</p>`) +
      `<p>The OpenAPI 3.1 document: <a href="${escape(urls.openapi)}" id="openapi-link">${escape(urls.openapi)}</a></p>` +
      [...byTag.entries()].map(([tag, ops]) => `<section id="tag-${escape(tag)}"><h2>${escape(tag)}</h2>${ops.join("")}</section>`).join("") +
      `<section id="schemas"><h2>Schemas</h2>${Object.entries(schemas)
        .map(([name, s]) => `<h3 id="schema-${escape(name)}">${escape(name)}</h3><pre>${escape(pretty(s))}</pre>`)
        .join("")}</section>`
  )
}
