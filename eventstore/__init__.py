"""The domain event store and its read models, in PostgreSQL.

- ``store``: append-only, idempotent, hash-chained events; gap-free reading by position.
- ``codec``: domain events to rows and back; the clock ids the read models rely on.
- ``projector``: keeps the read models (``rm_*``) and their checkpoint; rebuilds them;
  quarantines (and retries) events it cannot project.
- ``binding``: which Temporal cluster and namespace the store belongs to; checked by the worker.
- ``repair``: re-append a project's missing events from its Temporal history.
- ``queries``: the repository layer for the CLI and the HTTP gateway, and the idempotent writers
  of the department inbox and the notifications outbox.
- ``sample``: synthetic project lifecycles for the tests and the benchmark.
- ``bench``: ``python -m eventstore.bench``.
"""
