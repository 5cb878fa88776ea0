"""Requires side of the ``s3`` interface (application data only), as s3-integrator serves it.

Flags (``s3`` stands for the endpoint's name in metadata.yaml):
  s3.connected   an s3-integrator has joined; the leader asks for a bucket with
                 :meth:`S3Requires.request`
The automatic ``endpoint.s3.changed*`` and ``.departed`` flags are cleared once seen.
The integrator's answer (``access-key``, ``secret-key`` or a ``secret-extra`` Juju
secret, ``bucket``, ``endpoint``, ``region``, ``path``, ``s3-uri-style``) is read by the
wsgi-app layer's pure reader, ``charms.layer.wsgi_app.relation_data.s3``::

    @when("s3.connected", "leadership.is_leader")
    def ask():
        s3 = endpoint_from_name("s3")
        for relation in s3.relations:
            s3.request(relation, {"bucket": "media", "requested-secrets": '["access-key", "secret-key"]'})
"""

from charmhelpers.core import hookenv

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class S3Requires(Endpoint):
    """The client end of an s3 relation."""

    def request(self, relation, values):
        """Publish the bucket (and the secrets) asked for in application data; leader only."""
        if not hookenv.is_leader():
            return
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
