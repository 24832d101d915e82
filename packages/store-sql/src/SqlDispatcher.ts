/**
 * A core `Dispatcher` for several instances of one service sharing a PostgreSQL database (the
 * jobs in `SqlJobStore` of the same list). Instances claim QUEUED jobs with `FOR UPDATE SKIP
 * LOCKED` while fewer than the policy's concurrency leases are live (counted across instances),
 * hold each claim as a lease row renewed while the job runs, and take over the jobs of expired
 * leases for recovery. Changes are announced by the database itself (a trigger's `NOTIFY` at
 * commit) and heard through `LISTEN`; a lost connection is noticed by a heartbeat, reopened, and
 * answered by a re-check (`Resync`).
 *
 * The dispatchers made over one `PgClient` share its LISTEN connection (PgClient keeps one), and
 * each UNLISTENs when its scope closes: close them together, as `SqlDatabase.open`'s `close` does.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Dispatcher } from "@uws-kit/core"
import type { Phase } from "@uws-kit/core/Phase"
import { Deferred, Duration, Effect, Exit, FiberId, Layer, Option, PubSub, Queue, Stream } from "effect"
import type { Scope } from "effect"
import { CHANNEL, leaseReleased } from "./internal/announce.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The job list (as given to `SqlJobStore.make`). */
  readonly list: string
  /** How long a claim outlives its last renewal (ms, default 10 000); renewed every third of it. */
  readonly leaseMillis?: number
  /** Longest wait between two looks at the queue when no signal came (ms, default 1 000). */
  readonly pollMillis?: number
  /** How often the LISTEN connection is proven alive (ms, default 2 000). */
  readonly heartbeatMillis?: number
}

/** The channel the schema's triggers notify. */
const token = () => randomBytes(9).toString("base64url")

/**
 * A dispatcher over the `PgClient` in context; its fibers (renewal, LISTEN) live in the scope.
 * The instance id is the client's `applicationName` (`SqlDatabase.layerPg` sets a random one),
 * which lets the instance ignore the announcements of its own writes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Dispatcher.DispatcherService, never, PgClient.PgClient | Scope.Scope> =>
  Effect.gen(function* () {
    const pg = yield* PgClient.PgClient
    const sql = pg
    const list = options.list
    const lease = Math.max(100, Math.round(options.leaseMillis ?? 10_000))
    const poll = options.pollMillis ?? 1_000
    const heartbeat = options.heartbeatMillis ?? 2_000
    const instanceId = pg.config.applicationName ?? `uws-kit-${token()}`
    const expiry = sql`now() + ${lease}::int * interval '1 millisecond'`

    // ---- claims ----------------------------------------------------------------------------
    const held = new Map<string, { readonly token: string; readonly lost: Deferred.Deferred<void> }>()
    let kick = Deferred.unsafeMake<void>(FiberId.none)
    /** Wakes every claim waiting for work (a job was queued or a lease released somewhere). */
    const kickAll = () => {
      const d = kick
      kick = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(d, Exit.void)
    }

    const hold = (jobId: string, t: string): Dispatcher.Claim => {
      const previous = held.get(jobId)
      if (previous !== undefined) Deferred.unsafeDone(previous.lost, Exit.void)
      const lost = Deferred.unsafeMake<void>(FiberId.none)
      held.set(jobId, { token: t, lost })
      let released = false
      return {
        jobId,
        lost: Deferred.await(lost),
        release: Effect.suspend(() => {
          if (released) return Effect.void
          released = true
          if (held.get(jobId)?.token === t) held.delete(jobId)
          // Failing here only delays: the lease expires, and its recovery finds the job finished.
          return sql`DELETE FROM uws_leases WHERE list = ${list} AND job_id = ${jobId} AND token = ${t}`.pipe(
            Effect.zipRight(leaseReleased(sql, list)),
            Effect.retry({ times: 3 }),
            Effect.catchAll((e) => Effect.logWarning(`lease of job ${jobId} not released: ${e.message}`))
          )
        })
      }
    }

    const tryClaim = (concurrency: number) =>
      sql.withTransaction(
        Effect.gen(function* () {
          // One claimer per list at a time, so the count of live leases cannot be raced past.
          yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`uws_kit_claims/${list}`}))`
          const live = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM uws_leases WHERE list = ${list} AND expires_at > now()`
          if ((live[0]?.n ?? 0) >= concurrency) return undefined
          const rows = yield* sql<{ readonly job_id: string }>`SELECT job_id FROM uws_jobs j
            WHERE j.list = ${list} AND j.phase = 'QUEUED'
              AND NOT EXISTS (SELECT 1 FROM uws_leases l WHERE l.list = j.list AND l.job_id = j.job_id)
            ORDER BY j.creation_time, j.job_id LIMIT 1 FOR UPDATE SKIP LOCKED`
          const jobId = rows[0]?.job_id
          if (jobId === undefined) return undefined
          const t = token()
          yield* sql`INSERT INTO uws_leases (list, job_id, instance_id, token, expires_at) VALUES (${list}, ${jobId}, ${instanceId}, ${t}, ${expiry})`
          return [jobId, t] as const
        })
      )

    const claim = (concurrency: number): Effect.Effect<Dispatcher.Claim> =>
      Effect.suspend(() => {
        const signalled = kick
        return Effect.matchEffect(tryClaim(concurrency), {
          onFailure: (e) => Effect.logWarning(`claiming a job failed: ${e.message}`).pipe(Effect.zipRight(Effect.sleep(poll)), Effect.zipRight(claim(concurrency))),
          onSuccess: (claimed) =>
            claimed !== undefined
              ? Effect.succeed(hold(claimed[0], claimed[1]))
              : Effect.raceFirst(Deferred.await(signalled), Effect.sleep(poll)).pipe(Effect.zipRight(claim(concurrency)))
        })
      })

    const adopt = (jobId: string): Effect.Effect<Option.Option<Dispatcher.Claim>> =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`DELETE FROM uws_leases WHERE list = ${list} AND job_id = ${jobId} AND expires_at <= now()`
            const t = token()
            const rows = yield* sql`INSERT INTO uws_leases (list, job_id, instance_id, token, expires_at)
              VALUES (${list}, ${jobId}, ${instanceId}, ${t}, ${expiry}) ON CONFLICT (list, job_id) DO NOTHING RETURNING token`
            return rows.length === 0 ? undefined : t
          })
        )
        .pipe(
          Effect.map((t) => (t === undefined ? Option.none() : Option.some(hold(jobId, t)))),
          Effect.catchAll((e) => Effect.as(Effect.logWarning(`job ${jobId} not taken over: ${e.message}`), Option.none()))
        )

    const expired: Effect.Effect<ReadonlyArray<string>> = Effect.gen(function* () {
      for (;;) {
        // Expired leases, and running jobs nobody holds (an instance closed while they ran).
        const rows = yield* sql<{ readonly job_id: string }>`(SELECT job_id FROM uws_leases WHERE list = ${list} AND expires_at <= now() LIMIT 64)
          UNION ALL
          (SELECT job_id FROM uws_jobs j WHERE j.list = ${list} AND j.phase IN ('EXECUTING', 'SUSPENDED')
            AND NOT EXISTS (SELECT 1 FROM uws_leases l WHERE l.list = j.list AND l.job_id = j.job_id) LIMIT 64)`.pipe(
          Effect.orElseSucceed(() => [])
        )
        if (rows.length > 0) return rows.map((r) => r.job_id)
        // Jittered, so instances do not all look at once.
        yield* Effect.sleep(Math.round(lease / 2 + Math.random() * (lease / 4)))
      }
    })

    // Renewal: one statement for all of this instance's leases; a lease not renewed was taken over.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.sleep(Math.round(lease / 3))
          const before = [...held.entries()]
          const rows = yield* sql<{ readonly job_id: string; readonly token: string }>`UPDATE uws_leases SET expires_at = ${expiry}
            WHERE list = ${list} AND instance_id = ${instanceId} RETURNING job_id, token`
          const alive = new Set(rows.map((r) => `${r.job_id}\t${r.token}`))
          for (const [jobId, h] of before) if (!alive.has(`${jobId}\t${h.token}`)) Deferred.unsafeDone(h.lost, Exit.void)
        }).pipe(Effect.catchAll((e) => Effect.logWarning(`leases not renewed: ${e.message}`)))
      )
    )

    // ---- signals ---------------------------------------------------------------------------
    const signals = yield* PubSub.unbounded<Dispatcher.Signal>()
    const instant = (s: string | undefined) => (s === undefined || s === "" ? null : Number(s))
    const onPayload = (payload: string) => {
      const [kind, l, jobId, phase, destruction, execution, origin] = payload.split("\t")
      if (l !== list) return
      if (kind === "L") return kickAll()
      if (kind !== "J" || jobId === undefined) return
      if (phase === "QUEUED") kickAll()
      if (origin === instanceId) return
      signals.unsafeOffer({
        _tag: "Changed",
        jobId,
        phase: phase === "" || phase === undefined ? null : (phase as Phase),
        deadlines: { destruction: instant(destruction), execution: instant(execution) }
      })
    }

    /** One LISTEN connection, for as long as it answers its own heartbeats. */
    const session = (onReady: Effect.Effect<void>) =>
      Effect.gen(function* () {
        const pings = yield* Queue.sliding<string>(64)
        const listening = yield* Effect.forkScoped(
          Stream.runForEach(pg.listen(CHANNEL), (payload) =>
            payload.startsWith("P\t") ? pings.offer(payload.slice(2)) : Effect.sync(() => onPayload(payload))
          )
        )
        const heard = (t: string) => Effect.iterate(false, { while: (got) => !got, body: () => Effect.map(Queue.take(pings), (p) => p === t) })
        const ping = (within: number) =>
          Effect.gen(function* () {
            const t = token()
            // PgClient's own notify() sends the payload as a bind parameter, which NOTIFY refuses.
            yield* sql`SELECT pg_notify(${CHANNEL}, ${`P\t${t}`})`
            return Option.isSome(yield* Effect.timeout(heard(t), Duration.millis(within)).pipe(Effect.option))
          }).pipe(Effect.orElseSucceed(() => false))
        // LISTEN is in place once its first heartbeat comes back.
        let ready = false
        for (let i = 0; i < 20 && !ready && listening.unsafePoll() === null; i++) ready = yield* ping(250)
        if (!ready) return
        yield* onReady
        for (;;) {
          yield* Effect.sleep(heartbeat)
          if (listening.unsafePoll() !== null) return
          if (!(yield* ping(heartbeat))) return
        }
      }).pipe(Effect.scoped)

    let sessions = 0
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.suspend(() =>
          session(
            Effect.sync(() => {
              // Whatever was announced while no connection listened is re-checked.
              if (sessions++ > 0) {
                signals.unsafeOffer({ _tag: "Resync" })
                kickAll()
              }
            })
          )
        ).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning("LISTEN connection lost; reconnecting", cause)),
          Effect.zipRight(Effect.sleep(100))
        )
      )
    )

    return {
      instanceId,
      offer: () => Effect.sync(kickAll),
      claim,
      adopt,
      expired,
      signals: Stream.fromPubSub(signals)
    } satisfies Dispatcher.DispatcherService
  })

/**
 * The dispatcher as a layer, over the `PgClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Dispatcher.Dispatcher, never, PgClient.PgClient> =>
  Layer.scoped(Dispatcher.Dispatcher, make(options))
