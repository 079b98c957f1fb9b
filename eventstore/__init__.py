"""The storage layer: every table of daiban, in PostgreSQL (migrations in ``infra/migrations``).

Imports ``schemas``, ``catalog`` and ``legalclock`` only (``binding`` and ``repair`` also talk to
Temporal). Activities, the worker, the CLI and the gateway reach the database through it.

- ``store``: append-only, idempotent, hash-chained events (``EventEnvelope``); gap-free reading.
- ``codec``: the one mapper between domain events and stored rows; the clock ids.
- ``batches``: one flush of a project, its events and effects, in one transaction.
- ``inbox``: the department inbox (``department_inbox``).
- ``outbox``: the notifications outbox (``notifications``): queueing, claiming with a lease,
  recording deliveries.
- ``licences``: e-licences (``e_licenses``), with their issuing body and seal.
- ``calendars``: official calendars an operator loaded (``calendars``); any stored version by its name.
- ``content``: content versions projects registered under (``content_versions``).
- ``versions``: the catalog and zone policy versions in force (``content_loads``) and the versions
  each project registered under (``project_content_versions``).
- ``faults``: batches the storage refused for good (``project_faults``).
- ``envelopes``: the gateway's decision envelopes, replay protection (``gateway_envelopes``).
- ``projector``: keeps the read models (``rm_*``) and their checkpoint; rebuilds them;
  ``handlers``: one per event type; ``quarantine``: events it cannot project.
- ``queries``: read queries over the events and the read models, for the CLI and the gateway.
- ``binding``: which Temporal cluster and namespace the store belongs to; checked by the worker.
- ``repair``: re-append a project's missing events from its Temporal history.

Dev-only code (the benchmark, synthetic streams) lives in ``benchmarks/``.
"""
