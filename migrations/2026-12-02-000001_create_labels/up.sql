-- Labels from the labelers skyindex follows (`--labelers`), one row per label identity
-- (src, uri, cid, val), holding the newest word of that labeler on it. A negation is kept as a
-- row too (neg = true, not in force), so an older positive label replayed later (a reconnect
-- from an older cursor, a labeler that serves history again) finds a newer row and changes
-- nothing. The rule, applied by one INSERT … ON CONFLICT (src/db/labels.rs): a label replaces
-- the row when its (cts, neg) is greater, neg = true winning a tie of cts; anything else is a
-- replay or older and changes nothing. So the table is the same whatever order, and however
-- often, a labeler's stream is applied.
-- Expired labels stay, with their expiry: "in force" is `NOT neg AND (exp IS NULL OR exp > now())`,
-- a filter of the queries (README, "Labels"). No sweep deletes them: a deleted row could let
-- an older label replayed afterwards come back.
-- `cid` is '' for a label on a subject whatever its version (accounts, and record labels without
-- a cid), as in the reference AppView's label table, so the identity can be the primary key.

CREATE TABLE labels (
    src  TEXT COLLATE "C" NOT NULL,
    uri  TEXT COLLATE "C" NOT NULL,
    cid  TEXT COLLATE "C" NOT NULL DEFAULT '',
    val  TEXT COLLATE "C" NOT NULL,
    neg  BOOLEAN NOT NULL,
    cts  TIMESTAMPTZ NOT NULL,
    exp  TIMESTAMPTZ,
    sig  BYTEA NOT NULL,
    seq  BIGINT NOT NULL,
    PRIMARY KEY (src, uri, cid, val)
);
-- "labels on this subject": the rows in force on one uri (or a DID's records, by prefix).
-- "labels by this labeler" is the primary key's range on src.
CREATE INDEX labels_uri_idx ON labels (uri) WHERE NOT neg;

COMMENT ON TABLE labels IS 'One row per label identity (src, uri, cid, val) of the labelers followed: the newest label of that identity. In force when NOT neg AND (exp IS NULL OR exp > now()); negations stay as rows so older labels replayed later change nothing.';
COMMENT ON COLUMN labels.src IS 'DID of the labeler that signed the label.';
COMMENT ON COLUMN labels.uri IS 'The subject: an at:// URI of a record, or an account''s DID.';
COMMENT ON COLUMN labels.cid IS 'CID of the record version labelled; empty when the label is on the subject whatever its version.';
COMMENT ON COLUMN labels.val IS 'The label value (at most 128 bytes): spam, porn, !hide (a ! value is a system label), or the labeler''s own.';
COMMENT ON COLUMN labels.neg IS 'True when the newest label of this identity is a negation: not in force.';
COMMENT ON COLUMN labels.cts IS 'When the labeler made the label (its cts); a newer one replaces an older one.';
COMMENT ON COLUMN labels.exp IS 'When the label stops being in force (its exp), if it expires; expired rows stay.';
COMMENT ON COLUMN labels.sig IS 'The labeler''s 64-byte signature, verified against its #atproto_label key before the row was written.';
COMMENT ON COLUMN labels.seq IS 'The labeler''s seq of the frame that carried the label.';
