/**
 * The three bindings as the mount tests serve them: how each is built over its service at a
 * prefix, and the exchange that proves the binding sees the host's user: what one user creates
 * is theirs (its owner), and another user is refused (REST 403, a SOAP `Forbidden` fault, the
 * archive's 403 `Forbidden` envelope on a delete).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect } from "vitest"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Namespaces, SoapAdapter } from "@uws-kit/adapter-soap"
import { Uws, Worker } from "@uws-kit/core"
import type { Edge } from "@uws-kit/http"
import { Effect, Exit, Scope } from "effect"
import { as } from "./hosts.js"

/** A binding's services, started once for a suite. */
export interface Services {
  readonly uws: Uws.Started
  readonly archive: Archive.ArchiveService
  readonly close: () => Promise<void>
}

export const startServices = async (): Promise<Services> => {
  const uws = await Uws.start({ worker: Worker.noop, maxWait: 10_000 })
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: MemoryStorage.make() }] }), scope))
  const archive = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }] })
  return {
    uws,
    archive: archive.archive,
    close: async () => {
      await archive.close()
      await uws.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

export interface Binding {
  readonly name: "REST" | "SOAP" | "archive"
  /** The path prefix it is mounted at. */
  readonly prefix: string
  readonly make: (services: Services) => Edge.Edge
  /** Alice creates, reads her own; Bob (and no one) is refused. `base` is the binding's public base. */
  readonly exchange: (base: string) => Promise<void>
}

// ---- REST

const rest: Binding = {
  name: "REST",
  prefix: "/uws/echo",
  make: (s) => RestAdapter.makeRestAdapter({ service: s.uws.service, basePath: "/uws/echo" }),
  exchange: async (base) => {
    const created = await fetch(`${base}/jobs`, { method: "POST", body: new URLSearchParams({ TEXT: "hi" }), headers: as("alice"), redirect: "manual" })
    expect(created.status, await created.clone().text()).toBe(303)
    const job = created.headers.get("location")!
    expect(job).toMatch(new RegExp(`^${base.replace(/[.]/g, "\\.")}/jobs/[a-z2-7]{16}$`))
    expect(await (await fetch(`${job}/owner`, { headers: as("alice") })).text()).toBe("alice")
    expect((await fetch(job, { headers: as("bob") })).status).toBe(403)
    expect((await fetch(job)).status).toBe(403)
    expect((await fetch(job, { method: "DELETE", headers: as("bob") })).status).toBe(403)
    expect((await fetch(job, { headers: as("alice") })).status).toBe(200)
  }
}

// ---- SOAP 1.1, envelopes written out

const envelope = (op: string, content: string, jobId?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>` +
  `<s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${Namespaces.uwsSoap}">` +
  (jobId === undefined ? "" : `<s:Header><u:ResourceIdentifier>${jobId}</u:ResourceIdentifier></s:Header>`) +
  `<s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`

const soapCall = async (endpoint: string, op: string, user: string, content = "", jobId?: string) => {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "text/xml; charset=utf-8", soapaction: `"${Namespaces.uwsSoap}:${op}"`, ...as(user) },
    body: envelope(op, content, jobId)
  })
  return { status: response.status, text: await response.text() }
}

const element = (xml: string, local: string) => new RegExp(`<(?:[\\w-]+:)?${local}(?:\\s[^>]*)?>([^<]*)</`).exec(xml)?.[1]

const soap: Binding = {
  name: "SOAP",
  prefix: "/soap/echo",
  make: (s) => SoapAdapter.makeSoapAdapter({ service: s.uws.service, basePath: "/soap/echo" }),
  exchange: async (endpoint) => {
    const created = await soapCall(endpoint, "createJob", "alice", `<u:parameter id="TEXT">hi</u:parameter>`)
    expect(created.status, created.text).toBe(200)
    const jobId = element(created.text, "jobId")!
    expect(jobId).toMatch(/^[a-z2-7]{16}$/)
    const phase = await soapCall(endpoint, "getPhase", "alice", "", jobId)
    expect(phase.status, phase.text).toBe(200)
    expect(element(phase.text, "phase")).toBe("PENDING")
    const refused = await soapCall(endpoint, "getPhase", "bob", "", jobId)
    expect(refused.text).toContain("Fault")
    expect(element(refused.text, "error")).toBe("Forbidden")
    expect(refused.status).toBe(500) // SOAP 1.1: every fault travels with a 500
  }
}

// ---- the archive: the seed's upload

const fixtures = join(fileURLToPath(new URL(".", import.meta.url)), "../fixtures/archive")
const fixture = (name: string) => readFileSync(join(fixtures, name))

const seedForm = () => {
  const form = new FormData()
  for (const [k, v] of Object.entries({ ContainerName: "MyContainer", StorageId: "4", SaveType: "Temporary", ArchiveDate: "2999-12-31", UseArchiveCa: "false" })) form.append(k, v)
  form.append("Signs", new Blob([fixture("xlt1-detached.sig")], { type: "application/sig" }), "xlt1-detached.sig")
  form.append("Signs", new Blob([fixture("a-detached.sig")], { type: "application/sig" }), "a-detached.sig")
  form.append("Content", new Blob([fixture("document.txt")], { type: "text/plain" }), "document.txt")
  return form
}

const archive: Binding = {
  name: "archive",
  prefix: "/archive/api",
  make: (s) => ArchiveAdapter.makeArchiveAdapter({ archive: s.archive, basePath: "/archive/api" }),
  exchange: async (base) => {
    const uploaded = await fetch(`${base}/document/content`, { method: "POST", body: seedForm(), headers: as("alice") })
    const up = await uploaded.json()
    expect(uploaded.status, JSON.stringify(up)).toBe(200)
    expect(up).toMatchObject({ errorCode: null })
    const id: string = up.data
    const own = await fetch(`${base}/document/${id}`, { headers: as("alice") })
    const detail = await own.json()
    expect(own.status, JSON.stringify(detail)).toBe(200)
    expect(detail.data).toMatchObject({ id, name: "MyContainer", sourceSystem: { id: "alice" }, document: { fileName: "document.txt" } })
    // Containers are read by any source system (as in the seed); only the uploader deletes one.
    const theirs = await fetch(`${base}/document/${id}`, { method: "DELETE", headers: as("bob") })
    expect(theirs.status).toBe(403)
    expect(await theirs.json()).toMatchObject({ data: null, errorCode: "Forbidden" })
    expect((await fetch(`${base}/document/${id}`, { method: "DELETE" })).status).toBe(403)
    const deleted = await fetch(`${base}/document/${id}`, { method: "DELETE", headers: as("alice") })
    expect(await deleted.json()).toEqual({ data: id, errorCode: null, errorDescription: null })
  }
}

export const bindings: ReadonlyArray<Binding> = [rest, soap, archive]
