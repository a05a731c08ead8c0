-- Recording a link's authorization request spends the link, in the same statement: the
-- reconnect button is then one statement, which the database runs without a transaction's
-- several round trips (SQLite has one writer, so those trips were everyone's wait). A link
-- that is already spent cannot start a second request, whatever the caller does.
CREATE TRIGGER oauth_states_spend_link AFTER INSERT ON oauth_states
BEGIN
    SELECT RAISE(ABORT, 'the reconnect link is already spent')
        FROM reconnect_links WHERE id = NEW.link_id AND used_at IS NOT NULL;
    UPDATE reconnect_links SET used_at = NEW.created_at WHERE id = NEW.link_id;
END;
