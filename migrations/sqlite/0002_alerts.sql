-- Alerts: incidents (one open per channel and problem), the alerts relink sends, one delivery
-- per alert and destination (the delivery outbox), and each team's alert settings.
-- Instants are milliseconds since the Unix epoch (UTC), durations milliseconds.

-- A team's own alert settings; a NULL column means "the installation's default".
CREATE TABLE team_alert_settings (
    team_id            BIGINT  PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    -- Days before an expiry at which to warn, largest first: '14,7,3,1'.
    warning_days       TEXT,
    first_reminder_ms  BIGINT  CHECK (first_reminder_ms > 0),
    reminder_every_ms  BIGINT  CHECK (reminder_every_ms > 0),
    escalate_after_ms  BIGINT  CHECK (escalate_after_ms >= 0)
);

CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id             BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id          BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    problem             TEXT    NOT NULL
                        CHECK (problem IN ('expiring', 'needs_reauth', 'degraded', 'operator_problem')),
    reason              TEXT,
    -- What the network said (an `other` reason) or the operator problem, in plain words.
    detail              TEXT,
    -- When an expiring token ends.
    deadline            BIGINT,
    opened_at           BIGINT  NOT NULL,
    -- The smallest warning threshold (in days) already passed.
    warned_days         BIGINT,
    reminders           BIGINT  NOT NULL DEFAULT 0,
    next_reminder_at    BIGINT,
    escalate_at         BIGINT,
    escalated_at        BIGINT,
    -- A post is due within 24 hours on a channel that needs reconnecting.
    urgent              BOOLEAN NOT NULL DEFAULT FALSE,
    last_alert_at       BIGINT,
    -- The incident's first alert, edited to "resolved" where the platform allows it; not when
    -- that alert also spoke for other channels.
    first_alert_id      BIGINT,
    first_alert_shared  BOOLEAN NOT NULL DEFAULT FALSE,
    acknowledged_by     BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    acknowledged_at     BIGINT,
    snoozed_by          BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    snoozed_until       BIGINT,
    -- When the alerts engine must look at the incident again (a warning, reminder, escalation,
    -- the end of a snooze); NULL once resolved.
    next_action_at      BIGINT,
    resolved_at         BIGINT,
    updated_at          BIGINT  NOT NULL
);
-- One open incident per channel and problem: new transitions update it.
CREATE UNIQUE INDEX incidents_one_open ON incidents (channel_id, problem) WHERE resolved_at IS NULL;
-- The engine finds due incidents through this index, never by scanning.
CREATE INDEX incidents_due ON incidents (next_action_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_by_team ON incidents (team_id, opened_at);

-- An alert as sent: the platform-neutral model as JSON, already in the team's language.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('expiring', 'disconnected', 'reminder', 'escalated', 'degraded',
                                                 'resolved', 'operator_problem')),
    severity    TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical', 'urgent')),
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX alerts_by_team ON alerts (team_id, created_at);

-- Which incidents an alert speaks for (several when channels fail for one shared cause).
CREATE TABLE alert_incidents (
    alert_id     BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    incident_id  BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, incident_id)
);
CREATE INDEX alert_incidents_by_incident ON alert_incidents (incident_id);

-- One row per alert and destination. Workers claim due rows under a lease (the claim pushes
-- next_attempt_at to the lease's end), retry transient failures with backoff and give up into
-- 'dead', which operators list and retry.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    destination      TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    last_error       TEXT,
    -- The platform's reference to the sent message, for editing it when the incident resolves.
    sent_ref         TEXT,
    sent_at          BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead';
CREATE INDEX deliveries_by_alert ON deliveries (alert_id, destination);
