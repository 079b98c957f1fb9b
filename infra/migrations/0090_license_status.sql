-- An e-licence's status (modes rule 2): valid; suspended while materials owed under tolerance
-- (容缺, 国办发〔2019〕11号) are overdue; lapsed when construction did not start in time (建筑法 §9);
-- revoked after a failed commitment verification. status_version is the stream version of the
-- event that set it: a batch applied again after a later one never turns the status back.
ALTER TABLE e_licenses
    ADD COLUMN status text NOT NULL DEFAULT 'valid'
        CHECK (status IN ('valid', 'suspended', 'lapsed', 'revoked')),
    ADD COLUMN status_reason text,
    ADD COLUMN status_version integer NOT NULL DEFAULT 0,
    ADD COLUMN status_changed_at timestamptz;
UPDATE e_licenses SET status = 'revoked', status_reason = revoked_reason WHERE revoked_at IS NOT NULL;

-- The read model shows it beside the licence number.
ALTER TABLE rm_matters ADD COLUMN license_status text;
