"""Dev-only: benchmarks and the synthetic data they and the tests use. Shipped code never imports it.

- ``bench``: the event store and the projector, ``python -m benchmarks.bench``.
- ``sample``: synthetic project streams built from the shipped catalog and the real event vocabulary.
"""
