-- Every typed row goes back to generic_records, whole, as it was before the up migration.
INSERT INTO generic_records (uri, cid, author_did, collection, record, created_at, indexed_at)
SELECT uri, cid, author_did, 'app.bsky.graph.list', record, created_at, indexed_at FROM lists
UNION ALL SELECT uri, cid, author_did, 'app.bsky.graph.listitem', record, created_at, indexed_at FROM list_items
UNION ALL SELECT uri, cid, author_did, 'app.bsky.graph.listblock', record, created_at, indexed_at FROM list_blocks
UNION ALL SELECT uri, cid, author_did, 'app.bsky.graph.starterpack', record, created_at, indexed_at FROM starter_packs
UNION ALL SELECT uri, cid, author_did, 'app.bsky.feed.generator', record, created_at, indexed_at FROM feed_generators
UNION ALL SELECT uri, cid, author_did, 'app.bsky.labeler.service', record, created_at, indexed_at FROM labeler_services
UNION ALL SELECT uri, cid, author_did, 'app.bsky.graph.verification', record, created_at, indexed_at FROM verifications
UNION ALL SELECT uri, cid, author_did, 'app.bsky.actor.status', record, created_at, indexed_at FROM actor_statuses
UNION ALL SELECT uri, cid, author_did, 'app.bsky.notification.declaration', record, NULL, indexed_at FROM notification_declarations
UNION ALL SELECT uri, cid, author_did, 'chat.bsky.actor.declaration', record, NULL, indexed_at FROM chat_declarations
UNION ALL SELECT uri, cid, author_did, 'app.bsky.feed.threadgate', record, created_at, indexed_at FROM threadgates
UNION ALL SELECT uri, cid, author_did, 'app.bsky.feed.postgate', record, created_at, indexed_at FROM postgates;
DROP TABLE list_aggregations, postgates, threadgates, chat_declarations, notification_declarations,
    actor_statuses, verifications, labeler_services, feed_generators, starter_packs, list_blocks,
    list_items, lists;
