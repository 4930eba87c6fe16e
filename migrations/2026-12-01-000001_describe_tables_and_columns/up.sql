-- What each table and column holds, as comments in the database itself: `\d+` shows them, and
-- `diesel print-schema` (with_docs) turns them into the doc comments of src/schema.rs.

COMMENT ON TABLE users IS 'One row per account seen: handle, profile, account state, and the rev of the last commit applied (the per-repo ordering guard). A deleted account stays as a tombstone.';
COMMENT ON COLUMN users.did IS 'The account''s DID.';
COMMENT ON COLUMN users.handle IS 'Handle from the latest #identity event (NULL until one names it).';
COMMENT ON COLUMN users.display_name IS 'app.bsky.actor.profile displayName.';
COMMENT ON COLUMN users.description IS 'app.bsky.actor.profile description.';
COMMENT ON COLUMN users.avatar_cid IS 'CID of the profile''s avatar blob.';
COMMENT ON COLUMN users.banner_cid IS 'CID of the profile''s banner blob.';
COMMENT ON COLUMN users.pinned_post_uri IS 'AT-URI of the profile''s pinned post.';
COMMENT ON COLUMN users.profile_cid IS 'CID of the profile record (NULL when it is deleted or never seen).';
COMMENT ON COLUMN users.profile_record IS 'The profile record as lex-JSON, unknown fields included.';
COMMENT ON COLUMN users.active IS 'From #account: false while the account is deactivated, suspended, taken down or deleted.';
COMMENT ON COLUMN users.status IS 'From #account: takendown, suspended, deleted, deactivated, … (NULL when active).';
COMMENT ON COLUMN users.rev IS 'Rev (TID) of the last commit applied; older commits are replays and change nothing.';
COMMENT ON COLUMN users.created_at IS 'Relay time of the first event seen for the account.';
COMMENT ON COLUMN users.indexed_at IS 'Relay time of the latest event that changed the row.';

COMMENT ON TABLE posts IS 'One row per live app.bsky.feed.post record.';
COMMENT ON COLUMN posts.uri IS 'at://DID/app.bsky.feed.post/RKEY.';
COMMENT ON COLUMN posts.cid IS 'CID of the record version held.';
COMMENT ON COLUMN posts.author_did IS 'The repo the post is in.';
COMMENT ON COLUMN posts.text IS 'The post''s text.';
COMMENT ON COLUMN posts.langs IS 'Language tags the author declared.';
COMMENT ON COLUMN posts.parent_uri IS 'For a reply: the post replied to.';
COMMENT ON COLUMN posts.parent_cid IS 'For a reply: the CID of the post replied to.';
COMMENT ON COLUMN posts.root_uri IS 'For a reply: the thread''s first post.';
COMMENT ON COLUMN posts.root_cid IS 'For a reply: the CID of the thread''s first post.';
COMMENT ON COLUMN posts.quote_uri IS 'For a quote (record or recordWithMedia embed): the post quoted.';
COMMENT ON COLUMN posts.quote_cid IS 'For a quote: the CID of the post quoted.';
COMMENT ON COLUMN posts.embed IS 'The record''s embed as lex-JSON.';
COMMENT ON COLUMN posts.facets IS 'The record''s facets (mentions, links, tags) as lex-JSON.';
COMMENT ON COLUMN posts.labels IS 'Self-labels the author put on the post.';
COMMENT ON COLUMN posts.tags IS 'The record''s tags field.';
COMMENT ON COLUMN posts.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN posts.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE likes IS 'One row per live app.bsky.feed.like record.';
COMMENT ON COLUMN likes.uri IS 'at://DID/app.bsky.feed.like/RKEY.';
COMMENT ON COLUMN likes.cid IS 'CID of the record version held.';
COMMENT ON COLUMN likes.user_did IS 'The account that likes.';
COMMENT ON COLUMN likes.post_uri IS 'The subject liked (a post, or any record).';
COMMENT ON COLUMN likes.subject_cid IS 'CID of the subject as the like names it.';
COMMENT ON COLUMN likes.via_uri IS 'The record that led to the like (e.g. a repost), when named.';
COMMENT ON COLUMN likes.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN likes.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE reposts IS 'One row per live app.bsky.feed.repost record.';
COMMENT ON COLUMN reposts.uri IS 'at://DID/app.bsky.feed.repost/RKEY.';
COMMENT ON COLUMN reposts.cid IS 'CID of the record version held.';
COMMENT ON COLUMN reposts.user_did IS 'The account that reposts.';
COMMENT ON COLUMN reposts.post_uri IS 'The post reposted.';
COMMENT ON COLUMN reposts.subject_cid IS 'CID of the post as the repost names it.';
COMMENT ON COLUMN reposts.via_uri IS 'The record that led to the repost (e.g. another repost), when named.';
COMMENT ON COLUMN reposts.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN reposts.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE follows IS 'One row per live app.bsky.graph.follow record.';
COMMENT ON COLUMN follows.uri IS 'at://DID/app.bsky.graph.follow/RKEY.';
COMMENT ON COLUMN follows.cid IS 'CID of the record version held.';
COMMENT ON COLUMN follows.follower_did IS 'The account that follows.';
COMMENT ON COLUMN follows.following_did IS 'The account followed.';
COMMENT ON COLUMN follows.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN follows.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE blocks IS 'One row per live app.bsky.graph.block record.';
COMMENT ON COLUMN blocks.uri IS 'at://DID/app.bsky.graph.block/RKEY.';
COMMENT ON COLUMN blocks.cid IS 'CID of the record version held.';
COMMENT ON COLUMN blocks.blocker_did IS 'The account that blocks.';
COMMENT ON COLUMN blocks.blocked_did IS 'The account blocked.';
COMMENT ON COLUMN blocks.created_at IS 'The record''s own createdAt.';
COMMENT ON COLUMN blocks.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE feed_items IS 'An author''s timeline: one row per live post or repost of theirs, newest first by sort_at.';
COMMENT ON COLUMN feed_items.uri IS 'The post''s or repost''s own AT-URI.';
COMMENT ON COLUMN feed_items.post_uri IS 'The post shown: the post itself, or the one reposted.';
COMMENT ON COLUMN feed_items.originator_did IS 'Whose timeline it is on (the author or reposter).';
COMMENT ON COLUMN feed_items.type IS 'post or repost.';
COMMENT ON COLUMN feed_items.sort_at IS 'The earlier of the record''s createdAt and its relay time (a post dated in the future does not stay on top).';
COMMENT ON COLUMN feed_items.cid IS 'CID of the post or repost record.';

COMMENT ON TABLE post_aggregations IS 'Exact counters per post (or any record liked): each moves only when a row really appears or disappears, and likes and reposts count once per account.';
COMMENT ON COLUMN post_aggregations.post_uri IS 'The record counted.';
COMMENT ON COLUMN post_aggregations.like_count IS 'Accounts with a live like of it.';
COMMENT ON COLUMN post_aggregations.repost_count IS 'Accounts with a live repost of it.';
COMMENT ON COLUMN post_aggregations.reply_count IS 'Live posts replying to it directly.';
COMMENT ON COLUMN post_aggregations.quote_count IS 'Live posts quoting it.';

COMMENT ON TABLE user_aggregations IS 'Exact counters per account, by the same rule as post_aggregations.';
COMMENT ON COLUMN user_aggregations.did IS 'The account counted.';
COMMENT ON COLUMN user_aggregations.followers_count IS 'Accounts with a live follow of it.';
COMMENT ON COLUMN user_aggregations.follows_count IS 'Accounts it has a live follow of.';
COMMENT ON COLUMN user_aggregations.posts_count IS 'Its live posts.';

COMMENT ON TABLE generic_records IS 'Every record of a collection not typed in a table of its own, as lex-JSON.';
COMMENT ON COLUMN generic_records.uri IS 'at://DID/COLLECTION/RKEY.';
COMMENT ON COLUMN generic_records.cid IS 'CID of the record version held.';
COMMENT ON COLUMN generic_records.author_did IS 'The repo the record is in.';
COMMENT ON COLUMN generic_records.collection IS 'The record''s collection (NSID).';
COMMENT ON COLUMN generic_records.record IS 'The record as lex-JSON.';
COMMENT ON COLUMN generic_records.created_at IS 'The record''s createdAt, when it has a valid one.';
COMMENT ON COLUMN generic_records.indexed_at IS 'Relay time of the commit that wrote this version.';

COMMENT ON TABLE firehose_cursor IS 'Per stream, the low-watermark: every event at or below cursor is committed. Restarts resume from it.';
COMMENT ON COLUMN firehose_cursor.service IS 'The stream: the relay URL without credentials, file:PATH, or --service.';
COMMENT ON COLUMN firehose_cursor.cursor IS 'The seq at or below which every event is committed.';
COMMENT ON COLUMN firehose_cursor.last_event_time IS 'Relay time of the event at the cursor (for lag).';
COMMENT ON COLUMN firehose_cursor.updated_at IS 'When the cursor was last saved (health checks its age).';
