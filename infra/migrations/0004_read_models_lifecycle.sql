-- Align the read models with the lifecycle workflow (workflows/machine.py).

-- Its matter states: 'waiting' (not submitted yet; was 'pending' here, which the workflow uses for
-- "submitted, awaiting a decision") and 'withdrawn' (open when the project was withdrawn).
ALTER TABLE rm_matters DROP CONSTRAINT rm_matters_state_check;
UPDATE rm_matters SET state = 'waiting' WHERE state = 'pending';
ALTER TABLE rm_matters ADD CONSTRAINT rm_matters_state_check CHECK (state IN (
    'waiting', 'submitted', 'correction', 'approved', 'rejected', 'suspended', 'revoked',
    'exempted', 'withdrawn'));

-- Its clock ids carry the submission: a matter gets a new decision clock per submission, and a
-- matter's deadline is the one of its current submission's clock.
ALTER TABLE rm_clocks ADD COLUMN submission integer;
