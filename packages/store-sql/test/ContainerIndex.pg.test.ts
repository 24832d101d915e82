/** The archive's index contract, run by the SQL index on an SQLite file and on PostgreSQL. */
import { testContainerIndex } from "@uws-kit/adapter-archive/ContainerIndexSuite"
import { SqlDatabase } from "@uws-kit/store-sql"
import { afterAll, beforeAll, describe } from "vitest"
import { freshList, makePgDatabase, makeSqliteFile } from "./databases.js"

const onDatabase = (name: string, create: () => Promise<{ readonly url: string; readonly drop: () => Promise<void> }>) =>
  describe(name, () => {
    let db: SqlDatabase.Database
    let drop: () => Promise<void> = async () => {}
    beforeAll(async () => {
      const made = await create()
      drop = made.drop
      db = await SqlDatabase.open(made.url)
    })
    afterAll(async () => {
      await db?.close()
      await drop()
    })
    testContainerIndex({ name, runs: 30, make: async () => db.containerIndex(freshList()), copies: async () => db.copyCatalogue(freshList()) })
  })

onDatabase("SQLite (temporary file)", makeSqliteFile)
onDatabase("PostgreSQL (a database of its own)", makePgDatabase)
