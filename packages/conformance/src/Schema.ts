/**
 * XML validation against the UWS 1.1 schema, in process: libxml2 compiled to WebAssembly
 * (`xmllint-wasm`), the schema and its xlink import shipped with this package, so nothing is
 * installed on the system and nothing is fetched from the network.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { validateXML } from "xmllint-wasm"

/**
 * @since 0.1.0
 * @category models
 */
export interface Document {
  /** The request that answered the document (a curl line) and its status. */
  readonly name: string
  readonly xml: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Verdict {
  readonly name: string
  readonly valid: boolean
  /** xmllint's messages for this document, without its file name. */
  readonly errors: ReadonlyArray<string>
}

const schemaDir = new URL("../schemas/", import.meta.url)

let schemas: Promise<{ readonly uws: string; readonly xlink: string }> | undefined

// The schema imports xlink from its ivoa.net URL; the shipped copy answers for it.
const loadSchemas = () =>
  (schemas ??= Promise.all([readFile(new URL("UWS-v1.1.xsd", schemaDir), "utf8"), readFile(new URL("xlink.xsd", schemaDir), "utf8")]).then(
    ([uws, xlink]) => ({ uws: uws.replace("http://www.ivoa.net/xml/Xlink/xlink.xsd", "xlink.xsd"), xlink })
  ))

/**
 * Validates every document against UWS-v1.1.xsd (one xmllint run for all of them).
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = async (documents: ReadonlyArray<Document>): Promise<ReadonlyArray<Verdict>> => {
  if (documents.length === 0) return []
  const { uws, xlink } = await loadSchemas()
  const fileName = (i: number) => `doc${i}.xml`
  const result = await validateXML({
    xml: documents.map((d, i) => ({ fileName: fileName(i), contents: d.xml })),
    schema: [{ fileName: "UWS-v1.1.xsd", contents: uws }],
    preload: [{ fileName: "xlink.xsd", contents: xlink }],
    maxMemoryPages: 4096
  })
  const byFile = new Map<string, Array<string>>()
  const unplaced: Array<string> = []
  for (const e of result.errors) {
    if (e.loc === null) unplaced.push(e.rawMessage)
    else byFile.set(e.loc.fileName, [...(byFile.get(e.loc.fileName) ?? []), `line ${e.loc.lineNumber}: ${e.message}`])
  }
  // xmllint also says "docN.xml fails to validate" in lines it does not place; those name the file.
  for (const line of unplaced) {
    const m = /^(doc\d+\.xml)\b/.exec(line)
    if (m !== null && !byFile.has(m[1]!)) byFile.set(m[1]!, [line.slice(m[1]!.length).trim()])
  }
  return documents.map((d, i) => {
    const errors = byFile.get(fileName(i)) ?? []
    return { name: d.name, valid: errors.length === 0, errors }
  })
}
