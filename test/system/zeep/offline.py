"""A zeep client that can only reach the endpoint under test.

Every document zeep fetches (the WSDL and the schemas it imports) must come from the endpoint's
host: any other URL raises, so a suite using this client proves the contract builds offline.
"""
from urllib.parse import urlparse

import zeep
from zeep import Settings
from zeep.transports import Transport


class OfflineTransport(Transport):
    def __init__(self, allowed_netloc, fetched):
        super().__init__(timeout=30, operation_timeout=120)
        self.allowed_netloc = allowed_netloc
        self.fetched = fetched

    def load(self, url):
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https") and parsed.netloc != self.allowed_netloc:
            raise RuntimeError(f"zeep tried to fetch {url}: the served contract must not need the network")
        if parsed.scheme not in ("http", "https"):
            raise RuntimeError(f"zeep tried to load {url} from outside the endpoint")
        self.fetched.append(url)
        return super().load(url)


def client(wsdl_url, fetched=None, plugins=None):
    """A strict zeep client built from the served WSDL, fetching only from its host."""
    fetched = [] if fetched is None else fetched
    transport = OfflineTransport(urlparse(wsdl_url).netloc, fetched)
    settings = Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return zeep.Client(wsdl_url, transport=transport, settings=settings, plugins=plugins or [])
