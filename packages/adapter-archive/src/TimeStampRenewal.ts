/**
 * Keeps a `TimeStampUpgrader`'s catalogue up with the archive's jobs and starts the renewal
 * runs that fall due: before the TSA certificate of a container's tokens expires (by the
 * upgrader's `RenewBeforeDays`), after a failed run (by `RetryMinutes`), and for archived
 * containers never stamped (uploaded before a TSA was configured, or while it was down). Each
 * run is a UWS job of the archive (`ArchiveService.upgradeSignatures`), one per container at a
 * time.
 *
 * @since 0.1.0
 */
import { Identity, Phase } from "@uws-kit/core"
import { Duration, Effect, Queue } from "effect"
import type { Scope } from "effect"
import type { ArchiveService } from "./Archive.js"
import type { TimeStampUpgrader } from "./TimeStampUpgrader.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FollowOptions {
  /** How often due renewals are looked for; default: the upgrader's `CheckIntervalMinutes`. */
  readonly checkInterval?: Duration.DurationInput
  /**
   * Renewal runs under way at most (default 100). With more due (every token of one TSA
   * certificate falls due together), the check repeats every few seconds, refilling up to this
   * many, until the backlog is worked off.
   */
  readonly batch?: number
}

/**
 * Fills the catalogue from every job, follows the job changes, and starts due renewals, for the
 * life of the scope. Does nothing when the upgrader is not initialised (it failed: reported).
 *
 * @since 0.1.0
 * @category constructors
 */
export const follow = (upgrader: TimeStampUpgrader, archive: ArchiveService, options: FollowOptions = {}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = upgrader.settings()
    if (settings === undefined) {
      yield* Effect.logWarning("time-stamp renewals are off: the time-stamp upgrader is not initialised")
      return
    }
    const catalogue = upgrader.catalogue
    // Subscribe first, then read every job: no change falls between the two.
    const changes = yield* archive.uws.subscribe
    let cursor: string | undefined
    do {
      const page = yield* archive.uws
        .list(Identity.system, { phases: Phase.all, limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
        .pipe(Effect.catchAll((e) => Effect.as(Effect.logError(`time-stamp catalogue: the jobs could not be listed: ${e.message}`), { jobs: [], next: null })))
      for (const job of page.jobs) catalogue.apply(job)
      cursor = page.next ?? undefined
    } while (cursor !== undefined)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.map(Queue.take(changes), (change) => {
          if (change.job !== undefined) catalogue.apply(change.job)
          else if (change.previous !== undefined) catalogue.remove(change.previous)
        })
      )
    )
    const batch = options.batch ?? 100
    /** Starts due runs up to `batch` under way; answers whether more were due than started. */
    const check = Effect.gen(function* () {
      const now = yield* archive.now
      const room = batch - catalogue.running()
      if (room <= 0) return catalogue.due(now, settings, 1).length > 0
      const due = catalogue.due(now, settings, room + 1)
      for (const id of due.slice(0, room)) {
        yield* archive.upgradeSignatures(Identity.system, id).pipe(
          Effect.catchAll((e) => Effect.logWarning(`time-stamp renewal of container ${id} not started: ${e.message}`))
        )
      }
      return due.length > room
    })
    const every = options.checkInterval === undefined ? Duration.millis(settings.checkInterval) : Duration.decode(options.checkInterval)
    const soon = Duration.min(every, Duration.seconds(5))
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(check, (backlog) => Effect.sleep(backlog ? soon : every))))
  })
