-- Every statement that appends events tells the projector, in the appending transaction: a
-- NOTIFY is delivered when (and only if) the transaction commits, one per channel and payload per
-- transaction. The projector LISTENs on `daiban_events` (eventstore/projector.py) and keeps a slow
-- poll as a safety net for a lost connection.
CREATE FUNCTION notify_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('daiban_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_appended
    AFTER INSERT ON events
    FOR EACH STATEMENT
    EXECUTE FUNCTION notify_events_appended();
