/**
 * The `Upstream` section of plugin-config.json: validated with the others, loaded by the plugin
 * host (the built-in `http`, or a module), each upstream `ready` or `failed` with its reason.
 */
import { PluginConfig, Plugins, Upstream } from "@uws-kit/adapter-archive"
import { runScoped } from "@uws-kit/adapter-archive/testing"
import { Either } from "effect"
import { describe, expect, it } from "vitest"

const config = (upstream: unknown) => ({ Plugins: { DocumentStorage: [{ PluginName: "m", AssemblyName: "memory" }], Upstream: upstream } })

describe("plugin-config.json: Upstream", () => {
  it("reads upstream entries in declared order, with their parameters", () => {
    const parsed = Either.getOrThrow(
      PluginConfig.parse(
        config([
          { IsEnabled: true, PluginName: "mirror", AssemblyName: "http", Parameters: { UrlTemplate: "https://m.example/{path}", Retention: "Cache", TimeoutSeconds: 5 } },
          { isenabled: false, pluginname: "off", assemblyname: "http", parameters: {} }
        ])
      )
    )
    expect(parsed.upstream?.map((e) => [e.section, e.name, e.enabled, e.parameters])).toEqual([
      ["Upstream", "mirror", true, { UrlTemplate: "https://m.example/{path}", Retention: "Cache", TimeoutSeconds: "5" }],
      ["Upstream", "off", false, {}]
    ])
  })

  it("refuses ReadOnly on an upstream, unknown keys and repeated names, every problem at once", () => {
    const parsed = PluginConfig.parse(
      config([
        { PluginName: "a", AssemblyName: "http", ReadOnly: true },
        { PluginName: "a", AssemblyName: "http", Colour: "red" }
      ])
    )
    expect(Either.isLeft(parsed)).toBe(true)
    const problems = Either.isLeft(parsed) ? parsed.left.problems : []
    expect(problems).toEqual(
      expect.arrayContaining([
        "Plugins.Upstream[0].ReadOnly: applies to DocumentStorage plugins only",
        expect.stringMatching(/Plugins\.Upstream\[1\]\.Colour: unknown key/)
      ])
    )
  })

  it("loads the built-in http upstream; wrong settings or template leave it failed with the reason, reported", async () => {
    const parsed = Either.getOrThrow(
      PluginConfig.parse(
        config([
          { PluginName: "good", AssemblyName: "http", Parameters: { UrlTemplate: "http://127.0.0.1:9/{id}", CacheTtlSeconds: "60", Retention: "cache" } },
          { PluginName: "no-template", AssemblyName: "http", Parameters: { UrlTemplate: "http://127.0.0.1:9/fixed" } },
          { PluginName: "bad-retention", AssemblyName: "http", Parameters: { UrlTemplate: "http://x/{id}", Retention: "Forever" } },
          { PluginName: "ftp", AssemblyName: "http", Parameters: { UrlTemplate: "ftp://x/{id}" } },
          { PluginName: "nothing", AssemblyName: "no-such-upstream" },
          { PluginName: "off", IsEnabled: false, AssemblyName: "http" }
        ])
      )
    )
    const { value: plugins, close } = await runScoped(Plugins.load(parsed))
    try {
      const report = plugins.report().filter((r) => r.section === "Upstream")
      expect(report.map((r) => [r.name, r.state])).toEqual([
        ["good", "ready"],
        ["no-template", "failed"],
        ["bad-retention", "failed"],
        ["ftp", "failed"],
        ["nothing", "failed"],
        ["off", "disabled"]
      ])
      expect(report[1]!.failure).toMatch(/has no \{id\} or \{path\}/)
      expect(report[2]!.failure).toMatch(/Retention must be Permanent or Cache, not "Forever"/)
      expect(report[3]!.failure).toMatch(/must be an http or https URL/)
      expect(report[4]!.failure).toMatch(/no-such-upstream/)
      const good = plugins.upstreams!.find((u) => u.name === "good")!
      expect(good.settings).toEqual({ retention: "Cache", cacheTtl: 60_000, maxBytes: 1024 * 1024 * 1024, timeout: 30_000 })
    } finally {
      await close()
    }
  })

  it("reads the host's settings with their defaults (Permanent, 6 h, 1 GiB, 30 s)", () => {
    expect(Upstream.settingsOf({})).toEqual({ retention: "Permanent", cacheTtl: 6 * 3_600_000, maxBytes: 1024 ** 3, timeout: 30_000 })
    expect(Upstream.settingsOf({ maxbytes: "-1" })).toMatch(/MaxBytes must be a positive number/)
  })
})
