-- Notifications, derived from records as the reference AppView's indexing plugins derive them
-- (README, "Notifications"), kept exact: a notification exists while the record that caused
-- it exists, is never written twice for one record, and goes with it (and with its author's
-- account). The read path is an account's notifications newest first.

CREATE TABLE notifications (
    record_uri     TEXT COLLATE "C" NOT NULL,
    recipient_did  TEXT COLLATE "C" NOT NULL,
    reason         TEXT NOT NULL,
    reason_subject TEXT COLLATE "C",
    author_did     TEXT COLLATE "C" NOT NULL,
    record_cid     TEXT COLLATE "C" NOT NULL,
    sort_at        TIMESTAMPTZ NOT NULL,
    -- One per record, recipient and reason: a post mentioning and replying to the same account
    -- gives two, a like gives one. The record first, so a record's notifications (and an
    -- author's, by the record URIs' repo range) are one range of the key.
    PRIMARY KEY (record_uri, recipient_did, reason)
);
CREATE INDEX notifications_recipient_did_sort_at_idx ON notifications (recipient_did, sort_at DESC);

COMMENT ON TABLE notifications IS 'One row per notification: who is told (recipient_did), why (reason), about what (reason_subject), because of which record (record_uri, by author_did). Exists exactly while that record does.';
COMMENT ON COLUMN notifications.record_uri IS 'The record that caused it: the like, repost, follow, post (reply, mention, quote), verification or profile.';
COMMENT ON COLUMN notifications.recipient_did IS 'The account told.';
COMMENT ON COLUMN notifications.reason IS 'like, like-via-repost, repost, repost-via-repost, follow, mention, reply, quote, verified, unverified, starterpack-joined.';
COMMENT ON COLUMN notifications.reason_subject IS 'What was acted on: the liked or reposted record, the repost used as via, the post replied to, the quoted post, the starter pack; NULL for follow, mention, verified, unverified.';
COMMENT ON COLUMN notifications.author_did IS 'The account whose record it is.';
COMMENT ON COLUMN notifications.record_cid IS 'CID of that record.';
COMMENT ON COLUMN notifications.sort_at IS 'The earlier of the record''s createdAt and its relay time (of the reply''s, for replies).';
