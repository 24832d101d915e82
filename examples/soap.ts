// Owned by the SOAP adapter work: mounts `/soap/{app}` for every demo application.
import type { Contribution, DemoApps } from "./mount.js"

export const soapContribution = async (_apps: DemoApps): Promise<Contribution> => ({ mounts: [], close: async () => {} })
