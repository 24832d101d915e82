import { PluginConfig } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

// The two examples of the seed, as printed there.
const seedStorage = {
  Plugins: {
    DocumentStorage: [
      {
        IsEnabled: true,
        ReadOnly: false,
        PluginName: "filesystem_01",
        AssemblyName: "FilesystemStoragePlugin.dll",
        Parameters: { DocumentsFolderPath: "/home/username/documents" }
      }
    ]
  }
}
const seedSanConnector = {
  Plugins: {
    SanConnector: [
      { IsEnabled: true, PluginName: "SanConnector_01", AssemblyName: "FilesystemSanConnectorPlugin.dll", Parameters: { Folder: "/home/username/containers" } }
    ]
  }
}

const problems = (json: unknown) => {
  const r = PluginConfig.parse(json)
  return Either.isLeft(r) ? r.left.problems : []
}

describe("PluginConfig.parse", () => {
  it("reads the seed's two examples", () => {
    expect(PluginConfig.parse(seedStorage)).toEqual(
      Either.right({
        documentStorage: [
          {
            section: "DocumentStorage",
            path: "Plugins.DocumentStorage[0]",
            enabled: true,
            readOnly: false,
            name: "filesystem_01",
            assembly: "FilesystemStoragePlugin.dll",
            parameters: { DocumentsFolderPath: "/home/username/documents" }
          }
        ],
        sanConnector: []
      })
    )
    const san = Either.getOrThrow(PluginConfig.parse(seedSanConnector))
    expect(san.sanConnector.map((e) => [e.name, e.readOnly, e.parameters])).toEqual([["SanConnector_01", false, { Folder: "/home/username/containers" }]])
  })

  it("matches keys case-insensitively, as .NET's binder does, and keeps the declared order", () => {
    const config = Either.getOrThrow(
      PluginConfig.parse({ plugins: { sanconnector: [1, 2, 3].map((i) => ({ isenabled: true, pluginname: `p${i}`, assemblyname: "x.mjs" })) } })
    )
    expect(config.sanConnector.map((e) => e.name)).toEqual(["p1", "p2", "p3"])
  })

  it("lists every problem of a file in one message, with its path", () => {
    const r = PluginConfig.parse({
      Plugins: {
        DocumentStorage: [
          { IsEnabled: "yes", PluginName: "", AssemblyName: "memory" },
          { IsEnabled: true, PluginName: "a", AssemblyName: "memory", Parameters: { Path: "x", PATH: "y" }, Colour: "red" },
          { IsEnabled: true, PluginName: "A", AssemblyName: "", ReadOnly: 1 },
          { IsEnabled: true, pluginName: "b", PluginName: "b", AssemblyName: "memory" }
        ],
        SanConnector: [{ IsEnabled: true, ReadOnly: true, PluginName: "s", AssemblyName: "x.mjs", Parameters: { Nested: { a: 1 } } }],
        PostProcessors: []
      }
    })
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isRight(r)) return
    const text = r.left.message
    for (const expected of [
      "Plugins.PostProcessors: unknown key",
      "Plugins.DocumentStorage[0].IsEnabled: must be true or false",
      "Plugins.DocumentStorage[0].PluginName: must be a non-empty string",
      'Plugins.DocumentStorage[1].Parameters: "Path" and "PATH" are the same parameter in different case',
      "Plugins.DocumentStorage[1].Colour: unknown key",
      "Plugins.DocumentStorage[2].ReadOnly: must be true or false",
      "Plugins.DocumentStorage[2].AssemblyName: must be",
      'Plugins.DocumentStorage[3]: "pluginName" and "PluginName" are the same key in different case',
      "Plugins.SanConnector[0].ReadOnly: applies to DocumentStorage plugins only",
      "Plugins.SanConnector[0].Parameters.Nested: must be a string, number or boolean"
    ]) {
      expect(text).toContain(expected)
    }
    expect(r.left.problems.length).toBe(10)
    expect(text).toMatch(/^plugin-config\.json is invalid \(10 problems\):\n  - /)
  })

  it("refuses repeated plugin names (case-insensitively) and a missing Plugins section", () => {
    expect(problems({ Plugins: { DocumentStorage: [{ PluginName: "fs", AssemblyName: "memory" }, { PluginName: "FS", AssemblyName: "memory" }] } })).toEqual([
      'Plugins.DocumentStorage[1].PluginName: "FS" is already used by Plugins.DocumentStorage[0] (names must be unique)'
    ])
    expect(problems({})).toEqual(['Plugins: missing (expected { "DocumentStorage": [...], "SanConnector": [...] })'])
    expect(problems([])).toHaveLength(1)
    expect(Either.isLeft(PluginConfig.parseText("{ not json"))).toBe(true)
    expect(Either.isRight(PluginConfig.parseText("\uFEFF" + JSON.stringify(seedStorage)))).toBe(true)
  })

  it("property: never throws, whatever the JSON; an accepted file has unique non-empty names", () => {
    const entry = fc.record(
      {
        IsEnabled: fc.oneof(fc.boolean(), fc.jsonValue()),
        ReadOnly: fc.oneof(fc.boolean(), fc.jsonValue()),
        PluginName: fc.oneof(fc.constantFrom("a", "b", "A", " ", ""), fc.jsonValue()),
        AssemblyName: fc.oneof(fc.constantFrom("memory", "x.mjs", ""), fc.jsonValue()),
        Parameters: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.jsonValue())), fc.jsonValue())
      },
      { requiredKeys: [] }
    )
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ Plugins: fc.record({ DocumentStorage: fc.array(entry), SanConnector: fc.array(entry) }, { requiredKeys: [] }) })),
        (json) => {
          const r = PluginConfig.parse(json)
          if (Either.isRight(r)) {
            for (const list of [r.right.documentStorage, r.right.sanConnector]) {
              const names = list.map((e) => e.name.toLowerCase())
              expect(new Set(names).size).toBe(names.length)
              expect(names.every((n) => n.trim() !== "")).toBe(true)
            }
          } else {
            expect(r.left.problems.length).toBeGreaterThan(0)
          }
        }
      ),
      { numRuns: propertyRuns(300) }
    )
  })
})
