/**
 * The `space` worker: running the job makes the space's folder and answers its identifier as
 * the one result `space`; forgetting the job (destroy, DELETE, or the lease running out)
 * removes the folder and every file in it (`Worker.release`).
 */
import { mkdir, rm } from "node:fs/promises"
import * as path from "node:path"
import { Job, Worker } from "@uws-kit/core"
import { isSpaceId, sizeOf, vosId } from "./index.js"

/** The folder of a space under `root` (the id is checked first: it names a folder). */
export const spaceFolder = (root: string, spaceId: string): string => {
  if (!isSpaceId(spaceId)) throw new Error(`not a space id: ${JSON.stringify(spaceId)}`)
  return path.join(root, spaceId)
}

export const spaceWorker = (root: string): Worker.Worker =>
  Worker.make({
    name: "space",
    validate: (parameters) => {
      const unknown = parameters.find((p) => p.name.toLowerCase() !== "size")
      if (unknown !== undefined) return { _tag: "Left", left: `space takes one parameter, size (bytes); not "${unknown.name}".` }
      const size = sizeOf(Job.parameter({ parameters }, "size"))
      return typeof size === "string" ? { _tag: "Left", left: size } : { _tag: "Right", right: parameters }
    },
    // Making a folder again is harmless.
    restartable: true,
    quote: () => 0,
    run: async (job) => {
      await mkdir(spaceFolder(root, job.jobId), { recursive: true })
      return [{ id: "space", href: vosId(job.jobId) }]
    },
    release: (job) => rm(spaceFolder(root, job.jobId), { recursive: true, force: true })
  })
