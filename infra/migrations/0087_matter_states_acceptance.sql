-- The matter states of the acceptance step (schemas.project.MatterStateName): open to apply,
-- received (to accept), sent back with a completion notice (incomplete).
ALTER TABLE rm_matters DROP CONSTRAINT rm_matters_state_check;
ALTER TABLE rm_matters ADD CONSTRAINT rm_matters_state_check CHECK (state IN (
    'waiting', 'exempt', 'to_apply', 'received', 'incomplete', 'pending', 'correction', 'rejected',
    'approved', 'suspended', 'withdrawn'));
