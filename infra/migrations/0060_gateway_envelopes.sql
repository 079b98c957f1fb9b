-- Replay protection of the HTTP gateway's signed department envelopes (interfaces/auth.py).
--
-- One row per decision id of a project, claimed by the first signed request that carries it.
-- The primary key makes the claim atomic across gateway replicas and survives restarts: a
-- later request with the same (project_id, decision_id) is an honest retry when it carries the
-- same decision (same digest; the workflow answers it idempotently) and a replay otherwise.
CREATE TABLE IF NOT EXISTS gateway_envelopes (
    project_id      text        NOT NULL,
    decision_id     text        NOT NULL,
    operation       text        NOT NULL,   -- 'decide' or 'verify'
    department      text        NOT NULL,
    matter_code     text        NOT NULL,
    -- sha256 of the validated decision's canonical JSON, so a retry formatted differently
    -- still counts as the same decision.
    decision_digest text        NOT NULL,
    first_signature text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    uses            integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (project_id, decision_id)
);
