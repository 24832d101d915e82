/**
 * SOAP envelopes: the version from the HTTP content type, the request envelope read
 * namespace-aware (header blocks, WS-Addressing, the job's `ResourceIdentifier`, the single body
 * element), and response and fault envelopes written back in the request's version.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import * as Fault from "./Fault.js"
import type { QName, SoapFault, SoapVersion } from "./Fault.js"
import * as Namespaces from "./Namespaces.js"
import { Xml } from "@uws-kit/http"
import { attribute, clark, escapeText, type XmlElement } from "./internal/xml.js"

/**
 * What the HTTP layer says about a SOAP request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly version: SoapVersion
  /** SOAP 1.1 `SOAPAction` or the SOAP 1.2 `action` media-type parameter, unquoted; `undefined` when absent or empty. */
  readonly action: string | undefined
  /** The `charset` media-type parameter, lower case (default `utf-8`). */
  readonly charset: string
}

/**
 * A request envelope, read.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestEnvelope {
  readonly version: SoapVersion
  /** The operation element: the single child of the Body. */
  readonly body: Xml.Element
  readonly addressing: {
    readonly action: string | undefined
    readonly messageId: string | undefined
    readonly to: string | undefined
  }
  /** The job named by the `ResourceIdentifier` header block. */
  readonly resourceId: string | undefined
}

interface MediaType {
  readonly type: string
  readonly params: ReadonlyMap<string, string>
}

// Clients send the same few Content-Types again and again: each is parsed once (bounded).
const parsedTypes = new Map<string, MediaType | undefined>()
const MAX_PARSED_TYPES = 256

const parseMediaType = (value: string): MediaType | undefined => {
  if (parsedTypes.has(value)) return parsedTypes.get(value)
  const media = parseMediaTypeOnce(value)
  if (parsedTypes.size >= MAX_PARSED_TYPES) parsedTypes.clear()
  parsedTypes.set(value, media)
  return media
}

const parseMediaTypeOnce = (value: string): MediaType | undefined => {
  const [head, ...rest] = value.split(";")
  const type = head!.trim().toLowerCase()
  if (!/^[\w.+-]+\/[\w.+-]+$/.test(type)) return undefined
  const params = new Map<string, string>()
  // Parameters may be quoted strings holding ';' (a SOAP 1.2 action URI can): re-join and scan.
  const text = rest.join(";")
  const re = /\s*([\w.+-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*(?:;|$)/gy
  let m: RegExpExecArray | null
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const raw = m[2]!.trim()
    params.set(m[1]!.toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw)
    if (m[0] === "") break
  }
  return { type, params }
}

const unquote = (s: string) => {
  const t = s.trim()
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t
}

/**
 * Reads the SOAP version and action from the HTTP request: `text/xml` with `SOAPAction` is
 * SOAP 1.1, `application/soap+xml` (with an optional `action` parameter) is SOAP 1.2. Anything
 * else is refused (`UnsupportedMediaType`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const transport = (contentType: string | undefined, soapAction: string | undefined): Either.Either<Transport, SoapFault> => {
  const media = contentType === undefined ? undefined : parseMediaType(contentType)
  if (media === undefined) {
    return Either.left(
      Fault.make("UnsupportedMediaType", `a SOAP request needs Content-Type text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)${contentType === undefined ? "" : `, not "${contentType}"`}.`)
    )
  }
  const charset = (media.params.get("charset") ?? "utf-8").toLowerCase()
  if (media.type === "text/xml") {
    const action = soapAction === undefined ? undefined : unquote(soapAction)
    return Either.right({ version: "1.1", action: action === "" ? undefined : action, charset })
  }
  if (media.type === "application/soap+xml") {
    const action = media.params.get("action")
    return Either.right({ version: "1.2", action: action === "" ? undefined : action, charset })
  }
  return Either.left(
    Fault.make("UnsupportedMediaType", `a SOAP request needs Content-Type text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2), not "${media.type}".`)
  )
}

const envelopeNs = (version: SoapVersion) => (version === "1.1" ? Namespaces.soap11 : Namespaces.soap12)

/** WS-Addressing header blocks this endpoint understands (it replies on the same connection). */
const WSA_UNDERSTOOD = new Set(["Action", "MessageID", "To", "ReplyTo", "FaultTo", "From", "RelatesTo"])
const WSA_SINGLE = new Set(["Action", "MessageID", "To", "ReplyTo", "FaultTo", "From"])

const isTrue = (value: string | undefined, version: SoapVersion) =>
  value !== undefined && (value.trim() === "1" || (version === "1.2" && value.trim() === "true"))

/** Whether a header block is addressed to this node (SOAP 1.1 actor / SOAP 1.2 role). */
const targetsUs = (block: XmlElement, version: SoapVersion) => {
  if (version === "1.1") {
    const actor = attribute(block, Namespaces.soap11, "actor")
    return actor === undefined || actor === "http://schemas.xmlsoap.org/soap/actor/next"
  }
  const role = attribute(block, Namespaces.soap12, "role")
  return (
    role === undefined ||
    role === "http://www.w3.org/2003/05/soap-envelope/role/next" ||
    role === "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
  )
}

const isResourceIdentifier = (block: XmlElement) =>
  block.local === "ResourceIdentifier" && (block.ns === Namespaces.uwsSoap || block.ns === Namespaces.wsa)

const simpleText = (block: XmlElement, what: string): Either.Either<string, SoapFault> =>
  block.children.length > 0
    ? Either.left(Fault.make("InvalidAddressingHeader", `the ${what} header must hold text, not elements.`))
    : Either.right(block.text.trim())

/**
 * Reads a request envelope of the given version from its text, with the one safe XML reader
 * (`Xml.read` of `@uws-kit/http`, its default limits unless `limits` says otherwise): refuses
 * DTDs (`ForbiddenDeclaration`), malformed XML and documents over a reader limit
 * (`MalformedEnvelope`, the reason naming the limit), a root that is not that version's
 * `Envelope`, a body without exactly one element, and header blocks marked mustUnderstand that
 * this endpoint does not understand.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string, version: SoapVersion, limits?: Partial<Xml.Limits>): Either.Either<RequestEnvelope, SoapFault> => {
  const doc = Xml.read(text, limits)
  if ("problem" in doc) {
    return Either.left(Fault.make(doc.problem.kind === "declaration" ? "ForbiddenDeclaration" : "MalformedEnvelope", doc.problem.message))
  }
  const root = doc.root
  if (root.local !== "Envelope" || (root.ns !== Namespaces.soap11 && root.ns !== Namespaces.soap12)) {
    return Either.left(
      Fault.make(
        root.local === "Envelope" ? "VersionMismatch" : "MalformedEnvelope",
        root.local === "Envelope"
          ? `${clark(root)} is not a SOAP envelope this endpoint supports (SOAP 1.1 or 1.2).`
          : `the document's root is ${clark(root)}, not a SOAP Envelope.`
      )
    )
  }
  const ns = envelopeNs(version)
  if (root.ns !== ns) {
    return Either.left(
      Fault.make(
        "VersionMismatch",
        `the content type announces SOAP ${version} but the envelope is SOAP ${root.ns === Namespaces.soap11 ? "1.1" : "1.2"} (use ${version === "1.1" ? "application/soap+xml for SOAP 1.2" : "text/xml for SOAP 1.1"}).`
      )
    )
  }
  if (root.text.trim() !== "") return Either.left(Fault.make("MalformedEnvelope", "the Envelope must not hold text."))
  const parts = root.children
  let index = 0
  let header: XmlElement | undefined
  if (parts[0] !== undefined && parts[0].ns === ns && parts[0].local === "Header") {
    header = parts[0]
    index = 1
  }
  let action: string | undefined
  let messageId: string | undefined
  let to: string | undefined
  let resourceId: string | undefined
  const notUnderstood: Array<QName> = []
  const seen = new Set<string>()
  for (const block of header?.children ?? []) {
    if (block.ns === "") return Either.left(Fault.make("MalformedEnvelope", `the header block <${block.local}> must be namespace-qualified.`))
    const mine = targetsUs(block, version)
    if (block.ns === Namespaces.wsa && WSA_UNDERSTOOD.has(block.local)) {
      if (WSA_SINGLE.has(block.local)) {
        if (seen.has(block.local)) return Either.left(Fault.make("InvalidAddressingHeader", `the wsa:${block.local} header may occur only once.`))
        seen.add(block.local)
      }
      if (!mine) continue
      if (block.local === "Action" || block.local === "MessageID" || block.local === "To") {
        const value = simpleText(block, `wsa:${block.local}`)
        if (Either.isLeft(value)) return Either.left(value.left)
        if (block.local === "Action") action = value.right
        else if (block.local === "MessageID") messageId = value.right
        else to = value.right
      }
      continue
    }
    if (isResourceIdentifier(block)) {
      if (seen.has("ResourceIdentifier")) {
        return Either.left(Fault.make("InvalidAddressingHeader", "the ResourceIdentifier header may occur only once."))
      }
      seen.add("ResourceIdentifier")
      if (!mine) continue
      const value = simpleText(block, "ResourceIdentifier")
      if (Either.isLeft(value)) return Either.left(value.left)
      resourceId = value.right
      continue
    }
    if (mine && isTrue(attribute(block, ns, "mustUnderstand"), version)) notUnderstood.push({ ns: block.ns, local: block.local })
  }
  const echo = messageId === undefined ? {} : { messageId }
  if (notUnderstood.length > 0) {
    return Either.left(
      Fault.make("MustUnderstand", `this endpoint does not understand the header ${notUnderstood.map((q) => `{${q.ns}}${q.local}`).join(", ")}, which is marked mustUnderstand.`, {
        notUnderstood,
        ...echo
      })
    )
  }
  const body = parts[index]
  if (body === undefined || body.ns !== ns || body.local !== "Body") {
    return Either.left(Fault.make("MalformedEnvelope", "the Envelope must hold an optional Header and then a Body.", echo))
  }
  if (parts.length > index + 1) return Either.left(Fault.make("MalformedEnvelope", "nothing may follow the Body in the Envelope.", echo))
  if (body.text.trim() !== "" || body.children.length !== 1) {
    return Either.left(
      Fault.make("MalformedEnvelope", `the Body must hold exactly one element (the operation), not ${body.children.length === 0 ? "none" : body.children.length}${body.text.trim() !== "" ? " and text" : ""}.`, echo)
    )
  }
  return Either.right({ version, body: body.children[0]!, addressing: { action, messageId, to }, resourceId })
}

const rootOpen = (version: SoapVersion) =>
  `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${envelopeNs(version)}" xmlns:u="${Namespaces.uwsSoap}" xmlns:uws="${Namespaces.uws}" xmlns:wsa="${Namespaces.wsa}" xmlns:xlink="${Namespaces.xlink}" xmlns:xsi="${Namespaces.xsi}">`

/**
 * The WS-Addressing headers of a reply: its action, what it relates to, and the job it is about.
 *
 * @since 0.1.0
 * @category rendering
 */
export const replyHeaders = (action: string, relatesTo: string | undefined, resourceId: string | undefined): string =>
  `<wsa:Action>${escapeText(action)}</wsa:Action>${relatesTo === undefined ? "" : `<wsa:RelatesTo>${escapeText(relatesTo)}</wsa:RelatesTo>`}${resourceId === undefined ? "" : `<u:ResourceIdentifier>${escapeText(resourceId)}</u:ResourceIdentifier>`}`

/**
 * A whole envelope around header blocks and body content (both already XML).
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (version: SoapVersion, headerBlocks: string, body: string): string =>
  `${rootOpen(version)}${headerBlocks === "" ? "" : `<soap:Header>${headerBlocks}</soap:Header>`}<soap:Body>${body}</soap:Body></soap:Envelope>`

/**
 * A fault envelope. It echoes the request's MessageID and job when they were read.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderFault = (
  fault: SoapFault,
  version: SoapVersion,
  request?: { readonly messageId: string | undefined; readonly resourceId: string | undefined }
): string =>
  render(
    version,
    Fault.headers(fault, version) + replyHeaders(Namespaces.faultAction, request?.messageId ?? fault.messageId, request?.resourceId),
    Fault.render(fault, version)
  )

/**
 * The content type of a response in a SOAP version.
 *
 * @since 0.1.0
 * @category rendering
 */
export const contentType = (version: SoapVersion): string =>
  version === "1.1" ? "text/xml; charset=utf-8" : "application/soap+xml; charset=utf-8"
