// Owned by the archive adapter work: mounts the document-archive API (`/api/...`).
import type { Contribution } from "./mount.js"

export const archiveContribution = async (): Promise<Contribution> => ({ mounts: [], close: async () => {} })
