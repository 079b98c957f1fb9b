-- What the lifecycle escalates and records beyond breaches, in the read models:
-- * rm_clocks.stop_overran: a stop outlasted the length it declared (StopOverran, 行政许可法 §45:
--   督办 to the project lead); the clock is on the overdue board while it stays stopped (a stopped
--   clock has no deadline, so it was never on the board); cleared when the clock resumes.
-- * rm_clocks.meeting_id: the joint meeting (联席会议) convened on the clock (JointMeetingConvened);
--   its resolution (JointMeetingResolved) sets the clock's escalation to 'meeting_resolved'.
-- * rm_department_performance.faults_count: the department's procedural faults recorded for its
--   accountability (DepartmentFaultRecorded, e.g. a completion notice that did not list everything
--   missing, 行政许可法 §32 ¶1(4), §72(4)).
ALTER TABLE rm_clocks ADD COLUMN stop_overran boolean NOT NULL DEFAULT false;
ALTER TABLE rm_clocks ADD COLUMN meeting_id text;
ALTER TABLE rm_clocks DROP CONSTRAINT rm_clocks_escalation_check;
ALTER TABLE rm_clocks ADD CONSTRAINT rm_clocks_escalation_check
    CHECK (escalation IN ('lead', 'joint_meeting', 'meeting_resolved'));
ALTER TABLE rm_department_performance ADD COLUMN faults_count integer NOT NULL DEFAULT 0;

-- Rows projected before this migration lack them: the next leader rebuilds the read models
-- (migration 0220's rebuild_reason).
UPDATE projection_checkpoints
   SET rebuild_reason = coalesce(rebuild_reason || '; ', '') || 'migration 0250: stop overruns, joint meeting resolutions and department faults are projected'
 WHERE projection = 'read_models' AND position > 0;
