-- Events the projector could not project (eventstore.projector). Instead of dying on such an
-- event, the projector records it here, in the same transaction that moves its checkpoint past
-- it, and goes on with the rest. Later events of the same stream are held back here too (reason
-- 'held_back'), so a retry re-applies the stream in order once the cause is fixed.
-- `daiban projector quarantine` lists the rows, `daiban projector retry` re-applies them; a row is
-- kept after it is resolved (resolved_at, resolution), for the record. /readyz of the gateway
-- answers 503 while any row is unresolved.
CREATE TABLE projection_quarantine (
    projection      text        NOT NULL,   -- the projection_checkpoints row, e.g. 'read_models'
    position        bigint      NOT NULL,
    event_id        text        NOT NULL,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL,
    event_type      text        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('failed', 'held_back')),
    error           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolution      text        CHECK (resolution IN ('retried', 'rebuilt')),
    PRIMARY KEY (projection, position)
);

CREATE INDEX projection_quarantine_open_idx ON projection_quarantine (projection, stream_id, position)
    WHERE resolved_at IS NULL;
