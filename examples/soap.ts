/**
 * The SOAP contribution of the demo: each application's job list as one SOAP endpoint (UWS v0.3
 * draft binding) at `/soap/{app}` (under the configured base, `applications.soap.path`), its
 * WSDL at `…/{app}?wsdl`, built with `makeSoapAdapter` over the same services the REST job lists
 * use, so a job created through one binding is seen and controlled through the other. Mounted
 * without stripping the prefix (the adapter knows its `basePath`). The binding has no blocking
 * wait, so `maxWait` does not concern it (the services have it anyway).
 */
import { SoapAdapter } from "@uws-kit/adapter-soap"
import type { UwsService } from "@uws-kit/core/Uws"
import { byClientAddress, type Contribution, type DemoApps, defaultPaths, type Mount, type MountOptions } from "./mount.js"

const mountApp = (name: string, service: UwsService, options: MountOptions, base: string) => {
  const basePath = `${base}/${name}`
  const adapter = SoapAdapter.makeSoapAdapter({ service, basePath, identifyNode: byClientAddress, ...options })
  const mount: Mount & { readonly href: string } = {
    prefix: basePath,
    title: `${name}: UWS SOAP endpoint (v0.3 binding, SOAP 1.1/1.2, WS-Addressing); WSDL at ${basePath}?wsdl`,
    href: `${basePath}?wsdl`,
    vosi: true,
    listener: adapter.listener
  }
  return { mount, adapter }
}

/** Mounts `/soap/echo` and `/soap/sleep` (or `<base>/echo` and `<base>/sleep`). */
export const soapContribution = async (apps: DemoApps, options: MountOptions = { trustForwarded: false }, base: string = defaultPaths.soap): Promise<Contribution> => {
  const mounted = [mountApp("echo", apps.echo, options, base), mountApp("sleep", apps.sleep, options, base)]
  return {
    mounts: mounted.map((m) => m.mount),
    close: async () => {
      await Promise.all(mounted.map((m) => m.adapter.dispose()))
    }
  }
}
