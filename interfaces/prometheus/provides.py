"""Provides side of the ``prometheus`` interface: a scrape target for Prometheus.

The machine Prometheus charm's ``scrape`` endpoint (and telegraf-style targets) use
``hostname``, ``port`` and optionally ``metrics_path`` of each unit. Flags
(``scrape`` stands for the endpoint's name in metadata.yaml):
  scrape.connected   a scraper has joined; publish with :meth:`PrometheusProvides.publish`
The automatic ``endpoint.<name>.changed*`` and ``.departed`` flags are cleared once seen::

    @when("scrape.connected")
    def publish():
        scrape = endpoint_from_name("scrape")
        for relation in scrape.relations:
            scrape.publish(relation, {"hostname": ip, "port": "9102", "metrics_path": "/metrics"})
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class PrometheusProvides(Endpoint):
    """The scrape-target end of a prometheus relation."""

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
