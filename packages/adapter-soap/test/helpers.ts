/**
 * Test helpers: SOAP requests written by hand (so that tests control every byte) and replies
 * read back with the adapter's own namespace-aware reader.
 */
import { Namespaces } from "@uws-kit/adapter-soap"
import { Xml } from "@uws-kit/http"

type XmlElement = Xml.Element
const parseDocument = Xml.read

export const TNS = Namespaces.uwsSoap
export const BASE = "http://uws.test/soap"

export interface RequestOptions {
  readonly version?: "1.1" | "1.2"
  readonly resourceId?: string
  readonly messageId?: string
  /** The HTTP action (SOAPAction / action parameter); `false` = none. Default: the operation's. */
  readonly action?: string | false
  /** A wsa:Action header; absent = none. */
  readonly wsaAction?: string
  /** Extra header blocks (XML). */
  readonly headerXml?: string
  /** Extra HTTP headers. */
  readonly httpHeaders?: Record<string, string>
  readonly url?: string
}

export const envNs = (version: "1.1" | "1.2") => (version === "1.1" ? Namespaces.soap11 : Namespaces.soap12)

/** A request envelope for `op` with `content` inside its wrapper. */
export const envelope = (op: string, content: string, options: RequestOptions = {}): string => {
  const version = options.version ?? "1.1"
  let header = options.headerXml ?? ""
  if (options.wsaAction !== undefined) header += `<wsa:Action>${options.wsaAction}</wsa:Action>`
  if (options.messageId !== undefined) header += `<wsa:MessageID>${options.messageId}</wsa:MessageID>`
  if (options.resourceId !== undefined) header += `<u:ResourceIdentifier>${options.resourceId}</u:ResourceIdentifier>`
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<s:Envelope xmlns:s="${envNs(version)}" xmlns:u="${TNS}" xmlns:wsa="${Namespaces.wsa}" xmlns:xsi="${Namespaces.xsi}">` +
    (header === "" ? "" : `<s:Header>${header}</s:Header>`) +
    `<s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`
  )
}

/** The HTTP request carrying an envelope. */
export const request = (xml: string | Uint8Array<ArrayBuffer>, op: string, options: RequestOptions = {}): Request => {
  const version = options.version ?? "1.1"
  const action = options.action === false ? undefined : (options.action ?? `${TNS}:${op}`)
  const headers: Record<string, string> =
    version === "1.1"
      ? { "content-type": "text/xml; charset=utf-8", ...(action === undefined ? {} : { soapaction: `"${action}"` }) }
      : { "content-type": `application/soap+xml; charset=utf-8${action === undefined ? "" : `; action="${action}"`}` }
  return new Request(options.url ?? BASE, { method: "POST", headers: { ...headers, ...options.httpHeaders }, body: xml })
}

export interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
  readonly root: XmlElement | undefined
  readonly header: ReadonlyArray<XmlElement>
  /** The body's single element. */
  readonly body: XmlElement | undefined
  readonly fault: { readonly code: string; readonly tag: string; readonly reason: string; readonly subcode?: string } | undefined
}

const child = (e: XmlElement | undefined, local: string) => e?.children.find((c) => c.local === local)

/** Reads any reply (SOAP or not). */
export const read = async (response: Response): Promise<Reply> => {
  const text = await response.text()
  const doc = text.startsWith("<?xml") || text.startsWith("<soap") ? parseDocument(text) : undefined
  const root = doc !== undefined && "root" in doc ? doc.root : undefined
  const header = child(root, "Header")?.children ?? []
  const body = child(root, "Body")?.children[0]
  let fault: Reply["fault"]
  if (body?.local === "Fault") {
    const detail = child(child(body, "detail") ?? child(body, "Detail"), "uwsFault")
    const tag = child(detail, "error")?.text ?? ""
    const code = child(body, "faultcode")?.text ?? child(child(body, "Code"), "Value")?.text ?? ""
    const reason = child(body, "faultstring")?.text ?? child(child(body, "Reason"), "Text")?.text ?? ""
    const subcode = child(child(child(body, "Code"), "Subcode"), "Value")?.text
    fault = subcode === undefined ? { code, tag, reason } : { code, tag, reason, subcode }
  }
  return { status: response.status, contentType: response.headers.get("content-type"), text, root, header, body, fault }
}

/** Sends one operation and reads the reply. */
export const call = async (
  handler: (r: Request) => Promise<Response>,
  op: string,
  content = "",
  options: RequestOptions = {}
): Promise<Reply> => read(await handler(request(envelope(op, content, options), op, options)))

/** The text of a field of a response wrapper. */
export const field = (reply: Reply, local: string): string | undefined => child(reply.body, local)?.text

/** Whether a field of a response wrapper is xsi:nil. */
export const isNilField = (reply: Reply, local: string): boolean =>
  child(reply.body, local)?.attributes.some((a) => a.local === "nil" && a.value === "true") ?? false

/** A header block of a reply, by local name. */
export const headerText = (reply: Reply, local: string): string | undefined => reply.header.find((h) => h.local === local)?.text

export { child }
