-- Push signals (Telegram `my_chat_member`, Meta's deauthorize and data deletion callbacks,
-- Google's RISC events) name a person or an account, never a relink channel id.

-- The network's id of the person who granted the channel's token (Facebook's app-scoped user id
-- from `debug_token`); NULL until a check or a reconnect learns it. For Google and Telegram the
-- account id already is what the signals name.
ALTER TABLE channels ADD COLUMN grantor_id TEXT;
CREATE INDEX channels_grantor ON channels (grantor_id) WHERE grantor_id IS NOT NULL;
-- Signals name an account across teams.
CREATE INDEX channels_account ON channels (external_account_id);

-- Every accepted signal, so a replayed one is refused; pruned after 30 days.
CREATE TABLE signal_receipts (
    source      TEXT   NOT NULL,
    receipt     TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, receipt)
);
CREATE INDEX signal_receipts_age ON signal_receipts (received_at);

-- Meta's data deletion requests: the status page a confirmation code opens. Names nobody.
CREATE TABLE data_deletions (
    code         TEXT   PRIMARY KEY,
    provider     TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    channels     BIGINT NOT NULL,
    completed_at BIGINT
);
