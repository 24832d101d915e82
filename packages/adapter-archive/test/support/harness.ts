/**
 * An archive with its HTTP adapter, built from plugin objects, driven through the web handler
 * (no sockets), plus helpers to build the seed's upload and to wait for background work.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import type { PostProcessor, StoragePlugin } from "@uws-kit/adapter-archive"
import { Effect, Exit, Scope } from "effect"

export const fixtures = join(fileURLToPath(new URL(".", import.meta.url)), "../../../../test/fixtures/archive")
export const fixture = (name: string) => readFileSync(join(fixtures, name))

export interface Harness {
  readonly archive: Archive.ArchiveService
  readonly plugins: Plugins.LoadedPlugins
  readonly api: ArchiveAdapter.ArchiveAdapter
  readonly call: (method: string, path: string, body?: BodyInit, headers?: Record<string, string>) => Promise<Response>
  readonly json: (method: string, path: string, body?: BodyInit, headers?: Record<string, string>) => Promise<{ status: number; body: any }>
  /** Waits (bounded) until no container is waiting for or in its background step. */
  readonly settle: () => Promise<void>
  readonly close: () => Promise<void>
}

export interface HarnessOptions {
  readonly storages: ReadonlyArray<{ name: string; plugin: StoragePlugin.StoragePlugin; readOnly?: boolean; parameters?: Record<string, string> }>
  readonly postProcessors?: ReadonlyArray<{ name: string; plugin: PostProcessor.PostProcessor; parameters?: Record<string, string> }>
  readonly archive?: Partial<Omit<Parameters<typeof Archive.start>[0], "plugins">>
  readonly adapter?: Partial<Omit<ArchiveAdapter.ArchiveAdapterOptions, "archive">>
  /** Plugin call time limit (default 30 s). */
  readonly timeout?: string
}

export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export const makeHarness = async (options: HarnessOptions): Promise<Harness> => {
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(
    Scope.extend(
      Plugins.fromObjects(
        {
          storages: options.storages,
          ...(options.postProcessors === undefined ? {} : { postProcessors: options.postProcessors })
        },
        options.timeout === undefined ? {} : { timeout: options.timeout as never }
      ),
      scope
    )
  )
  const started = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }, { id: 7, name: "Accounting" }], ...options.archive })
  const api = ArchiveAdapter.makeArchiveAdapter({
    archive: started.archive,
    identify: (request) => {
      const who = request.headers.get("x-caller")
      return who === "admin" ? { id: "admin", admin: true } : who === null || who === "" ? { id: null } : { id: who }
    },
    ...options.adapter
  })
  const call = (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) =>
    api.handler(new Request(`http://archive.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) }))
  const settle = async () => {
    // Bounded by a generous number of short waits: background steps may wait on plugin time-outs.
    for (let i = 0; i < 5000; i++) {
      const busy = await Effect.runPromise(
        started.archive.uws.list({ id: null, admin: true }, { phases: ["PENDING", "QUEUED", "EXECUTING", "SUSPENDED"] })
      )
      if (busy.jobs.length === 0) return
      await new Promise((resolve) => setTimeout(resolve, i < 100 ? 0 : 5))
    }
    throw new Error("background steps did not finish")
  }
  return {
    archive: started.archive,
    plugins,
    api,
    call,
    json: async (method, path, body, headers) => {
      const response = await call(method, path, body, headers)
      const text = await response.text()
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        throw new Error(`${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`)
      }
      return { status: response.status, body: parsed }
    },
    settle,
    close: async () => {
      await api.dispose()
      await started.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

/** The seed's upload as a form (document.txt, two detached signatures). */
export const seedForm = (fields: Record<string, string> = {}, files: { content?: boolean; signs?: number } = {}) => {
  const form = new FormData()
  const all: Record<string, string> = { ContainerName: "MyContainer", StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false", ...fields }
  for (const [k, v] of Object.entries(all)) if (v !== "") form.append(k, v)
  const sigs = [fixture("xlt1-detached.sig"), fixture("a-detached.sig")]
  for (let i = 0; i < (files.signs ?? 2); i++) {
    form.append("Signs", new Blob([sigs[i % 2]!], { type: "application/sig" }), i % 2 === 0 ? "xlt1-detached.sig" : "a-detached.sig")
  }
  if (files.content !== false) form.append("Content", new Blob([fixture("document.txt")], { type: "text/plain" }), "document.txt")
  return form
}

/** An envelope with an error: no data, a code and a description. */
export const isErrorEnvelope = (body: any, code?: string) =>
  body !== null &&
  typeof body === "object" &&
  body.data === null &&
  typeof body.errorCode === "string" &&
  (code === undefined || body.errorCode === code) &&
  typeof body.errorDescription === "string" &&
  body.errorDescription.length > 0

/**
 * A memory storage that keeps other bytes than it was given (the first byte of every chunk
 * flipped) and reports sizes as if all were well: only a read-back hash can tell.
 */
export const corruptingStorage = (): StoragePlugin.StoragePlugin => {
  const inner = MemoryStorage.make()
  return {
    ...inner,
    stat: async (locator) => {
      const s = (await inner.stat(locator)) as { _tag: "Right"; right: { size: number } | null }
      return { _tag: "Right", right: s.right === null ? null : { size: s.right.size } }
    },
    save: (object) =>
      inner.save({
        ...object,
        content: (async function* () {
          for await (const c of object.content) yield c.map((b, i) => (i === 0 ? b ^ 0xff : b))
        })()
      })
  }
}
