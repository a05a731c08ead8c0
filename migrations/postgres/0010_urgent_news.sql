-- A channel that needs reconnecting turning urgent (a post due within 24 hours) is news once:
-- when the team was told so, so a second post coming due later goes into the daily digest instead
-- of another message.
ALTER TABLE incidents ADD COLUMN urgent_told_at BIGINT;
