"""Dev-only: benchmarks and the synthetic data they and the tests use. Shipped code never imports it.

- ``eventstore_bench``: the event store and the projector, ``python -m benchmarks.eventstore_bench``.
- ``bench``: ``make bench``, daiban's full lifecycle against a raw Temporal baseline (``baseline``)
  in one run, its own servers (``stack``) and worker processes (``bench_worker``);
  ``lifecycle``: the driver that takes a project from registration to production.
- ``legalclock_bench``: deadline arithmetic, ``python -m benchmarks.legalclock_bench [COUNT]``.
- ``sample``: synthetic project streams built from the shipped catalog and the real event vocabulary.
"""
