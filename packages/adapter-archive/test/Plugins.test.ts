/**
 * Loading plugins from plugin-config.json: built-ins by name, modules with dynamic import() from
 * the plugins folder (a class, a factory, an object), and every way loading can fail, each
 * reported while the others keep working.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Plugins, Storage } from "@uws-kit/adapter-archive"
import { runScoped } from "@uws-kit/adapter-archive/testing"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"

const folder = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/plugins")

describe("Plugins.loadFile", () => {
  it("loads what it can, marks every other plugin failed with its reason, and reports the disabled", async () => {
    const { value: plugins, close } = await runScoped(Plugins.loadFile(path.join(folder, "plugin-config.json")))
    try {
      const report = Object.fromEntries(plugins.report().map((r) => [r.name, r]))
      expect(Object.keys(report)).toEqual([
        "class",
        "object",
        "memory",
        "import-fails",
        "not-a-plugin",
        "constructor-throws",
        "outside",
        "dotnet",
        "missing",
        "no-prefix",
        "disabled",
        "factory",
        "not-a-post-processor"
      ])
      expect(report["class"]).toMatchObject({ state: "ready", failure: null, readOnly: false })
      expect(report["object"]).toMatchObject({ state: "ready" })
      expect(report["memory"]).toMatchObject({ state: "ready", readOnly: true })
      expect(report["disabled"]).toMatchObject({ state: "disabled", enabled: false })
      expect(report["factory"]).toMatchObject({ state: "ready", section: "SanConnector" })
      const failures: Record<string, string> = {
        "import-fails": "missing native library",
        "not-a-plugin": "does not provide a document storage",
        "constructor-throws": "licence file not found",
        outside: "outside the plugins folder",
        dotnet: ".NET assembly",
        missing: "cannot import ./nowhere.mjs",
        "no-prefix": "the parameter Prefix is required",
        "not-a-post-processor": "does not provide a post-processor"
      }
      for (const [name, reason] of Object.entries(failures)) {
        expect(report[name]?.state, name).toBe("failed")
        expect(report[name]?.failure, name).toContain(reason)
      }

      // The working ones work; a failed one answers a PluginFailure, never a throw.
      const byName = (n: string) => plugins.storages.find((s) => s.name === n)!
      for (const name of ["class", "object"]) {
        const s = byName(name)
        const locator = await Effect.runPromise(s.save({ containerId: "c", name: "document", content: (async function* () { yield new Uint8Array([1, 2, 3]) })() }))
        expect([...(await Effect.runPromise(Storage.readAll(s, locator)))]).toEqual([1, 2, 3])
      }
      expect(Either.isLeft(await Effect.runPromise(Effect.either(byName("import-fails").stat("x"))))).toBe(true)
      expect(byName("memory").writable()).toBe(false)
      expect(plugins.postProcessors.map((p) => p.name)).toEqual(["factory", "not-a-post-processor"])
    } finally {
      await close()
    }
  })

  it("refuses an invalid file as a whole, with every problem", async () => {
    const r = await Effect.runPromise(Effect.either(Effect.scoped(Plugins.loadFile(path.join(folder, "no-such-config.json")))))
    expect(Either.isLeft(r) && r.left.message).toContain("cannot be read")
  })

  it("may allow modules outside the plugins folder when the host says so", async () => {
    const { value: plugins, close } = await runScoped(
      Plugins.load(
        {
          documentStorage: [{ section: "DocumentStorage", path: "x", enabled: true, readOnly: false, name: "outside", assembly: "../outside.mjs", parameters: {} }],
          sanConnector: []
        },
        { directory: folder, allowOutsideDirectory: true }
      )
    )
    expect(plugins.report()[0]).toMatchObject({ name: "outside", state: "ready" })
    await close()
  })
})
