-- The working days a clock's limit was extended by (行政许可法 §42, or a matter's own law), so the
-- department report (eventstore.figures) judges a decision against the limit as extended: an
-- approved extension moves the statutory deadline. A read model: emptied by rebuild() and refilled
-- from events; decisions projected before this migration are judged again by
-- `daiban rebuild-read-models`.
ALTER TABLE rm_clocks ADD COLUMN extension_days double precision NOT NULL DEFAULT 0;
