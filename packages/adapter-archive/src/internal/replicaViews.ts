/**
 * How copies and fixity runs are shown in the archive API (the wire form of `Replicas` and
 * `Fixity`), kept apart from the adapter's routes.
 */
import type { Errors, Job } from "@uws-kit/core"
import { Effect } from "effect"
import type { ArchiveService } from "../Archive.js"
import * as ArchiveDate from "../ArchiveDate.js"
import * as Containers from "../Container.js"
import type { Container } from "../Container.js"
import type { ContentCheck } from "../Replicas.js"
import { RequestProblem } from "./spool.js"

const iso = (ms: number | null) => (ms === null ? null : ArchiveDate.format(ms))

/** Each stored part's copies (`undefined` without replication): where, in what state, last checked when. */
export const copiesOf = (archive: ArchiveService, container: Container) => {
  const replicas = archive.replicas
  if (replicas === undefined || container.storageEnded) return Effect.succeed(undefined)
  return Effect.forEach(Containers.storedParts(container), (part) =>
    replicas.contentOf(part.locator).pipe(
      Effect.orElseSucceed(() => undefined),
      Effect.map((content) => {
        const copies =
          content?.copies.map((c) => ({ storage: c.storage, state: c.state, checkedAt: iso(c.checkedAt), detail: c.detail })) ?? null
        const good = copies?.filter((c) => c.state === "good").length ?? 0
        return {
          part: part.name,
          sha256: part.sha256,
          replicated: content !== undefined,
          goodCopies: good,
          // Said plainly when nothing good is left: the container cannot be served whole.
          ...(content !== undefined && good === 0 ? { problem: "no good copy of this part is left" } : {}),
          copies
        }
      })
    )
  )
}

/** A fixity run as the API shows it (never called a job). */
export const runView = (job: Job.Job, findings: ReadonlyArray<ContentCheck> | null) => ({
  id: job.jobId,
  phase: job.phase,
  createdAt: iso(job.creationTime),
  startedAt: iso(job.startTime),
  endedAt: iso(job.endTime),
  counts: Object.fromEntries(Object.entries(job.jobInfo ?? {}).map(([k, v]) => [k, Number(v)])),
  error: job.errorSummary?.message ?? null,
  findings:
    findings === null
      ? null
      : findings.flatMap((c) =>
          c.copies.map((x) => ({
            sha256: x.sha256,
            storage: x.storage,
            checkedAt: iso(x.at),
            outcome: x.outcome,
            repaired: x.repaired,
            detail: x.detail
          }))
        )
})

/** The core's words about runs, in the archive's. */
export const fixityError = (id: string) => (e: Errors.UwsError) =>
  e._tag === "JobNotFound"
    ? new RequestProblem({ status: 404, code: "FixityRunNotFound", reason: `no fixity run "${id}"` })
    : e._tag === "Forbidden"
      ? new RequestProblem({ status: 403, code: "Forbidden", reason: "only operators see and start fixity runs" })
      : e._tag === "InvalidTransition"
        ? new RequestProblem({ status: 400, code: "InvalidState", reason: `the fixity run "${id}" has ended; it cannot be aborted` })
        : new RequestProblem({ status: 500, code: "InternalError", reason: `the fixity run could not be read: ${e.message}` })

export const notConfigured = () =>
  new RequestProblem({ status: 404, code: "FixityNotConfigured", reason: "this archive keeps no mirrors (no Replication in plugin-config.json), so it runs no fixity" })
