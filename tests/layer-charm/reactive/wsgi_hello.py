"""The example charm's own handler: reacts to the layer's wsgi-app.serving flag."""

from charmhelpers.core import hookenv

from charms.reactive import set_flag, when, when_not


@when("wsgi-app.serving")
@when_not("wsgi-hello.announced")
def announce():
    """Once, when the unit first serves (what a real charm would do: register the site...)."""
    hookenv.log(f"wsgi-hello: serving on port {hookenv.config('port')}")
    set_flag("wsgi-hello.announced")
