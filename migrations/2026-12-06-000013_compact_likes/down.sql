CREATE TABLE likes_table (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    user_did     TEXT COLLATE "C" NOT NULL,
    post_uri     TEXT COLLATE "C" NOT NULL,
    subject_cid  TEXT COLLATE "C" NOT NULL,
    via_uri      TEXT COLLATE "C",
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
INSERT INTO likes_table SELECT uri, cid, user_did, post_uri, subject_cid, via_uri, created_at, indexed_at FROM likes;
DROP VIEW likes;
DROP TABLE like_records;
DROP SEQUENCE like_records_other_rkey_seq;
DROP TABLE actors;
DROP FUNCTION tid_int(text);
DROP FUNCTION tid_text(bigint);
ALTER TABLE likes_table RENAME TO likes;
ALTER INDEX likes_table_pkey RENAME TO likes_pkey;
CREATE INDEX likes_post_uri_user_did_idx ON likes (post_uri, user_did);
COMMENT ON TABLE likes IS 'One row per live app.bsky.feed.like record.';
COMMENT ON COLUMN likes.uri IS 'at://DID/app.bsky.feed.like/RKEY.';
COMMENT ON COLUMN likes.cid IS 'CID of the record version held.';
COMMENT ON COLUMN likes.user_did IS 'The account that likes.';
COMMENT ON COLUMN likes.post_uri IS 'The subject liked (a post, or any record).';
COMMENT ON COLUMN likes.subject_cid IS 'CID of the subject as the like names it.';
COMMENT ON COLUMN likes.via_uri IS 'The record that led to the like (e.g. a repost), when named.';
COMMENT ON COLUMN likes.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN likes.indexed_at IS 'Relay time of the commit that wrote this version.';
