"""``charms`` is shared with charms.reactive and charms.templating in the virtualenv."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
