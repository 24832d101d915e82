/**
 * A server-agnostic model of what UWS 1.1 allows a job to do, for judging what a real server
 * answers to random client sequences. It allows every outcome the standard allows — a server
 * may queue, hold, suspend, abort for its own reasons, fail a job, or refuse a request with 403 —
 * and flags only what the standard forbids: a RUN that leaves the job PENDING, an ABORT that does
 * not end it, a final job that moves (except to ARCHIVED), a deleted job that is still there.
 *
 * @since 0.1.0
 */
import type { Phase } from "@uws-kit/core/Phase"

/**
 * What the client last saw of a job: a phase, or gone (404 after a delete).
 *
 * @since 0.1.0
 * @category models
 */
export type Seen = Phase | "GONE"

// Moves a server may make on its own (UWS 1.1 §2.1.3 and its state diagram; §2.1.4: "at any
// time before the COMPLETED phase a job may either be ABORTED or may suffer an ERROR").
const serverMoves: Readonly<Record<Phase, ReadonlyArray<Phase>>> = {
  PENDING: ["ERROR", "ABORTED"],
  QUEUED: ["EXECUTING", "HELD", "ERROR", "ABORTED"],
  EXECUTING: ["COMPLETED", "ERROR", "HELD", "SUSPENDED", "ABORTED"],
  SUSPENDED: ["EXECUTING", "ERROR", "ABORTED"],
  HELD: ["ERROR", "ABORTED"],
  UNKNOWN: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "HELD", "SUSPENDED", "ABORTED", "ARCHIVED"],
  COMPLETED: ["ARCHIVED"],
  ERROR: ["ARCHIVED"],
  ABORTED: ["ARCHIVED"],
  ARCHIVED: []
}

/**
 * The phases a job in `from` may be in later without a client's doing (itself included; any
 * phase may read UNKNOWN for a while, which tells the client to ask again).
 *
 * @since 0.1.0
 * @category model
 */
export const reachable = (from: ReadonlyArray<Phase>): ReadonlySet<Phase> => {
  const out = new Set<Phase>(from)
  const todo = [...from]
  while (todo.length > 0) {
    for (const next of serverMoves[todo.pop()!]) {
      if (!out.has(next)) {
        out.add(next)
        todo.push(next)
      }
    }
  }
  out.add("UNKNOWN")
  return out
}

/**
 * What a client's action may lead to.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = "create" | "create+run" | "run" | "abort" | "delete" | "read" | "update"

/**
 * Where the job may be after the server accepted (`accepted` = true: 303) or refused the action,
 * when the client last saw it in `before`; `undefined` when the answer itself is forbidden.
 *
 * @since 0.1.0
 * @category model
 */
export const allowedAfter = (before: Seen, action: Action, accepted: boolean): ReadonlySet<Seen> | undefined => {
  // A job that is gone stays gone; only a read "succeeds" on it (by answering 404).
  if (before === "GONE") return accepted && action !== "read" ? undefined : new Set<Seen>(["GONE"])
  if (action === "create") return accepted ? reachable(["PENDING"]) : undefined
  if (action === "create+run") return accepted ? reachable(["QUEUED", "HELD", "EXECUTING"]) : undefined
  if (action === "delete") return accepted ? new Set<Seen>(["GONE", "ARCHIVED"]) : reachable([before])
  const final = before === "COMPLETED" || before === "ERROR" || before === "ABORTED" || before === "ARCHIVED"
  if (action === "run") {
    if (final) return accepted ? undefined : reachable([before])
    if (!accepted) return reachable([before])
    return before === "PENDING" || before === "HELD" ? reachable(["QUEUED", "HELD", "EXECUTING"]) : reachable([before])
  }
  if (action === "abort") {
    if (final) return accepted ? undefined : reachable([before])
    if (!accepted) return reachable([before])
    // A job may have finished on its own between the client's last look and the abort.
    return before === "PENDING" ? reachable(["ABORTED"]) : new Set<Seen>(["ABORTED", "COMPLETED", "ERROR", "ARCHIVED", "UNKNOWN"])
  }
  return reachable([before])
}

/**
 * The statuses the standard allows for an action on a job last seen in `before`: a state change
 * answers 303 (§2.2.3); one the state does not allow, 403 (§2.2); a job that is gone, 404.
 *
 * @since 0.1.0
 * @category model
 */
export const allowedStatuses = (before: Seen, action: Action): ReadonlyArray<number> => {
  if (before === "GONE") return [404, 410]
  const final = before === "COMPLETED" || before === "ERROR" || before === "ABORTED" || before === "ARCHIVED"
  if ((action === "run" || action === "abort") && final) return [403]
  if (action === "read") return [200]
  return [303, 403]
}
