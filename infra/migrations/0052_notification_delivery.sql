-- Delivery of the notifications outbox: attempts and the last error, for operators.
ALTER TABLE notifications ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN last_error text;
CREATE INDEX notifications_unsent_idx ON notifications (created_at) WHERE sent_at IS NULL;
