/**
 * The SOAP contribution of the demo: each application's job list as one SOAP endpoint (UWS v0.3
 * draft binding) at `/soap/{app}`, its WSDL at `/soap/{app}?wsdl`, built with `makeSoapAdapter`
 * over the same services the REST job lists use, so a job created through one binding is seen
 * and controlled through the other. Mounted without stripping the prefix (the adapter knows its
 * `basePath`).
 */
import { SoapAdapter } from "@uws-kit/adapter-soap"
import type { UwsService } from "@uws-kit/core/Uws"
import { byClientAddress, type Contribution, type DemoApps, type Mount } from "./mount.js"

const mountApp = (name: string, service: UwsService) => {
  const basePath = `/soap/${name}`
  const adapter = SoapAdapter.makeSoapAdapter({ service, basePath, identifyNode: byClientAddress })
  const mount: Mount & { readonly href: string } = {
    prefix: basePath,
    title: `${name}: UWS SOAP endpoint (v0.3 binding, SOAP 1.1/1.2, WS-Addressing); WSDL at ${basePath}?wsdl`,
    href: `${basePath}?wsdl`,
    listener: adapter.listener
  }
  return { mount, adapter }
}

/** Mounts `/soap/echo` and `/soap/sleep`. */
export const soapContribution = async (apps: DemoApps): Promise<Contribution> => {
  const mounted = [mountApp("echo", apps.echo), mountApp("sleep", apps.sleep)]
  return {
    mounts: mounted.map((m) => m.mount),
    close: async () => {
      await Promise.all(mounted.map((m) => m.adapter.dispose()))
    }
  }
}
