/**
 * A container is a job: deleting it through any binding mounted on the archive's job list (REST,
 * SOAP) must delete its documents too, not only through the archive API.
 */
import { Identity } from "@uws-kit/core"
import { MemoryStorage } from "@uws-kit/adapter-archive"
import { Effect } from "effect"
import { afterEach, expect, it } from "vitest"
import { makeHarness, nextTurn, seedForm, type Harness } from "./support/harness.js"

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})

it("a container deleted as a UWS job loses its documents from every writable storage", async () => {
  const memory = MemoryStorage.make()
  const h = await makeHarness({ storages: [{ name: "memory", plugin: memory }] })
  open.push(h)
  const id = (await h.json("POST", "/api/document/content", seedForm(), { "x-caller": "4" })).body.data as string
  await h.settle()
  expect(memory.locators().length).toBeGreaterThan(0)
  await Effect.runPromise(h.archive.uws.delete(Identity.system, id))
  for (let i = 0; i < 100 && memory.locators().length > 0; i++) await nextTurn()
  expect(memory.locators()).toEqual([])
  expect((await h.json("GET", `/api/document/${id}`)).status).toBe(404)
})
