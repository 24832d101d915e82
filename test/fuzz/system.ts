/**
 * The system the fuzz campaign attacks: one UWS job list served by the REST and SOAP bindings,
 * an archive (memory storage) served by its document API, all three reachable in process through
 * their fetch handlers and over a real loopback node:http server (so node's own header parsing
 * is attacked too), and a snapshot of everything they store, to prove that a refused request
 * changed nothing.
 *
 * Nothing here changes with time on its own while the campaign runs: jobs run under a
 * controlled application that never finishes them, generated durations and destruction times are
 * far from now, and blocking waits are capped at 100 ms.
 */
import { createServer, type Server } from "node:http"
import { mkdtemp, readdir, rm } from "node:fs/promises"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { Identity, Phase, Uws, Worker } from "@uws-kit/core"
import { controlledWorker } from "@uws-kit/core/testing"
import { Effect, Exit, Scope } from "effect"

/** Where each binding is mounted, in process and on the loopback server alike. */
export const mounts = { rest: "/uws/echo", soap: "/soap/echo", archive: "/api" } as const
export type TargetName = keyof typeof mounts

/** The callers requests come from (header `x-user`; absent = anonymous / the archive's 401). */
export const users = ["alice", "bob"] as const

export interface SystemUnderTest {
  readonly handlers: Readonly<Record<TargetName, (request: Request) => Promise<Response>>>
  /** `http://127.0.0.1:port` of the loopback server that routes to the three Node listeners. */
  readonly origin: string
  readonly port: number
  /** Where the archive spools uploads: it must be empty between requests. */
  readonly spoolDirectory: string
  /** Ids of jobs and containers that exist now (for paths naming an existing one). */
  readonly ids: () => Promise<{ jobs: ReadonlyArray<string>; containers: ReadonlyArray<string> }>
  /** Everything stored, as one comparable string. */
  readonly snapshot: () => Promise<string>
  /** Waits until background work (dispatching, archive steps) is done, then snapshots. */
  readonly settle: () => Promise<string>
  /** What is in the spool once every archive request the server got is over (bounded: 10 s). */
  readonly leftoverSpool: () => Promise<ReadonlyArray<string>>
  /** Holds every read of the archive's storage until the returned function is called. */
  readonly holdStorageReads: () => () => void
  /** Deletes every job and container (as an operator), so that what is left on the heap is a leak. */
  readonly clear: () => Promise<void>
  readonly close: () => Promise<void>
}

const identifyUser = (request: Request) => {
  const user = request.headers.get("x-user")
  return user === null || user === "" ? Identity.anonymous : Identity.user(user)
}

const everyPhase = { phases: [...Phase.all] }

const jobView = (j: { jobId: string; phase: string; version: number; ownerId: string | null; runId: string | null; parameters: unknown; results: unknown; destruction: number | null; executionDuration: number; quote: number | null; errorSummary: unknown; jobInfo: unknown }) =>
  JSON.stringify([j.jobId, j.phase, j.version, j.ownerId, j.runId, j.parameters, j.results, j.destruction, j.executionDuration, j.quote, j.errorSummary, j.jobInfo])

export const startSystem = async (): Promise<SystemUnderTest> => {
  const control = controlledWorker("echo")
  // Jobs with QUERY=x finish at once with a result (so results are there to be read and deleted);
  // the others run until the campaign ends (so nothing changes between two requests).
  const worker = Worker.make({
    name: "echo",
    run: (job, context) =>
      job.parameters.some((p) => p.name === "QUERY" && p.value === "x")
        ? Effect.succeed([{ id: "out", mimeType: "text/plain", content: `result of ${job.jobId}` }])
        : control.worker.run(job, context)
  })
  // maxWait 100 ms: a generated WAIT=-1 or a sync request must not hold the campaign for 55 s.
  const uws = await Uws.start({ worker, maxWait: 100, policy: { maxExecutionDuration: 0 } })
  const rest = RestAdapter.makeRestAdapter({ service: uws.service, basePath: mounts.rest, identify: identifyUser })
  const soap = SoapAdapter.makeSoapAdapter({ service: uws.service, basePath: mounts.soap, identify: identifyUser })

  const spoolDirectory = await mkdtemp(path.join(os.tmpdir(), "uws-kit-fuzz-spool-"))
  const scope = Effect.runSync(Scope.make())
  const memory = MemoryStorage.make()
  // Reads can be held, to put a deletion between a download's start and its reads.
  let held: Promise<void> | undefined
  const gated: typeof memory = {
    ...memory,
    get: ((locator) => (held === undefined ? memory.get(locator) : held.then(() => memory.get(locator)))) as typeof memory.get
  }
  const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: gated }] }), scope))
  const archiveStarted = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }, { id: 7, name: "Accounting" }] })
  const archive = ArchiveAdapter.makeArchiveAdapter({
    archive: archiveStarted.archive,
    basePath: mounts.archive,
    spoolDirectory,
    identify: (request) => {
      const who = request.headers.get("x-user")
      if (who === null || who === "") throw new Error("no X-User header")
      return { id: who }
    }
  })

  // The archive's listener settles once its request is over (spool removed): the spool is judged
  // then, not while the server has yet to see a client's hang-up.
  const archiveInFlight = new Set<Promise<void>>()
  const listeners = {
    rest: rest.listener,
    soap: soap.listener,
    archive: (req: Parameters<typeof archive.listener>[0], res: Parameters<typeof archive.listener>[1]) => {
      const done = archive.listener(req, res)
      archiveInFlight.add(done)
      void done.finally(() => archiveInFlight.delete(done))
    }
  }
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/"
    const name = (Object.keys(mounts) as Array<TargetName>).find((n) => url === mounts[n] || url.startsWith(`${mounts[n]}/`) || url.startsWith(`${mounts[n]}?`))
    if (name === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no such mount\n")
      return
    }
    listeners[name](req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port

  const jobs = async () => (await Effect.runPromise(uws.service.list(Identity.system, everyPhase))).jobs
  const containers = async () => (await Effect.runPromise(archiveStarted.archive.uws.list(Identity.system, everyPhase))).jobs
  const snapshot = async () =>
    [...(await jobs()).map(jobView).sort(), "--archive--", ...(await containers()).map(jobView).sort(), "--stored--", ...[...memory.locators()].map(String).sort()].join("\n")
  const settle = async () => {
    // Three equal snapshots in a row, a timer turn apart, with no container in a background step.
    let last = await snapshot()
    let same = 0
    for (let i = 0; i < 400 && same < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, i < 20 ? 0 : 5))
      const now = await snapshot()
      const busy = (await containers()).some((c) => c.phase === "QUEUED" || c.phase === "EXECUTING")
      same = now === last && !busy ? same + 1 : 0
      last = now
    }
    return last
  }

  return {
    handlers: { rest: rest.handler, soap: soap.handler, archive: archive.handler },
    origin: `http://127.0.0.1:${port}`,
    port,
    spoolDirectory,
    ids: async () => ({ jobs: (await jobs()).map((j) => j.jobId), containers: (await containers()).map((c) => c.jobId) }),
    snapshot,
    settle,
    leftoverSpool: async () => {
      let timer: NodeJS.Timeout | undefined
      const late = await Promise.race([
        Promise.all([...archiveInFlight]).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 10_000)))
      ]).finally(() => clearTimeout(timer))
      return [...(await readdir(spoolDirectory)), ...(late ? ["(an archive request still unfinished 10 s after its client was done)"] : [])]
    },
    holdStorageReads: () => {
      let release!: () => void
      held = new Promise<void>((resolve) => (release = resolve))
      return () => {
        held = undefined
        release()
      }
    },
    clear: async () => {
      for (const j of await jobs()) await Effect.runPromise(Effect.either(uws.service.delete(Identity.system, j.jobId)))
      for (const c of await containers()) await Effect.runPromise(Effect.either(archiveStarted.archive.delete(Identity.system, c.jobId)))
      await settle()
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
      await rest.dispose()
      await soap.dispose()
      await archive.dispose()
      await uws.close()
      await archiveStarted.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await rm(spoolDirectory, { recursive: true, force: true })
    }
  }
}
