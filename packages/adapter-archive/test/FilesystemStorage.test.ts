import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { FilesystemStorage } from "@uws-kit/adapter-archive"
import { testStoragePlugin } from "@uws-kit/adapter-archive/testing"

testStoragePlugin({
  name: "filesystem",
  reportsSha256: true,
  make: async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-fs-"))
    return {
      plugin: FilesystemStorage.make(),
      parameters: { DocumentsFolderPath: dir },
      cleanup: () => fs.rm(dir, { recursive: true, force: true })
    }
  }
})
