"""The fault suite of issue 9 (``make faults``): projects driven to production while workers,
the Temporal server and PostgreSQL are killed; then every project is checked. See ``__main__``."""
