-- The domain event store: append-only, one stream per project.
CREATE TABLE events (
    position     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    stream_id    text        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    event_id     text        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    prev_hash    text        NOT NULL,
    hash         text        NOT NULL,
    -- The primary key is the optimistic concurrency check.
    PRIMARY KEY (stream_id, version)
);

CREATE INDEX events_type_idx ON events (event_type);

-- Events are never updated or deleted.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- What a department has to decide: written when an application is submitted.
CREATE TABLE department_inbox (
    project_id    text        NOT NULL,
    matter_code   text        NOT NULL,
    submission    integer     NOT NULL,
    department    text        NOT NULL,
    payload       jsonb       NOT NULL,
    submitted_at  timestamptz NOT NULL,
    closed_at     timestamptz,
    outcome       text,
    PRIMARY KEY (project_id, matter_code, submission)
);

CREATE INDEX department_inbox_open_idx ON department_inbox (department) WHERE closed_at IS NULL;

-- Notifications outbox: warnings, escalations, meetings. A sender drains it.
CREATE TABLE notifications (
    notification_id text        PRIMARY KEY,
    project_id      text        NOT NULL,
    kind            text        NOT NULL,
    recipients      text[]      NOT NULL,
    message         text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
