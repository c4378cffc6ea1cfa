"""Front ends: each chat framework's thin adapter over the host-neutral core."""
