-- What the thread's and the quoted post's gates said of a post when it was indexed, as the
-- reference AppView decides and keeps it (post.ts): a reply the root's threadgate does not
-- allow counts as no reply and notifies no one up the thread; a quote of a post whose postgate
-- disables embedding notifies its author of nothing.
ALTER TABLE posts
    ADD COLUMN violates_thread_gate BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN violates_embedding_rules BOOLEAN NOT NULL DEFAULT false;

COMMENT ON COLUMN posts.violates_thread_gate IS 'The root''s threadgate did not allow this reply when it was indexed: not in the parent''s reply_count, no reply notifications.';
COMMENT ON COLUMN posts.violates_embedding_rules IS 'The quoted post''s postgate disabled embedding when this post was indexed: no quote notification.';
