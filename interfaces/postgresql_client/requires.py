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

from charms.reactive import Endpoint, clear_flag, get_flags, set_flag, when, when_any, when_not


def publish_changes(view, values):
    """Write only the values that differ: every write reaches the other side as a hook."""
    for key, value in values.items():
        if (view.get(key) or "") != value:
            view[key] = value


class PostgresqlClientRequires(Endpoint):
    """The client end of a postgresql_client relation."""

    def request(self, values):
        """Publish ``database`` (and ``extra-user-roles``) in application data; leader only."""
        if not hookenv.is_leader():
            return
        for relation in self.relations:
            publish_changes(relation.to_publish_app_raw, values)

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
