"""Provides side of ``wsgi-app-logs``: tell a co-located log shipper where the logs are.

Container-scoped (the shipper is a subordinate on the same machine). Published in unit
data: ``syslog-identifier``, ``systemd-unit``, ``journal-match``, ``log-format``,
``log-files`` (empty: everything is in the journal). Flags (``logging`` stands for the
endpoint's name in metadata.yaml):
  logging.connected   a shipper has joined; publish with :meth:`LogsProvides.publish`
The automatic ``endpoint.<name>.changed*`` and ``.departed`` flags are cleared once seen.
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class LogsProvides(Endpoint):
    """The log-source end of a wsgi-app-logs relation."""

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
