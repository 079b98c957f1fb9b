-- The command that caused an event: the request id or decision id the workflow handled, NULL for
-- events a timer caused and for events recorded before this column existed. Part of the hash
-- chain's canonical form only when set (eventstore.store.canonical), so older chains still verify.
-- Adding a nullable column without a default rewrites no row and fires no row trigger.
ALTER TABLE events ADD COLUMN causation_id text;

CREATE INDEX events_causation_idx ON events (causation_id) WHERE causation_id IS NOT NULL;
