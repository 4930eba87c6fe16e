// @generated automatically by Diesel CLI.

diesel::table! {
    /// One row per live app.bsky.graph.block record.
    blocks (uri) {
        /// at://DID/app.bsky.graph.block/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The account that blocks.
        blocker_did -> Text,
        /// The account blocked.
        blocked_did -> Text,
        /// The record's own createdAt.
        created_at -> Timestamptz,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// An author's timeline: one row per live post or repost of theirs, newest first by sort_at.
    feed_items (uri) {
        /// The post's or repost's own AT-URI.
        uri -> Text,
        /// The post shown: the post itself, or the one reposted.
        post_uri -> Text,
        /// Whose timeline it is on (the author or reposter).
        originator_did -> Text,
        /// post or repost.
        #[sql_name = "type"]
        type_ -> Text,
        /// The earlier of the record's createdAt and its relay time (a post dated in the future does not stay on top).
        sort_at -> Timestamptz,
        /// CID of the post or repost record.
        cid -> Text,
    }
}

diesel::table! {
    /// Per stream, the low-watermark: every event at or below cursor is committed. Restarts resume from it.
    firehose_cursor (service) {
        /// The stream: the relay URL without credentials, file:PATH, or --service.
        service -> Text,
        /// The seq at or below which every event is committed.
        cursor -> Int8,
        /// Relay time of the event at the cursor (for lag).
        last_event_time -> Nullable<Timestamptz>,
        /// When the cursor was last saved (health checks its age).
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// One row per live app.bsky.graph.follow record.
    follows (uri) {
        /// at://DID/app.bsky.graph.follow/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The account that follows.
        follower_did -> Text,
        /// The account followed.
        following_did -> Text,
        /// The record's own createdAt.
        created_at -> Timestamptz,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// Every record of a collection not typed in a table of its own, as lex-JSON.
    generic_records (uri) {
        /// at://DID/COLLECTION/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The repo the record is in.
        author_did -> Text,
        /// The record's collection (NSID).
        collection -> Text,
        /// The record as lex-JSON.
        record -> Jsonb,
        /// The record's createdAt, when it has a valid one.
        created_at -> Nullable<Timestamptz>,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// One row per label identity (src, uri, cid, val) of the labelers followed: the newest label of that identity. In force when NOT neg AND (exp IS NULL OR exp > now()); negations stay as rows so older labels replayed later change nothing.
    labels (src, uri, cid, val) {
        /// DID of the labeler that signed the label.
        src -> Text,
        /// The subject: an at:// URI of a record, or an account's DID.
        uri -> Text,
        /// CID of the record version labelled; empty when the label is on the subject whatever its version.
        cid -> Text,
        /// The label value (at most 128 bytes): spam, porn, !hide (a ! value is a system label), or the labeler's own.
        val -> Text,
        /// True when the newest label of this identity is a negation: not in force.
        neg -> Bool,
        /// When the labeler made the label (its cts); a newer one replaces an older one.
        cts -> Timestamptz,
        /// When the label stops being in force (its exp), if it expires; expired rows stay.
        exp -> Nullable<Timestamptz>,
        /// The labeler's 64-byte signature, verified against its #atproto_label key before the row was written.
        sig -> Bytea,
        /// The labeler's seq of the frame that carried the label.
        seq -> Int8,
    }
}

diesel::table! {
    /// One row per live app.bsky.feed.like record.
    likes (uri) {
        /// at://DID/app.bsky.feed.like/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The account that likes.
        user_did -> Text,
        /// The subject liked (a post, or any record).
        post_uri -> Text,
        /// CID of the subject as the like names it.
        subject_cid -> Text,
        /// The record that led to the like (e.g. a repost), when named.
        via_uri -> Nullable<Text>,
        /// The record's own createdAt.
        created_at -> Timestamptz,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// One row per notification: who is told (recipient_did), why (reason), about what (reason_subject), because of which record (record_uri, by author_did). Exists exactly while that record does.
    notifications (record_uri, recipient_did, reason) {
        /// The record that caused it: the like, repost, follow, post (reply, mention, quote), verification or profile.
        record_uri -> Text,
        /// The account told.
        recipient_did -> Text,
        /// like, like-via-repost, repost, repost-via-repost, follow, mention, reply, quote, verified, unverified, starterpack-joined.
        reason -> Text,
        /// What was acted on: the liked or reposted record, the repost used as via, the post replied to, the quoted post, the starter pack; NULL for follow, mention, verified, unverified.
        reason_subject -> Nullable<Text>,
        /// The account whose record it is.
        author_did -> Text,
        /// CID of that record.
        record_cid -> Text,
        /// The earlier of the record's createdAt and its relay time (of the reply's, for replies).
        sort_at -> Timestamptz,
    }
}

diesel::table! {
    /// Exact counters per post (or any record liked): each moves only when a row really appears or disappears, and likes and reposts count once per account.
    post_aggregations (post_uri) {
        /// The record counted.
        post_uri -> Text,
        /// Accounts with a live like of it.
        like_count -> Int8,
        /// Accounts with a live repost of it.
        repost_count -> Int8,
        /// Live posts replying to it directly.
        reply_count -> Int8,
        /// Live posts quoting it.
        quote_count -> Int8,
    }
}

diesel::table! {
    /// One row per live app.bsky.feed.post record.
    posts (uri) {
        /// at://DID/app.bsky.feed.post/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The repo the post is in.
        author_did -> Text,
        /// The post's text.
        text -> Text,
        /// Language tags the author declared.
        langs -> Array<Nullable<Text>>,
        /// For a reply: the post replied to.
        parent_uri -> Nullable<Text>,
        /// For a reply: the CID of the post replied to.
        parent_cid -> Nullable<Text>,
        /// For a reply: the thread's first post.
        root_uri -> Nullable<Text>,
        /// For a reply: the CID of the thread's first post.
        root_cid -> Nullable<Text>,
        /// For a quote (record or recordWithMedia embed): the post quoted.
        quote_uri -> Nullable<Text>,
        /// For a quote: the CID of the post quoted.
        quote_cid -> Nullable<Text>,
        /// The record's embed as lex-JSON.
        embed -> Nullable<Jsonb>,
        /// The record's facets (mentions, links, tags) as lex-JSON.
        facets -> Nullable<Jsonb>,
        /// Self-labels the author put on the post.
        labels -> Array<Nullable<Text>>,
        /// The record's tags field.
        tags -> Array<Nullable<Text>>,
        /// The record's own createdAt.
        created_at -> Timestamptz,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// One row per live app.bsky.feed.repost record.
    reposts (uri) {
        /// at://DID/app.bsky.feed.repost/RKEY.
        uri -> Text,
        /// CID of the record version held.
        cid -> Text,
        /// The account that reposts.
        user_did -> Text,
        /// The post reposted.
        post_uri -> Text,
        /// CID of the post as the repost names it.
        subject_cid -> Text,
        /// The record that led to the repost (e.g. another repost), when named.
        via_uri -> Nullable<Text>,
        /// The record's own createdAt.
        created_at -> Timestamptz,
        /// Relay time of the commit that wrote this version.
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    /// Exact counters per account, by the same rule as post_aggregations.
    user_aggregations (did) {
        /// The account counted.
        did -> Text,
        /// Accounts with a live follow of it.
        followers_count -> Int8,
        /// Accounts it has a live follow of.
        follows_count -> Int8,
        /// Its live posts.
        posts_count -> Int8,
    }
}

diesel::table! {
    /// One row per account seen: handle, profile, account state, and the rev of the last commit applied (the per-repo ordering guard). A deleted account stays as a tombstone.
    users (did) {
        /// The account's DID.
        did -> Text,
        /// Handle from the latest #identity event (NULL until one names it).
        handle -> Nullable<Text>,
        /// app.bsky.actor.profile displayName.
        display_name -> Nullable<Text>,
        /// app.bsky.actor.profile description.
        description -> Nullable<Text>,
        /// CID of the profile's avatar blob.
        avatar_cid -> Nullable<Text>,
        /// CID of the profile's banner blob.
        banner_cid -> Nullable<Text>,
        /// AT-URI of the profile's pinned post.
        pinned_post_uri -> Nullable<Text>,
        /// CID of the profile record (NULL when it is deleted or never seen).
        profile_cid -> Nullable<Text>,
        /// The profile record as lex-JSON, unknown fields included.
        profile_record -> Nullable<Jsonb>,
        /// From #account: false while the account is deactivated, suspended, taken down or deleted.
        active -> Bool,
        /// From #account: takendown, suspended, deleted, deactivated, … (NULL when active).
        status -> Nullable<Text>,
        /// Rev (TID) of the last commit applied; older commits are replays and change nothing.
        rev -> Nullable<Text>,
        /// Relay time of the first event seen for the account.
        created_at -> Timestamptz,
        /// Relay time of the latest event that changed the row.
        indexed_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    blocks,
    feed_items,
    firehose_cursor,
    follows,
    generic_records,
    labels,
    likes,
    notifications,
    post_aggregations,
    posts,
    reposts,
    user_aggregations,
    users,
);
