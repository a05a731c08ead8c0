-- Discord: interactions seen (each handled once, whichever process receives it) and the lease
-- that lets one relink process at a time drive a chat bot's rate-limited REST traffic.
-- Instants are milliseconds since the Unix epoch (UTC).

-- An interaction Discord delivered (HTTP endpoint or gateway). Its id is Discord's snowflake;
-- rows are deleted after a day, long after Discord's interaction tokens have expired.
CREATE TABLE discord_interactions (
    id           BIGINT  PRIMARY KEY,
    received_at  BIGINT  NOT NULL
);
CREATE INDEX discord_interactions_by_time ON discord_interactions (received_at);

-- Who drives a bot's REST traffic (`discord:<application id>`): the owner renews the lease while
-- it sends; another process takes it over only once it has expired.
CREATE TABLE platform_leases (
    name        TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
