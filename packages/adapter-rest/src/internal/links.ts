/**
 * The URLs a representation points to, shared by the XML, JSON and HTML renderings so that they
 * always agree.
 */
import { isUpload, type ResultRef } from "@uws-kit/core/Job"

const seg = (s: string) => encodeURIComponent(s)

/** Where a result can be fetched: its own href, or the job's `results/{id}`. */
export const resultHref = (jobUrl: string, ref: ResultRef): string => ref.href ?? `${jobUrl}/results/${seg(ref.id)}`

/** An inline upload: a by-reference `param:` parameter whose content the job serves (core's one rule). */
export { isUpload }

/** Where a parameter's content is served (`parameters/{name}`, `?index=i` for one of several values). */
export const parameterHref = (jobUrl: string, name: string, index?: number): string =>
  `${jobUrl}/parameters/${seg(name)}${index === undefined ? "" : `?index=${index}`}`
