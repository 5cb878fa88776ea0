"""Requires side of the ``postgresql_client`` interface (application data only).

Flags (``database`` stands for the endpoint's name in metadata.yaml):
  database.connected   a PostgreSQL application has joined; the leader calls
                       :meth:`PostgresqlClientRequires.request`
The automatic ``endpoint.database.changed*`` and ``.departed`` flags are cleared once
seen. The server's answer (``endpoints``, ``read-only-endpoints``, ``username``,
``password`` or a ``secret-user`` Juju secret) is read by the wsgi-app layer's pure
reader, ``charms.layer.wsgi_app.relation_data.postgresql_client``::

    @when("database.connected", "leadership.is_leader")
    def ask():
        endpoint_from_name("database").request({"database": "shop", "extra-user-roles": ""})
"""

from charmhelpers.core import hookenv

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class PostgresqlClientRequires(Endpoint):
    """The client end of a postgresql_client relation."""

    def request(self, values):
        """Publish ``database`` (and ``extra-user-roles``) in application data; leader only."""
        if not hookenv.is_leader():
            return
        for relation in self.relations:
            interface_helpers.publish_changes(relation.to_publish_app_raw, values)

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
