-- Teams, members, chat bindings, channels with sealed tokens, scheduled posts, health history
-- and the outbox of events. Instants are milliseconds since the Unix epoch (UTC).

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    language    TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'it', 'ja')),
    created_at  BIGINT  NOT NULL
);
-- People type team names in any case: `acme` and `Acme` are one team.
CREATE UNIQUE INDEX teams_name_folded ON teams (LOWER(name));

CREATE TABLE members (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id           BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('primary_owner', 'owner', 'admin', 'editor', 'viewer')),
    discord_user_id   BIGINT,
    telegram_user_id  BIGINT,
    created_at        BIGINT  NOT NULL,
    UNIQUE (team_id, name)
);
CREATE UNIQUE INDEX members_one_primary_owner ON members (team_id) WHERE role = 'primary_owner';
CREATE UNIQUE INDEX members_discord_user ON members (team_id, discord_user_id) WHERE discord_user_id IS NOT NULL;
CREATE UNIQUE INDEX members_telegram_user ON members (team_id, telegram_user_id) WHERE telegram_user_id IS NOT NULL;
CREATE INDEX members_by_discord_user ON members (discord_user_id) WHERE discord_user_id IS NOT NULL;
CREATE INDEX members_by_telegram_user ON members (telegram_user_id) WHERE telegram_user_id IS NOT NULL;

CREATE TABLE chat_bindings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    platform    TEXT    NOT NULL CHECK (platform IN ('discord', 'telegram')),
    chat_id     BIGINT  NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT  NOT NULL,
    UNIQUE (team_id, platform, chat_id)
);
CREATE INDEX chat_bindings_by_chat ON chat_bindings (platform, chat_id);

-- One row per encryption key the database has seen: a known value sealed with that key, so a
-- wrong key file is recognised at start-up instead of at the first token read.
CREATE TABLE encryption_keys (
    id           BIGINT  PRIMARY KEY,
    check_value  BLOB    NOT NULL,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE channels (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id              BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    provider             TEXT    NOT NULL,
    external_account_id  TEXT    NOT NULL,
    display_name         TEXT    NOT NULL,
    authorized_by        BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    token_key_id         BIGINT  NOT NULL,
    token_ciphertext     BLOB    NOT NULL,
    token_expires_at     BIGINT,
    scopes               TEXT    NOT NULL DEFAULT '',
    last_activity_at     BIGINT,
    health               TEXT    NOT NULL DEFAULT 'unknown'
                         CHECK (health IN ('unknown', 'healthy', 'expiring', 'needs_reauth', 'degraded')),
    health_reason        TEXT,
    health_detail        TEXT,
    next_check_at        BIGINT  NOT NULL,
    last_checked_at      BIGINT,
    -- Bumped on every token write: a writer that read an older version lost a race.
    version              BIGINT  NOT NULL DEFAULT 0,
    -- When the current tokens were issued (extend-while-valid tokens must be old enough).
    token_issued_at      BIGINT,
    -- The check or refresh lease: one process at a time works on a channel; writes are fenced
    -- by the owner, so a process whose lease ran out cannot overwrite a newer result.
    lease_owner          TEXT,
    lease_until          BIGINT,
    -- Transient failures in a row (backoff), and distinct days with unrecognised answers
    -- (giving up counts days, so one bad afternoon of a network disconnects nobody).
    consecutive_failures BIGINT  NOT NULL DEFAULT 0,
    failure_days         BIGINT  NOT NULL DEFAULT 0,
    last_failure_day     BIGINT,
    -- A refresh that may have reached the network but whose answer was lost: never retried blindly.
    refresh_uncertain_at BIGINT,
    -- A problem of relink's own app or bot seen on this channel, for operators (never for teams).
    operator_problem     TEXT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    UNIQUE (team_id, provider, external_account_id)
);
-- The checker finds due work through this index, never by scanning every channel.
CREATE INDEX channels_due ON channels (next_check_at);
CREATE INDEX channels_by_key ON channels (token_key_id);

CREATE TABLE scheduled_posts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id    BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    due_at        BIGINT  NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'cancelled')),
    external_ref  TEXT,
    created_at    BIGINT  NOT NULL,
    UNIQUE (channel_id, external_ref)
);
CREATE INDEX scheduled_posts_pending ON scheduled_posts (channel_id, due_at) WHERE status = 'pending';

CREATE TABLE health_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id   BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    at           BIGINT  NOT NULL,
    from_health  TEXT    NOT NULL,
    from_reason  TEXT,
    to_health    TEXT    NOT NULL,
    to_reason    TEXT,
    reason_detail TEXT,
    detail       TEXT
);
CREATE INDEX health_history_by_channel ON health_history (channel_id, at);

-- The outbox: every health transition writes one event in the same transaction; the alerts
-- work consumes them in id order and marks them processed.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id       BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id    BIGINT  REFERENCES channels (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    processed_at  BIGINT
);
CREATE INDEX events_unprocessed ON events (id) WHERE processed_at IS NULL;
