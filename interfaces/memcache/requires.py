"""Requires side of the ``memcache`` interface: every memcached unit's ``host`` and ``port``.

Flags (``cache`` stands for the endpoint's name in metadata.yaml):
  cache.connected   a memcached unit has joined
The automatic ``endpoint.cache.changed*`` and ``.departed`` flags are cleared once
seen. The client publishes nothing; :meth:`MemcacheRequires.unit_data` gives each
unit's raw data, which the wsgi-app layer checks
(``charms.layer.wsgi_app.relation_data.memcache``).
"""

from charms.reactive import Endpoint, clear_flag, get_flags, set_flag, when, when_any, when_not


class MemcacheRequires(Endpoint):
    """The client end of a memcache relation."""

    def unit_data(self):
        """``{unit name: raw data}`` of every joined memcached unit."""
        return {unit.unit_name: dict(unit.received_raw) for unit in self.all_joined_units}

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
