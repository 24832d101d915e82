import { testDispatcher } from "@uws-kit/core/DispatcherSuite"
import { SqlDatabase } from "@uws-kit/store-sql"
import { makePgDatabase, freshList } from "./databases.js"

testDispatcher({
  name: "PostgreSQL (SqlDispatcher, instances with their own connections)",
  make: async () => {
    const made = await makePgDatabase()
    const list = freshList()
    const main = await SqlDatabase.open(made.url)
    const open: Array<SqlDatabase.Database> = [main]
    return {
      store: main.jobStore(list),
      shared: true,
      instance: async () => {
        const db = await SqlDatabase.open(made.url)
        open.push(db)
        let stopped = false
        const stop = async () => {
          if (stopped) return
          stopped = true
          await db.close()
        }
        return { dispatcher: db.dispatcher(list, { leaseMillis: 600, pollMillis: 200 })!, stop }
      },
      dispose: async () => {
        for (const db of open) await db.close().catch(() => undefined)
        await made.drop()
      }
    }
  }
})
