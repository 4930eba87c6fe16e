-- Starter packs' joined counts are counted, as the reference AppView counts them, from the
-- profiles that name the pack in joinedViaStarterPack: one index range per pack.
ALTER TABLE users ADD COLUMN joined_via_starter_pack_uri TEXT COLLATE "C";

UPDATE users SET joined_via_starter_pack_uri = profile_record -> 'joinedViaStarterPack' ->> 'uri'
WHERE profile_record ? 'joinedViaStarterPack';

CREATE INDEX users_joined_via_starter_pack_uri_idx ON users (joined_via_starter_pack_uri)
    WHERE joined_via_starter_pack_uri IS NOT NULL;

COMMENT ON COLUMN users.joined_via_starter_pack_uri IS 'app.bsky.actor.profile joinedViaStarterPack: the starter pack the account joined through (a pack''s joined count is the number of rows naming it).';
COMMENT ON TABLE notifications IS 'One row per notification: who is told (recipient_did), why (reason), about what (reason_subject), because of which record (record_uri, by author_did). Exists exactly while that record does, but for unverified: written when its verification is deleted, gone when the verifier''s account is, or the verification is made again.';
