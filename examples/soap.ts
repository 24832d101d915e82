/**
 * The SOAP contribution of the demo: each application's job list as one SOAP endpoint (UWS v0.3
 * draft binding) at `/soap/{app}`, its WSDL at `/soap/{app}?wsdl`, built with `makeSoapAdapter`
 * over the same services the REST job lists use, so a job created through one binding is seen
 * and controlled through the other. Mounted without stripping the prefix (the adapter knows its
 * `basePath`).
 */
import { SoapAdapter } from "@uws-kit/adapter-soap"
import type { UwsService } from "@uws-kit/core/Uws"
import { byClientAddress, type Contribution, type DemoApps, type Mount, type MountOptions } from "./mount.js"

const mountApp = (name: string, service: UwsService, options: MountOptions) => {
  const basePath = `/soap/${name}`
  const adapter = SoapAdapter.makeSoapAdapter({ service, basePath, identifyNode: byClientAddress, ...options })
  const mount: Mount & { readonly href: string } = {
    prefix: basePath,
    title: `${name}: UWS SOAP endpoint (v0.3 binding, SOAP 1.1/1.2, WS-Addressing); WSDL at ${basePath}?wsdl`,
    href: `${basePath}?wsdl`,
    listener: adapter.listener
  }
  return { mount, adapter }
}

/** Mounts `/soap/echo` and `/soap/sleep`. */
export const soapContribution = async (apps: DemoApps, options: MountOptions = { trustForwarded: false }): Promise<Contribution> => {
  const mounted = [mountApp("echo", apps.echo, options), mountApp("sleep", apps.sleep, options)]
  return {
    mounts: mounted.map((m) => m.mount),
    close: async () => {
      await Promise.all(mounted.map((m) => m.adapter.dispose()))
    }
  }
}
