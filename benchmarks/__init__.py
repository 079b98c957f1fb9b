"""Dev-only: benchmarks and the synthetic data they and the tests use. Shipped code never imports it.

- ``eventstore_bench``: the event store and the projector, ``python -m benchmarks.eventstore_bench``.
- ``lifecycle``: whole lifecycles on a dev server, ``python -m benchmarks.lifecycle [N]``.
- ``legalclock_bench``: deadline arithmetic, ``python -m benchmarks.legalclock_bench [COUNT]``.
- ``sample``: synthetic project streams built from the shipped catalog and the real event vocabulary.
"""
