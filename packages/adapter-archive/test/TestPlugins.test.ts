/**
 * Storage plugins written the other ways the contract allows run the same conformance suite:
 * one in fp-ts style (every operation a TaskEither), one answering Effects.
 */
import { randomUUID } from "node:crypto"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import { testStoragePlugin } from "@uws-kit/adapter-archive/testing"
import { Effect } from "effect"
import * as E from "fp-ts/lib/Either.js"
import * as TE from "fp-ts/lib/TaskEither.js"

const taskEitherPlugin = (): StoragePlugin.StoragePlugin => {
  const objects = new Map<string, Uint8Array>()
  const valid = (locator: string) => /^[0-9a-f-]{36}$/.test(locator)
  return {
    save: (object) =>
      TE.tryCatch(
        async () => {
          const chunks: Array<Uint8Array> = []
          for await (const chunk of object.content) chunks.push(Buffer.from(chunk))
          const locator = randomUUID()
          objects.set(locator, Buffer.concat(chunks))
          return locator
        },
        (e) => `save failed: ${String(e)}`
      ),
    get: (locator) => {
      const bytes = objects.get(locator)
      async function* content() {
        yield bytes!
      }
      return bytes === undefined ? TE.left(`no object ${locator}`) : TE.right({ content: content(), size: bytes.length })
    },
    stat: (locator) => TE.fromEither(E.right(objects.has(locator) ? { size: objects.get(locator)!.length } : null)),
    delete: (locator) => (valid(locator) ? (objects.delete(locator), TE.right(undefined)) : TE.left(`"${locator}" is not a locator of this storage`))
  }
}

const effectPlugin = (): StoragePlugin.StoragePlugin => {
  const objects = new Map<string, Uint8Array>()
  return {
    initialize: (parameters) => (parameters.get("Region") === "eu-1" ? Effect.void : Effect.fail(`Region must be eu-1, not ${parameters.get("Region")}`)),
    save: (object) =>
      Effect.tryPromise({
        try: async () => {
          const chunks: Array<Uint8Array> = []
          for await (const chunk of object.content) chunks.push(Buffer.from(chunk))
          const locator = `obj-${randomUUID()}`
          objects.set(locator, Buffer.concat(chunks))
          return locator
        },
        catch: (e) => `save failed: ${String(e)}`
      }),
    get: (locator) => {
      const bytes = objects.get(locator)
      async function* content() {
        yield bytes!
      }
      return bytes === undefined ? Effect.fail(`no object ${locator}`) : Effect.succeed({ content: content() })
    },
    stat: (locator) => Effect.succeed(objects.has(locator) ? { size: objects.get(locator)!.length } : null),
    delete: (locator) => Effect.sync(() => void objects.delete(locator))
  }
}

testStoragePlugin({ name: "fp-ts TaskEither test plugin", make: () => ({ plugin: taskEitherPlugin() }) })
testStoragePlugin({ name: "Effect test plugin", make: () => ({ plugin: effectPlugin(), parameters: { Region: "eu-1" } }) })
