"""Pure readers of raw relation data, one module per interface.

Each reader takes what Juju returns for a relation (string maps, see :mod:`.common`) and
returns the typed values of :mod:`..integrations`, plus the notes (skipped units and
why) that the caller logs. Nothing here talks to Juju, so every reader is tested with
recorded relation data; a unit with bad data is skipped, never an exception.
"""
