"""Dev-only: the `make run` stack (Temporal dev server with the UI, embedded PostgreSQL, worker,
gateway, demo). Shipped code (worker, gateway, CLI) never imports this package.
"""
