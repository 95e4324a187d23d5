"""Cluster mode's adapters (PADBOX_REDIS_URL): the node registry, the run directory and per-client caps in Redis,
HAProxy's agent check and its configuration. The core knows none of this: it sees padbox.core.cluster.Membership
and padbox.core.access.ClientCaps."""
