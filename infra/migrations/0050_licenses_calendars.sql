-- E-licenses (电子证照) issued on approval; the number is derived from the approval, so a retried
-- issue is a no-op.
CREATE TABLE e_licenses (
    license_no   text        PRIMARY KEY,
    project_id   text        NOT NULL,
    matter_code  text        NOT NULL,
    department   text        NOT NULL,
    holder       text        NOT NULL,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE INDEX e_licenses_project_idx ON e_licenses (project_id);

-- Official calendars loaded by operators; the newest row is the one in force.
CREATE TABLE calendars (
    version    text        PRIMARY KEY,
    content    jsonb       NOT NULL,
    loaded_by  text        NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
