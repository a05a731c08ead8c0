-- A team's own calm cadence (`relink alerts settings --check-every`): how long a calm channel
-- of the team waits between checks, in milliseconds. NULL follows the configuration's
-- `checks.every`.
ALTER TABLE team_alert_settings ADD COLUMN check_every_ms BIGINT;
