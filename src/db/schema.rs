// @generated automatically by Diesel CLI.

diesel::table! {
    blocks (uri) {
        uri -> Text,
        cid -> Text,
        blocker_did -> Text,
        blocked_did -> Text,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    feed_items (uri) {
        uri -> Text,
        post_uri -> Text,
        originator_did -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        sort_at -> Timestamptz,
        cid -> Text,
    }
}

diesel::table! {
    firehose_cursor (service) {
        service -> Text,
        cursor -> Int8,
        last_event_time -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    follows (uri) {
        uri -> Text,
        cid -> Text,
        follower_did -> Text,
        following_did -> Text,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    generic_records (uri) {
        uri -> Text,
        cid -> Text,
        author_did -> Text,
        collection -> Text,
        record -> Jsonb,
        created_at -> Nullable<Timestamptz>,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    likes (uri) {
        uri -> Text,
        cid -> Text,
        user_did -> Text,
        post_uri -> Text,
        subject_cid -> Text,
        via_uri -> Nullable<Text>,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    post_aggregations (post_uri) {
        post_uri -> Text,
        like_count -> Int8,
        repost_count -> Int8,
        reply_count -> Int8,
        quote_count -> Int8,
    }
}

diesel::table! {
    posts (uri) {
        uri -> Text,
        cid -> Text,
        author_did -> Text,
        text -> Text,
        langs -> Array<Nullable<Text>>,
        parent_uri -> Nullable<Text>,
        parent_cid -> Nullable<Text>,
        root_uri -> Nullable<Text>,
        root_cid -> Nullable<Text>,
        quote_uri -> Nullable<Text>,
        quote_cid -> Nullable<Text>,
        embed -> Nullable<Jsonb>,
        facets -> Nullable<Jsonb>,
        labels -> Array<Nullable<Text>>,
        tags -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    reposts (uri) {
        uri -> Text,
        cid -> Text,
        user_did -> Text,
        post_uri -> Text,
        subject_cid -> Text,
        via_uri -> Nullable<Text>,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::table! {
    user_aggregations (did) {
        did -> Text,
        followers_count -> Int8,
        follows_count -> Int8,
        posts_count -> Int8,
    }
}

diesel::table! {
    users (did) {
        did -> Text,
        handle -> Nullable<Text>,
        display_name -> Nullable<Text>,
        description -> Nullable<Text>,
        avatar_cid -> Nullable<Text>,
        banner_cid -> Nullable<Text>,
        pinned_post_uri -> Nullable<Text>,
        profile_cid -> Nullable<Text>,
        profile_record -> Nullable<Jsonb>,
        active -> Bool,
        status -> Nullable<Text>,
        rev -> Nullable<Text>,
        created_at -> Timestamptz,
        indexed_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    blocks,
    feed_items,
    firehose_cursor,
    follows,
    generic_records,
    likes,
    post_aggregations,
    posts,
    reposts,
    user_aggregations,
    users,
);
