"""Requires side of the legacy ``pgsql`` interface: ask for a database.

Flags (``db`` stands for the endpoint's name in metadata.yaml):
  db.connected   a PostgreSQL unit has joined; call :meth:`PgsqlRequires.request`
The automatic ``endpoint.db.changed*`` and ``endpoint.db.departed`` flags are cleared
once seen: the wsgi-app layer re-reads the whole relation on every hook.

Reading and checking the server's answer (access granted to this unit, the requested
database echoed, the ``master`` and ``standbys`` connection strings) is the job of the
wsgi-app layer's pure reader, ``charms.layer.wsgi_app.relation_data.pgsql``::

    @when("db.connected")
    def ask():
        endpoint_from_name("db").request({"database": "shop", "roles": "", "extensions": "citext"})
"""

from charmhelpers.core import hookenv

from charms.reactive import Endpoint, clear_flag, get_flags, set_flag, when, when_any, when_not


def publish_changes(view, values):
    """Write only the values that differ: every write reaches the other side as a hook."""
    for key, value in values.items():
        if (view.get(key) or "") != value:
            view[key] = value


class PgsqlRequires(Endpoint):
    """The client end of a pgsql relation."""

    def request(self, values):
        """Publish ``database``, ``roles`` and ``extensions`` (comma lists) on every relation.

        The classic server reads unit data; newer ones prefer application data, which
        only the leader may write, so the leader writes both.
        """
        leader = hookenv.is_leader()
        for relation in self.relations:
            publish_changes(relation.to_publish_raw, values)
            if leader:
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
