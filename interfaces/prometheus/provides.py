"""Provides side of the ``prometheus`` interface: a scrape target for Prometheus.

The machine Prometheus charm's ``scrape`` endpoint (and telegraf-style targets) use
``hostname``, ``port`` and optionally ``metrics_path`` of each unit. Flags
(``metrics-endpoint`` stands for the endpoint's name in metadata.yaml):
  metrics-endpoint.connected   a scraper has joined; publish with :meth:`PrometheusProvides.publish`
The automatic ``endpoint.<name>.changed*`` and ``.departed`` flags are cleared once seen::

    @when("metrics-endpoint.connected")
    def publish():
        scrape = endpoint_from_name("metrics-endpoint")
        for relation in scrape.relations:
            scrape.publish(relation, {"hostname": ip, "port": "9102", "metrics_path": "/metrics"})
"""

from charms.reactive import Endpoint, clear_flag, get_flags, set_flag, when, when_any, when_not


def publish_changes(view, values):
    """Write only the values that differ: every write reaches the other side as a hook."""
    for key, value in values.items():
        if (view.get(key) or "") != value:
            view[key] = value


class PrometheusProvides(Endpoint):
    """The scrape-target end of a prometheus relation."""

    def publish(self, relation, values):
        """Set this unit's data on ``relation`` (values are plain strings)."""
        publish_changes(relation.to_publish_raw, values)

    @when("endpoint.{endpoint_name}.joined")
    def _joined(self):
        set_flag(self.expand_name("{endpoint_name}.connected"))

    @when_not("endpoint.{endpoint_name}.joined")
    def _gone(self):
        clear_flag(self.expand_name("{endpoint_name}.connected"))

    @when_any("endpoint.{endpoint_name}.changed", "endpoint.{endpoint_name}.departed")
    def _seen(self):
        # the charm re-reads the whole relation on every hook: the events are consumed
        prefix = self.expand_name("changed")
        for flag in get_flags():
            if flag == prefix or flag.startswith(prefix + "."):
                clear_flag(flag)
        self.all_departed_units.clear()
        clear_flag(self.expand_name("departed"))
