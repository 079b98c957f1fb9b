"""Developer tools for the legal clock (not imported at run time)."""
