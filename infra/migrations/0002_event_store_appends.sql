-- Appends are serialised from the moment a row takes its position until the transaction ends, so
-- positions are handed out in commit order and a reader tailing `position` never skips a row
-- that commits late. A transaction-scoped advisory lock rather than LOCK TABLE ... EXCLUSIVE:
-- EXCLUSIVE also conflicts with autovacuum's SHARE UPDATE EXCLUSIVE, so appends would stall behind
-- (anti-wraparound) vacuums of this insert-only table. The lock is taken by a statement trigger,
-- before any row of the INSERT draws its position, so every writer is covered, not only
-- eventstore.store.append. The key only has to differ from other advisory locks of daiban.
CREATE FUNCTION events_serialize_appends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(229252661);  -- 0x0DAA1E35
    RETURN NULL;
END $$;

CREATE TRIGGER events_serialize_appends BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_serialize_appends();

-- Row triggers do not see TRUNCATE; refuse it too.
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
