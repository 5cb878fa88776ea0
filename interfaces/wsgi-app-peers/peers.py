"""Peer side of ``wsgi-app-peers``: the other units of the same application.

Flags (``cluster`` stands for the endpoint's name in metadata.yaml):
  cluster.joined   at least one other unit of the application is up
The application's shared settings (SECRET_KEY) travel through leader settings, not
through this relation; it exists so that every unit can list its peers' addresses.
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_not


class WsgiAppPeers(Endpoint):
    """The units of this application, as each unit sees the others."""

    def addresses(self):
        """The ingress address of every other unit."""
        return sorted(
            {
                unit.received_raw.get("ingress-address") or unit.received_raw.get("private-address") or ""
                for unit in self.all_joined_units
            }
            - {""}
        )

    @when("endpoint.{endpoint_name}.joined")
    @when_not("{endpoint_name}.joined")
    def _joined(self):
        interface_helpers.joined(self, "{endpoint_name}.joined")

    @when("{endpoint_name}.joined")
    @when_not("endpoint.{endpoint_name}.joined")
    def _gone(self):
        interface_helpers.gone(self, "{endpoint_name}.joined")
