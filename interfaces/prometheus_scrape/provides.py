"""Provides side of ``prometheus_scrape``: scrape jobs for the Prometheus charm.

The Prometheus charm's ``metrics-endpoint`` (library ``prometheus_scrape``) reads the
leader's application data (``scrape_metadata``, ``scrape_jobs``: JSON) and each unit's
address and name (``prometheus_scrape_unit_*``). Flags (``metrics-endpoint`` stands for
the endpoint's name in metadata.yaml):
  metrics-endpoint.connected   a Prometheus has joined; publish with
                               :meth:`PrometheusScrapeProvides.publish`
The automatic ``endpoint.<name>.changed*`` and ``.departed`` flags are cleared once seen::

    @when("metrics-endpoint.connected")
    def publish():
        scrape = endpoint_from_name("metrics-endpoint")
        for relation in scrape.relations:
            scrape.publish(relation, unit_values, app_values if is_leader() else None)
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class PrometheusScrapeProvides(Endpoint):
    """The metrics-provider end of a prometheus_scrape relation."""

    def publish(self, relation, unit_values, app_values=None):
        """Set this unit's data on ``relation`` and, given ``app_values`` (the leader
        only), the application data; values are plain strings, written where they differ."""
        interface_helpers.publish_changes(relation.to_publish_raw, unit_values)
        if app_values is not None:
            interface_helpers.publish_changes(relation.to_publish_app_raw, app_values)

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
