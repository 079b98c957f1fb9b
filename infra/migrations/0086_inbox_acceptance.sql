-- The acceptance step (行政许可法 §32): an inbox row is an application to accept (phase
-- 'acceptance', 5 working days) until accepted, then to decide (phase 'decision'). Rows written
-- before the step were submitted for decision at once.
ALTER TABLE department_inbox
    ADD COLUMN phase text NOT NULL DEFAULT 'decision' CHECK (phase IN ('acceptance', 'decision')),
    ADD COLUMN accepted_at timestamptz;
