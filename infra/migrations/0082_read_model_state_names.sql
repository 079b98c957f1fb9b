-- The read models use the lifecycle's matter state names (schemas.project.MatterStateName):
-- 'pending' (was 'submitted') and 'exempt' (was 'exempted'). 'revoked' is gone: the lifecycle
-- resubmits a revoked matter at once, so its MatterSubmitted follows and the matter is pending.
ALTER TABLE rm_matters DROP CONSTRAINT rm_matters_state_check;
UPDATE rm_matters SET state = CASE state WHEN 'submitted' THEN 'pending'
                                         WHEN 'exempted' THEN 'exempt'
                                         ELSE 'pending' END
WHERE state IN ('submitted', 'exempted', 'revoked');
ALTER TABLE rm_matters ADD CONSTRAINT rm_matters_state_check CHECK (state IN (
    'waiting', 'exempt', 'pending', 'correction', 'rejected', 'approved', 'suspended',
    'withdrawn'));
