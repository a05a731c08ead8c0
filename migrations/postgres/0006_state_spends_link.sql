-- Recording a link's authorization request spends the link, in the same statement: the
-- reconnect button is then one statement, which the database runs without a transaction's
-- several round trips (SQLite has one writer, so those trips were everyone's wait). A link
-- that is already spent cannot start a second request, whatever the caller does.
CREATE FUNCTION oauth_state_spends_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reconnect_links SET used_at = NEW.created_at WHERE id = NEW.link_id AND used_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the reconnect link is already spent';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER oauth_states_spend_link AFTER INSERT ON oauth_states
    FOR EACH ROW EXECUTE FUNCTION oauth_state_spends_link();
