-- The team page: sign-in links handed out by the chat command `dashboard` and
-- `relink team dashboard-link`, and the browser sessions they open. Both are kept by the SHA-256
-- hash of their secret only; instants are milliseconds since the Unix epoch (UTC).

-- A sign-in link: single-use, short-lived, for one member of one team.
CREATE TABLE signin_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  BLOB    NOT NULL UNIQUE,
    team_id     BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id   BIGINT  NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX signin_links_by_expiry ON signin_links (expires_at);

-- A signed-in browser: the hash of its session cookie, the member and team it acts as, and when
-- it ends. Removing the member ends their sessions.
CREATE TABLE team_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    session_hash  BLOB    NOT NULL UNIQUE,
    team_id       BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id     BIGINT  NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX team_sessions_by_expiry ON team_sessions (expires_at);
