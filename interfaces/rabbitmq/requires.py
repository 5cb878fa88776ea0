"""Requires side of the ``rabbitmq`` interface: ask for a user and a vhost.

Flags (``amqp`` stands for the endpoint's name in metadata.yaml):
  amqp.connected   a RabbitMQ unit has joined; call :meth:`RabbitmqRequires.request`
The automatic ``endpoint.amqp.changed*`` and ``.departed`` flags are cleared once seen.

The server's answer (``hostname`` and ``password`` in each unit's data from
rabbitmq-server, in application data from rabbitmq-k8s) is read and checked by the
wsgi-app layer's pure reader, ``charms.layer.wsgi_app.relation_data.rabbitmq``::

    @when("amqp.connected")
    def ask():
        endpoint_from_name("amqp").request({"username": "shop", "vhost": "shop"})
"""

from charmhelpers.core import hookenv

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class RabbitmqRequires(Endpoint):
    """The client end of a rabbitmq relation."""

    def request(self, values):
        """Publish ``username`` and ``vhost`` on every relation.

        rabbitmq-server reads them from each client unit's data; rabbitmq-k8s from the
        client's application data, which only the leader may write, so the leader writes both.
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
