import { PluginConfig, ReplicationConfig } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { tee } from "../src/internal/tee.js"

const storage = (name: string, extra: Record<string, unknown> = {}) => ({ PluginName: name, AssemblyName: "filesystem", Parameters: { DocumentsFolderPath: `/srv/${name}` }, ...extra })
const config = (replication: unknown) => ({
  Plugins: { DocumentStorage: [storage("fs_01"), storage("fs_02"), storage("ro_03", { ReadOnly: true }), storage("off_04", { IsEnabled: false })] },
  Replication: replication
})
const problems = (json: unknown) => {
  const r = PluginConfig.parse(json)
  return Either.isLeft(r) ? r.left.problems : []
}

describe("the Replication section of plugin-config.json", () => {
  it("reads primary, mirrors, policy and fixity, keys in any case, into the archive's options", () => {
    const parsed = PluginConfig.parse(
      config({ primary: "FS_01", MIRRORS: ["fs_02", "ro_03"], Policy: "quorum", Quorum: 2, Fixity: { EverySeconds: 3600, bytespersecond: 1000, ItemsPerInterval: 10, IntervalSeconds: 60 } })
    )
    expect(Either.isRight(parsed)).toBe(true)
    const r = Either.getOrThrow(parsed).replication!
    expect(r).toEqual({
      primary: "fs_01",
      mirrors: ["fs_02", "ro_03"],
      policy: "quorum",
      quorum: 2,
      fixity: { everySeconds: 3600, bytesPerSecond: 1000, itemsPerInterval: { items: 10, intervalSeconds: 60 } }
    })
    expect(ReplicationConfig.toOptions(r)).toMatchObject({ primary: "fs_01", policy: "quorum", quorum: 2, fixity: { every: "3600 seconds", bytesPerSecond: 1000 } })
    expect(Either.getOrThrow(PluginConfig.parse({ Plugins: {} })).replication).toBeUndefined()
  })

  it("lists every problem with its path and accepts nothing", () => {
    expect(problems(config({ Primary: "ro_03", Mirrors: ["fs_02", "fs_02", "nope", "off_04"], Policy: "most", Quorum: 9, Fixity: { EverySeconds: -1, ItemsPerInterval: 3, Extra: 1 } }))).toEqual([
      'Replication.Primary: "ro_03" is ReadOnly; containers are written to the primary',
      'Replication.Mirrors[1]: "fs_02" is named twice',
      'Replication.Mirrors[2]: "nope" is not an enabled DocumentStorage (enabled: fs_01, fs_02, ro_03)',
      'Replication.Mirrors[3]: "off_04" is not an enabled DocumentStorage (enabled: fs_01, fs_02, ro_03)',
      'Replication.Policy: must be "all" or "quorum", not "most"',
      "Replication.Quorum: must be a whole number from 1 to 2 (the primary and the writable mirrors)",
      'Replication.Quorum: applies to Policy "quorum" only',
      'Replication.Fixity.Extra: unknown key (expected EverySeconds, BytesPerSecond, ItemsPerInterval, IntervalSeconds)',
      "Replication.Fixity.EverySeconds: must be a number > 0",
      "Replication.Fixity: ItemsPerInterval and IntervalSeconds go together"
    ])
    expect(problems(config("fs_01"))).toEqual(["Replication: must be an object { Primary, Mirrors, Policy, Fixity }"])
    expect(problems(config({ Primary: "fs_01" }))).toEqual(["Replication.Mirrors: must be a list of DocumentStorage names"])
  })

  it("never throws, whatever the section holds (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = PluginConfig.parse(config(v))
        if (Either.isLeft(r)) expect(r.left.problems.length).toBeGreaterThan(0)
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})

describe("tee (one upload stream to every copy)", () => {
  it("gives every branch that reads to the end exactly the source's bytes, whatever the chunks, speeds and branches that stop early (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 12 }),
        fc.array(fc.record({ delay: fc.nat(3), stopAfter: fc.option(fc.nat(6), { nil: undefined }) }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (chunks, readers, failing) => {
          let pulled = 0
          async function* source() {
            for (const c of chunks) {
              pulled++
              yield c
            }
            if (failing) throw new Error("the client went away")
          }
          const branches = tee(source(), readers.length)
          const results = await Promise.all(
            readers.map(async (r, i) => {
              const got: Array<number> = []
              let n = 0
              try {
                for await (const c of branches[i]!) {
                  if (r.stopAfter !== undefined && n++ >= r.stopAfter) break
                  got.push(...c)
                  for (let d = 0; d < r.delay; d++) await new Promise((resolve) => setImmediate(resolve))
                }
              } catch (e) {
                return { got, error: (e as Error).message }
              }
              return { got, error: null }
            })
          )
          const all = chunks.flatMap((c) => [...c])
          for (const [i, r] of results.entries()) {
            if (readers[i]!.stopAfter === undefined) {
              expect(r.got).toEqual(all)
              expect(r.error).toBe(failing ? "the client went away" : null)
            } else expect(all.slice(0, r.got.length)).toEqual(r.got)
          }
          // The source is read once, never ahead of the readers.
          expect(pulled).toBeLessThanOrEqual(chunks.length)
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })
})
