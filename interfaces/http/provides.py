"""Provides side of the ``http`` interface: tell proxies where this unit serves.

Flags (``website`` stands for the endpoint's name in metadata.yaml):
  website.connected   a proxy (apache2, haproxy...) has joined; publish with
                      :meth:`HttpProvides.publish`
The automatic ``endpoint.website.changed*`` and ``.departed`` flags are cleared once
seen. apache2 and haproxy read ``port`` and ``private-address``, others ``hostname``::

    @when("website.connected")
    def publish():
        website = endpoint_from_name("website")
        for relation in website.relations:
            website.publish(relation, {"hostname": ip, "private-address": ip, "port": "8080"})
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class HttpProvides(Endpoint):
    """The server end of an http relation."""

    def publish(self, relation, values):
        """Set this unit's data on ``relation`` (values are plain strings)."""
        interface_helpers.publish_changes(relation.to_publish_raw, values)

    @when("endpoint.{endpoint_name}.joined")
    @when_not("{endpoint_name}.connected")
    def _joined(self):
        interface_helpers.joined(self)

    @when("{endpoint_name}.connected")
    @when_not("endpoint.{endpoint_name}.joined")
    def _gone(self):
        interface_helpers.gone(self)

    @when_any("endpoint.{endpoint_name}.changed", "endpoint.{endpoint_name}.departed")
    def _seen(self):
        interface_helpers.consumed(self)
