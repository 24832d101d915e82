/**
 * Writes examples/image/sky.fits, the image service's sky (run once; the file is committed):
 *
 *     node --import tsx examples/image/make-sky.ts
 *
 * The seed is fixed, so running it again writes the same bytes.
 */
import { writeFile } from "node:fs/promises"
import { writeFits } from "./fits.js"
import { renderSky, skyFile } from "./sky.js"

const bytes = writeFits(renderSky())
await writeFile(skyFile, bytes)
console.log(`wrote ${skyFile} (${bytes.length} bytes)`)
