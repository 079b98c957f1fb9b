-- Batches the storage refused for good (a value PostgreSQL cannot hold, an event that conflicts
-- with the stored stream): the project is parked with its batch kept, and operators see it here,
-- in the outbox (kind 'fault') and in the Temporal UI (DaibanFaulted). One row per refused batch.
CREATE TABLE project_faults (
    project_id           text        NOT NULL,
    run_id               text        NOT NULL,
    first_event_version  integer     NOT NULL,
    error_type           text        NOT NULL,
    message              text        NOT NULL,
    batch_summary        text        NOT NULL,
    faulted_at           timestamptz NOT NULL,
    resolved_at          timestamptz,
    PRIMARY KEY (project_id, run_id, first_event_version)
);
