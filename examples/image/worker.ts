/**
 * The `image` application: cuts the requested region out of the sky at three resolutions,
 * coarsest first — binned 4 × 4, 2 × 2, then at the sky's own 3.6″ pixels — in each requested
 * format, publishing every image as soon as it is made (it is listed and downloadable while the
 * job is EXECUTING) and re-publishing the `table` result (SIAP 1.0 metadata) after each one,
 * with a pause of `DELAY` seconds between resolutions. A client can take the quick preview and
 * destroy the job. A region off the sky completes with an empty table, as SIAP answers.
 */
import { Worker } from "@uws-kit/core"
import { Duration, Effect } from "effect"
import { cutoutGrid, resample, toPng, touchesSky } from "./cutout.js"
import { writeFits } from "./fits.js"
import { parseQuery, type ImageQuery } from "./query.js"
import type { Sky } from "./sky.js"
import { imageTable, type ImageRow } from "./table.js"
import { wcsCards } from "./wcs.js"

/** Each image's pixels are this many sky pixels across, in the order the job makes them. */
export const binnings = [4, 2, 1] as const

const VOTABLE = "application/x-votable+xml"

const describe = (q: ImageQuery) => `Images of ${q.width}° × ${q.height}° around RA ${q.ra}°, Dec ${q.dec}° (ICRS).`

/** Seconds the job is expected to take: the pauses, the work being quick. */
const quoteOf = (q: ImageQuery) => Math.ceil(q.delay * (binnings.length - 1)) + 1

/** The `image` worker over a sky. */
export const makeImageWorker = (sky: Sky): Worker.Worker =>
  Worker.make({
    name: "image",
    validate: (parameters) => {
      const parsed = parseQuery(parameters)
      return parsed._tag === "Left" ? parsed : { _tag: "Right", right: parameters }
    },
    quote: (job) => {
      const parsed = parseQuery(job.parameters)
      return parsed._tag === "Right" ? quoteOf(parsed.right) : null
    },
    run: (job, context) =>
      Effect.gen(function* () {
        const parsed = parseQuery(job.parameters)
        if (parsed._tag === "Left") return yield* Effect.fail(new Worker.JobFailure({ message: parsed.left }))
        const q = parsed.right
        const skyScale = Math.abs(sky.wcs.cdelt[1])
        const rows: Array<ImageRow> = []
        const images: Array<Worker.ResultSpec> = []
        const table = () => ({ id: "table", mimeType: VOTABLE, content: imageTable(describe(q), rows) })
        for (const [step, bin] of binnings.entries()) {
          if (step > 0) yield* Effect.sleep(Duration.seconds(q.delay))
          const cutout = resample(sky, cutoutGrid(q.ra, q.dec, q.width, q.height, skyScale * bin), bin)
          if (!touchesSky(cutout)) break
          for (const format of q.formats) {
            const id = `bin${bin}.${format === "image/fits" ? "fits" : "png"}`
            const title = `Synthetic sky, ${cutout.width}×${cutout.height} pixels of ${(skyScale * bin * 3600).toFixed(1)}″ (binned ${bin}×${bin})`
            const content =
              format === "image/fits"
                ? writeFits({
                    ...cutout,
                    cards: [
                      ...wcsCards(cutout.wcs).map(([key, value, comment]) => ({ key, value, comment })),
                      { key: "EQUINOX", value: 2000 },
                      { key: "BUNIT", value: "count" },
                      { key: "OBJECT", value: `uws-kit image job ${job.jobId}` },
                      { key: "BINNING", value: bin, comment: "sky pixels per image pixel, each axis" }
                    ]
                  })
                : toPng(cutout)
            const image = { id, mimeType: format, content }
            yield* context.publishResult(image)
            images.push(image)
            rows.push({ title, ra: q.ra, dec: q.dec, naxis: [cutout.width, cutout.height], wcs: cutout.wcs, format, accessReference: id, fileSize: content.length })
            yield* context.publishResult(table())
          }
          yield* context.reportProgress({ progress: `${step + 1}/${binnings.length}`, images: String(images.length) })
        }
        return [...images, table()]
      })
  })

