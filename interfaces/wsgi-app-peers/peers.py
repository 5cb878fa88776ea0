"""Peer side of ``wsgi-app-peers``: the other units of the same application.

Flags (``cluster`` stands for the endpoint's name in metadata.yaml):
  cluster.joined   at least one other unit of the application is up
The application's shared settings (SECRET_KEY, the commit to deploy) travel through
leader settings. With ``rollout=rolling`` each unit reports the release it serves here
(see README.md); the layer reads and writes those keys through the hook tools, so that
actions can too, not through this class.
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_not


class WsgiAppPeers(Endpoint):
    """The units of this application, as each unit sees the others."""

    @when("endpoint.{endpoint_name}.joined")
    @when_not("{endpoint_name}.joined")
    def _joined(self):
        interface_helpers.joined(self, "{endpoint_name}.joined")

    @when("{endpoint_name}.joined")
    @when_not("endpoint.{endpoint_name}.joined")
    def _gone(self):
        interface_helpers.gone(self, "{endpoint_name}.joined")
