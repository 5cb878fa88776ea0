"""localjuju: run a built charm on local systemd machines, as Juju would."""
