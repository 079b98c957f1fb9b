"""The domain event store and its read models, in PostgreSQL."""
