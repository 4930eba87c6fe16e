COMMENT ON TABLE notifications IS 'One row per notification: who is told (recipient_did), why (reason), about what (reason_subject), because of which record (record_uri, by author_did). Exists exactly while that record does.';
DROP INDEX users_joined_via_starter_pack_uri_idx;
ALTER TABLE users DROP COLUMN joined_via_starter_pack_uri;
