-- What compact keys would save, measured on a database's own rows (issue 15's main lever):
--   psql postgres://…/DB -X -f scripts/compact-layout.sql
-- Builds, in a schema of its own (dropped at the end), the four largest record tables twice from
-- the rows they hold: once as they are now (text keys), once compact (an integer per account,
-- TID record keys as 64-bit integers, CIDs as 36 bytes), each loaded in one pass and indexed
-- after, so both are packed the same way and only the layout differs. Prints bytes per row of
-- each (heap + every index), and the ratio. Sizes only: the integers stand in for the real
-- values (a hash of the text, the same width), which changes no size.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS layout CASCADE;
CREATE SCHEMA layout;
SET search_path = layout, public;
SET maintenance_work_mem = '1GB';

-- Every account a record names, numbered.
CREATE TABLE layout.actors AS
SELECT row_number() OVER ()::int4 AS id, did FROM (
    SELECT did FROM public.users
    UNION SELECT split_part(post_uri, '/', 3) FROM public.likes
    UNION SELECT split_part(post_uri, '/', 3) FROM public.reposts
    UNION SELECT following_did FROM public.follows
) d(did);
CREATE UNIQUE INDEX ON layout.actors (did);
ANALYZE layout.actors;

CREATE FUNCTION layout.k(t text) RETURNS int8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashtextextended(t, 0) $$;
CREATE FUNCTION layout.cid(t text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT substring(sha512(convert_to(t, 'UTF8')) FROM 1 FOR 36) $$;

-- Now: the same columns and indexes as the live tables.
CREATE TABLE layout.likes_now AS TABLE public.likes;
ALTER TABLE layout.likes_now ADD PRIMARY KEY (uri);
CREATE INDEX ON layout.likes_now (post_uri, user_did);
CREATE TABLE layout.reposts_now AS TABLE public.reposts;
ALTER TABLE layout.reposts_now ADD PRIMARY KEY (uri);
CREATE INDEX ON layout.reposts_now (post_uri, user_did);
CREATE TABLE layout.follows_now AS TABLE public.follows;
ALTER TABLE layout.follows_now ADD PRIMARY KEY (uri);
CREATE INDEX ON layout.follows_now (following_did, follower_did);
CREATE TABLE layout.posts_now AS TABLE public.posts;
ALTER TABLE layout.posts_now ADD PRIMARY KEY (uri);
CREATE INDEX ON layout.posts_now (root_uri) WHERE root_uri IS NOT NULL;
CREATE INDEX ON layout.posts_now (parent_uri) WHERE parent_uri IS NOT NULL;
CREATE INDEX ON layout.posts_now (quote_uri) WHERE quote_uri IS NOT NULL;

-- Compact: key (actor, rkey); a subject is (actor, collection, rkey); the read paths' indexes
-- keep their order (a post's likes, an account's followers).
CREATE TABLE layout.likes_compact AS
SELECT a.id AS actor, k(split_part(l.uri, '/', 5)) AS rkey,
       s.id AS subject_actor, k(split_part(l.post_uri, '/', 5)) AS subject_rkey,
       (split_part(l.post_uri, '/', 4) <> 'app.bsky.feed.post')::int4::int2 AS subject_kind,
       cid(l.cid) AS cid, cid(l.subject_cid) AS subject_cid,
       CASE WHEN l.via_uri IS NOT NULL THEN k(l.via_uri) END AS via_rkey,
       l.created_at, l.indexed_at
FROM public.likes l
JOIN layout.actors a ON a.did = l.user_did
JOIN layout.actors s ON s.did = split_part(l.post_uri, '/', 3);
ALTER TABLE layout.likes_compact ADD PRIMARY KEY (actor, rkey);
CREATE INDEX ON layout.likes_compact (subject_actor, subject_rkey, actor);

CREATE TABLE layout.reposts_compact AS
SELECT a.id AS actor, k(split_part(r.uri, '/', 5)) AS rkey,
       s.id AS subject_actor, k(split_part(r.post_uri, '/', 5)) AS subject_rkey,
       cid(r.cid) AS cid, cid(r.subject_cid) AS subject_cid,
       CASE WHEN r.via_uri IS NOT NULL THEN k(r.via_uri) END AS via_rkey,
       r.created_at, r.indexed_at
FROM public.reposts r
JOIN layout.actors a ON a.did = r.user_did
JOIN layout.actors s ON s.did = split_part(r.post_uri, '/', 3);
ALTER TABLE layout.reposts_compact ADD PRIMARY KEY (actor, rkey);
CREATE INDEX ON layout.reposts_compact (subject_actor, subject_rkey, actor);

CREATE TABLE layout.follows_compact AS
SELECT a.id AS actor, k(split_part(f.uri, '/', 5)) AS rkey, s.id AS subject,
       cid(f.cid) AS cid, f.created_at, f.indexed_at
FROM public.follows f
JOIN layout.actors a ON a.did = f.follower_did
JOIN layout.actors s ON s.did = f.following_did;
ALTER TABLE layout.follows_compact ADD PRIMARY KEY (actor, rkey);
CREATE INDEX ON layout.follows_compact (subject, actor);

-- A post's links to other posts become (actor, rkey) pairs; its text and facets stay as they are.
CREATE TABLE layout.posts_compact AS
SELECT a.id AS actor, k(split_part(p.uri, '/', 5)) AS rkey, cid(p.cid) AS cid,
       p.text, p.langs,
       pa.id AS parent_actor, k(split_part(p.parent_uri, '/', 5)) AS parent_rkey, cid(p.parent_cid) AS parent_cid,
       ra.id AS root_actor, k(split_part(p.root_uri, '/', 5)) AS root_rkey, cid(p.root_cid) AS root_cid,
       qa.id AS quote_actor, k(split_part(p.quote_uri, '/', 5)) AS quote_rkey, cid(p.quote_cid) AS quote_cid,
       p.embed, p.facets, p.labels, p.tags, p.created_at, p.indexed_at, p.violates_thread_gate,
       p.violates_embedding_rules
FROM public.posts p
JOIN layout.actors a ON a.did = p.author_did
LEFT JOIN layout.actors pa ON pa.did = split_part(p.parent_uri, '/', 3)
LEFT JOIN layout.actors ra ON ra.did = split_part(p.root_uri, '/', 3)
LEFT JOIN layout.actors qa ON qa.did = split_part(p.quote_uri, '/', 3);
ALTER TABLE layout.posts_compact ADD PRIMARY KEY (actor, rkey);
CREATE INDEX ON layout.posts_compact (root_actor, root_rkey) WHERE root_actor IS NOT NULL;
CREATE INDEX ON layout.posts_compact (parent_actor, parent_rkey) WHERE parent_actor IS NOT NULL;
CREATE INDEX ON layout.posts_compact (quote_actor, quote_rkey) WHERE quote_actor IS NOT NULL;

SELECT t AS "table", n AS "rows",
       round(now_b::numeric / n) AS "bytes/row now",
       round(compact_b::numeric / n) AS "bytes/row compact",
       round(compact_b::numeric / now_b, 2) AS "compact/now"
FROM (VALUES ('likes'), ('reposts'), ('follows'), ('posts')) v(t),
-- (reltuples is exact here: CREATE INDEX counted the rows.)
LATERAL (SELECT (SELECT reltuples::int8 FROM pg_class WHERE oid = format('layout.%I', t || '_now')::regclass) AS n,
                pg_total_relation_size(format('layout.%I', t || '_now')) AS now_b,
                pg_total_relation_size(format('layout.%I', t || '_compact')) AS compact_b) s
UNION ALL
SELECT 'actors (one row per account)', count(*), NULL, round(pg_total_relation_size('layout.actors')::numeric / count(*)), NULL
FROM layout.actors;

DROP SCHEMA layout CASCADE;
