/**
 * A binary min-heap of (instant, job id). Entries are never updated in place: a changed deadline
 * is pushed again and the old entry is skipped when it surfaces (`isCurrent` says whether an
 * entry still matches the job).
 */
export class DeadlineHeap {
  private at: Array<number> = []
  private ids: Array<string> = []

  get size(): number {
    return this.at.length
  }

  push(at: number, id: string): void {
    this.at.push(at)
    this.ids.push(id)
    this.up(this.at.length - 1)
  }

  /** The earliest current deadline, dropping stale entries on the way. */
  peek(isCurrent: (id: string, at: number) => boolean): number | null {
    while (this.at.length > 0) {
      if (isCurrent(this.ids[0]!, this.at[0]!)) return this.at[0]!
      this.pop()
    }
    return null
  }

  /** Current entries at or before `until`, earliest first; they stay in the heap. */
  due(until: number, limit: number, isCurrent: (id: string, at: number) => boolean): Array<string> {
    const taken: Array<[number, string]> = []
    const seen = new Set<string>()
    while (this.at.length > 0 && this.at[0]! <= until && taken.length < limit) {
      const [at, id] = this.pop()
      if (isCurrent(id, at) && !seen.has(id)) {
        seen.add(id)
        taken.push([at, id])
      }
    }
    for (const [at, id] of taken) this.push(at, id)
    return taken.map(([, id]) => id)
  }

  /** Rebuilds without stale entries once they outnumber the live ones. */
  compactIfSparse(live: number, isCurrent: (id: string, at: number) => boolean): void {
    if (this.at.length < 1024 || this.at.length < 2 * live + 1024) return
    const at = this.at
    const ids = this.ids
    this.at = []
    this.ids = []
    for (let i = 0; i < at.length; i++) if (isCurrent(ids[i]!, at[i]!)) this.push(at[i]!, ids[i]!)
  }

  private pop(): [number, string] {
    const top: [number, string] = [this.at[0]!, this.ids[0]!]
    const lastAt = this.at.pop()!
    const lastId = this.ids.pop()!
    if (this.at.length > 0) {
      this.at[0] = lastAt
      this.ids[0] = lastId
      this.down(0)
    }
    return top
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.at[parent]! <= this.at[i]!) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const n = this.at.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.at[l]! < this.at[m]!) m = l
      if (r < n && this.at[r]! < this.at[m]!) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }

  private swap(i: number, j: number): void {
    const a = this.at[i]!
    this.at[i] = this.at[j]!
    this.at[j] = a
    const b = this.ids[i]!
    this.ids[i] = this.ids[j]!
    this.ids[j] = b
  }
}
