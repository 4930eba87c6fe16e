-- The accounts `skyindex track` named: with `run --only-tracked`, the only ones indexed.
CREATE TABLE tracked_repos (
    did       TEXT COLLATE "C" PRIMARY KEY,
    added_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE tracked_repos IS 'Accounts to index with run --only-tracked (skyindex track adds, track --remove takes away); the others'' frames are dropped before their CAR is decoded.';
COMMENT ON COLUMN tracked_repos.did IS 'The account''s DID.';
COMMENT ON COLUMN tracked_repos.added_at IS 'When skyindex track added it.';
