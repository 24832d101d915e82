/**
 * The BagIt manifest writer and parser (RFC 8493 §2.1.3 percent-encoding, NFC), tag files, and
 * the validator on bags with odd file names, written to disk through the tar writer.
 */
import { createHash } from "node:crypto"
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BagIt } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { extractTar, writeBagTar } from "../src/internal/bagTar.js"

/** One path segment: any text, with CR, LF, %, spaces and combining marks favoured. */
const segment = fc
  .array(fc.oneof(fc.constantFrom("\r", "\n", "%", " ", "%0A", "%25", "e\u0301", "é", "Å", "A\u030A", "ﬁ", "\u00A0", "\t"), fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 })), {
    minLength: 1,
    maxLength: 5
  })
  .map((parts) => parts.join(""))
  .filter((s) => !s.includes("/") && !s.includes("\\") && !s.includes("\u0000") && s !== "." && s !== ".." && s.normalize("NFC") !== "." && s.normalize("NFC") !== "..")
const relPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((ss) => `data/${ss.join("/")}`)
const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n })

describe("manifest paths", () => {
  it("encodes exactly %, CR and LF", () => {
    expect(BagIt.encodePath("data/a%b\r\nc d")).toBe("data/a%25b%0D%0Ac d")
    expect(BagIt.decodePath("data/a%25b%0d%0Ac d")).toBe("data/a%b\r\nc d")
    // %250A is an encoded "%0A", not an encoded "%" and a newline.
    expect(BagIt.decodePath(BagIt.encodePath("data/%0A"))).toBe("data/%0A")
    // A bare % from a tool that does not encode it stays as it is.
    expect(BagIt.decodePath("data/100% sure")).toBe("data/100% sure")
  })

  it("writes NFC: a name in NFD (macOS) is written as its NFC form", () => {
    expect(BagIt.encodePath("data/Cafe\u0301.txt")).toBe("data/Café.txt")
  })

  it("property: decode(encode(p)) is p in NFC, and an encoded path has no CR or LF", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (p) => {
        const encoded = BagIt.encodePath(p)
        expect(encoded).not.toMatch(/[\r\n]/)
        expect(BagIt.decodePath(encoded)).toBe(p.normalize("NFC"))
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("reads back a path holding a Unicode line or paragraph separator (fast-check's shrunk counterexample, seed 768094472)", () => {
    for (const path of ["data/ \u2028 / ", "data/a\u2029b"]) {
      const entries = [{ path, digest: "0".repeat(128) }]
      const parsed = BagIt.parseManifest(BagIt.formatManifest(entries), "sha512")
      expect(parsed.problems).toEqual([])
      expect(parsed.entries).toEqual(entries)
    }
  })

  it("property: a manifest written is read back as the same entries (paths in NFC), whatever the names", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(relPath, hex(128)), { selector: ([p]) => p.normalize("NFC"), maxLength: 8 }), (list) => {
        const entries = list.map(([path, digest]) => ({ path, digest }))
        const text = BagIt.formatManifest(entries)
        expect(text.split("\n").length).toBe(entries.length + 1)
        const parsed = BagIt.parseManifest(text, "sha512")
        expect(parsed.problems).toEqual([])
        expect(parsed.entries).toEqual(entries.map((e) => ({ path: e.path.normalize("NFC"), digest: e.digest })))
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("property: parsing never throws, and what it accepts stays inside the bag", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
        const parsed = BagIt.parseManifest(text, "sha256")
        for (const e of parsed.entries) {
          expect(e.path.startsWith("/")).toBe(false)
          expect(e.path.split("/")).not.toContain("..")
          expect(e.digest).toMatch(/^[0-9a-f]{64}$/)
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("refuses what leaves the bag, wrong digest lengths and duplicates (also duplicates only in normalization)", () => {
    const d = "a".repeat(64)
    const parsed = BagIt.parseManifest(
      [`${d}  ../etc/passwd`, `${d}  /abs`, `${d}  data/./x`, `abc  data/short`, `${d}  data/Café`, `${d}  data/Cafe\u0301`, "no-digest"].join("\n"),
      "sha256"
    )
    expect(parsed.entries).toEqual([{ digest: d, path: "data/Café" }])
    expect(parsed.problems).toHaveLength(6)
  })

  it("reads CRLF manifests, tabs and several spaces between digest and path, uppercase hex", () => {
    const d = "AB".repeat(32)
    expect(BagIt.parseManifest(`${d}\tdata/a\r\n${d}   data/b c\r\n`, "sha256").entries).toEqual([
      { digest: d.toLowerCase(), path: "data/a" },
      { digest: d.toLowerCase(), path: "data/b c" }
    ])
  })
})

describe("tag files", () => {
  it("round-trip, with continuation lines read and CR/LF in values flattened", () => {
    const text = BagIt.formatTags([["Source-Organization", "A\nB"], ["Payload-Oxum", "12.3"]])
    expect(text).toBe("Source-Organization: A B\nPayload-Oxum: 12.3\n")
    expect(BagIt.parseTags("External-Description: one\n  two\nBagging-Date: 2026-11-30\n")).toEqual([
      ["External-Description", "one two"],
      ["Bagging-Date", "2026-11-30"]
    ])
  })
})

describe("validateDirectory", () => {
  const names = ["plain.txt", "with space.pdf", "per%cent.txt", "line\nfeed.txt", "carriage\rreturn.txt", "Cafe\u0301 NFD.txt", "日本語.txt", "%0A literal.txt"]
  const writeBag = async () => {
    const dir = mkdtempSync(join(tmpdir(), "uws-bagit-"))
    const payload = names.map((n, i) => ({ path: `files/${n}`, bytes: Buffer.from(`content ${i} ${n}`) }))
    await writeBagTar({
      file: join(dir, "bag.tar"),
      name: "bag",
      info: [["Source-Organization", "test"]],
      payload: payload.map((p) => ({ path: p.path, size: p.bytes.length, open: async function* () { yield p.bytes } })),
      mtime: new Date(0)
    })
    await extractTar(join(dir, "bag.tar"), join(dir, "x"), 1 << 20)
    return join(dir, "x", "bag")
  }
  const problems = async (bag: string) => {
    const r = await Effect.runPromise(Effect.either(BagIt.validateDirectory(bag)))
    return Either.isLeft(r) ? r.left.problems.join("\n") : ""
  }

  it("accepts a bag with odd names (CR, LF, %, spaces, NFD written as NFC, unicode)", async () => {
    const bag = await writeBag()
    const r = await Effect.runPromise(BagIt.validateDirectory(bag))
    expect(r.payload.size).toBe(names.length)
    expect([...r.payload.keys()]).toContain("data/files/Café NFD.txt")
    expect(readFileSync(join(bag, "manifest-sha512.txt"), "utf8")).toContain("line%0Afeed.txt")
    expect(readFileSync(join(bag, "manifest-sha512.txt"), "utf8")).toContain("per%25cent.txt")
  })

  it("finds a flipped byte, a missing file, an extra file, a wrong Payload-Oxum, a changed tag file, a holey bag", async () => {
    let bag = await writeBag()
    const f = join(bag, "data/files/plain.txt")
    writeFileSync(f, Buffer.from(readFileSync(f).map((b, i) => (i === 0 ? b ^ 1 : b))))
    expect(await problems(bag)).toMatch(/manifest-sha512\.txt: "data\/files\/plain\.txt" has sha512/)

    bag = await writeBag()
    rmSync(join(bag, "data/files/line\nfeed.txt"))
    expect(await problems(bag)).toMatch(/listed but not in the bag/)

    bag = await writeBag()
    writeFileSync(join(bag, "data/extra.txt"), "x")
    expect(await problems(bag)).toMatch(/"data\/extra\.txt" is in the bag but not listed/)

    bag = await writeBag()
    writeFileSync(join(bag, "bag-info.txt"), readFileSync(join(bag, "bag-info.txt"), "utf8").replace(/Payload-Oxum: \d+/, "Payload-Oxum: 1"))
    const p = await problems(bag)
    expect(p).toMatch(/Payload-Oxum says 1 bytes/)

    bag = await writeBag()
    appendFileSync(join(bag, "bag-info.txt"), "Contact-Name: someone\n")
    expect(await problems(bag)).toMatch(/tagmanifest-sha512\.txt: "bag-info\.txt" has sha512/)

    bag = await writeBag()
    writeFileSync(join(bag, "fetch.txt"), "http://example.org/x 1 data/x\n")
    expect(await problems(bag)).toMatch(/holey bag/)

    bag = await writeBag()
    renameSync(join(bag, "manifest-sha512.txt"), join(bag, "manifest-sha3.txt"))
    expect(await problems(bag)).toMatch(/algorithm "sha3"/)
  })

  it("a digest in the manifest that is right for other bytes is found (every file is hashed)", async () => {
    const bag = await writeBag()
    const m = join(bag, "manifest-sha512.txt")
    const other = createHash("sha512").update("other").digest("hex")
    writeFileSync(m, readFileSync(m, "utf8").replace(/^[0-9a-f]{128}(?=  data\/files\/plain\.txt)/m, other))
    // The tag manifest protects the manifest too: both are reported.
    const p = await problems(bag)
    expect(p).toMatch(/plain\.txt" has sha512/)
    expect(p).toMatch(/"manifest-sha512\.txt" has sha512/)
  })
})
