/**
 * The ADQL example served over HTTP for tests: its contribution (examples/adql/mount.ts) on a
 * node:http server at a free port, over a small catalogue in a temporary folder.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { mkdtemp, rm } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import * as Catalogue from "../../examples/adql/Catalogue.js"
import { adqlContribution } from "../../examples/adql/mount.js"

export interface Served {
  readonly base: string
  readonly catalogue: string
  readonly close: () => Promise<void>
}

export const serve = async (catalogueSize: number): Promise<Served> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "adql-test-"))
  const catalogue = path.join(dir, "stars.sqlite")
  const contribution = await adqlContribution({ trustForwarded: false, catalogue, catalogueSize })
  // Written now rather than at the first query, so that a test can read it first.
  await Catalogue.ensure(catalogue, catalogueSize)
  const mount = contribution.mounts[0]!
  const server = createServer(mount.listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/uws/adql`,
    catalogue,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await contribution.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

const finalPhases = new Set(["COMPLETED", "ERROR", "ABORTED"])

/** Creates and runs a job with these parameters, waits until it is over, answers its URL and phase. */
export const runJob = async (base: string, params: Record<string, string>): Promise<{ readonly url: string; readonly phase: string }> => {
  const created = await fetch(`${base}/jobs`, { method: "POST", body: new URLSearchParams({ ...params, PHASE: "RUN" }), redirect: "manual" })
  if (created.status !== 303) throw new Error(`creation answered ${created.status}: ${await created.text()}`)
  const url = created.headers.get("location")!
  for (;;) {
    const phase = (await (await fetch(`${url}/phase`)).text()).trim()
    if (finalPhases.has(phase)) return { url, phase }
    await fetch(`${url}?WAIT=10&PHASE=${phase}`, { headers: { accept: "application/json" } }).then((r) => r.arrayBuffer())
  }
}

/** The rows of a VOTable TABLEDATA document, as the cell texts. */
export const rowsOf = (votable: string): Array<Array<string>> =>
  [...votable.matchAll(/<TR>(.*?)<\/TR>/g)].map((m) => [...m[1]!.matchAll(/<TD>(.*?)<\/TD>/g)].map((c) => c[1]!))

/** The value of an INFO element named `name`, unescaped (`&amp;` only: URLs). */
export const infoOf = (votable: string, name: string): string | undefined =>
  new RegExp(`<INFO name="${name}" value="([^"]*)"`).exec(votable)?.[1]?.replaceAll("&amp;", "&")
