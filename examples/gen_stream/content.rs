//! What records say: collections, post text in a few languages, and one writer per record type
//! that appends the record's canonical DAG-CBOR to a buffer.
//!
//! Every map below lists its keys in DAG-CBOR order (shorter first, then bytewise); the comment
//! on each writer spells that order out.

use super::enc::{self, Digest32, Rng, CODEC_DAG_CBOR, CODEC_RAW};

/// The collections the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Coll {
    Like,
    Post,
    Repost,
    Follow,
    Block,
    Profile,
    List,
    ListItem,
    Threadgate,
    Postgate,
    Status,
    ChatDeclaration,
    Starterpack,
    Listblock,
}

pub const COLLS: [Coll; 14] = [
    Coll::Like,
    Coll::Post,
    Coll::Repost,
    Coll::Follow,
    Coll::Block,
    Coll::Profile,
    Coll::List,
    Coll::ListItem,
    Coll::Threadgate,
    Coll::Postgate,
    Coll::Status,
    Coll::ChatDeclaration,
    Coll::Starterpack,
    Coll::Listblock,
];

impl Coll {
    pub fn nsid(self) -> &'static str {
        match self {
            Coll::Like => "app.bsky.feed.like",
            Coll::Post => "app.bsky.feed.post",
            Coll::Repost => "app.bsky.feed.repost",
            Coll::Follow => "app.bsky.graph.follow",
            Coll::Block => "app.bsky.graph.block",
            Coll::Profile => "app.bsky.actor.profile",
            Coll::List => "app.bsky.graph.list",
            Coll::ListItem => "app.bsky.graph.listitem",
            Coll::Threadgate => "app.bsky.feed.threadgate",
            Coll::Postgate => "app.bsky.feed.postgate",
            // The AT Protocol tutorial app: a stand-in for third-party apps' records.
            Coll::Status => "xyz.statusphere.status",
            Coll::ChatDeclaration => "chat.bsky.actor.declaration",
            Coll::Starterpack => "app.bsky.graph.starterpack",
            Coll::Listblock => "app.bsky.graph.listblock",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A record by repo, collection, key and CID: what a strong ref or an AT-URI names.
#[derive(Debug, Clone, Copy)]
pub struct Ref {
    pub did: [u8; 32],
    pub coll: Coll,
    /// A TID's integer; 0 stands for the literal key `self`.
    pub rkey: u64,
    pub cid: Digest32,
}

pub fn rkey_bytes(rkey: u64) -> RkeyBuf {
    if rkey == 0 {
        RkeyBuf {
            buf: *b"self\0\0\0\0\0\0\0\0\0",
            len: 4,
        }
    } else {
        RkeyBuf {
            buf: enc::tid(rkey),
            len: 13,
        }
    }
}

pub struct RkeyBuf {
    buf: [u8; 13],
    len: usize,
}

impl RkeyBuf {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `at://did/collection/rkey` as a text string.
pub fn uri(buf: &mut Vec<u8>, did: &[u8], coll: Coll, rkey: u64) {
    let k = rkey_bytes(rkey);
    enc::text_parts(
        buf,
        &[
            b"at://",
            did,
            b"/",
            coll.nsid().as_bytes(),
            b"/",
            k.as_bytes(),
        ],
    );
}

/// `{cid, uri}`; `bad_uri` replaces the URI (for hostile records).
pub fn strong_ref(buf: &mut Vec<u8>, r: &Ref, bad_uri: Option<&[u8]>) {
    enc::map(buf, 2);
    enc::text(buf, b"cid");
    enc::text(buf, &enc::cid_string(CODEC_DAG_CBOR, &r.cid));
    enc::text(buf, b"uri");
    match bad_uri {
        Some(u) => enc::text(buf, u),
        None => uri(buf, &r.did, r.coll, r.rkey),
    }
}

/// A blob: `{ref, size, $type, mimeType}`.
#[derive(Debug, Clone, Copy)]
pub struct Blob {
    pub digest: Digest32,
    pub mime: &'static str,
    pub size: u64,
}

impl Blob {
    pub fn random(rng: &mut Rng, mime: &'static str, lo: u64, hi: u64) -> Blob {
        Blob {
            digest: rng.digest(),
            mime,
            size: rng.range(lo, hi),
        }
    }
}

pub fn blob(buf: &mut Vec<u8>, b: &Blob) {
    enc::map(buf, 4);
    enc::text(buf, b"ref");
    enc::link(buf, CODEC_RAW, &b.digest);
    enc::text(buf, b"size");
    enc::uint(buf, b.size);
    enc::text(buf, b"$type");
    enc::text(buf, b"blob");
    enc::text(buf, b"mimeType");
    enc::text(buf, b.mime.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Simple records

/// Like or repost: `{via?, $type, subject, createdAt}`.
pub fn like(
    buf: &mut Vec<u8>,
    coll: Coll,
    subject: &Ref,
    via: Option<&Ref>,
    created: &[u8],
    bad_uri: Option<&[u8]>,
) {
    enc::map(buf, 3 + usize::from(via.is_some()));
    if let Some(v) = via {
        enc::text(buf, b"via");
        strong_ref(buf, v, None);
    }
    enc::text(buf, b"$type");
    enc::text(buf, coll.nsid().as_bytes());
    enc::text(buf, b"subject");
    strong_ref(buf, subject, bad_uri);
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// Follow or block: `{$type, subject (DID), createdAt}`.
pub fn did_subject(buf: &mut Vec<u8>, coll: Coll, subject: &[u8], created: &[u8]) {
    enc::map(buf, 3);
    enc::text(buf, b"$type");
    enc::text(buf, coll.nsid().as_bytes());
    enc::text(buf, b"subject");
    enc::text(buf, subject);
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// `{name, $type, purpose, createdAt, description?}`.
pub fn list(
    buf: &mut Vec<u8>,
    name: &[u8],
    description: Option<&[u8]>,
    mod_list: bool,
    created: &[u8],
) {
    enc::map(buf, 4 + usize::from(description.is_some()));
    enc::text(buf, b"name");
    enc::text(buf, name);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::List.nsid().as_bytes());
    enc::text(buf, b"purpose");
    enc::text(
        buf,
        if mod_list {
            b"app.bsky.graph.defs#modlist"
        } else {
            b"app.bsky.graph.defs#curatelist"
        },
    );
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
    if let Some(d) = description {
        enc::text(buf, b"description");
        enc::text(buf, d);
    }
}

/// `{list, $type, subject, createdAt}`.
pub fn list_item(
    buf: &mut Vec<u8>,
    list_did: &[u8],
    list_rkey: u64,
    subject: &[u8],
    created: &[u8],
) {
    enc::map(buf, 4);
    enc::text(buf, b"list");
    uri(buf, list_did, Coll::List, list_rkey);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::ListItem.nsid().as_bytes());
    enc::text(buf, b"subject");
    enc::text(buf, subject);
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

const THREADGATE_RULES: [&[u8]; 4] = [
    b"app.bsky.feed.threadgate#mentionRule",
    b"app.bsky.feed.threadgate#followingRule",
    b"app.bsky.feed.threadgate#followerRule",
    b"app.bsky.feed.threadgate#listRule",
];

/// `{post, $type, allow, createdAt}`; `rules` is a bit set over [`THREADGATE_RULES`] without
/// the list rule (which needs a list URI), empty meaning "nobody may reply".
pub fn threadgate(buf: &mut Vec<u8>, did: &[u8], post_rkey: u64, rules: u8, created: &[u8]) {
    enc::map(buf, 4);
    enc::text(buf, b"post");
    uri(buf, did, Coll::Post, post_rkey);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Threadgate.nsid().as_bytes());
    enc::text(buf, b"allow");
    let n = (rules & 0b111).count_ones() as usize;
    enc::array(buf, n);
    for (i, rule) in THREADGATE_RULES.iter().take(3).enumerate() {
        if rules & (1 << i) != 0 {
            enc::map(buf, 1);
            enc::text(buf, b"$type");
            enc::text(buf, rule);
        }
    }
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// `{post, $type, createdAt, embeddingRules}`.
pub fn postgate(buf: &mut Vec<u8>, did: &[u8], post_rkey: u64, created: &[u8]) {
    enc::map(buf, 4);
    enc::text(buf, b"post");
    uri(buf, did, Coll::Post, post_rkey);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Postgate.nsid().as_bytes());
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
    enc::text(buf, b"embeddingRules");
    enc::array(buf, 1);
    enc::map(buf, 1);
    enc::text(buf, b"$type");
    enc::text(buf, b"app.bsky.feed.postgate#disableRule");
}

const STATUSES: [&str; 12] = [
    "👍",
    "🦋",
    "☕",
    "🎉",
    "😴",
    "💻",
    "🎧",
    "📚",
    "🔥",
    "🌧\u{fe0f}",
    "🤔",
    "✨",
];

/// `{$type, status, createdAt}`.
pub fn status(buf: &mut Vec<u8>, rng: &mut Rng, created: &[u8]) {
    enc::map(buf, 3);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Status.nsid().as_bytes());
    enc::text(buf, b"status");
    enc::text(buf, rng.pick(&STATUSES).as_bytes());
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// `{$type, allowIncoming}` (record key `self`).
pub fn chat_declaration(buf: &mut Vec<u8>, rng: &mut Rng) {
    enc::map(buf, 2);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::ChatDeclaration.nsid().as_bytes());
    enc::text(buf, b"allowIncoming");
    enc::text(buf, rng.choose(&[b"following".as_slice(), b"all", b"none"]));
}

/// `{list, name, $type, createdAt}`.
pub fn starterpack(buf: &mut Vec<u8>, did: &[u8], list_rkey: u64, name: &[u8], created: &[u8]) {
    enc::map(buf, 4);
    enc::text(buf, b"list");
    uri(buf, did, Coll::List, list_rkey);
    enc::text(buf, b"name");
    enc::text(buf, name);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Starterpack.nsid().as_bytes());
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// `{$type, subject (list URI), createdAt}`.
pub fn listblock(buf: &mut Vec<u8>, list_did: &[u8], list_rkey: u64, created: &[u8]) {
    enc::map(buf, 3);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Listblock.nsid().as_bytes());
    enc::text(buf, b"subject");
    uri(buf, list_did, Coll::List, list_rkey);
    enc::text(buf, b"createdAt");
    enc::text(buf, created);
}

/// `{$type, avatar?, banner?, createdAt?, pinnedPost?, description?, displayName?}`.
pub struct Profile<'a> {
    pub display_name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub avatar: Option<Blob>,
    pub banner: Option<Blob>,
    pub pinned: Option<Ref>,
    pub created: Option<&'a [u8]>,
}

pub fn profile(buf: &mut Vec<u8>, p: &Profile<'_>) {
    let n = 1
        + usize::from(p.avatar.is_some())
        + usize::from(p.banner.is_some())
        + usize::from(p.created.is_some())
        + usize::from(p.pinned.is_some())
        + usize::from(p.description.is_some())
        + usize::from(p.display_name.is_some());
    enc::map(buf, n);
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Profile.nsid().as_bytes());
    if let Some(b) = &p.avatar {
        enc::text(buf, b"avatar");
        blob(buf, b);
    }
    if let Some(b) = &p.banner {
        enc::text(buf, b"banner");
        blob(buf, b);
    }
    if let Some(c) = p.created {
        enc::text(buf, b"createdAt");
        enc::text(buf, c);
    }
    if let Some(r) = &p.pinned {
        enc::text(buf, b"pinnedPost");
        strong_ref(buf, r, None);
    }
    if let Some(d) = p.description {
        enc::text(buf, b"description");
        enc::text(buf, d.as_bytes());
    }
    if let Some(d) = p.display_name {
        enc::text(buf, b"displayName");
        enc::text(buf, d.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Posts

#[derive(Debug, Clone, Copy)]
pub enum FacetKind {
    Mention([u8; 32]),
    Link,
    Tag,
}

/// A facet over `text[start..end]`; links and tags take their value from that text.
#[derive(Debug, Clone, Copy)]
pub struct Facet {
    pub start: usize,
    pub end: usize,
    pub kind: FacetKind,
}

#[derive(Debug, Clone, Copy)]
pub struct Image {
    pub blob: Blob,
    pub alt: &'static str,
    pub width: u64,
    pub height: u64,
}

pub enum Embed<'a> {
    Images(&'a [Image]),
    External {
        uri: &'a str,
        title: &'a str,
        description: &'a str,
        thumb: Option<Blob>,
    },
    Record(Ref),
    RecordWithImages(Ref, &'a [Image]),
    Video(Blob, u64, u64),
}

pub struct Post<'a> {
    pub text: &'a str,
    pub facets: &'a [Facet],
    pub langs: &'a [&'static str],
    /// `(root, parent)`.
    pub reply: Option<(Ref, Ref)>,
    pub embed: Option<Embed<'a>>,
    pub label: Option<&'static str>,
    pub tags: &'a [&'static str],
    pub created: &'a [u8],
}

/// `{tags?, text, $type, embed?, langs?, reply?, facets?, labels?, createdAt}`.
pub fn post(buf: &mut Vec<u8>, p: &Post<'_>) {
    let n = 3
        + usize::from(!p.tags.is_empty())
        + usize::from(p.embed.is_some())
        + usize::from(!p.langs.is_empty())
        + usize::from(p.reply.is_some())
        + usize::from(!p.facets.is_empty())
        + usize::from(p.label.is_some());
    enc::map(buf, n);
    if !p.tags.is_empty() {
        enc::text(buf, b"tags");
        enc::array(buf, p.tags.len());
        for t in p.tags {
            enc::text(buf, t.as_bytes());
        }
    }
    enc::text(buf, b"text");
    enc::text(buf, p.text.as_bytes());
    enc::text(buf, b"$type");
    enc::text(buf, Coll::Post.nsid().as_bytes());
    if let Some(e) = &p.embed {
        enc::text(buf, b"embed");
        embed(buf, e);
    }
    if !p.langs.is_empty() {
        enc::text(buf, b"langs");
        enc::array(buf, p.langs.len());
        for l in p.langs {
            enc::text(buf, l.as_bytes());
        }
    }
    if let Some((root, parent)) = &p.reply {
        // {root, parent}
        enc::text(buf, b"reply");
        enc::map(buf, 2);
        enc::text(buf, b"root");
        strong_ref(buf, root, None);
        enc::text(buf, b"parent");
        strong_ref(buf, parent, None);
    }
    if !p.facets.is_empty() {
        enc::text(buf, b"facets");
        enc::array(buf, p.facets.len());
        for f in p.facets {
            facet(buf, p.text.as_bytes(), f);
        }
    }
    if let Some(l) = p.label {
        // {$type, values: [{val}]}
        enc::text(buf, b"labels");
        enc::map(buf, 2);
        enc::text(buf, b"$type");
        enc::text(buf, b"com.atproto.label.defs#selfLabels");
        enc::text(buf, b"values");
        enc::array(buf, 1);
        enc::map(buf, 1);
        enc::text(buf, b"val");
        enc::text(buf, l.as_bytes());
    }
    enc::text(buf, b"createdAt");
    enc::text(buf, p.created);
}

/// `{$type, index: {byteEnd, byteStart}, features: [...]}`.
fn facet(buf: &mut Vec<u8>, text: &[u8], f: &Facet) {
    enc::map(buf, 3);
    enc::text(buf, b"$type");
    enc::text(buf, b"app.bsky.richtext.facet");
    enc::text(buf, b"index");
    enc::map(buf, 2);
    enc::text(buf, b"byteEnd");
    enc::uint(buf, f.end as u64);
    enc::text(buf, b"byteStart");
    enc::uint(buf, f.start as u64);
    enc::text(buf, b"features");
    enc::array(buf, 1);
    enc::map(buf, 2);
    // {did|tag|uri, $type}
    match &f.kind {
        FacetKind::Mention(did) => {
            enc::text(buf, b"did");
            enc::text(buf, did);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.richtext.facet#mention");
        }
        FacetKind::Tag => {
            enc::text(buf, b"tag");
            enc::text(buf, &text[f.start + 1..f.end]);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.richtext.facet#tag");
        }
        FacetKind::Link => {
            enc::text(buf, b"uri");
            enc::text(buf, &text[f.start..f.end]);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.richtext.facet#link");
        }
    }
}

/// `{$type, images: [{alt, image, aspectRatio: {width, height}}]}`.
fn images(buf: &mut Vec<u8>, imgs: &[Image]) {
    enc::map(buf, 2);
    enc::text(buf, b"$type");
    enc::text(buf, b"app.bsky.embed.images");
    enc::text(buf, b"images");
    enc::array(buf, imgs.len());
    for i in imgs {
        enc::map(buf, 3);
        enc::text(buf, b"alt");
        enc::text(buf, i.alt.as_bytes());
        enc::text(buf, b"image");
        blob(buf, &i.blob);
        enc::text(buf, b"aspectRatio");
        aspect_ratio(buf, i.width, i.height);
    }
}

fn aspect_ratio(buf: &mut Vec<u8>, width: u64, height: u64) {
    enc::map(buf, 2);
    enc::text(buf, b"width");
    enc::uint(buf, width);
    enc::text(buf, b"height");
    enc::uint(buf, height);
}

fn embed(buf: &mut Vec<u8>, e: &Embed<'_>) {
    match e {
        Embed::Images(imgs) => images(buf, imgs),
        Embed::External {
            uri,
            title,
            description,
            thumb,
        } => {
            // {$type, external: {uri, thumb?, title, description}}
            enc::map(buf, 2);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.embed.external");
            enc::text(buf, b"external");
            enc::map(buf, 3 + usize::from(thumb.is_some()));
            enc::text(buf, b"uri");
            enc::text(buf, uri.as_bytes());
            if let Some(t) = thumb {
                enc::text(buf, b"thumb");
                blob(buf, t);
            }
            enc::text(buf, b"title");
            enc::text(buf, title.as_bytes());
            enc::text(buf, b"description");
            enc::text(buf, description.as_bytes());
        }
        Embed::Record(r) => {
            // {$type, record}
            enc::map(buf, 2);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.embed.record");
            enc::text(buf, b"record");
            strong_ref(buf, r, None);
        }
        Embed::RecordWithImages(r, imgs) => {
            // {$type, media, record: {$type, record}}
            enc::map(buf, 3);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.embed.recordWithMedia");
            enc::text(buf, b"media");
            images(buf, imgs);
            enc::text(buf, b"record");
            enc::map(buf, 2);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.embed.record");
            enc::text(buf, b"record");
            strong_ref(buf, r, None);
        }
        Embed::Video(b, w, h) => {
            // {$type, video, aspectRatio}
            enc::map(buf, 3);
            enc::text(buf, b"$type");
            enc::text(buf, b"app.bsky.embed.video");
            enc::text(buf, b"video");
            blob(buf, b);
            enc::text(buf, b"aspectRatio");
            aspect_ratio(buf, *w, *h);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words

const EN: &[&str] = &[
    "the",
    "a",
    "and",
    "to",
    "of",
    "I",
    "you",
    "it",
    "is",
    "that",
    "this",
    "in",
    "for",
    "on",
    "just",
    "so",
    "my",
    "me",
    "be",
    "with",
    "not",
    "have",
    "but",
    "was",
    "are",
    "like",
    "what",
    "all",
    "your",
    "at",
    "if",
    "we",
    "they",
    "do",
    "can",
    "about",
    "one",
    "more",
    "out",
    "no",
    "people",
    "time",
    "really",
    "think",
    "good",
    "know",
    "new",
    "get",
    "day",
    "today",
    "love",
    "going",
    "want",
    "now",
    "lol",
    "thing",
    "here",
    "great",
    "make",
    "still",
    "again",
    "post",
    "world",
    "never",
    "best",
    "right",
    "work",
    "year",
    "back",
    "always",
    "because",
    "feel",
    "look",
    "thread",
    "art",
    "game",
    "music",
    "coffee",
    "morning",
    "night",
    "weekend",
    "cat",
    "dog",
    "book",
    "movie",
    "friends",
    "news",
    "politics",
    "science",
    "photo",
    "tonight",
    "honestly",
    "literally",
    "finally",
    "sky",
    "bluesky",
    "timeline",
    "feed",
    "weird",
    "cool",
    "tired",
    "happy",
    "excited",
    "amazing",
    "beautiful",
    "wrong",
    "true",
    "wow",
    "yes",
    "okay",
    "maybe",
    "please",
    "thanks",
    "everyone",
    "someone",
    "nothing",
    "everything",
    "city",
    "weather",
    "rain",
    "sun",
    "summer",
    "winter",
    "train",
    "home",
    "code",
    "bug",
    "release",
];

const PT: &[&str] = &[
    "eu", "você", "que", "não", "de", "o", "a", "é", "um", "uma", "pra", "com", "muito", "mais",
    "hoje", "gente", "bom", "dia", "noite", "amor", "tudo", "nada", "sempre", "agora", "kkkkk",
    "bem", "aqui", "isso", "quando", "porque", "vida", "mundo", "trabalho", "jogo", "música",
    "café", "saudade", "obrigado", "legal", "demais",
];

const JA: &[&str] = &[
    "今日",
    "は",
    "が",
    "の",
    "を",
    "に",
    "です",
    "ます",
    "した",
    "ね",
    "よ",
    "と",
    "で",
    "も",
    "猫",
    "天気",
    "仕事",
    "朝",
    "夜",
    "楽しい",
    "眠い",
    "ありがとう",
    "おはよう",
    "お疲れ様",
    "ゲーム",
    "絵",
    "描いた",
    "イラスト",
    "ブルスカ",
    "最高",
    "ちょっと",
    "本当に",
    "コーヒー",
    "雨",
    "桜",
    "ラーメン",
    "音楽",
    "新しい",
    "。",
    "、",
    "！",
    "w",
];

const DE: &[&str] = &[
    "ich", "du", "und", "der", "die", "das", "ist", "nicht", "ein", "eine", "heute", "mal",
    "schon", "noch", "auch", "sehr", "gut", "Tag", "Leute", "Zeit", "Kaffee", "Arbeit", "Wetter",
    "endlich", "wieder", "einfach", "genau", "danke", "schön", "Bahn",
];

const ES: &[&str] = &[
    "yo", "que", "de", "la", "el", "no", "es", "un", "una", "por", "con", "muy", "hoy", "día",
    "gente", "todo", "nada", "siempre", "ahora", "jajaja", "bien", "aquí", "vida", "mundo",
    "trabajo", "gracias", "amor", "noche", "café", "mañana",
];

const EMOJI: &[&str] = &[
    "😂",
    "🥲",
    "❤️",
    "🦋",
    "✨",
    "🙏",
    "😭",
    "🔥",
    "👀",
    "💀",
    "🎉",
    "😊",
    "🤔",
    "👍🏽",
    "🏳️‍🌈",
    "🇧🇷",
    "🇯🇵",
    "☀️",
    "🌧️",
    "🐈",
];

pub const ALTS: &[&str] = &[
    "",
    "",
    "",
    "A photo of a cat sleeping on a keyboard",
    "Screenshot of a post",
    "Sunset over the city, orange sky",
    "Drawing of a blue butterfly",
    "A chart going up and to the right",
    "My lunch",
    "夕焼けの写真",
];

pub const SITES: &[&str] = &[
    "www.nytimes.com",
    "www.theguardian.com",
    "youtu.be",
    "www.youtube.com",
    "github.com",
    "en.wikipedia.org",
    "www.bbc.co.uk",
    "open.spotify.com",
    "substack.com",
    "www.theverge.com",
    "g1.globo.com",
    "news.yahoo.co.jp",
];

pub const FIRST_NAMES: &[&str] = &[
    "alex", "sam", "kim", "jo", "max", "lee", "ana", "yuki", "mia", "leo", "noa", "ari", "jules",
    "rin", "kai", "sol", "ren", "ivy", "ben", "zoe", "lucas", "maria", "hana", "tom",
];

pub const TLDS: &[&str] = &["com", "net", "dev", "xyz", "blog", "art", "social", "io"];

pub const TAGS: &[&str] = &[
    "art",
    "photography",
    "gamedev",
    "booksky",
    "rust",
    "music",
    "news",
    "cats",
    "dogs",
    "politics",
    "science",
    "anime",
    "fediverse",
    "nowplaying",
    "ttrpg",
    "introduction",
];

pub const LABELS: &[&str] = &["sexual", "nudity", "porn", "graphic-media"];

/// A post language, its vocabulary and its `langs` value.
pub struct Lang {
    pub tags: &'static [&'static str],
    pub words: &'static [&'static str],
    pub spaced: bool,
}

pub const LANGS: &[Lang] = &[
    Lang {
        tags: &["en"],
        words: EN,
        spaced: true,
    },
    Lang {
        tags: &["ja"],
        words: JA,
        spaced: false,
    },
    Lang {
        tags: &["pt"],
        words: PT,
        spaced: true,
    },
    Lang {
        tags: &["de"],
        words: DE,
        spaced: true,
    },
    Lang {
        tags: &["es"],
        words: ES,
        spaced: true,
    },
    Lang {
        tags: &["en", "es"],
        words: EN,
        spaced: true,
    },
    Lang {
        tags: &["fr"],
        words: EN,
        spaced: true,
    },
    Lang {
        tags: &["ko"],
        words: EN,
        spaced: true,
    },
    Lang {
        tags: &[],
        words: EN,
        spaced: true,
    },
];

pub const LANG_WEIGHTS: &[f64] = &[52.0, 16.0, 12.0, 4.0, 4.0, 1.0, 2.0, 2.0, 7.0];

/// Appends about `words` words of `lang` to `out`, keeping the whole text under `max_chars`
/// characters (and so under the lexicon's 300 graphemes). Returns the characters added.
pub fn words(
    out: &mut String,
    rng: &mut Rng,
    lang: &Lang,
    words: usize,
    max_chars: usize,
) -> usize {
    let mut chars = out.chars().count();
    let start = chars;
    for i in 0..words {
        let w: &str = if rng.chance(0.04) {
            rng.choose(EMOJI)
        } else {
            rng.choose(lang.words)
        };
        let sep = usize::from(lang.spaced && !out.is_empty());
        let n = w.chars().count() + sep;
        if chars + n > max_chars {
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(w);
        chars += n;
        if i > 3 && rng.chance(0.06) && chars + 2 <= max_chars {
            out.push_str(if lang.spaced { "." } else { "。" });
            chars += 1;
        }
    }
    chars - start
}
