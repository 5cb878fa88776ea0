"""A WSGI app whose answer names the versions of its locked dependencies."""

import importlib.metadata

PACKAGES = ("six", "idna")


def app(environ, start_response):
    versions = " ".join(f"{name}=={importlib.metadata.version(name)}" for name in PACKAGES)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"locked app: {versions}\n".encode()]
