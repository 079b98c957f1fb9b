-- Registrations the HTTP gateway accepted (interfaces/usecases.py, register_project).
--
-- One row per project id, claimed by the first registration that carries it: the primary key makes
-- the claim atomic across gateway replicas, so of concurrent registrations of one id exactly one
-- is answered "created" (201) and the others 200 with the same run; a registration with another
-- body for a known id is refused (409) naming the fields that differ.
CREATE TABLE IF NOT EXISTS gateway_registrations (
    project_id      text        PRIMARY KEY,
    -- The validated registration as JSON (the values compared field by field).
    registration    jsonb       NOT NULL,
    principal       text        NOT NULL,
    -- The run the registration started or found (NULL while the first caller is starting it).
    run_id          text,
    created         boolean,
    first_seen_at   timestamptz NOT NULL DEFAULT now()
);
