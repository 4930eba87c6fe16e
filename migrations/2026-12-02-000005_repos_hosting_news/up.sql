-- A fetch refused for the account's status may have been answered before the stream told us
-- the account came back: the stream's later word must win over the fetch's. These say which
-- came last.
ALTER TABLE repos
    ADD COLUMN claimed_at TIMESTAMPTZ,
    ADD COLUMN hosting_at TIMESTAMPTZ;

COMMENT ON COLUMN repos.claimed_at IS 'When the last fetch was claimed.';
COMMENT ON COLUMN repos.hosting_at IS 'When the hosting status was last told us (by the stream, a listing or a fetch).';
