"""Loads the served WSDL with zeep's strict loader, offline, and reports what it found.

Usage: strict_load.py WSDL_URL
Prints one JSON object: the URLs fetched, the services and ports with their binding kind and
operations (with whether each takes the ResourceIdentifier header), and the global elements.
"""
import json
import sys

from offline import client


def main():
    wsdl_url = sys.argv[1]
    fetched = []
    c = client(wsdl_url, fetched)
    services = {}
    for service in c.wsdl.services.values():
        ports = {}
        for port in service.ports.values():
            binding = port.binding
            operations = {}
            for name, operation in binding._operations.items():
                header = operation.input.header
                header_parts = [name for name, _ in header.type.elements] if header.type is not None else []
                operations[name] = {
                    "soapaction": operation.soapaction,
                    "wsa_action": operation.abstract.wsa_action,
                    "headers": header_parts,
                    "faults": sorted(operation.abstract.fault_messages.keys()),
                }
            ports[port.name] = {
                "binding": type(binding).__name__,
                "address": port.binding_options["address"],
                "operations": operations,
            }
        services[service.name] = ports
    elements = sorted(str(e.qname) for e in c.wsdl.types.elements)
    print(json.dumps({"fetched": fetched, "services": services, "elements": elements}))


if __name__ == "__main__":
    main()
