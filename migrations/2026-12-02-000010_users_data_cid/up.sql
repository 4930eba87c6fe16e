-- The repo's MST root after the last commit applied (that commit's `data`), beside its rev:
-- a live commit whose `prevData` names another root does not chain on from what we hold
-- (events were lost upstream), and a `#sync` naming the root we hold changed nothing.
ALTER TABLE users ADD COLUMN data_cid TEXT;

COMMENT ON COLUMN users.data_cid IS 'The MST root (data CID) after the last commit or snapshot applied; a commit whose prevData differs breaks the chain.';
