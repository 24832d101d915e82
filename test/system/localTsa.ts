/**
 * A time-stamping authority on loopback for the time-stamp suites: an HTTP server answering
 * `application/timestamp-query` POSTs by running OpenSSL's `ts -reply` (Debian `openssl`), with a
 * throw-away CA and TSA certificate (extendedKeyUsage=critical,timeStamping) made in a temp dir.
 *
 * It misbehaves on demand (`mode`): down (connection refused: the server is closed), garbage
 * (a 200 of random bytes), wrong-imprint (a genuine token, over other data), stall (reads the
 * query and never answers). `rotate` gives it a
 * new certificate, as a TSA operator does before the old one expires.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { requireTool } from "./support.js"

export const requireOpenssl = () =>
  requireTool(
    "OpenSSL 3 with the ts command (Debian openssl)",
    () => spawnSync("openssl", ["ts", "-help"], { stdio: "ignore" }).status === 0,
    "apt-get install -y openssl"
  )

export type TsaMode = "ok" | "garbage" | "wrong-imprint" | "stall"

export interface LocalTsa {
  readonly url: string
  readonly dir: string
  /** PEM of the root CA the TSA certificates are issued by (the trust anchor). */
  readonly caFile: string
  /** PEM of the current TSA certificate. */
  readonly certFile: () => string
  /** Requests answered so far (any mode). */
  readonly requests: () => number
  mode: TsaMode
  /** Issues a new TSA certificate valid `days` days (the old one stays on disk). */
  readonly rotate: (days: number, name?: string) => void
  /** Stops answering: the port refuses connections. */
  readonly stop: () => Promise<void>
  /** Answers again, on the same port. */
  readonly restart: () => Promise<void>
  readonly close: () => Promise<void>
}

const openssl = (args: ReadonlyArray<string>, cwd: string) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] })

export const startLocalTsa = async (options: { readonly port: number; readonly days: number }): Promise<LocalTsa> => {
  requireOpenssl()
  const dir = mkdtempSync(join(tmpdir(), "uws-tsa-"))
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir)
  openssl(
    ["req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=uws-kit test TSA root",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir
  )
  writeFileSync(join(dir, "tsa-ext.cnf"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n")
  writeFileSync(join(dir, "serial"), "01\n")
  let generation = 0
  let current = ""
  const rotate = (days: number, name = `uws-kit test TSA ${generation + 1}`) => {
    generation++
    const key = `tsa${generation}.key`
    const cert = `tsa${generation}.pem`
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], dir)
    openssl(["req", "-new", "-key", key, "-out", `tsa${generation}.csr`, "-subj", `/CN=${name}/O=uws-kit tests`], dir)
    openssl(
      ["x509", "-req", "-in", `tsa${generation}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", cert,
        "-days", String(days), "-extfile", "tsa-ext.cnf"],
      dir
    )
    writeFileSync(
      join(dir, "ts.cnf"),
      [
        "[ tsa ]",
        "default_tsa = tsa_config",
        "[ tsa_config ]",
        `serial = ${join(dir, "serial")}`,
        "crypto_device = builtin",
        `signer_cert = ${join(dir, cert)}`,
        `signer_key = ${join(dir, key)}`,
        "signer_digest = sha256",
        "default_policy = 1.3.6.1.4.1.4146.2.3",
        "digests = sha256, sha384, sha512",
        "accuracy = secs:1",
        "ordering = no",
        "tsa_name = yes",
        "ess_cert_id_chain = no",
        "ess_cert_id_alg = sha256",
        ""
      ].join("\n")
    )
    current = join(dir, cert)
  }
  rotate(options.days)

  let requests = 0
  let seq = 0
  const tsa = {
    mode: "ok" as TsaMode
  }
  const reply = (query: Buffer): Buffer => {
    const n = ++seq
    const queryFile = join(dir, `q${n}.tsq`)
    const outFile = join(dir, `r${n}.tsr`)
    if (tsa.mode === "wrong-imprint") {
      // A genuine token, but over other data than asked (as a confused or replaying TSA would send).
      const other = join(dir, `other${n}.bin`)
      writeFileSync(other, randomBytes(64))
      openssl(["ts", "-query", "-data", other, "-sha256", "-cert", "-out", queryFile], dir)
    } else {
      writeFileSync(queryFile, query)
    }
    openssl(["ts", "-reply", "-config", join(dir, "ts.cnf"), "-queryfile", queryFile, "-out", outFile], dir)
    const out = readFileSync(outFile)
    rmSync(queryFile, { force: true })
    rmSync(outFile, { force: true })
    return out
  }
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      requests++
      if (tsa.mode === "stall") return
      if (req.method !== "POST" || req.headers["content-type"] !== "application/timestamp-query") {
        res.writeHead(400, { "content-type": "text/plain" }).end("POST an application/timestamp-query")
        return
      }
      try {
        const body = tsa.mode === "garbage" ? randomBytes(300) : reply(Buffer.concat(chunks))
        res.writeHead(200, { "content-type": "application/timestamp-reply", "content-length": body.length }).end(body)
      } catch (e) {
        res.writeHead(500, { "content-type": "text/plain" }).end(String(e))
      }
    })
  })
  const listen = () => new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  await listen()
  const port = (server.address() as AddressInfo).port
  return Object.assign(tsa, {
    url: `http://127.0.0.1:${port}/tsa`,
    dir,
    caFile: join(dir, "ca.pem"),
    certFile: () => current,
    requests: () => requests,
    rotate,
    stop,
    restart: listen,
    close: async () => {
      if (server.listening) await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
