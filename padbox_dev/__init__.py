"""Development and test tools that never ship in the wheel: the local cluster (`make cluster`, tests/cluster,
the bench) and a raw Yjs pad client (the pad tests, the bench). They live beside the checkout's `tests/` and
`bench/`, and the server never imports them (import-linter holds it)."""
