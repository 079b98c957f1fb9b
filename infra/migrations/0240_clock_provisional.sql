-- A breach on a provisional deadline (DeadlineBreached.provisional: counted over a year without the
-- State Council's notice, statutory holidays known, 调休 not) is marked on the overdue board, so an
-- operator sees that it rests on uncertain data. Kept per limit, as the breaches are:
-- * provisional: the statutory breach (``breached``) was recorded on a provisional deadline;
-- * promise_provisional: the missed promise (``promise_missed``) was.
-- Both are cleared when the deadline is confirmed (ProvisionalDeadlineConfirmed; a calendar adopted,
-- DeadlinesRecomputed, whose official years cover the deadline) and when the clock is re-armed.
ALTER TABLE rm_clocks ADD COLUMN provisional boolean NOT NULL DEFAULT false;
ALTER TABLE rm_clocks ADD COLUMN promise_provisional boolean NOT NULL DEFAULT false;

-- Rows projected before this migration lack the flags: the next leader rebuilds the read models
-- (migration 0220's rebuild_reason).
UPDATE projection_checkpoints
   SET rebuild_reason = coalesce(rebuild_reason || '; ', '') || 'migration 0240: breaches on provisional deadlines are marked on the overdue board'
 WHERE projection = 'read_models' AND position > 0;
