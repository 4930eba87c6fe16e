-- Record-level synchronization (atproto sync spec): per repo what we know of it, and the live
-- events that arrive while its snapshot is being fetched, kept durably so a crash leaves no gap.
CREATE TABLE repos (
    did          TEXT COLLATE "C" PRIMARY KEY,
    state        TEXT NOT NULL
                 CHECK (state IN ('desynchronized', 'resyncing', 'synchronized', 'error')),
    hosting      TEXT NOT NULL DEFAULT 'active'
                 CHECK (hosting IN ('active', 'takendown', 'suspended', 'deactivated', 'deleted')),
    rev          TEXT COLLATE "C",
    data_cid     TEXT COLLATE "C",
    pds_host     TEXT,
    retries      INTEGER NOT NULL DEFAULT 0,
    retry_at     TIMESTAMPTZ,
    last_error   TEXT,
    listed_at    TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
) WITH (fillfactor = 80);

-- The scheduler's question: which repos are due for a fetch.
CREATE INDEX repos_due ON repos (state, retry_at) WHERE state IN ('desynchronized', 'error');

CREATE TABLE repo_buffer (
    did    TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    rev    TEXT COLLATE "C" NOT NULL,
    event  BYTEA NOT NULL,
    PRIMARY KEY (did, seq)
);

-- Enumeration of the relay's repos (listRepos), resumable from its last page.
CREATE TABLE repo_enumerations (
    service       TEXT PRIMARY KEY,
    page_cursor   TEXT,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at  TIMESTAMPTZ
);

COMMENT ON TABLE repo_enumerations IS 'listRepos enumerations per relay: the page cursor saved after each page is recorded, and when the last one completed.';
COMMENT ON COLUMN repo_enumerations.page_cursor IS 'The page to ask for next (NULL: from the start).';
COMMENT ON COLUMN repo_enumerations.completed_at IS 'When an enumeration last reached the end (NULL: never, or one is under way).';
COMMENT ON TABLE repos IS 'Sync state per repository: set by the writer that owns the repo, in the transaction that applies its events.';
COMMENT ON COLUMN repos.state IS 'desynchronized: to fetch; resyncing: fetch under way, live events buffered; synchronized: live events applied if they chain; error: retry at retry_at.';
COMMENT ON COLUMN repos.hosting IS 'The hosting status the relay or the PDS last gave.';
COMMENT ON COLUMN repos.rev IS 'The rev of the last snapshot applied (users.rev is the last rev applied at all).';
COMMENT ON COLUMN repos.data_cid IS 'The MST root (commit data) of the last snapshot applied.';
COMMENT ON COLUMN repos.pds_host IS 'The PDS the last snapshot came from.';
COMMENT ON COLUMN repos.retries IS 'Failed fetches in a row; the next is due 1 min * 2^retries later, at most 1 h.';
COMMENT ON COLUMN repos.last_error IS 'Why the last fetch failed.';
COMMENT ON COLUMN repos.listed_at IS 'When the relay last listed the repo (listRepos): a repo a whole enumeration did not list is fetched again, to learn what became of it.';
COMMENT ON TABLE repo_buffer IS 'Live events of repos being resynced, in seq order, applied after the snapshot when they chain.';
COMMENT ON COLUMN repo_buffer.event IS 'The event as DAG-CBOR (sync::buffered): its ops with their record blocks.';
