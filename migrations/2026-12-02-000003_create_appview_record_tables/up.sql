-- The record kinds an AppView indexes beyond posts, likes, reposts, follows, blocks and profiles,
-- typed, each in a table of its own (they were whole in generic_records until now, and move out
-- of it here). Every table keeps the record's lex-JSON too (`record`), so an AppView can render
-- it and the down migration can put it back. Same conventions as the first tables: C-collated
-- identifiers (a repo's records are one range of the primary key), relay times, no foreign
-- keys to subjects.

CREATE TABLE lists (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    author_did   TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    description  TEXT,
    avatar_cid   TEXT COLLATE "C",
    record       JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE list_items (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    author_did   TEXT COLLATE "C" NOT NULL,
    subject_did  TEXT COLLATE "C" NOT NULL,
    list_uri     TEXT COLLATE "C" NOT NULL,
    record       JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
-- A list's members, and "is this account on that list" (threadgate list rules, moderation).
CREATE INDEX list_items_list_uri_subject_did_idx ON list_items (list_uri, subject_did);

CREATE TABLE list_blocks (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    author_did   TEXT COLLATE "C" NOT NULL,
    list_uri     TEXT COLLATE "C" NOT NULL,
    record       JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX list_blocks_list_uri_idx ON list_blocks (list_uri);

CREATE TABLE starter_packs (
    uri          TEXT COLLATE "C" PRIMARY KEY,
    cid          TEXT COLLATE "C" NOT NULL,
    author_did   TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    list_uri     TEXT COLLATE "C" NOT NULL,
    feed_uris    TEXT[] NOT NULL DEFAULT '{}',
    record       JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    indexed_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE feed_generators (
    uri                   TEXT COLLATE "C" PRIMARY KEY,
    cid                   TEXT COLLATE "C" NOT NULL,
    author_did            TEXT COLLATE "C" NOT NULL,
    feed_did              TEXT COLLATE "C" NOT NULL,
    display_name          TEXT NOT NULL,
    description           TEXT,
    avatar_cid            TEXT COLLATE "C",
    accepts_interactions  BOOLEAN,
    content_mode          TEXT,
    record                JSONB NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    indexed_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE labeler_services (
    uri           TEXT COLLATE "C" PRIMARY KEY,
    cid           TEXT COLLATE "C" NOT NULL,
    author_did    TEXT COLLATE "C" NOT NULL,
    label_values  TEXT[] NOT NULL DEFAULT '{}',
    record        JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    indexed_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE verifications (
    uri           TEXT COLLATE "C" PRIMARY KEY,
    cid           TEXT COLLATE "C" NOT NULL,
    author_did    TEXT COLLATE "C" NOT NULL,
    subject_did   TEXT COLLATE "C" NOT NULL,
    handle        TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    record        JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    indexed_at    TIMESTAMPTZ NOT NULL
);
-- An account's verifications.
CREATE INDEX verifications_subject_did_idx ON verifications (subject_did);

CREATE TABLE actor_statuses (
    uri               TEXT COLLATE "C" PRIMARY KEY,
    cid               TEXT COLLATE "C" NOT NULL,
    author_did        TEXT COLLATE "C" NOT NULL,
    status            TEXT NOT NULL,
    duration_minutes  BIGINT,
    record            JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    indexed_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE notification_declarations (
    uri                  TEXT COLLATE "C" PRIMARY KEY,
    cid                  TEXT COLLATE "C" NOT NULL,
    author_did           TEXT COLLATE "C" NOT NULL,
    allow_subscriptions  TEXT NOT NULL,
    record               JSONB NOT NULL,
    indexed_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE chat_declarations (
    uri                  TEXT COLLATE "C" PRIMARY KEY,
    cid                  TEXT COLLATE "C" NOT NULL,
    author_did           TEXT COLLATE "C" NOT NULL,
    allow_incoming       TEXT NOT NULL,
    allow_group_invites  TEXT,
    record               JSONB NOT NULL,
    indexed_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE threadgates (
    uri             TEXT COLLATE "C" PRIMARY KEY,
    cid             TEXT COLLATE "C" NOT NULL,
    author_did      TEXT COLLATE "C" NOT NULL,
    post_uri        TEXT COLLATE "C" NOT NULL,
    -- The rules as lex-JSON; NULL = anyone may reply, [] = no one.
    allow           JSONB,
    hidden_replies  TEXT[] NOT NULL DEFAULT '{}',
    record          JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    indexed_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX threadgates_post_uri_idx ON threadgates (post_uri);

CREATE TABLE postgates (
    uri                      TEXT COLLATE "C" PRIMARY KEY,
    cid                      TEXT COLLATE "C" NOT NULL,
    author_did               TEXT COLLATE "C" NOT NULL,
    post_uri                 TEXT COLLATE "C" NOT NULL,
    detached_embedding_uris  TEXT[] NOT NULL DEFAULT '{}',
    embedding_disabled       BOOLEAN NOT NULL,
    record                   JSONB NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL,
    indexed_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX postgates_post_uri_idx ON postgates (post_uri);

-- Members per list, kept exact like the other counters: each account on a list counts once,
-- however many items name it (the reference keeps one item per (list, subject)).
CREATE TABLE list_aggregations (
    list_uri      TEXT COLLATE "C" PRIMARY KEY,
    member_count  BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

COMMENT ON TABLE lists IS 'One row per live app.bsky.graph.list record.';
COMMENT ON TABLE list_items IS 'One row per live app.bsky.graph.listitem record: subject_did is on list_uri.';
COMMENT ON TABLE list_blocks IS 'One row per live app.bsky.graph.listblock record: author_did blocks the accounts of list_uri.';
COMMENT ON TABLE starter_packs IS 'One row per live app.bsky.graph.starterpack record.';
COMMENT ON TABLE feed_generators IS 'One row per live app.bsky.feed.generator record; its likes are counted in post_aggregations under its URI.';
COMMENT ON TABLE labeler_services IS 'One row per live app.bsky.labeler.service record (key self); its likes are counted in post_aggregations under its URI.';
COMMENT ON TABLE verifications IS 'One row per live app.bsky.graph.verification record: author_did verifies subject_did as handle/display_name.';
COMMENT ON TABLE actor_statuses IS 'One row per live app.bsky.actor.status record (key self).';
COMMENT ON TABLE notification_declarations IS 'One row per live app.bsky.notification.declaration record (key self).';
COMMENT ON TABLE chat_declarations IS 'One row per live chat.bsky.actor.declaration record (key self).';
COMMENT ON TABLE threadgates IS 'One row per live app.bsky.feed.threadgate record: who may reply to post_uri''s thread.';
COMMENT ON TABLE postgates IS 'One row per live app.bsky.feed.postgate record: how post_uri may be quoted.';
COMMENT ON TABLE list_aggregations IS 'Exact member counts per list: accounts with at least one live item on the list.';
COMMENT ON COLUMN lists.record IS 'The record as lex-JSON.';
COMMENT ON COLUMN list_items.list_uri IS 'The list the subject is on.';
COMMENT ON COLUMN feed_generators.feed_did IS 'The DID of the service that serves the feed.';
COMMENT ON COLUMN threadgates.allow IS 'The rules as lex-JSON: NULL = anyone may reply, [] = no one.';
COMMENT ON COLUMN postgates.embedding_disabled IS 'A #disableRule: no one but the author may quote the post.';
COMMENT ON COLUMN list_aggregations.member_count IS 'Distinct accounts the list''s live items name.';

-- The rows generic_records held of these collections move here, with their counts (a record
-- the lexicon now refuses stays where it was: the typed decoder would not have stored it).
INSERT INTO lists SELECT uri, cid, author_did, record->>'name', record->>'purpose',
       record->>'description', record#>>'{avatar,ref,$link}', record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.graph.list' AND created_at IS NOT NULL
  AND record ? 'name' AND record ? 'purpose';
INSERT INTO list_items SELECT uri, cid, author_did, record->>'subject', record->>'list', record,
       created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.graph.listitem' AND created_at IS NOT NULL
  AND record ? 'subject' AND record ? 'list'
  -- An item of a list in another repo is not the list owner's to make (as in the reference).
  AND split_part(uri, '/', 3) = split_part(record->>'list', '/', 3);
INSERT INTO list_blocks SELECT uri, cid, author_did, record->>'subject', record, created_at,
       indexed_at
FROM generic_records
WHERE collection = 'app.bsky.graph.listblock' AND created_at IS NOT NULL AND record ? 'subject';
INSERT INTO starter_packs SELECT uri, cid, author_did, record->>'name', record->>'description',
       record->>'list',
       COALESCE(ARRAY(SELECT f->>'uri' FROM jsonb_array_elements(record->'feeds') f), '{}'),
       record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.graph.starterpack' AND created_at IS NOT NULL
  AND record ? 'name' AND record ? 'list';
INSERT INTO feed_generators SELECT uri, cid, author_did, record->>'did', record->>'displayName',
       record->>'description', record#>>'{avatar,ref,$link}',
       (record->>'acceptsInteractions')::boolean, record->>'contentMode', record, created_at,
       indexed_at
FROM generic_records
WHERE collection = 'app.bsky.feed.generator' AND created_at IS NOT NULL
  AND record ? 'did' AND record ? 'displayName';
INSERT INTO labeler_services SELECT uri, cid, author_did,
       COALESCE(ARRAY(SELECT jsonb_array_elements_text(record#>'{policies,labelValues}')), '{}'),
       record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.labeler.service' AND uri LIKE '%/self' AND created_at IS NOT NULL
  AND record ? 'policies';
INSERT INTO verifications SELECT uri, cid, author_did, record->>'subject', record->>'handle',
       record->>'displayName', record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.graph.verification' AND created_at IS NOT NULL
  AND record ? 'subject' AND record ? 'handle' AND record ? 'displayName';
INSERT INTO actor_statuses SELECT uri, cid, author_did, record->>'status',
       (record->>'durationMinutes')::bigint, record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.actor.status' AND uri LIKE '%/self' AND created_at IS NOT NULL
  AND record ? 'status';
INSERT INTO notification_declarations SELECT uri, cid, author_did,
       record->>'allowSubscriptions', record, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.notification.declaration' AND uri LIKE '%/self'
  AND record ? 'allowSubscriptions';
INSERT INTO chat_declarations SELECT uri, cid, author_did, record->>'allowIncoming',
       record->>'allowGroupInvites', record, indexed_at
FROM generic_records
WHERE collection = 'chat.bsky.actor.declaration' AND uri LIKE '%/self' AND record ? 'allowIncoming';
INSERT INTO threadgates SELECT uri, cid, author_did, record->>'post', record->'allow',
       COALESCE(ARRAY(SELECT jsonb_array_elements_text(record->'hiddenReplies')), '{}'),
       record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.feed.threadgate' AND created_at IS NOT NULL AND record ? 'post'
  -- A gate is its post's only if it shares the post's repo and record key.
  AND split_part(uri, '/', 3) = split_part(record->>'post', '/', 3)
  AND split_part(uri, '/', 5) = split_part(record->>'post', '/', 5);
INSERT INTO postgates SELECT uri, cid, author_did, record->>'post',
       COALESCE(ARRAY(SELECT jsonb_array_elements_text(record->'detachedEmbeddingUris')), '{}'),
       COALESCE(record->'embeddingRules' @> '[{"$type": "app.bsky.feed.postgate#disableRule"}]', false),
       record, created_at, indexed_at
FROM generic_records
WHERE collection = 'app.bsky.feed.postgate' AND created_at IS NOT NULL AND record ? 'post'
  -- A gate is its post's only if it shares the post's repo and record key.
  AND split_part(uri, '/', 3) = split_part(record->>'post', '/', 3)
  AND split_part(uri, '/', 5) = split_part(record->>'post', '/', 5);
DELETE FROM generic_records g WHERE EXISTS (SELECT 1 FROM lists t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM list_items t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM list_blocks t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM starter_packs t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM feed_generators t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM labeler_services t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM verifications t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM actor_statuses t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM notification_declarations t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM chat_declarations t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM threadgates t WHERE t.uri = g.uri)
   OR EXISTS (SELECT 1 FROM postgates t WHERE t.uri = g.uri);
INSERT INTO list_aggregations (list_uri, member_count)
SELECT list_uri, count(DISTINCT subject_did) FROM list_items GROUP BY list_uri;
