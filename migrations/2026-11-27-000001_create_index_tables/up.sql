-- The index: one row per live record, exact counters, feed items, per-repo state, the cursor.
-- Table and column names follow the schema of the Python worker skyindex replaces, so both can
-- run side by side on one stream and be compared table by table.
-- No foreign keys to subjects: records may point at posts and accounts we have not seen (yet, or
-- ever), and must be stored anyway so counts are right in whatever order events arrive.
-- Times are the relay's event time (indexed_at) or the record's own (created_at), never now(),
-- so two runs over one stream produce identical tables.
-- Identifiers (DIDs, AT-URIs, CIDs) use the "C" collation: comparisons are memcmp, and a repo's
-- records are one contiguous range of each table's primary key (`at://DID/` .. `at://DID0`),
-- which serves "an account's likes/follows/…" and account deletion without a second index.
-- Tables updated in place (users, counters) leave room on each page for HOT updates.

CREATE TABLE users (
    did            TEXT COLLATE "C" PRIMARY KEY,
    handle         TEXT,
    display_name   TEXT,
    description    TEXT,
    avatar_cid     TEXT COLLATE "C",
    banner_cid     TEXT COLLATE "C",
    pinned_post_uri TEXT COLLATE "C",
    profile_cid    TEXT COLLATE "C",
    profile_record JSONB,
    -- account state from #account (and legacy #tombstone)
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    status         TEXT,
    -- rev of the last commit applied for this repo: the per-repo ordering guard
    rev            TEXT COLLATE "C",
    created_at     TIMESTAMPTZ NOT NULL,
    indexed_at     TIMESTAMPTZ NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX users_handle_idx ON users (handle);

CREATE TABLE posts (
    uri         TEXT COLLATE "C" PRIMARY KEY,
    cid         TEXT COLLATE "C" NOT NULL,
    author_did  TEXT COLLATE "C" NOT NULL,
    text        TEXT NOT NULL,
    langs       TEXT[] NOT NULL DEFAULT '{}',
    parent_uri  TEXT COLLATE "C",
    parent_cid  TEXT COLLATE "C",
    root_uri    TEXT COLLATE "C",
    root_cid    TEXT COLLATE "C",
    quote_uri   TEXT COLLATE "C",
    quote_cid   TEXT COLLATE "C",
    embed       JSONB,
    facets      JSONB,
    labels      TEXT[] NOT NULL DEFAULT '{}',
    tags        TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL,
    indexed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX posts_root_uri_idx ON posts (root_uri) WHERE root_uri IS NOT NULL;
CREATE INDEX posts_parent_uri_idx ON posts (parent_uri) WHERE parent_uri IS NOT NULL;
CREATE INDEX posts_quote_uri_idx ON posts (quote_uri) WHERE quote_uri IS NOT NULL;

CREATE TABLE likes (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    user_did     TEXT COLLATE "C" NOT NULL,
    post_uri     TEXT COLLATE "C" NOT NULL,
    subject_cid  TEXT COLLATE "C" NOT NULL,
    via_uri      TEXT COLLATE "C",
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
-- (post_uri, user_did): a post's likes, and "does this account still like that post" for the
-- once-per-account count. An account's likes are a range of the primary key.
CREATE INDEX likes_post_uri_user_did_idx ON likes (post_uri, user_did);

CREATE TABLE reposts (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    user_did     TEXT COLLATE "C" NOT NULL,
    post_uri     TEXT COLLATE "C" NOT NULL,
    subject_cid  TEXT COLLATE "C" NOT NULL,
    via_uri      TEXT COLLATE "C",
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reposts_post_uri_user_did_idx ON reposts (post_uri, user_did);

CREATE TABLE follows (
    uri            TEXT COLLATE "C" PRIMARY KEY,
    cid            TEXT COLLATE "C" NOT NULL,
    follower_did   TEXT COLLATE "C" NOT NULL,
    following_did  TEXT COLLATE "C" NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    indexed_at     TIMESTAMPTZ NOT NULL
);
-- (following_did, follower_did): an account's followers, and the once-per-pair count.
CREATE INDEX follows_following_did_follower_did_idx ON follows (following_did, follower_did);

CREATE TABLE blocks (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    blocker_did  TEXT COLLATE "C" NOT NULL,
    blocked_did  TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX blocks_blocked_did_idx ON blocks (blocked_did);

-- An author's timeline: their posts and reposts, newest first.
CREATE TABLE feed_items (
    uri             TEXT COLLATE "C" PRIMARY KEY,
    post_uri        TEXT COLLATE "C" NOT NULL,
    originator_did  TEXT COLLATE "C" NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('post', 'repost')),
    sort_at         TIMESTAMPTZ NOT NULL,
    cid             TEXT COLLATE "C" NOT NULL
);
CREATE INDEX feed_items_originator_did_sort_at_idx ON feed_items (originator_did, sort_at DESC);

CREATE TABLE post_aggregations (
    post_uri      TEXT COLLATE "C" PRIMARY KEY,
    like_count    BIGINT NOT NULL DEFAULT 0,
    repost_count  BIGINT NOT NULL DEFAULT 0,
    reply_count   BIGINT NOT NULL DEFAULT 0,
    quote_count   BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

CREATE TABLE user_aggregations (
    did              TEXT COLLATE "C" PRIMARY KEY,
    followers_count  BIGINT NOT NULL DEFAULT 0,
    follows_count    BIGINT NOT NULL DEFAULT 0,
    posts_count      BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

-- Every other collection: lists, list items, threadgates, feed generators, starter packs, ...
CREATE TABLE generic_records (
    uri         TEXT COLLATE "C" PRIMARY KEY,
    cid         TEXT COLLATE "C" NOT NULL,
    author_did  TEXT COLLATE "C" NOT NULL,
    collection  TEXT COLLATE "C" NOT NULL,
    record      JSONB NOT NULL,
    created_at  TIMESTAMPTZ,
    indexed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX generic_records_collection_idx ON generic_records (collection);

-- cursor: every event at or below it is committed (a low-watermark), per relay.
CREATE TABLE firehose_cursor (
    service          TEXT COLLATE "C" PRIMARY KEY,
    cursor           BIGINT NOT NULL,
    last_event_time  TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
