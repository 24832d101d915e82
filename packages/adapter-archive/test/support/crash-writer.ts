/**
 * Child process of the crash test: saves a few objects into a filesystem storage, printing each
 * acknowledged locator with its SHA-256, then starts an endless slow write and waits to be killed.
 */
import { createHash, randomBytes } from "node:crypto"
import { setTimeout as sleep } from "node:timers/promises"
import { FilesystemStorage } from "@uws-kit/adapter-archive"
import { Plugin } from "@uws-kit/core"

const dir = process.argv[2]!
const plugin = FilesystemStorage.make()
const ready = await plugin.initialize!(new Plugin.PluginParameters({ DocumentsFolderPath: dir }))
if ((ready as { _tag: string })._tag !== "Right") throw new Error(`initialise failed: ${JSON.stringify(ready)}`)

for (let i = 0; i < 5; i++) {
  const bytes = randomBytes(50_000 + i * 7_000)
  const saved = (await plugin.save({
    containerId: "crash",
    name: `document-${i}`,
    content: (async function* () {
      for (let at = 0; at < bytes.length; at += 8192) yield bytes.subarray(at, at + 8192)
    })()
  })) as { _tag: string; right: string }
  if (saved._tag !== "Right") throw new Error(`save failed: ${JSON.stringify(saved)}`)
  process.stdout.write(`ACK ${saved.right} ${createHash("sha256").update(bytes).digest("hex")}\n`)
}

let chunks = 0
void plugin.save({
  containerId: "crash",
  name: "interrupted",
  content: (async function* () {
    for (;;) {
      yield randomBytes(64 * 1024)
      if (++chunks === 16) process.stdout.write("WRITING\n")
      await sleep(2)
    }
  })()
})
