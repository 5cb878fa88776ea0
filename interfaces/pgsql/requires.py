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

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class PgsqlRequires(Endpoint):
    """The client end of a pgsql relation."""

    def request(self, values):
        """Publish ``database``, ``roles`` and ``extensions`` (comma lists) on every relation.

        The classic server reads unit data; newer ones prefer application data, which
        only the leader may write, so the leader writes both.
        """
        interface_helpers.publish_request(self, values, hookenv.is_leader())

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
