/**
 * The root README's mounting snippets stay the code the mount tests run: every line of a code
 * block marked `<!-- checked: path -->` (comments and blank lines aside) is a line of that file.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const root = join(fileURLToPath(new URL(".", import.meta.url)), "../..")
const readme = readFileSync(join(root, "README.md"), "utf8")
const checked = [...readme.matchAll(/<!-- checked: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)].map(([, path, code]) => ({ path: path!, code: code! }))

it("finds the checked blocks", () => {
  expect(checked.map((block) => block.path)).toEqual(["test/mounts/hosts.ts", "test/mounts/EffectHost.test.ts"])
})

it.each(checked)("every line of the block from $path is a line of it", ({ path, code }) => {
  const lines = new Set(readFileSync(join(root, path), "utf8").split("\n").map((line) => line.trim()))
  const shown = code
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("//"))
  expect(shown.filter((line) => !lines.has(line))).toEqual([])
})
