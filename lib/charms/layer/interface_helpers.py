"""What every interface layer of wsgi-app shares: the flag bookkeeping and writing
relation data only where it changed.

charms.reactive finds handlers only in each interface layer's own file, so each layer
keeps its three decorated methods, one line each, and they call these. The handlers run
on a transition only (``<name>.connected`` set while joined and not yet set, cleared
once it is gone), so an idle hook invokes none of them: each invocation is a
``juju-log`` call.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from charms.reactive import Endpoint, clear_flag, get_flags, set_flag

CONNECTED = "{endpoint_name}.connected"


def joined(endpoint: Endpoint, flag: str = CONNECTED) -> None:
    """The endpoint has a joined unit: raise ``flag``."""
    set_flag(endpoint.expand_name(flag))


def gone(endpoint: Endpoint, flag: str = CONNECTED) -> None:
    """No unit is joined any more: drop ``flag``."""
    clear_flag(endpoint.expand_name(flag))


def consumed(endpoint: Endpoint) -> None:
    """The layer re-reads whole relations on every hook: the change and departure events
    (``endpoint.<name>.changed*``, ``.departed``) are spent."""
    prefix = endpoint.expand_name("changed")
    for name in get_flags():
        if name == prefix or name.startswith(prefix + "."):
            clear_flag(name)
    endpoint.all_departed_units.clear()
    clear_flag(endpoint.expand_name("departed"))


def publish_changes(view: MutableMapping[str, str], values: Mapping[str, str]) -> None:
    """Write only the values that differ: every write reaches the other side as a hook."""
    for key, value in values.items():
        if (view.get(key) or "") != value:
            view[key] = value


def publish_request(endpoint: Endpoint, values: Mapping[str, str], leader: bool) -> None:
    """Write ``values`` in this unit's data on every relation of ``endpoint`` and, from the
    ``leader``, in the application data too (classic servers read the former, newer the latter)."""
    for relation in endpoint.relations:
        publish_changes(relation.to_publish_raw, values)
        if leader:
            publish_changes(relation.to_publish_app_raw, values)
