/**
 * The archive's plugin-backed result store with its locators kept in SQL (SQLite and
 * PostgreSQL): contents in the filesystem storage, the (job, key) → locator index beside the jobs.
 * It runs the ResultStore conformance suite, and its index survives reopening the database.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { FilesystemStorage, PluginResultStore, Storage } from "@uws-kit/adapter-archive"
import { Content } from "@uws-kit/core"
import { testResultStore } from "@uws-kit/core/ResultStoreSuite"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshList, makePgDatabase, makeSqliteFile } from "../packages/store-sql/test/databases.js"

for (const [name, create] of [
  ["SQLite", makeSqliteFile],
  ["PostgreSQL", makePgDatabase]
] as const) {
  describe(`PluginResultStore with its locators in ${name}`, () => {
    let db: SqlDatabase.Database
    let url = ""
    let drop: () => Promise<void> = async () => {}
    const dirs: Array<string> = []
    beforeAll(async () => {
      const made = await create()
      url = made.url
      drop = made.drop
      db = await SqlDatabase.open(url)
    })
    afterAll(async () => {
      await db?.close()
      await drop()
      for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
    })
    const storage = async (dir?: string) => {
      const folder = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "uws-locators-")))
      if (dir === undefined) dirs.push(folder)
      return { folder, storage: await Effect.runPromise(Storage.host("fs", FilesystemStorage.make(), { DocumentsFolderPath: folder })) }
    }

    testResultStore({
      name: `PluginResultStore + SqlLocatorIndex (${name})`,
      runs: 8,
      make: async () => PluginResultStore.make((await storage()).storage, { index: db.locatorIndex(freshList()) })
    })

    it("finds its contents again after the database is reopened", async () => {
      const list = freshList()
      const { folder, storage: s } = await storage()
      await Effect.runPromise(PluginResultStore.make(s, { index: db.locatorIndex(list) }).put("job", "results/r", "kept ✓", "text/plain"))
      const again = await SqlDatabase.open(url)
      try {
        const reopened = PluginResultStore.make((await storage(folder)).storage, { index: again.locatorIndex(list) })
        const got = await Effect.runPromise(reopened.get("job", "results/r"))
        expect(got?.mimeType).toBe("text/plain")
        const bytes = await Effect.runPromise(Stream.runCollect(got!.stream).pipe(Effect.map((c) => Content.concat([...c]))))
        expect(new TextDecoder().decode(bytes)).toBe("kept ✓")
      } finally {
        await again.close()
      }
    })
  })
}
