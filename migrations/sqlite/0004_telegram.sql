-- Chat accounts and the Telegram bot: one-time codes that link a chat account to a member
-- (`relink member invite`, `/link CODE`), Telegram updates stored before they are handled
-- (so a replayed update is handled once), and the Telegram rate budget every relink process
-- using one bot shares. Instants are milliseconds since the Unix epoch (UTC) unless a column
-- says otherwise.

-- A one-time code for a member, stored as its SHA-256 hash; consumed by `/link CODE`.
CREATE TABLE member_invites (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash      BLOB    NOT NULL UNIQUE,
    member_id      BIGINT  NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT,
    -- Who used it: the platform and its user id.
    used_platform  TEXT    CHECK (used_platform IN ('discord', 'telegram')),
    used_user_id   BIGINT
);
CREATE INDEX member_invites_by_member ON member_invites (member_id);
CREATE INDEX member_invites_by_expiry ON member_invites (expires_at);

-- Every update a bot received (long polling or webhook), stored before it is handled: the
-- primary key drops a replayed update. The body is cleared once handled (a `/link` message
-- holds a one-time code); the row stays for deduplication until purged.
CREATE TABLE telegram_updates (
    bot_id       BIGINT  NOT NULL,
    update_id    BIGINT  NOT NULL,
    body         TEXT,
    received_at  BIGINT  NOT NULL,
    -- A process handling it holds it until then; a crashed process's updates come back.
    lease_until  BIGINT,
    handled_at   BIGINT,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX telegram_updates_pending ON telegram_updates (bot_id, update_id) WHERE handled_at IS NULL;
CREATE INDEX telegram_updates_by_age ON telegram_updates (received_at);

-- The Telegram rate budget as a virtual schedule (GCRA): per scope (the bot overall, one chat),
-- the earliest instant, in microseconds, at which its next message may go. A sender reserves a
-- slot with one conditional UPDATE, so every process using the bot token shares the budget.
CREATE TABLE telegram_rate (
    scope    TEXT    PRIMARY KEY,
    next_at  BIGINT  NOT NULL
);
