"""The ``rabbitmq`` interface (our ``amqp`` endpoint), as the rabbitmq-server charm speaks it.

The client asks in every unit's data for a ``username`` and a ``vhost`` (ours: the
application's name for both). The server's leader creates the vhost and the user, grants
the user everything on it, and each server unit answers in its unit data with
``hostname`` (its address on the amqp binding), ``private-address`` and ``password``,
plus ``ssl_port``/``ssl_ca`` when it serves TLS, ``clustered``/``vip`` in clusters and
``ha_queues`` for old servers; a cluster fronted by hacluster (``clustered`` with one
``vip``) is reached at its VIP, as its OpenStack clients do. Before our request reaches
it a unit publishes ``hostname`` without ``password``: that is "not yet", not an error. rabbitmq-k8s
answers ``hostname`` and ``password`` in application data instead; both are read. The
port is 5672 unless the provider names another in ``port``; TLS is not used yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial

from ..integrations import AmqpBroker, HostPort
from .common import BadData, Note, Pending, RawRelation, host, optional_text, port, read_one_server

WAITING = "rabbitmq credentials"
AMQP_PORT = 5672
# rabbitmq-server's generated passwords are 64 letters and digits; anything printable
# without spaces is accepted (it is percent-encoded in AMQP_URL)
_PASSWORD = re.compile(r"[\x21-\x7e]{1,512}\Z")


@dataclass(frozen=True)
class AmqpRequest:
    """The user and vhost this application asks the server for."""

    username: str
    vhost: str

    def relation_data(self) -> dict[str, str]:
        """What every unit of ours publishes in its unit data."""
        return {"username": self.username, "vhost": self.vhost}


def request_for(app_name: str) -> AmqpRequest:
    """Our request: a user and a vhost of the application's own name."""
    return AmqpRequest(username=app_name, vhost=app_name)


def read_broker(
    relations: Iterable[RawRelation], request: AmqpRequest
) -> tuple[AmqpBroker | None, list[Note]]:
    """The broker, ``None`` while no server unit has answered; raises :class:`BadData`
    when every unit that answered sent something unusable."""
    return read_one_server(relations, partial(_broker, request))


def _broker(request: AmqpRequest, data: Mapping[str, str]) -> AmqpBroker:
    address = optional_text(data, "hostname", "host")
    password = data.get("password") or ""
    if not address or not password.strip():
        raise Pending("no hostname and password yet")
    if not _PASSWORD.match(password):
        raise BadData("password is not printable ASCII without spaces")
    number = port(data["port"]) if (data.get("port") or "").strip() else AMQP_PORT
    return AmqpBroker(HostPort(_host(data, address), number), request.username, password, request.vhost)


def _host(data: Mapping[str, str], hostname: str) -> str:
    """The unit's ``hostname``, or the cluster's ``vip`` once hacluster fronts it
    (``clustered``), as the OpenStack charms' AMQP clients connect. Several VIPs (one per
    network) name no single address: the unit's own is used then."""
    vips = (data.get("vip") or "").split()
    if (data.get("clustered") or "").strip() and len(vips) == 1:
        return host(vips[0], "vip")
    return host(hostname, "hostname")
