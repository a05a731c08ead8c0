-- The web server's tables: reconnect links, OAuth authorization states and API keys. Every
-- secret is stored as its SHA-256 hash (the PKCE verifier, which must be read back, sealed);
-- instants are milliseconds since the Unix epoch (UTC).

-- A reconnect link: single-use, expiring, bound to a team and a channel and, when asked for
-- through a command, to the member who asked.
CREATE TABLE reconnect_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  BLOB    NOT NULL UNIQUE,
    team_id     BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id  BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    member_id   BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX reconnect_links_by_channel ON reconnect_links (channel_id);
CREATE INDEX reconnect_links_by_expiry ON reconnect_links (expires_at);

-- One OAuth authorization request in flight: the `state` it carries, the network it went to,
-- the browser it belongs to (hash of a cookie), the sealed PKCE verifier, and once the callback
-- has run, the outcome shown at a clean URL.
CREATE TABLE oauth_states (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    state_hash           BLOB    NOT NULL UNIQUE,
    provider             TEXT    NOT NULL,
    channel_id           BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    link_id              BIGINT  NOT NULL REFERENCES reconnect_links (id) ON DELETE CASCADE,
    browser_hash         BLOB    NOT NULL,
    verifier_key_id      BIGINT,
    verifier_ciphertext  BLOB,
    created_at           BIGINT  NOT NULL,
    expires_at           BIGINT  NOT NULL,
    used_at              BIGINT,
    outcome              TEXT,
    result_hash          BLOB    UNIQUE
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

-- A publishing tool's key to a team's HTTP API.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id       BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    key_hash      BLOB    NOT NULL UNIQUE,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    UNIQUE (team_id, name)
);
