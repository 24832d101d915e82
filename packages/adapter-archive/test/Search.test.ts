import { Search } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

describe("Search.parse", () => {
  it("defaults an empty body to the last 10 containers, page 1", () => {
    expect(Search.parse(undefined)).toEqual(Either.right({ filters: {}, pageSize: 10, page: 1 }))
    expect(Search.parse({})).toEqual(Either.right({ filters: {}, pageSize: 10, page: 1 }))
  })

  it("reads the seed's filters, keys in any case, sourceSystemId as number or string", () => {
    expect(
      Search.parse({ Filters: { storageIds: [1, 2, 3], NAME: "MyContainer", sourceSystemId: 7, status: 4, isArchived: true }, pageSize: 1, page: 2 })
    ).toEqual(Either.right({ filters: { storageIds: [1, 2, 3], name: "MyContainer", sourceSystemId: "7", status: 4, isArchived: true }, pageSize: 1, page: 2 }))
    expect(Search.parse({ filters: { sourceSystemId: "erp", status: null } })).toEqual(
      Either.right({ filters: { sourceSystemId: "erp" }, pageSize: 10, page: 1 })
    )
  })

  it("lists every problem at once", () => {
    const r = Search.parse({ filters: { storageIds: "1", status: "4", colour: "red" }, pageSize: 0, page: -1, sort: "name" })
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left).toHaveLength(6)
      expect(r.left.join("\n")).toMatch(/sort is not a known field/)
      expect(r.left.join("\n")).toMatch(/filters\.colour is not a known field/)
      expect(r.left.join("\n")).toMatch(/pageSize must be a whole number from 1 to 1000/)
      expect(r.left.join("\n")).toMatch(/pages count from 1/)
    }
  })

  it("property: never throws; an accepted query is within bounds", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ filters: fc.jsonValue(), pageSize: fc.jsonValue(), page: fc.jsonValue() }, { requiredKeys: [] })), (body) => {
        const r = Search.parse(body)
        if (Either.isRight(r)) {
          expect(r.right.pageSize).toBeGreaterThanOrEqual(1)
          expect(r.right.pageSize).toBeLessThanOrEqual(1000)
          expect(r.right.page).toBeGreaterThanOrEqual(1)
        } else {
          expect(r.left.length).toBeGreaterThan(0)
        }
      }),
      { numRuns: propertyRuns(500) }
    )
  })
})
