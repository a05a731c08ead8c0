-- A team's calendar (`relink alerts settings --timezone --quiet-hours`): its time zone, an IANA
-- name the bundled time zone database knows (`Europe/Rome`; NULL is UTC), and its quiet hours,
-- in minutes since local midnight, across midnight when the end is earlier (20:00-08:00 is
-- 1200 and 480); NULL, both of them, is no quiet hours. A name the database no longer knows is
-- read as UTC, with a warning, rather than stopping the alerts engine.
ALTER TABLE team_alert_settings
    ADD COLUMN timezone TEXT CHECK (length(timezone) BETWEEN 1 AND 64),
    ADD COLUMN quiet_from_min BIGINT CHECK (quiet_from_min BETWEEN 0 AND 1439),
    ADD COLUMN quiet_until_min BIGINT CHECK (quiet_until_min BETWEEN 0 AND 1439),
    ADD CONSTRAINT team_alert_settings_quiet_hours
        CHECK ((quiet_from_min IS NULL) = (quiet_until_min IS NULL)
             AND (quiet_from_min IS NULL OR quiet_from_min <> quiet_until_min));
