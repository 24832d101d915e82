/**
 * The image service in the demo, over HTTP with fetch (no Debian tools: `npm test`): images are
 * listed and downloadable while the job is EXECUTING, the table grows with them, DELETE ends the
 * job and its results, bad parameters are refused with a message and make no job.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { readFits } from "../../examples/image/fits.js"
import { startDemo, type Demo } from "../../examples/server.js"

let demo: Demo
beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
})
afterAll(async () => {
  await demo?.close()
})

const ids = (xml: string) => [...xml.matchAll(/<uws:result id="([^"]+)"/g)].map((m) => m[1])
const jobs = () => fetch(`${demo.url}/uws/image/jobs`).then((r) => r.text())

it("publishes the first image while EXECUTING; DELETE takes the job and its images away", async () => {
  const created = await fetch(`${demo.url}/uws/image/jobs`, {
    method: "POST",
    body: new URLSearchParams({ POS: "150.02,2.18", SIZE: "0.04", FORMAT: "image/png,image/fits", DELAY: "60", PHASE: "RUN" }),
    redirect: "manual"
  })
  expect(created.status).toBe(303)
  const job = created.headers.get("location")!
  // The pause after the first resolution is 60 s: wait (polling, no timing) until the table,
  // re-published after each image, lists the second one.
  let table = ""
  while (!table.includes("<TD>bin4.fits</TD>")) {
    const answer = await fetch(`${job}/results/table`)
    table = answer.ok ? await answer.text() : ""
    await new Promise((r) => setTimeout(r, 50))
  }
  expect(await (await fetch(`${job}/phase`)).text()).toBe("EXECUTING")
  expect(ids(await (await fetch(`${job}/results`)).text()).sort()).toEqual(["bin4.fits", "bin4.png", "table"])
  const fits = await fetch(`${job}/results/bin4.fits`)
  expect(fits.headers.get("content-type")).toBe("image/fits")
  const image = readFits(new Uint8Array(await fits.arrayBuffer()))
  expect([image.width, image.height]).toEqual([10, 10])
  expect(image.cards).toContainEqual({ key: "CRVAL1", value: 150.02 })
  const png = new Uint8Array(await (await fetch(`${job}/results/bin4.png`)).arrayBuffer())
  expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47])
  expect([...table.matchAll(/<TD>(bin\d\.\w+)<\/TD><\/TR>/g)].map((m) => m[1])).toEqual(["bin4.png", "bin4.fits"])

  expect((await fetch(job, { method: "DELETE", redirect: "manual" })).status).toBe(303)
  expect((await fetch(job)).status).toBe(404)
  expect((await fetch(`${job}/results/bin4.fits`)).status).toBe(404)
})

it("refuses bad parameters with a message naming them, and makes no job", async () => {
  const before = await jobs()
  for (const [body, message] of [
    [{ POS: "150.02", SIZE: "0.04" }, 'POS must be "ra,dec"'],
    [{ POS: "150,2", SIZE: "5" }, "SIZE must be above 0 and at most 1 degree"],
    [{ POS: "150,2", SIZE: "0.1", FORMAT: "image/jpeg" }, "FORMAT must be image/fits, image/png"],
    [{ SIZE: "0.1" }, "POS is required"]
  ] as const) {
    const answer = await fetch(`${demo.url}/uws/image/jobs`, { method: "POST", body: new URLSearchParams(body), redirect: "manual" })
    expect(answer.status).toBe(400)
    expect(await answer.text()).toContain(message)
  }
  expect(await jobs()).toBe(before)
})
