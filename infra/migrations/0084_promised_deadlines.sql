-- Two clocks per matter: the statutory deadline (the law) and the zone's shorter promise on the
-- same ledger. The promise's deadline and whether it was missed (督办, not a legal breach) are
-- kept beside the statutory ``deadline`` and ``breached``.
ALTER TABLE rm_clocks ADD COLUMN promised_deadline timestamptz;
ALTER TABLE rm_clocks ADD COLUMN promise_missed boolean NOT NULL DEFAULT false;
