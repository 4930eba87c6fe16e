-- Compact keys for likes, the table that holds most rows (issue 15): an integer per account
-- (`actors`) and the record key as the 64-bit integer a TID is, in place of the AT-URIs and DIDs
-- repeated in every row and index. The rows move to `like_records`; `likes` becomes a view with
-- the columns it had, so what reads likes keeps its SQL (reads by URI through the view compute
-- every URI: the writer reads and writes `like_records` by its keys).
-- What does not fit the compact form is kept as given, never rewritten: a record key that is not
-- a TID below 2^63 (`rkey_text`, with a negative `rkey` from a sequence), a subject that is not
-- at://DID/app.bsky.feed.post/TID (`subject_uri`: feed generators, labelers, handles).

-- TID <-> 64-bit integer (https://atproto.com/specs/tid): 13 base32-sortable characters. Only
-- TIDs whose integer is below 2^63 (first character 2-7, a or b; every TID a clock makes) are
-- compact, so they sort as their text does and negative keys stay free for the rest.
CREATE FUNCTION tid_text(v bigint) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    out text := '';
BEGIN
    FOR i IN REVERSE 12..0 LOOP
        out := out || substr('234567abcdefghijklmnopqrstuvwxyz', ((v >> (5 * i)) & 31)::int + 1, 1);
    END LOOP;
    RETURN out;
END $$;
COMMENT ON FUNCTION tid_text(bigint) IS 'The TID text of a compact record key.';

CREATE FUNCTION tid_int(t text) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    v bigint := 0;
BEGIN
    IF t COLLATE "C" !~ '^[2-7ab][2-7a-z]{12}$' THEN
        RETURN NULL;
    END IF;
    FOR i IN 1..13 LOOP
        v := v * 32 + (strpos('234567abcdefghijklmnopqrstuvwxyz', substr(t, i, 1)) - 1);
    END LOOP;
    RETURN v;
END $$;
COMMENT ON FUNCTION tid_int(text) IS 'The compact record key of a TID, or NULL when it has none.';

CREATE TABLE actors (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    did  TEXT COLLATE "C" NOT NULL UNIQUE
);
COMMENT ON TABLE actors IS 'A number per account a compact row names (its repo or its subject); never deleted or renumbered.';
COMMENT ON COLUMN actors.id IS 'The number compact rows use.';
COMMENT ON COLUMN actors.did IS 'The account.';

CREATE SEQUENCE like_records_other_rkey_seq;

-- Integers first, then times, then text: no alignment padding between them.
CREATE TABLE like_records (
    actor_id       BIGINT NOT NULL,
    rkey           BIGINT NOT NULL DEFAULT -nextval('like_records_other_rkey_seq'),
    subject_actor  BIGINT,
    subject_rkey   BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    indexed_at     TIMESTAMPTZ NOT NULL,
    cid            TEXT COLLATE "C" NOT NULL,
    subject_cid    TEXT COLLATE "C" NOT NULL,
    rkey_text      TEXT COLLATE "C",
    subject_uri    TEXT COLLATE "C",
    via_uri        TEXT COLLATE "C",
    PRIMARY KEY (actor_id, rkey),
    CHECK ((rkey < 0) = (rkey_text IS NOT NULL)),
    CHECK ((subject_actor IS NULL) = (subject_uri IS NOT NULL)),
    CHECK ((subject_actor IS NULL) = (subject_rkey IS NULL))
);
-- A post's likes, and "does this account still like that post" for the once-per-account count.
CREATE INDEX like_records_subject_idx ON like_records (subject_actor, subject_rkey, actor_id)
    WHERE subject_actor IS NOT NULL;
CREATE INDEX like_records_subject_uri_idx ON like_records (subject_uri, actor_id)
    WHERE subject_uri IS NOT NULL;
CREATE UNIQUE INDEX like_records_rkey_text_idx ON like_records (actor_id, rkey_text)
    WHERE rkey_text IS NOT NULL;

COMMENT ON TABLE like_records IS 'One row per live app.bsky.feed.like record, by compact keys; read it as the view likes.';
COMMENT ON COLUMN like_records.actor_id IS 'The account that likes (actors.id): the repo.';
COMMENT ON COLUMN like_records.rkey IS 'The record key as its TID''s integer; negative (from a sequence) when it has none, and rkey_text holds it.';
COMMENT ON COLUMN like_records.subject_actor IS 'The liked post''s account (actors.id); NULL when subject_uri holds the subject.';
COMMENT ON COLUMN like_records.subject_rkey IS 'The liked post''s record key as its TID''s integer.';
COMMENT ON COLUMN like_records.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN like_records.indexed_at IS 'Relay time of the commit that wrote this version.';
COMMENT ON COLUMN like_records.cid IS 'CID of the record version held.';
COMMENT ON COLUMN like_records.subject_cid IS 'CID of the subject as the like names it.';
COMMENT ON COLUMN like_records.rkey_text IS 'The record key, when it is not a TID below 2^63.';
COMMENT ON COLUMN like_records.subject_uri IS 'The subject as named, when it is not at://DID/app.bsky.feed.post/TID.';
COMMENT ON COLUMN like_records.via_uri IS 'The record that led to the like (e.g. a repost), when named.';

INSERT INTO actors (did)
SELECT did FROM (
    SELECT user_did FROM likes
    UNION
    SELECT split_part(post_uri, '/', 3) FROM likes
    WHERE post_uri COLLATE "C" ~ '^at://did:[^/]+/app\.bsky\.feed\.post/[2-7ab][2-7a-z]{12}$'
) d(did)
ORDER BY did;

INSERT INTO like_records (actor_id, rkey, subject_actor, subject_rkey, created_at, indexed_at,
    cid, subject_cid, rkey_text, subject_uri, via_uri)
SELECT a.id,
       COALESCE(tid_int(k.rkey), -nextval('like_records_other_rkey_seq')),
       s.id, CASE WHEN s.id IS NOT NULL THEN tid_int(split_part(l.post_uri, '/', 5)) END,
       l.created_at, l.indexed_at, l.cid, l.subject_cid,
       CASE WHEN tid_int(k.rkey) IS NULL THEN k.rkey END,
       CASE WHEN s.id IS NULL THEN l.post_uri END,
       l.via_uri
FROM likes l
CROSS JOIN LATERAL (SELECT substr(l.uri, length('at://' || l.user_did || '/app.bsky.feed.like/') + 1)) k(rkey)
JOIN actors a ON a.did = l.user_did
LEFT JOIN actors s ON s.did = split_part(l.post_uri, '/', 3)
    AND l.post_uri COLLATE "C" ~ '^at://did:[^/]+/app\.bsky\.feed\.post/[2-7ab][2-7a-z]{12}$';

DROP TABLE likes;

CREATE VIEW likes AS
SELECT ('at://' || a.did || '/app.bsky.feed.like/' || COALESCE(l.rkey_text, tid_text(l.rkey)))
           COLLATE "C" AS uri,
       l.cid,
       a.did AS user_did,
       COALESCE(l.subject_uri,
                ('at://' || s.did || '/app.bsky.feed.post/' || tid_text(l.subject_rkey)) COLLATE "C")
           AS post_uri,
       l.subject_cid,
       l.via_uri,
       l.created_at,
       l.indexed_at
FROM like_records l
JOIN actors a ON a.id = l.actor_id
LEFT JOIN actors s ON s.id = l.subject_actor;

COMMENT ON VIEW likes IS 'One row per live app.bsky.feed.like record (like_records with its keys as text).';
COMMENT ON COLUMN likes.uri IS 'at://DID/app.bsky.feed.like/RKEY.';
COMMENT ON COLUMN likes.cid IS 'CID of the record version held.';
COMMENT ON COLUMN likes.user_did IS 'The account that likes.';
COMMENT ON COLUMN likes.post_uri IS 'The subject liked (a post, or any record).';
COMMENT ON COLUMN likes.subject_cid IS 'CID of the subject as the like names it.';
COMMENT ON COLUMN likes.via_uri IS 'The record that led to the like (e.g. a repost), when named.';
COMMENT ON COLUMN likes.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN likes.indexed_at IS 'Relay time of the commit that wrote this version.';
