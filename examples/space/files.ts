/**
 * The files of the spaces over plain HTTP, owner only (the shared contract with app-cea):
 *
 *     PUT    /spaces/<spaceId>/<name>   write (replace) a file; 201, or 413 past the space's size
 *     GET    /spaces/<spaceId>/<name>   read it (HEAD too)
 *     DELETE /spaces/<spaceId>/<name>   remove it; 204
 *     GET    /spaces/<spaceId>/         the file names, one a line (text/plain)
 *
 * Who may: the space job's owner, as the UWS service decides (`service.get`): someone else's
 * space answers 403, an unknown or destroyed one 404, one whose job has not run yet 409.
 */
import { createReadStream, createWriteStream } from "node:fs"
import { readdir, rename, rm, stat } from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Job } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import type { UwsService } from "@uws-kit/core/Uws"
import { Effect, Either } from "effect"
import { fileName, isSpaceId, MAX_FILES, sizeOf } from "./index.js"
import { spaceFolder } from "./worker.js"

const text = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

class TooLarge extends Error {}

/** Passes at most `limit` bytes through; one more fails the stream. */
const limited = (limit: number) => {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(seen > limit ? new TooLarge() : null, chunk)
    }
  })
}

/** The files a space holds (no temporary ones), with their sizes. */
const filesOf = async (folder: string) => {
  const names = (await readdir(folder)).filter((n) => fileName(n).ok)
  return Promise.all(names.sort().map(async (name) => ({ name, size: (await stat(path.join(folder, name))).size })))
}

export const spaceFiles = (options: {
  readonly service: UwsService
  readonly root: string
  readonly identify: (req: IncomingMessage) => Caller
  /** Where the files are mounted (default `/spaces`): requests come with it, unstripped. */
  readonly prefix?: string
}) => async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const prefix = options.prefix ?? "/spaces"
  const [, spaceId = "", ...rest] = (req.url ?? "/").split("?")[0]!.slice(prefix.length).split("/")
  if (!isSpaceId(spaceId)) return text(res, 404, "No such space.\n")
  const job = await Effect.runPromise(Effect.either(options.service.get(options.identify(req), spaceId)))
  if (Either.isLeft(job)) {
    return job.left._tag === "Forbidden" ? text(res, 403, "This space belongs to someone else.\n") : text(res, 404, "No such space (or its lease has ended).\n")
  }
  if (job.right.phase !== "COMPLETED") return text(res, 409, `The space is not ready: its job is ${job.right.phase}.\n`)
  const folder = spaceFolder(options.root, spaceId)
  if (rest.length === 1 && rest[0] === "") {
    if (req.method !== "GET" && req.method !== "HEAD") return text(res, 405, "Only GET lists a space.\n", { allow: "GET, HEAD" })
    const files = await filesOf(folder).catch(() => undefined)
    if (files === undefined) return text(res, 404, "No such space (or its lease has ended).\n")
    return text(res, 200, files.map((f) => `${f.name}\n`).join(""))
  }
  const name = rest.length === 1 ? fileName(rest[0]!) : { ok: false as const, reason: "a space holds files, not folders" }
  if (!name.ok) return text(res, 400, `Bad file name: ${name.reason}.\n`)
  const file = path.join(folder, name.name)
  switch (req.method) {
    case "GET":
    case "HEAD": {
      const info = await stat(file).catch(() => undefined)
      if (info === undefined || !info.isFile()) return text(res, 404, `No file ${name.name} in this space.\n`)
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": info.size })
      if (req.method === "HEAD") return void res.end()
      return pipeline(createReadStream(file), res).catch(() => void res.destroy())
    }
    case "DELETE": {
      const info = await stat(file).catch(() => undefined)
      if (info === undefined) return text(res, 404, `No file ${name.name} in this space.\n`)
      await rm(file, { force: true })
      res.writeHead(204).end()
      return
    }
    case "PUT": {
      const files = await filesOf(folder).catch(() => undefined)
      if (files === undefined) return text(res, 404, "No such space (or its lease has ended).\n")
      const others = files.filter((f) => f.name !== name.name)
      if (others.length >= MAX_FILES) return text(res, 413, `A space holds at most ${MAX_FILES} files.\n`)
      const size = sizeOf(Job.parameter(job.right, "size")) as number
      const room = size - others.reduce((sum, f) => sum + f.size, 0)
      // Written aside, then renamed: a reader never sees half a file, a refused one leaves nothing.
      const temporary = path.join(folder, `.put-${process.pid}-${Math.random().toString(36).slice(2)}`)
      try {
        await pipeline(req, limited(room), createWriteStream(temporary, { flags: "wx" }))
        await rename(temporary, file)
      } catch (e) {
        await rm(temporary, { force: true })
        if (e instanceof TooLarge) {
          text(res, 413, `This space holds ${size} bytes; ${room} are free.\n`, { connection: "close" })
          return void req.resume()
        }
        return text(res, 500, "The file could not be written.\n")
      }
      return text(res, 201, `Stored ${name.name}.\n`, { location: `${prefix}/${spaceId}/${name.name}` })
    }
    default:
      return text(res, 405, "PUT, GET, HEAD or DELETE a file.\n", { allow: "PUT, GET, HEAD, DELETE" })
  }
}
