-- The index: one row per live record, exact counters, feed items, per-repo state, the cursor.
-- Table and column names follow the schema of the Python worker skyindex replaces, so both can
-- run side by side on one stream and be compared table by table.
-- No foreign keys to subjects: records may point at posts and accounts we have not seen (yet, or
-- ever), and must be stored anyway so counts are right in whatever order events arrive.
-- Times are the relay's event time (indexed_at) or the record's own (created_at), never now(),
-- so two runs over one stream produce identical tables.

CREATE TABLE users (
    did            TEXT PRIMARY KEY,
    handle         TEXT,
    display_name   TEXT,
    description    TEXT,
    avatar_cid     TEXT,
    banner_cid     TEXT,
    pinned_post_uri TEXT,
    profile_cid    TEXT,
    profile_record JSONB,
    -- account state from #account (and legacy #tombstone)
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    status         TEXT,
    -- rev of the last commit applied for this repo: the per-repo ordering guard
    rev            TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    indexed_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_handle_idx ON users (handle);

CREATE TABLE posts (
    uri         TEXT PRIMARY KEY,
    cid         TEXT NOT NULL,
    author_did  TEXT NOT NULL,
    text        TEXT NOT NULL,
    langs       TEXT[] NOT NULL DEFAULT '{}',
    parent_uri  TEXT,
    parent_cid  TEXT,
    root_uri    TEXT,
    root_cid    TEXT,
    quote_uri   TEXT,
    quote_cid   TEXT,
    embed       JSONB,
    facets      JSONB,
    labels      TEXT[] NOT NULL DEFAULT '{}',
    tags        TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL,
    indexed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX posts_author_did_created_at_idx ON posts (author_did, created_at DESC);
CREATE INDEX posts_root_uri_idx ON posts (root_uri) WHERE root_uri IS NOT NULL;
CREATE INDEX posts_parent_uri_idx ON posts (parent_uri) WHERE parent_uri IS NOT NULL;
CREATE INDEX posts_quote_uri_idx ON posts (quote_uri) WHERE quote_uri IS NOT NULL;

CREATE TABLE likes (
    uri          TEXT PRIMARY KEY,
    cid          TEXT NOT NULL,
    user_did     TEXT NOT NULL,
    post_uri     TEXT NOT NULL,
    subject_cid  TEXT NOT NULL,
    via_uri      TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
-- (user_did, post_uri): an account's likes, account deletion, and "does this account still like
-- that post" for the once-per-account count; (post_uri): a post's likes.
CREATE INDEX likes_user_did_post_uri_idx ON likes (user_did, post_uri);
CREATE INDEX likes_post_uri_idx ON likes (post_uri);

CREATE TABLE reposts (
    uri          TEXT PRIMARY KEY,
    cid          TEXT NOT NULL,
    user_did     TEXT NOT NULL,
    post_uri     TEXT NOT NULL,
    subject_cid  TEXT NOT NULL,
    via_uri      TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reposts_user_did_post_uri_idx ON reposts (user_did, post_uri);
CREATE INDEX reposts_post_uri_idx ON reposts (post_uri);

CREATE TABLE follows (
    uri            TEXT PRIMARY KEY,
    cid            TEXT NOT NULL,
    follower_did   TEXT NOT NULL,
    following_did  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    indexed_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX follows_follower_did_following_did_idx ON follows (follower_did, following_did);
CREATE INDEX follows_following_did_idx ON follows (following_did);

CREATE TABLE blocks (
    uri          TEXT PRIMARY KEY,
    cid          TEXT NOT NULL,
    blocker_did  TEXT NOT NULL,
    blocked_did  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX blocks_blocker_did_idx ON blocks (blocker_did);
CREATE INDEX blocks_blocked_did_idx ON blocks (blocked_did);

-- An author's timeline: their posts and reposts, newest first.
CREATE TABLE feed_items (
    uri             TEXT PRIMARY KEY,
    post_uri        TEXT NOT NULL,
    originator_did  TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('post', 'repost')),
    sort_at         TIMESTAMPTZ NOT NULL,
    cid             TEXT NOT NULL
);
CREATE INDEX feed_items_originator_did_sort_at_idx ON feed_items (originator_did, sort_at DESC);

CREATE TABLE post_aggregations (
    post_uri      TEXT PRIMARY KEY,
    like_count    BIGINT NOT NULL DEFAULT 0,
    repost_count  BIGINT NOT NULL DEFAULT 0,
    reply_count   BIGINT NOT NULL DEFAULT 0,
    quote_count   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE user_aggregations (
    did              TEXT PRIMARY KEY,
    followers_count  BIGINT NOT NULL DEFAULT 0,
    follows_count    BIGINT NOT NULL DEFAULT 0,
    posts_count      BIGINT NOT NULL DEFAULT 0
);

-- Every other collection: lists, list items, threadgates, feed generators, starter packs, ...
CREATE TABLE generic_records (
    uri         TEXT PRIMARY KEY,
    cid         TEXT NOT NULL,
    author_did  TEXT NOT NULL,
    collection  TEXT NOT NULL,
    record      JSONB NOT NULL,
    created_at  TIMESTAMPTZ,
    indexed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX generic_records_author_did_collection_idx ON generic_records (author_did, collection);
CREATE INDEX generic_records_collection_idx ON generic_records (collection);

-- cursor: every event at or below it is committed (a low-watermark), per relay.
CREATE TABLE firehose_cursor (
    service          TEXT PRIMARY KEY,
    cursor           BIGINT NOT NULL,
    last_event_time  TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
