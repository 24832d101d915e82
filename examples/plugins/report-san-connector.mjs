// The seed's example SanConnector plugin, in JavaScript: after the background step of every
// container it writes the container's signatures into `<Folder>/<container id>/` and a short
// report (or, when the step failed, the failure). Loaded with dynamic import() from
// plugin-config.json (AssemblyName "./plugins/report-san-connector.mjs"); it never throws and
// answers Results ({ _tag: "Left" | "Right" }), as the contract asks.
import { createWriteStream } from "node:fs"
import { mkdir, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"

const right = { _tag: "Right", right: undefined }
const left = (message) => ({ _tag: "Left", left: message })

export default class ReportSanConnector {
  folder = ""

  initialize(parameters) {
    const folder = parameters.get("Folder")
    if (!folder) return left('the parameter "Folder" is required')
    this.folder = folder
    return right
  }

  async process(container) {
    const dir = path.join(this.folder, container.id)
    try {
      await mkdir(dir, { recursive: true })
      if (!container.succeeded) {
        await writeFile(path.join(dir, "report.txt"), `Error. Container status: ${container.statusName}. ${container.failure ?? ""}\n`)
        return right
      }
      const lines = []
      for (const [i, signature] of container.signatures.entries()) {
        await pipeline(Readable.from(signature.open()), createWriteStream(path.join(dir, `signature-${i}.sig`)))
        const hash = container.hashes.find((h) => h.of === `signature-${i + 1}`)
        lines.push(`Signature ${i} (${signature.fileName}, ${signature.size} bytes): ${hash ? `${hash.algorithm} ${hash.value}` : "no hash"}.`)
        // The seed's line; the date is when the signature's newest time-stamp stops being verifiable.
        if (signature.expires != null) lines.push(`Signature ${i} expiration date: ${new Date(signature.expires).toISOString()}.`)
      }
      lines.push(`Next archive time-stamp: ${container.signatureUpdateDate === null ? "none" : new Date(container.signatureUpdateDate).toISOString()}.`)
      await writeFile(path.join(dir, "report.txt"), lines.join("\n") + "\n")
      return right
    } catch (e) {
      return left(`cannot write the report of ${container.id} in ${dir}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
}
