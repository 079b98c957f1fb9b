-- The notifications relay claims rows in a short transaction and posts outside of it: a claimed
-- row is leased until claimed_until (another relay skips it meanwhile; a crashed relay's lease
-- runs out and the row is delivered again, under the same Idempotency-Key).
ALTER TABLE notifications ADD COLUMN claimed_until timestamptz;
