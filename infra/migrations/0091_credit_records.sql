-- The credit record (信用记录): enterprises whose commitment (告知承诺) failed verification, entered
-- in their credit record (国办发〔2020〕42号). A read model of the CreditRecorded events, one row per
-- event (its id the key, so projecting an event again writes nothing), rebuilt from the store.
CREATE TABLE rm_credit_records (
    event_id     text        PRIMARY KEY,
    project_id   text        NOT NULL,
    enterprise   text        NOT NULL,
    matter_code  text        NOT NULL,
    department   text        NOT NULL,
    findings     text        NOT NULL,
    consequence  text        NOT NULL,
    verified_by  text        NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX rm_credit_records_enterprise_idx ON rm_credit_records (enterprise, recorded_at);
