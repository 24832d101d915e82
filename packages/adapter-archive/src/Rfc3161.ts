/**
 * RFC 3161 time-stamp protocol messages, with pkijs: the request we send to a time-stamping
 * authority (TSA) and the checks its answer must pass before a token is kept.
 *
 * What is verified: the answer is a granted `TimeStampResp`; its token is CMS SignedData over a
 * `TSTInfo` whose message imprint is the SHA-256 we asked about (and whose nonce is ours); the
 * token's signature verifies with the TSA certificate it carries; that certificate chains to one
 * of the configured trust anchors (at the token's time), carries the critical extended key usage
 * `id-kp-timeStamping` and nothing else (RFC 3161 §2.3), and has not expired now. What is not:
 * revocation of the TSA certificate (no CRL or OCSP is fetched) and anything about the signer of
 * the time-stamped signatures (no CAdES validation of their chains).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as asn1js from "asn1js"
import * as pkijs from "pkijs"
import { Either } from "effect"

/** id-sha256 */
const SHA256 = "2.16.840.1.101.3.4.2.1"
/** id-signedData */
const SIGNED_DATA = "1.2.840.113549.1.7.2"
/** id-ct-TSTInfo */
const TST_INFO = "1.2.840.113549.1.9.16.1.4"
/** extKeyUsage */
const EXT_KEY_USAGE = "2.5.29.37"
/** id-kp-timeStamping */
const TIME_STAMPING = "1.3.6.1.5.5.7.3.8"

/** A fresh copy: a Node Buffer's `.buffer` may be its 8 KB pool, not its bytes. */
const arrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(bytes.length)
  copy.set(bytes)
  return copy.buffer
}

const hex = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString("hex")

const describe = (e: unknown) => (e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))

/**
 * A time-stamp request, with what its answer must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  /** DER of the `TimeStampReq`, the body of the `application/timestamp-query` POST. */
  readonly der: Uint8Array
  /** The SHA-256 of the data being stamped. */
  readonly imprint: Uint8Array
  /** The nonce sent, lowercase hex. */
  readonly nonce: string
}

/**
 * A request for a time-stamp over `data` (SHA-256 imprint, a random 64-bit nonce, and the TSA's
 * certificate asked for so that the token can be verified on its own).
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (data: Uint8Array): Request => {
  const imprint = new Uint8Array(createHash("sha256").update(data).digest())
  // A positive INTEGER: the top bit clear.
  const nonce = randomBytes(8)
  nonce[0] = (nonce[0]! & 0x7f) | 0x01
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256, algorithmParams: new asn1js.Null() }),
      hashedMessage: new asn1js.OctetString({ valueHex: arrayBuffer(imprint) })
    }),
    nonce: new asn1js.Integer({ valueHex: arrayBuffer(nonce) }),
    certReq: true
  })
  return { der: new Uint8Array(req.toSchema().toBER(false)), imprint, nonce: nonce.toString("hex") }
}

/**
 * A token that passed every check.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verified {
  /** DER of the `TimeStampToken` (a CMS ContentInfo), exactly as the TSA sent it. */
  readonly token: Uint8Array
  /** The TSA's time of the stamp (epoch ms). */
  readonly genTime: number
  /** The token's serial number, lowercase hex. */
  readonly serial: string
  /** The TSA's policy OID. */
  readonly policy: string
  /** The TSA certificate's subject, as `CN=…, O=…`. */
  readonly tsa: string
  /** When the TSA certificate expires (epoch ms): the token cannot be verified after that. */
  readonly tsaCertificateNotAfter: number
}

/**
 * What a response is checked against.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expected {
  readonly request: Request
  /** The data stamped (its SHA-256 must be the token's imprint). */
  readonly data: Uint8Array
  /** The certificates a TSA certificate must chain to. */
  readonly trustAnchors: ReadonlyArray<pkijs.Certificate>
  /** Now (epoch ms), for the TSA certificate's expiry. */
  readonly now: number
}

const TYPES: Record<string, string> = { "2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST" }

/**
 * A distinguished name as `CN=…, O=…`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const nameOf = (name: pkijs.RelativeDistinguishedNames): string =>
  name.typesAndValues.map((tv) => `${TYPES[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`).join(", ")

const statusText = (status: pkijs.PKIStatusInfo) => {
  const names = ["granted", "grantedWithMods", "rejection", "waiting", "revocationWarning", "revocationNotification"]
  const texts = status.statusStrings?.map((s) => String(s.valueBlock.value)).join("; ")
  return `${names[status.status] ?? `status ${status.status}`}${texts === undefined || texts === "" ? "" : ` (${texts})`}`
}

/** The extended key usage of a TSA certificate, as RFC 3161 §2.3 requires it. */
const checkTimeStampingUsage = (cert: pkijs.Certificate): string | undefined => {
  const usages = (cert.extensions ?? []).filter((e) => e.extnID === EXT_KEY_USAGE)
  if (usages.length === 0) return "the TSA certificate has no extended key usage (RFC 3161 requires id-kp-timeStamping)"
  if (usages.length > 1) return "the TSA certificate has its extended key usage twice"
  const usage = usages[0]!
  if (usage.critical !== true) return "the TSA certificate's extended key usage is not critical (RFC 3161 requires it to be)"
  const purposes = usage.parsedValue instanceof pkijs.ExtKeyUsage ? usage.parsedValue.keyPurposes : []
  if (!purposes.includes(TIME_STAMPING)) return `the TSA certificate is not for time-stamping (extended key usage ${purposes.join(", ") || "unreadable"})`
  if (purposes.length !== 1) return `the TSA certificate's extended key usage has other purposes besides time-stamping (${purposes.join(", ")})`
  return undefined
}

/**
 * Checks a TSA's answer to `expected.request`; the `Left` says, for an operator, what is wrong.
 *
 * @since 0.1.0
 * @category verification
 */
export const verifyResponse = async (response: Uint8Array, expected: Expected): Promise<Either.Either<Verified, string>> => {
  try {
    const parsed = asn1js.fromBER(arrayBuffer(response))
    if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) {
      return Either.left(`the TSA's answer is not an RFC 3161 time-stamp response (not DER: ${parsed.result.error || "not a SEQUENCE"})`)
    }
    let resp: pkijs.TimeStampResp
    try {
      resp = new pkijs.TimeStampResp({ schema: parsed.result })
    } catch (e) {
      return Either.left(`the TSA's answer is not an RFC 3161 time-stamp response: ${describe(e)}`)
    }
    if (resp.status.status !== 0 && resp.status.status !== 1) return Either.left(`the TSA refused the request: ${statusText(resp.status)}`)
    if (resp.timeStampToken === undefined) return Either.left("the TSA granted the request but sent no token")
    // The token as sent, not as re-encoded: it is what the TSA signed around.
    const tokenBlock = parsed.result.valueBlock.value[1]
    if (tokenBlock === undefined) return Either.left("the TSA granted the request but sent no token")
    const token = new Uint8Array(tokenBlock.valueBeforeDecodeView)
    if (resp.timeStampToken.contentType !== SIGNED_DATA) return Either.left(`the token is not CMS SignedData (${resp.timeStampToken.contentType})`)
    const signed = new pkijs.SignedData({ schema: resp.timeStampToken.content })
    if (signed.encapContentInfo.eContentType !== TST_INFO || signed.encapContentInfo.eContent === undefined) {
      return Either.left(`the token does not hold a TSTInfo (${signed.encapContentInfo.eContentType})`)
    }
    const info = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue())
    if (info.messageImprint.hashAlgorithm.algorithmId !== SHA256) {
      return Either.left(`the token's message imprint is not SHA-256 (${info.messageImprint.hashAlgorithm.algorithmId}), which was asked for`)
    }
    const imprint = hex(info.messageImprint.hashedMessage.valueBlock.valueHexView)
    if (imprint !== hex(expected.request.imprint)) {
      return Either.left(`the token's message imprint (${imprint}) is not the SHA-256 of what was sent (${hex(expected.request.imprint)})`)
    }
    const nonce = info.nonce === undefined ? undefined : hex(info.nonce.valueBlock.valueHexView).replace(/^(00)+(?=[0-9a-f])/, "")
    if (nonce !== expected.request.nonce.replace(/^(00)+(?=[0-9a-f])/, "")) {
      return Either.left(`the token's nonce (${nonce ?? "none"}) is not the one sent (${expected.request.nonce}): an answer to another request`)
    }
    if (expected.trustAnchors.length === 0) return Either.left("no trust anchor is configured for the TSA's certificate")
    const outcome = await signed
      .verify({
        signer: 0,
        data: arrayBuffer(expected.data),
        trustedCerts: [...expected.trustAnchors],
        checkChain: true,
        extendedMode: true
      })
      .then(
        (r) => Either.right(r),
        (e: unknown) => Either.left(describe(e))
      )
    if (Either.isLeft(outcome)) return Either.left(`the token does not verify: ${outcome.left}`)
    const { signatureVerified, signerCertificate } = outcome.right
    if (signerCertificate === null || signerCertificate === undefined) return Either.left("the token carries no TSA certificate")
    if (signatureVerified !== true) return Either.left("the token's signature does not verify with the TSA certificate")
    const usage = checkTimeStampingUsage(signerCertificate)
    if (usage !== undefined) return Either.left(usage)
    const notAfter = signerCertificate.notAfter.value.getTime()
    const notBefore = signerCertificate.notBefore.value.getTime()
    const genTime = info.genTime.getTime()
    if (genTime < notBefore || genTime > notAfter) return Either.left(`the token's time ${info.genTime.toISOString()} is outside its TSA certificate's validity`)
    if (notAfter <= expected.now) {
      return Either.left(`the TSA certificate (${nameOf(signerCertificate.subject)}) expired on ${new Date(notAfter).toISOString()}`)
    }
    return Either.right({
      token,
      genTime,
      serial: hex(info.serialNumber.valueBlock.valueHexView),
      policy: info.policy,
      tsa: nameOf(signerCertificate.subject),
      tsaCertificateNotAfter: notAfter
    })
  } catch (e) {
    return Either.left(`the TSA's answer could not be read: ${describe(e)}`)
  }
}

/**
 * The certificates of a PEM text (trust anchors); a `Left` when there is none or one is unreadable.
 *
 * @since 0.1.0
 * @category parsing
 */
export const certificatesOfPem = (pem: string): Either.Either<ReadonlyArray<pkijs.Certificate>, string> => {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)]
  if (blocks.length === 0) return Either.left("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
  const certs: Array<pkijs.Certificate> = []
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(pkijs.Certificate.fromBER(arrayBuffer(Buffer.from(block[1]!.replace(/\s+/g, ""), "base64"))))
    } catch (e) {
      return Either.left(`certificate #${i + 1} cannot be read: ${describe(e)}`)
    }
  }
  return Either.right(certs)
}
