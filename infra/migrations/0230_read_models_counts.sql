-- The projector's handlers changed what the read models hold (eventstore.handlers), so a store
-- projected before is rebuilt once by the next leader (migration 0220's rebuild_reason):
-- * rm_department_performance.breaches_count: only the department's own breaches (its decisions
--   and acceptances past the statutory limit, a commitment's verification it owes), no longer the
--   enterprise's period to file nor the materials it owes under tolerance;
-- * rm_zone_totals: a commitment revoked by a failed verification no longer counts as saving days;
-- * rm_clocks: a verification still owed keeps its clock open after production starts, as the
--   lifecycle does, so it stays on the overdue board; a construction permit's start-by date
--   (建筑法 §9) has a clock of its own (permit:<matter>), so it counts for the nearest deadline;
-- * rm_matters.deadline: the clock the matter runs now (the 5 days to accept while received, none
--   while the agent prepares or completes the application);
-- * rm_clocks.department of a stage clock: its lead department from the stage's start.
UPDATE projection_checkpoints
   SET rebuild_reason = coalesce(rebuild_reason || '; ', '') || 'migration 0230: department breaches, days saved by revoked commitments and verifications owed after production and permit start-by dates are projected anew'
 WHERE projection = 'read_models' AND position > 0;
