//! The generator's core: a deterministic stream of `subscribeRepos` messages that look like the
//! live network's (op mix, skew, block counts, frame sizes), with optional hostile frames.
//!
//! No CLI, no files: [`Generator::append_frame`] appends one message to a buffer. The example's
//! `main.rs` writes them to a capture; `tests/it/generator.rs` includes this same file and
//! decodes what it makes.

use std::collections::VecDeque;

#[path = "content.rs"]
pub mod content;
#[path = "enc.rs"]
pub mod enc;
#[path = "signed.rs"]
pub mod signed;

use content::{Coll, Ref, COLLS};
use enc::{Digest32, Rng, Zipf, CODEC_DAG_CBOR};

/// 2025-06-01T00:00:00Z, where simulated time starts.
const START_MICROS: u64 = 1_748_736_000_000_000;
/// Posts kept for replies, likes and quotes to point at (older ones are forgotten).
const POST_POOL_CAP: usize = 1 << 20;
/// Entries of the preferential-attachment list (one per engagement).
const HITS_CAP: usize = 1 << 22;
const REPOST_POOL_CAP: usize = 4096;
/// Records remembered per repo, for deletes.
const RECENT: usize = 4;
/// Largest MST node we make, in bytes (unless a leaf must hold more of the commit's records).
const MST_NODE_MAX: usize = 600;

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub repos: u32,
    /// Simulated events per second, for the `time` field.
    pub rate: f64,
    /// Hostile frames per thousand.
    pub corrupt_per_mille: u32,
    /// Real MSTs, Sync 1.1 proofs and signatures by each account's key (see `signed.rs`);
    /// not with hostile frames.
    pub signed: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seed: 1,
            repos: 100_000,
            rate: 2000.0,
            corrupt_per_mille: 0,
            signed: false,
        }
    }
}

/// The frame types we emit, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Identity,
    Account,
    Sync,
}

pub const KINDS: [Kind; 4] = [Kind::Commit, Kind::Identity, Kind::Account, Kind::Sync];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Commit => "#commit",
            Kind::Identity => "#identity",
            Kind::Account => "#account",
            Kind::Sync => "#sync",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// The hostile frames `--corrupt-per-mille` mixes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptKind {
    /// A good frame cut short.
    Truncated,
    /// A good frame with a bit flipped where the decoder notices.
    BitFlip,
    /// A record block whose bytes no longer match its CID.
    CidMismatch,
    /// A CBOR or CAR length claiming far more bytes than there are.
    AbsurdLength,
    /// A record with a bad `createdAt` or a subject that is not an AT-URI (or DID).
    InvalidRecord,
}

pub const CORRUPT_KINDS: [CorruptKind; 5] = [
    CorruptKind::Truncated,
    CorruptKind::BitFlip,
    CorruptKind::CidMismatch,
    CorruptKind::AbsurdLength,
    CorruptKind::InvalidRecord,
];

impl CorruptKind {
    pub fn name(self) -> &'static str {
        match self {
            CorruptKind::Truncated => "truncated",
            CorruptKind::BitFlip => "bit_flip",
            CorruptKind::CidMismatch => "cid_mismatch",
            CorruptKind::AbsurdLength => "absurd_length",
            CorruptKind::InvalidRecord => "invalid_record",
        }
    }
}

/// How a consumer sees a hostile frame: the whole frame fails to decode, or it decodes with
/// exactly one invalid op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detect {
    Frame,
    Op,
}

impl Detect {
    pub fn name(self) -> &'static str {
        match self {
            Detect::Frame => "frame",
            Detect::Op => "op",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Corruption {
    /// The seq the frame was given (a truncated or flipped frame may no longer show it).
    pub seq: i64,
    pub kind: CorruptKind,
    pub detect: Detect,
}

/// What [`Generator::append_frame`] made.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo {
    pub seq: i64,
    pub kind: Kind,
    pub len: usize,
    pub corrupt: Option<CorruptKind>,
}

/// Counts for the summary. Hostile frames are counted as frames but not in `ops`.
#[derive(Debug, Clone)]
pub struct Stats {
    pub frames: u64,
    pub bytes: u64,
    pub by_kind: [u64; 4],
    /// `[collection][action]`.
    pub ops: [[u64; 3]; COLLS.len()],
    pub commits: u64,
    pub multi_op_commits: u64,
    pub empty_commits: u64,
    /// Commits by their number of blocks (the last bucket holds everything above).
    pub blocks_hist: [u64; 64],
    /// Frames by size, in 16-byte buckets (the last bucket holds everything above).
    pub size_hist: Vec<u64>,
    pub corrupt: [u64; 5],
    /// Bit flips the decoder did not notice, re-rolled before one was kept.
    pub undetected_flips: u64,
}

const SIZE_BUCKET: usize = 16;
const SIZE_BUCKETS: usize = (1 << 20) / SIZE_BUCKET;

impl Stats {
    fn new() -> Stats {
        Stats {
            frames: 0,
            bytes: 0,
            by_kind: [0; 4],
            ops: [[0; 3]; COLLS.len()],
            commits: 0,
            multi_op_commits: 0,
            empty_commits: 0,
            blocks_hist: [0; 64],
            size_hist: vec![0; SIZE_BUCKETS + 1],
            corrupt: [0; 5],
            undetected_flips: 0,
        }
    }

    pub fn total_ops(&self) -> u64 {
        self.ops.iter().flatten().sum()
    }

    pub fn ops_of(&self, coll: Coll, action: Action) -> u64 {
        self.ops[coll.index()][action as usize]
    }

    /// Median number of blocks per commit (commits with ops or not, hostile ones excluded).
    pub fn median_blocks(&self) -> usize {
        median_of_hist(&self.blocks_hist)
    }

    /// Median frame size in bytes (to 16 bytes).
    pub fn median_frame_bytes(&self) -> usize {
        if self.frames == 0 {
            return 0;
        }
        median_of_hist(&self.size_hist) * SIZE_BUCKET + SIZE_BUCKET / 2
    }

    /// A multi-line, human-readable summary.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "frames {}  bytes {} ({:.1} MB)  median frame {} B  mean frame {:.0} B",
            self.frames,
            self.bytes,
            self.bytes as f64 / 1e6,
            self.median_frame_bytes(),
            self.bytes as f64 / self.frames.max(1) as f64
        );
        let _ = write!(s, "frames by type:");
        for k in KINDS {
            let _ = write!(s, "  {} {}", k.name(), self.by_kind[k as usize]);
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "commits {}  multi-op {}  empty {}  median blocks/commit {}  ops {}",
            self.commits,
            self.multi_op_commits,
            self.empty_commits,
            self.median_blocks(),
            self.total_ops()
        );
        let total = self.total_ops().max(1) as f64;
        let _ = writeln!(
            s,
            "ops by collection (create/update/delete, share of all ops):"
        );
        for c in COLLS {
            let [cr, up, de] = self.ops[c.index()];
            if cr + up + de == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "  {:30} {:>9} {:>7} {:>8}  {:5.2}%",
                c.nsid(),
                cr,
                up,
                de,
                100.0 * (cr + up + de) as f64 / total
            );
        }
        let deletes: u64 = self.ops.iter().map(|a| a[2]).sum();
        let _ = writeln!(
            s,
            "  deletes of any collection: {} ({:.2}%)",
            deletes,
            100.0 * deletes as f64 / total
        );
        let n: u64 = self.corrupt.iter().sum();
        if n > 0 {
            let _ = write!(s, "hostile frames {n}:");
            for k in CORRUPT_KINDS {
                let _ = write!(s, "  {} {}", k.name(), self.corrupt[k as usize]);
            }
            let _ = writeln!(
                s,
                "  (bit flips re-rolled because the decoder accepted them: {})",
                self.undetected_flips
            );
        }
        s
    }
}

fn median_of_hist(hist: &[u64]) -> usize {
    let total: u64 = hist.iter().sum();
    let mut acc = 0;
    for (i, n) in hist.iter().enumerate() {
        acc += n;
        if acc * 2 >= total && total > 0 {
            return i;
        }
    }
    0
}

// ---------------------------------------------------------------------------------------------
// State

const ACTIVE: u8 = 0;
const DEACTIVATED: u8 = 1;
const TAKENDOWN: u8 = 2;
const DELETED: u8 = 3;
const NOT_CREATED: u8 = 4;

#[derive(Clone, Copy)]
struct Slot {
    coll: Coll,
    rkey: u64,
    cid: Digest32,
}

struct RepoState {
    /// Last rev (a TID's integer), 0 before the repo's first commit in the stream.
    last_rev: u64,
    /// Root of the repo's MST after its last commit (the next commit's `prevData`).
    data: Digest32,
    profile: Option<Digest32>,
    status: u8,
    chat_declared: bool,
    clock: u16,
    handle_gen: u16,
    recent: [Option<Slot>; RECENT],
    recent_next: u8,
}

#[derive(Clone, Copy)]
struct PostEntry {
    repo: u32,
    rkey: u64,
    cid: Digest32,
    /// Ordinal of the thread's root post (its own ordinal for a top-level post).
    root: u64,
}

/// Posts that engagement can point at, with preferential attachment: every like, repost, reply
/// or quote adds its target to `hits`, and most new targets are drawn from `hits`, so a post's
/// chance of more engagement grows with what it has (which yields a power law).
struct PostPool {
    ring: Vec<PostEntry>,
    total: u64,
    hits: Vec<u64>,
}

impl PostPool {
    fn get(&self, ord: u64) -> Option<&PostEntry> {
        if ord < self.total && self.total - ord <= self.ring.len() as u64 {
            Some(&self.ring[(ord % POST_POOL_CAP as u64) as usize])
        } else {
            None
        }
    }

    fn push(&mut self, mut e: PostEntry, own_root: bool) -> u64 {
        let ord = self.total;
        if own_root {
            e.root = ord;
        }
        if self.ring.len() < POST_POOL_CAP {
            self.ring.push(e);
        } else {
            self.ring[(ord % POST_POOL_CAP as u64) as usize] = e;
        }
        self.total += 1;
        ord
    }

    fn hit(&mut self, rng: &mut Rng, ord: u64) {
        if self.hits.len() < HITS_CAP {
            self.hits.push(ord);
        } else {
            let i = rng.below(HITS_CAP as u64) as usize;
            self.hits[i] = ord;
        }
    }

    /// An earlier post, chosen with popularity skew, and counted as engaged with.
    fn choose(&mut self, rng: &mut Rng) -> u64 {
        let alive = self.ring.len() as u64;
        let x = rng.f64();
        let mut ord = None;
        if x < 0.72 && !self.hits.is_empty() {
            let o = self.hits[rng.below(self.hits.len() as u64) as usize];
            if self.get(o).is_some() {
                ord = Some(o);
            }
        }
        let ord = ord.unwrap_or_else(|| {
            if x < 0.95 {
                // Mostly recent posts: the timeline is what people see.
                let back = (rng.exp(3000.0) as u64).min(alive - 1);
                self.total - 1 - back
            } else {
                self.total - 1 - rng.below(alive)
            }
        });
        self.hit(rng, ord);
        ord
    }
}

/// One op of the commit being built.
struct OpMeta {
    action: Action,
    coll: Coll,
    rkey: u64,
    cid: Option<Digest32>,
    prev: Option<Digest32>,
}

/// One block of the commit being built: a range of `Generator::blk`.
#[derive(Clone, Copy)]
struct BlockMeta {
    start: usize,
    end: usize,
    digest: Digest32,
}

/// Follow-up events some events imply (account creation, reactivation).
#[derive(Clone, Copy)]
enum Pending {
    Identity(u32),
    Account(u32),
    InitialCommit(u32),
    Sync(u32),
}

/// Where an absurd length goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Absurd {
    None,
    BlocksBytes,
    OpsArray,
    RepoText,
    CarHeader,
    CarSection,
}

/// What a hostile commit should carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hostile {
    None,
    CidMismatch,
    InvalidRecord,
}

pub struct Generator {
    opts: Options,
    rng: Rng,
    dids: Vec<[u8; 32]>,
    repos: Vec<RepoState>,
    activity: Zipf,
    popularity: Zipf,
    posts: PostPool,
    reposts: Vec<(Ref, u64)>,
    deactivated: Vec<u32>,
    /// Accounts that may write; never allowed to fall to half of them or below.
    active: usize,
    not_created: Vec<u32>,
    pending: VecDeque<Pending>,
    seq: i64,
    now: u64,
    // Scratch, reused for every event.
    blk: Vec<u8>,
    blocks: Vec<BlockMeta>,
    records: Vec<usize>,
    car: Vec<u8>,
    ops: Vec<OpMeta>,
    text: String,
    aux: String,
    facets: Vec<content::Facet>,
    images: Vec<content::Image>,
    stats: Stats,
    corruptions: Vec<Corruption>,
    /// Signed mode: each account's repository, made when it first commits.
    trees: Option<Vec<Option<signed::Repo>>>,
}

impl Generator {
    pub fn new(opts: Options) -> Generator {
        let n = opts.repos.max(2);
        let mut rng = Rng::new(opts.seed);
        // Activity: how much a repo writes. Popularity: how much others point at it.
        let activity = Zipf::new(n, 0.85, &mut rng);
        let popularity = Zipf::new(n, 1.05, &mut rng);
        let dids: Vec<[u8; 32]> = (0..n).map(enc::plc_did).collect();
        // About 1% of accounts sign up during the stream.
        let mut not_created = Vec::new();
        let repos: Vec<RepoState> = (0..n)
            .map(|i| {
                let late = i >= 16 && rng.below(100) == 0;
                if late {
                    not_created.push(i);
                }
                RepoState {
                    last_rev: 0,
                    data: rng.digest(),
                    profile: if rng.chance(0.8) {
                        Some(rng.digest())
                    } else {
                        None
                    },
                    status: if late { NOT_CREATED } else { ACTIVE },
                    chat_declared: rng.chance(0.3),
                    clock: rng.below(1024) as u16,
                    handle_gen: 0,
                    recent: [None; RECENT],
                    recent_next: 0,
                }
            })
            .collect();
        not_created.reverse();
        let active = repos.len() - not_created.len();
        let mut g = Generator {
            active,
            rng,
            dids,
            repos,
            activity,
            popularity,
            posts: PostPool {
                ring: Vec::new(),
                total: 0,
                hits: Vec::new(),
            },
            reposts: Vec::with_capacity(REPOST_POOL_CAP),
            deactivated: Vec::new(),
            not_created,
            pending: VecDeque::new(),
            seq: 0,
            now: START_MICROS,
            blk: Vec::with_capacity(64 << 10),
            blocks: Vec::with_capacity(32),
            records: Vec::with_capacity(16),
            car: Vec::with_capacity(64 << 10),
            ops: Vec::with_capacity(16),
            text: String::with_capacity(1024),
            aux: String::with_capacity(256),
            facets: Vec::with_capacity(8),
            images: Vec::with_capacity(4),
            stats: Stats::new(),
            corruptions: Vec::new(),
            trees: opts.signed.then(|| (0..n).map(|_| None).collect()),
            opts,
        };
        g.seed_posts();
        g
    }

    /// Posts from before the stream started, some of them already popular.
    fn seed_posts(&mut self) {
        let n = (20_000 + self.dids.len() / 5).min(POST_POOL_CAP / 2);
        for i in 0..n {
            let repo = self.activity.sample(&mut self.rng);
            let age = self.rng.range(60_000_000, 30 * 86_400_000_000);
            let clock = self.repos[repo as usize].clock;
            let root = if i > 0 && self.rng.chance(0.3) {
                Some(self.rng.below(i as u64))
            } else {
                None
            };
            let e = PostEntry {
                repo,
                rkey: enc::tid_of(START_MICROS - age, clock),
                cid: self.rng.digest(),
                root: root.unwrap_or(0),
            };
            self.posts.push(e, root.is_none());
        }
        for rank in 0..500u64 {
            let ord = self.rng.below(n as u64);
            for _ in 0..(200 / (rank + 1)).max(1) {
                self.posts.hits.push(ord);
            }
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn corruptions(&self) -> &[Corruption] {
        &self.corruptions
    }

    /// The hostile frames as JSON, for the `FILE.corruptions.json` sidecar.
    pub fn corruptions_json(&self) -> serde_json::Value {
        let mut by_kind = serde_json::Map::new();
        for k in CORRUPT_KINDS {
            by_kind.insert(k.name().into(), self.stats.corrupt[k as usize].into());
        }
        let frames: Vec<serde_json::Value> = self
            .corruptions
            .iter()
            .map(|c| {
                serde_json::json!({
                    "seq": c.seq,
                    "kind": c.kind.name(),
                    "detect": c.detect.name(),
                })
            })
            .collect();
        let frames_failing = self
            .corruptions
            .iter()
            .filter(|c| c.detect == Detect::Frame)
            .count();
        serde_json::json!({
            "total": self.corruptions.len(),
            "frames_failing": frames_failing,
            "invalid_ops": self.corruptions.len() - frames_failing,
            "by_kind": by_kind,
            "frames": frames,
        })
    }

    /// Signed mode: every account's DID document, by DID, naming the handle it has at this
    /// point of the stream.
    pub fn documents(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut handle = String::new();
        (0..self.dids.len() as u32)
            .map(|i| {
                let did = String::from_utf8_lossy(&self.dids[i as usize]).into_owned();
                handle.clear();
                self.handle(i, &mut handle);
                let doc = signed::document(&did, &handle, i);
                (did, doc)
            })
            .collect()
    }

    /// Appends the next message to `out` and says what it was.
    pub fn append_frame(&mut self, out: &mut Vec<u8>) -> FrameInfo {
        let start = out.len();
        self.seq += 1;
        self.now += (self.rng.exp(1e6 / self.opts.rate) as u64).max(1);
        let seq = self.seq;
        let mut corrupt = None;
        let kind = if let Some(p) = self.pending.pop_front() {
            self.pending_event(p, out)
        } else if self.opts.corrupt_per_mille > 0
            && self.rng.below(1000) < u64::from(self.opts.corrupt_per_mille)
        {
            // Round-robin, so every kind is equally represented.
            let k = CORRUPT_KINDS[self.corruptions.len() % CORRUPT_KINDS.len()];
            corrupt = Some(k);
            self.hostile_commit(k, out, start);
            Kind::Commit
        } else {
            let x = self.rng.f64();
            if x < 0.008 {
                self.identity_change(out)
            } else if x < 0.0125 {
                self.account_change(out)
            } else if x < 0.0145 {
                let repo = self.pick_active_repo();
                self.sync(repo, out);
                Kind::Sync
            } else if x < 0.0150 && !self.not_created.is_empty() {
                self.sign_up(out)
            } else {
                let repo = self.pick_active_repo();
                let multi = self.commit(repo, Hostile::None, Absurd::None, out);
                self.count_commit(multi);
                Kind::Commit
            }
        };
        let len = out.len() - start;
        let s = &mut self.stats;
        s.frames += 1;
        s.bytes += len as u64;
        s.by_kind[kind as usize] += 1;
        s.size_hist[(len / SIZE_BUCKET).min(SIZE_BUCKETS)] += 1;
        FrameInfo {
            seq,
            kind,
            len,
            corrupt,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Choosing

    fn pick_active_repo(&mut self) -> u32 {
        let mut r = 0;
        for _ in 0..16 {
            r = self.activity.sample(&mut self.rng);
            if self.repos[r as usize].status == ACTIVE {
                return r;
            }
        }
        let n = self.repos.len() as u32;
        (1..n)
            .map(|d| (r + d) % n)
            .find(|&i| self.repos[i as usize].status == ACTIVE)
            .expect("at least one active repo")
    }

    fn post_ref(&self, ord: u64) -> Ref {
        let e = self.posts.get(ord).expect("a live post ordinal");
        Ref {
            did: self.dids[e.repo as usize],
            coll: Coll::Post,
            rkey: e.rkey,
            cid: e.cid,
        }
    }

    /// An account others point at (follows, blocks, list items, mentions), not `me`.
    fn popular_did(&mut self, me: u32, uniform: f64) -> u32 {
        let n = self.dids.len() as u32;
        let mut t = if self.rng.chance(uniform) {
            self.rng.below(u64::from(n)) as u32
        } else {
            self.popularity.sample(&mut self.rng)
        };
        if t == me {
            t = (t + 1) % n;
        }
        t
    }

    fn created_at(&mut self) -> enc::DateBuf {
        // Clients stamp records a little before the relay sees them.
        let t = self.now - (self.rng.exp(400_000.0) as u64).min(self.now - 1);
        let x = self.rng.below(100);
        if x < 97 {
            enc::datetime(t, 3, 0)
        } else if x < 99 {
            enc::datetime(t, 6, 0)
        } else {
            let off = self.rng.choose(&[540, -300, 60, -420, 330]);
            enc::datetime(t, 3, off)
        }
    }

    /// A TID from before the stream, for records made before it started.
    fn old_rkey(&mut self, repo: u32) -> u64 {
        let age = self.rng.range(3_600_000_000, 400 * 86_400_000_000);
        enc::tid_of(START_MICROS - age, self.repos[repo as usize].clock)
    }

    fn remember(&mut self, repo: u32, slot: Slot) {
        let r = &mut self.repos[repo as usize];
        r.recent[r.recent_next as usize] = Some(slot);
        r.recent_next = (r.recent_next + 1) % RECENT as u8;
    }

    /// Takes a remembered record of `repo` (of `coll` if given) for a delete.
    fn forget(&mut self, repo: u32, coll: Option<Coll>) -> Option<Slot> {
        let r = &mut self.repos[repo as usize];
        let i = r
            .recent
            .iter()
            .position(|s| s.is_some_and(|s| coll.is_none_or(|c| s.coll == c)))?;
        r.recent[i].take()
    }

    // -----------------------------------------------------------------------------------------
    // Commits

    /// Starts a record block in `blk`; finish it with [`Generator::end_record`].
    fn begin_record(&mut self) -> usize {
        self.blk.len()
    }

    fn end_record(
        &mut self,
        start: usize,
        coll: Coll,
        rkey: u64,
        action: Action,
        prev: Option<Digest32>,
    ) -> Digest32 {
        let digest = enc::sha256(&self.blk[start..]);
        self.records.push(self.blocks.len());
        self.blocks.push(BlockMeta {
            start,
            end: self.blk.len(),
            digest,
        });
        self.ops.push(OpMeta {
            action,
            coll,
            rkey,
            cid: Some(digest),
            prev,
        });
        digest
    }

    fn delete_op(&mut self, coll: Coll, rkey: u64, prev: Digest32) {
        self.ops.push(OpMeta {
            action: Action::Delete,
            coll,
            rkey,
            cid: None,
            prev: Some(prev),
        });
    }

    /// Builds a commit of `repo` into `out`; returns whether it is a multi-op commit.
    fn commit(&mut self, repo: u32, hostile: Hostile, absurd: Absurd, out: &mut Vec<u8>) -> bool {
        self.blk.clear();
        self.blocks.clear();
        self.records.clear();
        self.ops.clear();
        let last_us = self.repos[repo as usize].last_rev >> 10;
        // Record keys come from the repo's clock, each after the last; the rev after them all.
        let mut clock_us = self.now.max(last_us + 1);
        let multi = hostile == Hostile::None && self.rng.chance(0.015);
        if hostile != Hostile::None {
            self.hostile_op(repo, hostile, &mut clock_us);
        } else if multi {
            self.multi_ops(repo, &mut clock_us);
        } else {
            self.single_op(repo, &mut clock_us);
        }
        let rev = enc::tid_of(clock_us, self.repos[repo as usize].clock);
        let (data, prev_data) = if self.trees.is_some() {
            self.signed_ops(repo)
        } else {
            // The MST path: enough nodes for 4 to 17 blocks, about 10 for a one-op commit.
            let n_records = self.records.len();
            let max_nodes = 16 - n_records.min(14);
            let nodes = ((8.0 + 2.6 * self.rng.normalish()).round() as i64)
                .clamp(if n_records == 0 { 3 } else { 2 }, max_nodes as i64)
                as usize;
            (self.mst_path(repo, nodes), self.repos[repo as usize].data)
        };
        let commit = self.commit_block(repo, rev, &data);
        let since = self.repos[repo as usize].last_rev;
        if hostile == Hostile::CidMismatch {
            // Change the last fraction digit of createdAt (the last key of every record we
            // make hostile): still a valid record, no longer the bytes its CID names.
            let b = self.blocks[self.records[0]];
            let i = b.end - 2;
            let c = self.blk[i];
            debug_assert!(c.is_ascii_digit());
            self.blk[i] = b'0' + (c - b'0' + 1) % 10;
        }
        self.write_car(&commit, absurd);
        if self.trees.is_some() {
            self.complete_proof(repo, rev, &commit, &prev_data, absurd);
        }
        self.write_commit_body(repo, rev, since, Some(&prev_data), &commit, absurd, out);
        let r = &mut self.repos[repo as usize];
        r.last_rev = rev;
        r.data = data;
        multi
    }

    fn count_commit(&mut self, multi: bool) {
        let s = &mut self.stats;
        s.commits += 1;
        s.multi_op_commits += u64::from(multi);
        s.empty_commits += u64::from(self.ops.is_empty());
        s.blocks_hist[self.blocks.len().min(63)] += 1;
        for op in &self.ops {
            s.ops[op.coll.index()][op.action as usize] += 1;
        }
    }

    fn single_op(&mut self, repo: u32, clock: &mut u64) {
        const WEIGHTS: [f64; 15] = [
            75.0, // like
            9.3,  // post
            10.6, // repost
            4.0,  // follow
            0.95, // block
            3.0,  // delete
            0.6,  // profile
            0.08, // list
            0.35, // list item
            0.2,  // threadgate
            0.1,  // postgate
            0.3,  // status
            0.1,  // chat declaration
            0.05, // starter pack
            0.05, // list block
        ];
        match self.rng.weighted(&WEIGHTS) {
            0 => self.like(repo, Coll::Like, clock, None),
            1 => {
                self.post(repo, clock, None, None);
            }
            2 => self.like(repo, Coll::Repost, clock, None),
            3 => self.graph(repo, Coll::Follow, clock, None),
            4 => self.graph(repo, Coll::Block, clock, None),
            5 => self.delete_one(repo, None),
            6 => self.profile(repo),
            7 => {
                self.list(repo, clock);
            }
            8 => {
                let list = self.list_of(repo);
                self.list_item(repo, list, clock);
            }
            9 => {
                let post = self.old_rkey(repo);
                self.threadgate(repo, post);
            }
            10 => {
                let post = self.old_rkey(repo);
                self.postgate(repo, post);
            }
            11 => {
                let s = self.begin_record();
                let created = self.created_at();
                content::status(&mut self.blk, &mut self.rng, created.as_bytes());
                let rkey = self.next_rkey(repo, clock);
                self.end_record(s, Coll::Status, rkey, Action::Create, None);
            }
            12 => self.chat_declaration(repo),
            13 => {
                let list = self.list_of(repo);
                let s = self.begin_record();
                let created = self.created_at();
                self.aux.clear();
                let lang = &content::LANGS[0];
                content::words(&mut self.aux, &mut self.rng, lang, 3, 40);
                let did = self.dids[repo as usize];
                content::starterpack(
                    &mut self.blk,
                    &did,
                    list,
                    self.aux.as_bytes(),
                    created.as_bytes(),
                );
                let rkey = self.next_rkey(repo, clock);
                self.end_record(s, Coll::Starterpack, rkey, Action::Create, None);
            }
            _ => {
                let owner = self.popular_did(repo, 0.0);
                let list = self.old_rkey(owner);
                let s = self.begin_record();
                let created = self.created_at();
                let did = self.dids[owner as usize];
                content::listblock(&mut self.blk, &did, list, created.as_bytes());
                let rkey = self.next_rkey(repo, clock);
                self.end_record(s, Coll::Listblock, rkey, Action::Create, None);
            }
        }
    }

    /// applyWrites-style commits of 2 to 8 ops.
    fn multi_ops(&mut self, repo: u32, clock: &mut u64) {
        match self.rng.weighted(&[26.0, 5.0, 22.0, 18.0, 5.0, 3.0, 8.0]) {
            0 => {
                let (rkey, _) = self.post(repo, clock, None, None);
                self.threadgate(repo, rkey);
            }
            1 => {
                let (rkey, _) = self.post(repo, clock, None, None);
                self.postgate(repo, rkey);
            }
            2 => {
                // A thread: each post replies to the one before.
                let n = self.rng.range(2, 5);
                let mut parent = None;
                for _ in 0..n {
                    let (_, ord) = self.post(repo, clock, parent, None);
                    parent = Some(ord);
                }
            }
            3 => {
                // "Follow all" from a starter pack.
                for _ in 0..self.rng.range(2, 8) {
                    self.graph(repo, Coll::Follow, clock, None);
                }
            }
            4 => {
                let list = self.list(repo, clock);
                for _ in 0..self.rng.range(1, 6) {
                    self.list_item(repo, list, clock);
                }
            }
            5 => {
                // A list deleted with its items.
                let rkey = self.list_of(repo);
                let cid = self.rng.digest();
                self.delete_op(Coll::List, rkey, cid);
                for _ in 0..self.rng.range(1, 7) {
                    let item = self.old_rkey(repo);
                    let cid = self.rng.digest();
                    self.delete_op(Coll::ListItem, item, cid);
                }
            }
            _ => {
                for _ in 0..self.rng.range(2, 8) {
                    self.delete_one(repo, None);
                }
            }
        }
    }

    /// The single create of a hostile commit: one of the typed collections.
    fn hostile_op(&mut self, repo: u32, hostile: Hostile, clock: &mut u64) {
        let bad = (hostile == Hostile::InvalidRecord).then_some(());
        match self.rng.weighted(&[55.0, 15.0, 12.0, 12.0, 6.0]) {
            0 => self.like(repo, Coll::Like, clock, bad),
            1 => {
                self.post(repo, clock, None, bad);
            }
            2 => self.like(repo, Coll::Repost, clock, bad),
            3 => self.graph(repo, Coll::Follow, clock, bad),
            _ => self.graph(repo, Coll::Block, clock, bad),
        }
    }

    fn next_rkey(&mut self, repo: u32, clock: &mut u64) -> u64 {
        let t = enc::tid_of(*clock, self.repos[repo as usize].clock);
        *clock += 1;
        t
    }

    const BAD_DATETIMES: [&'static [u8]; 7] = [
        b"2025-13-01T00:00:00.000Z",
        b"2025-06-31T12:00:00.000Z",
        b"2025-06-01 12:00:00",
        b"1748736000",
        b"yesterday",
        b"2025-06-01T25:61:00Z",
        b"",
    ];

    fn bad_datetime(&mut self) -> &'static [u8] {
        Self::BAD_DATETIMES[self.rng.below(Self::BAD_DATETIMES.len() as u64) as usize]
    }

    /// A like or a repost of an earlier post; `bad` makes its createdAt or subject URI invalid.
    fn like(&mut self, repo: u32, coll: Coll, clock: &mut u64, bad: Option<()>) {
        let mut via = None;
        let ord = if coll == Coll::Like && !self.reposts.is_empty() && self.rng.chance(0.05) {
            // Liked through a repost seen in the timeline.
            let (r, ord) = self.reposts[self.rng.below(self.reposts.len() as u64) as usize];
            if self.posts.get(ord).is_some() {
                via = Some(r);
                self.posts.hit(&mut self.rng, ord);
                ord
            } else {
                self.posts.choose(&mut self.rng)
            }
        } else {
            self.posts.choose(&mut self.rng)
        };
        let subject = self.post_ref(ord);
        let created = self.created_at();
        let mut created_bytes = created.as_bytes();
        let mut bad_uri = None;
        let uri_buf;
        if bad.is_some() {
            if self.rng.chance(0.5) {
                created_bytes = self.bad_datetime();
            } else {
                let rk = content::rkey_bytes(subject.rkey);
                let did = std::str::from_utf8(&subject.did).unwrap_or_default();
                let rk = std::str::from_utf8(rk.as_bytes()).unwrap_or_default();
                uri_buf = match self.rng.below(4) {
                    0 => format!("https://bsky.app/profile/{did}/post/{rk}"),
                    1 => format!("at://{did}//{rk}"),
                    2 => format!("at:/{did}/app.bsky.feed.post/{rk}"),
                    _ => String::new(),
                };
                bad_uri = Some(uri_buf.as_bytes());
            }
        }
        let s = self.begin_record();
        content::like(
            &mut self.blk,
            coll,
            &subject,
            via.as_ref(),
            created_bytes,
            bad_uri,
        );
        let rkey = self.next_rkey(repo, clock);
        let cid = self.end_record(s, coll, rkey, Action::Create, None);
        if bad.is_none() {
            self.remember(repo, Slot { coll, rkey, cid });
            if coll == Coll::Repost {
                let me = Ref {
                    did: self.dids[repo as usize],
                    coll,
                    rkey,
                    cid,
                };
                if self.reposts.len() < REPOST_POOL_CAP {
                    self.reposts.push((me, ord));
                } else {
                    let i = self.rng.below(REPOST_POOL_CAP as u64) as usize;
                    self.reposts[i] = (me, ord);
                }
            }
        }
    }

    /// A follow or a block of a DID; `bad` makes its createdAt or subject invalid.
    fn graph(&mut self, repo: u32, coll: Coll, clock: &mut u64, bad: Option<()>) {
        let target = self.popular_did(repo, if coll == Coll::Block { 0.5 } else { 0.15 });
        let did = self.dids[target as usize];
        let created = self.created_at();
        let mut created_bytes = created.as_bytes();
        let mut subject: &[u8] = &did;
        if bad.is_some() {
            if self.rng.chance(0.5) {
                created_bytes = self.bad_datetime();
            } else {
                subject = self.rng.choose(&[
                    b"@alice.bsky.social".as_slice(),
                    b"did:PLC:ewvi7nxzyoun6zhxrhs64oiz",
                    b"did:plc:",
                    b"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz",
                ]);
            }
        }
        let s = self.begin_record();
        content::did_subject(&mut self.blk, coll, subject, created_bytes);
        let rkey = self.next_rkey(repo, clock);
        let cid = self.end_record(s, coll, rkey, Action::Create, None);
        if bad.is_none() {
            self.remember(repo, Slot { coll, rkey, cid });
        }
    }

    /// A post: maybe a reply (to `parent`, or to an earlier popular post), maybe with facets,
    /// images, a link card, a quote or a video. Returns its rkey and pool ordinal.
    fn post(
        &mut self,
        repo: u32,
        clock: &mut u64,
        parent: Option<u64>,
        bad: Option<()>,
    ) -> (u64, u64) {
        // Replies.
        let parent = match parent {
            Some(p) => Some(p),
            None if self.rng.chance(0.45) => Some(self.posts.choose(&mut self.rng)),
            None => None,
        };
        let reply = parent.map(|p| {
            let parent_ref = self.post_ref(p);
            let root_ord = self.posts.get(p).map(|e| e.root).unwrap_or(p);
            let (root_ref, root_ord) = match self.posts.get(root_ord) {
                Some(_) => (self.post_ref(root_ord), root_ord),
                None => (parent_ref, p),
            };
            (root_ref, parent_ref, root_ord)
        });
        // Text.
        let lang = &content::LANGS[self.rng.weighted(content::LANG_WEIGHTS)];
        self.text.clear();
        self.facets.clear();
        let n_words = ((2.2 + 0.9 * self.rng.normalish()).exp() as usize).clamp(1, 60);
        let limit = 280;
        content::words(&mut self.text, &mut self.rng, lang, n_words, limit);
        if self.rng.chance(0.15) {
            self.add_facets(repo, limit);
        }
        // Embed.
        self.images.clear();
        self.aux.clear();
        let x = self.rng.f64();
        let mut quote = None;
        enum E {
            None,
            Images,
            External(bool),
            Quote,
            QuoteImages,
            Video(content::Blob, u64, u64),
        }
        let e = if x < 0.20 {
            self.add_images();
            E::Images
        } else if x < 0.27 {
            let site = self.rng.choose(content::SITES);
            let n = self.rng.below(1 << 40);
            let _ =
                std::fmt::Write::write_fmt(&mut self.aux, format_args!("https://{site}/a/{n:x}"));
            E::External(self.rng.chance(0.7))
        } else if x < 0.31 {
            quote = Some(self.posts.choose(&mut self.rng));
            E::Quote
        } else if x < 0.32 {
            quote = Some(self.posts.choose(&mut self.rng));
            self.add_images();
            E::QuoteImages
        } else if x < 0.34 {
            let b = content::Blob::random(&mut self.rng, "video/mp4", 500_000, 50_000_000);
            E::Video(b, 1080, self.rng.choose(&[1920, 1080, 1350]))
        } else {
            E::None
        };
        let label = if self.rng.chance(0.004) {
            Some(self.rng.choose(content::LABELS))
        } else {
            None
        };
        let tags: &[&str] = if self.rng.chance(0.01) {
            std::slice::from_ref(self.rng.pick(content::TAGS))
        } else {
            &[]
        };
        let created = if bad.is_some() {
            enc::DateBuf::from_bytes(self.bad_datetime())
        } else {
            self.created_at()
        };
        let quote_ref = quote.map(|q| self.post_ref(q));
        let thumb = content::Blob::random(&mut self.rng, "image/jpeg", 20_000, 900_000);
        let embed = match e {
            E::None => None,
            E::Images => Some(content::Embed::Images(&self.images)),
            E::External(with_thumb) => Some(content::Embed::External {
                uri: &self.aux,
                title: "A headline about something that happened today",
                description: "The first sentence or two of the article, as the card shows it.",
                thumb: with_thumb.then_some(thumb),
            }),
            E::Quote => quote_ref.map(content::Embed::Record),
            E::QuoteImages => quote_ref.map(|q| content::Embed::RecordWithImages(q, &self.images)),
            E::Video(b, w, h) => Some(content::Embed::Video(b, w, h)),
        };
        let s = self.blk.len();
        content::post(
            &mut self.blk,
            &content::Post {
                text: &self.text,
                facets: &self.facets,
                langs: lang.tags,
                reply: reply.map(|(r, p, _)| (r, p)),
                embed,
                label,
                tags,
                created: created.as_bytes(),
            },
        );
        let rkey = self.next_rkey(repo, clock);
        let cid = self.end_record(s, Coll::Post, rkey, Action::Create, None);
        let mut ord = u64::MAX;
        if bad.is_none() {
            self.remember(
                repo,
                Slot {
                    coll: Coll::Post,
                    rkey,
                    cid,
                },
            );
            let root = reply.map(|(_, _, r)| r).unwrap_or(0);
            ord = self.posts.push(
                PostEntry {
                    repo,
                    rkey,
                    cid,
                    root,
                },
                reply.is_none(),
            );
        }
        (rkey, ord)
    }

    fn add_facets(&mut self, repo: u32, limit: usize) {
        let n = self.rng.range(1, 3);
        for _ in 0..n {
            let chars = self.text.chars().count();
            let kind = self.rng.below(3);
            self.aux.clear();
            let mention = match kind {
                0 => {
                    let t = self.popular_did(repo, 0.2);
                    let name = content::FIRST_NAMES[t as usize % content::FIRST_NAMES.len()];
                    let _ = std::fmt::Write::write_fmt(
                        &mut self.aux,
                        format_args!("@{name}{t}.bsky.social"),
                    );
                    Some(self.dids[t as usize])
                }
                1 => {
                    let site = self.rng.choose(content::SITES);
                    let n = self.rng.below(1 << 30);
                    let _ = std::fmt::Write::write_fmt(
                        &mut self.aux,
                        format_args!("https://{site}/p/{n}"),
                    );
                    None
                }
                _ => {
                    let tag = self.rng.choose(content::TAGS);
                    self.aux.push('#');
                    self.aux.push_str(tag);
                    None
                }
            };
            if chars + 1 + self.aux.len() > limit {
                break;
            }
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            let start = self.text.len();
            self.text.push_str(&self.aux);
            let kind = match (kind, mention) {
                (0, Some(did)) => content::FacetKind::Mention(did),
                (1, _) => content::FacetKind::Link,
                _ => content::FacetKind::Tag,
            };
            self.facets.push(content::Facet {
                start,
                end: self.text.len(),
                kind,
            });
        }
    }

    fn add_images(&mut self) {
        let n = self.rng.choose(&[1, 1, 1, 1, 1, 2, 2, 3, 4]);
        for _ in 0..n {
            let mime = self
                .rng
                .choose(&["image/jpeg", "image/jpeg", "image/png", "image/webp"]);
            let (w, h) = self.rng.choose(&[
                (1080, 1350),
                (1200, 800),
                (1000, 1000),
                (2000, 1125),
                (750, 1334),
            ]);
            self.images.push(content::Image {
                blob: content::Blob::random(&mut self.rng, mime, 30_000, 980_000),
                alt: self.rng.choose(content::ALTS),
                width: w,
                height: h,
            });
        }
    }

    fn delete_one(&mut self, repo: u32, coll: Option<Coll>) {
        if let Some(slot) = self.forget(repo, coll) {
            self.delete_op(slot.coll, slot.rkey, slot.cid);
            return;
        }
        // A record from before the stream (unlikes and unfollows of old ones are common).
        let c = coll.unwrap_or_else(|| {
            [Coll::Like, Coll::Repost, Coll::Follow, Coll::Post]
                [self.rng.weighted(&[52.0, 12.0, 23.0, 13.0])]
        });
        let rkey = self.old_rkey(repo);
        let cid = self.rng.digest();
        self.delete_op(c, rkey, cid);
    }

    fn profile(&mut self, repo: u32) {
        self.aux.clear();
        let name = content::FIRST_NAMES[repo as usize % content::FIRST_NAMES.len()];
        let _ = std::fmt::Write::write_fmt(&mut self.aux, format_args!("{name} ✨ {}", repo % 97));
        self.text.clear();
        let lang = &content::LANGS[self.rng.weighted(content::LANG_WEIGHTS)];
        let n = self.rng.range(3, 30) as usize;
        content::words(&mut self.text, &mut self.rng, lang, n, 250);
        let pinned = self.repos[repo as usize]
            .recent
            .iter()
            .flatten()
            .find(|s| s.coll == Coll::Post)
            .copied()
            .filter(|_| self.rng.chance(0.3))
            .map(|s| Ref {
                did: self.dids[repo as usize],
                coll: Coll::Post,
                rkey: s.rkey,
                cid: s.cid,
            });
        let avatar = content::Blob::random(&mut self.rng, "image/jpeg", 20_000, 900_000);
        let banner = content::Blob::random(&mut self.rng, "image/jpeg", 50_000, 900_000);
        let with_banner = self.rng.chance(0.6);
        let with_created = self.rng.chance(0.7);
        let created = self.created_at();
        let s = self.begin_record();
        content::profile(
            &mut self.blk,
            &content::Profile {
                display_name: Some(&self.aux),
                description: (!self.text.is_empty()).then_some(self.text.as_str()),
                avatar: Some(avatar),
                banner: with_banner.then_some(banner),
                pinned,
                created: with_created.then_some(created.as_bytes()),
            },
        );
        let prev = self.repos[repo as usize].profile;
        let action = if prev.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let cid = self.end_record(s, Coll::Profile, 0, action, prev);
        self.repos[repo as usize].profile = Some(cid);
    }

    fn chat_declaration(&mut self, repo: u32) {
        let s = self.begin_record();
        content::chat_declaration(&mut self.blk, &mut self.rng);
        let declared = self.repos[repo as usize].chat_declared;
        let (action, prev) = if declared {
            (Action::Update, Some(self.rng.digest()))
        } else {
            (Action::Create, None)
        };
        self.end_record(s, Coll::ChatDeclaration, 0, action, prev);
        self.repos[repo as usize].chat_declared = true;
    }

    /// Creates a list and returns its rkey.
    fn list(&mut self, repo: u32, clock: &mut u64) -> u64 {
        self.aux.clear();
        content::words(&mut self.aux, &mut self.rng, &content::LANGS[0], 3, 50);
        self.text.clear();
        let with_description = self.rng.chance(0.5);
        if with_description {
            content::words(&mut self.text, &mut self.rng, &content::LANGS[0], 12, 200);
        }
        let mod_list = self.rng.chance(0.3);
        let created = self.created_at();
        let s = self.begin_record();
        content::list(
            &mut self.blk,
            self.aux.as_bytes(),
            with_description.then_some(self.text.as_bytes()),
            mod_list,
            created.as_bytes(),
        );
        let rkey = self.next_rkey(repo, clock);
        let cid = self.end_record(s, Coll::List, rkey, Action::Create, None);
        self.remember(
            repo,
            Slot {
                coll: Coll::List,
                rkey,
                cid,
            },
        );
        rkey
    }

    /// The rkey of one of the repo's lists (a remembered one, or one from before the stream).
    fn list_of(&mut self, repo: u32) -> u64 {
        let found = self.repos[repo as usize]
            .recent
            .iter()
            .flatten()
            .find(|s| s.coll == Coll::List)
            .map(|s| s.rkey);
        match found {
            Some(r) => r,
            None => self.old_rkey(repo),
        }
    }

    fn list_item(&mut self, repo: u32, list: u64, clock: &mut u64) {
        let target = self.popular_did(repo, 0.3);
        let subject = self.dids[target as usize];
        let did = self.dids[repo as usize];
        let created = self.created_at();
        let s = self.begin_record();
        content::list_item(&mut self.blk, &did, list, &subject, created.as_bytes());
        let rkey = self.next_rkey(repo, clock);
        self.end_record(s, Coll::ListItem, rkey, Action::Create, None);
    }

    fn threadgate(&mut self, repo: u32, post_rkey: u64) {
        let did = self.dids[repo as usize];
        let rules = self.rng.below(8) as u8;
        let created = self.created_at();
        let s = self.begin_record();
        content::threadgate(&mut self.blk, &did, post_rkey, rules, created.as_bytes());
        self.end_record(s, Coll::Threadgate, post_rkey, Action::Create, None);
    }

    fn postgate(&mut self, repo: u32, post_rkey: u64) {
        let did = self.dids[repo as usize];
        let created = self.created_at();
        let s = self.begin_record();
        content::postgate(&mut self.blk, &did, post_rkey, created.as_bytes());
        self.end_record(s, Coll::Postgate, post_rkey, Action::Create, None);
    }

    // -----------------------------------------------------------------------------------------
    // Blocks

    /// MST nodes from a leaf up to the root, each linking the one below (through `l` or an
    /// entry's `t`), the leaf holding the commit's records. Returns the root's digest.
    fn mst_path(&mut self, repo: u32, nodes: usize) -> Digest32 {
        let mut below: Option<Digest32> = None;
        let clock = self.repos[repo as usize].clock;
        for depth in (0..nodes).rev() {
            let leaf = depth == nodes - 1;
            let start = self.blk.len();
            let n_records = if leaf { self.records.len() } else { 0 };
            let n_entries = (self.rng.range(4, 9) as usize).max(n_records).min(16);
            let link_via_l = below.is_some() && self.rng.chance(0.4);
            let t_index = if below.is_some() && !link_via_l {
                self.rng.below(2) as usize
            } else {
                usize::MAX
            };
            // {e, l}
            enc::map(&mut self.blk, 2);
            enc::text(&mut self.blk, b"e");
            // At most 16 entries, so the array head is one byte, patched when the count is known.
            let count_at = self.blk.len();
            enc::array(&mut self.blk, 0);
            let mut count = 0;
            for i in 0..n_entries {
                // Nodes stay within 600 bytes, as most real ones do.
                if i >= n_records.max(2) && self.blk.len() - start > MST_NODE_MAX - 130 {
                    break;
                }
                count += 1;
                // {k, p, t, v}
                enc::map(&mut self.blk, 4);
                enc::text(&mut self.blk, b"k");
                let coll = if i < n_records {
                    self.ops_record_coll(i)
                } else {
                    COLLS[self.rng.weighted(&[70.0, 11.0, 10.0, 6.0, 1.0, 0.1])]
                };
                let us = START_MICROS - self.rng.below(600 * 86_400_000_000);
                let key_tid = enc::tid(enc::tid_of(us, clock));
                if i == 0 {
                    let nsid = coll.nsid().as_bytes();
                    let len = nsid.len() + 1 + 13;
                    enc::head(&mut self.blk, 2, len as u64);
                    self.blk.extend_from_slice(nsid);
                    self.blk.push(b'/');
                    self.blk.extend_from_slice(&key_tid);
                } else {
                    let keep = self.rng.range(3, 11) as usize;
                    enc::bytes(&mut self.blk, &key_tid[13 - keep..]);
                }
                enc::text(&mut self.blk, b"p");
                enc::uint(
                    &mut self.blk,
                    if i == 0 { 0 } else { self.rng.range(19, 30) },
                );
                enc::text(&mut self.blk, b"t");
                if i == t_index {
                    enc::link(&mut self.blk, CODEC_DAG_CBOR, &below.expect("a child"));
                } else if self.rng.chance(if leaf { 0.1 } else { 0.5 }) {
                    let d = self.rng.digest();
                    enc::link(&mut self.blk, CODEC_DAG_CBOR, &d);
                } else {
                    enc::null(&mut self.blk);
                }
                enc::text(&mut self.blk, b"v");
                let v = if i < n_records {
                    self.blocks[self.records[i]].digest
                } else {
                    self.rng.digest()
                };
                enc::link(&mut self.blk, CODEC_DAG_CBOR, &v);
            }
            self.blk[count_at] = 0x80 | count as u8;
            enc::text(&mut self.blk, b"l");
            if link_via_l {
                enc::link(&mut self.blk, CODEC_DAG_CBOR, &below.expect("a child"));
            } else if !leaf && self.rng.chance(0.3) {
                let d = self.rng.digest();
                enc::link(&mut self.blk, CODEC_DAG_CBOR, &d);
            } else {
                enc::null(&mut self.blk);
            }
            let digest = enc::sha256(&self.blk[start..]);
            self.blocks.push(BlockMeta {
                start,
                end: self.blk.len(),
                digest,
            });
            below = Some(digest);
        }
        below.expect("at least one node")
    }

    /// The collection of the `i`th op that has a record block.
    fn ops_record_coll(&self, i: usize) -> Coll {
        self.ops
            .iter()
            .filter(|o| o.cid.is_some())
            .nth(i)
            .map(|o| o.coll)
            .unwrap_or(Coll::Like)
    }

    /// The signed commit: `{did, rev, sig, data, prev, version}`. Returns its block index.
    fn commit_block(&mut self, repo: u32, rev: u64, data: &Digest32) -> BlockMeta {
        let start = self.blk.len();
        if self.trees.is_some() {
            let did = std::str::from_utf8(&self.dids[repo as usize]).expect("an ASCII DID");
            let rev = enc::tid(rev);
            let rev = std::str::from_utf8(&rev).expect("an ASCII TID");
            let block = signed::signed_commit(repo, did, rev, data);
            self.blk.extend_from_slice(&block);
            return self.push_block(start);
        }
        let b = &mut self.blk;
        enc::map(b, 6);
        enc::text(b, b"did");
        enc::text(b, &self.dids[repo as usize]);
        enc::text(b, b"rev");
        enc::text(b, &enc::tid(rev));
        enc::text(b, b"sig");
        let mut sig = [0u8; 64];
        self.rng.fill(&mut sig);
        enc::bytes(b, &sig);
        enc::text(b, b"data");
        enc::link(b, CODEC_DAG_CBOR, data);
        enc::text(b, b"prev");
        enc::null(b);
        enc::text(b, b"version");
        enc::uint(b, 3);
        self.push_block(start)
    }

    /// Makes the bytes of `blk` from `start` on a block.
    fn push_block(&mut self, start: usize) -> BlockMeta {
        let digest = enc::sha256(&self.blk[start..]);
        let meta = BlockMeta {
            start,
            end: self.blk.len(),
            digest,
        };
        self.blocks.push(meta);
        meta
    }

    /// Signed mode: the account's tree (made on first use), with the commit's ops made true
    /// to it and applied; its proof nodes become blocks. Returns the new and the old root.
    fn signed_ops(&mut self, repo: u32) -> (Digest32, Digest32) {
        let trees = self.trees.as_mut().expect("signed mode");
        let r = &self.repos[repo as usize];
        let tree = trees[repo as usize].get_or_insert_with(|| seed_tree(self.opts.seed, repo, r));
        let applied = tree.apply(&mut self.ops, &mut self.rng);
        for (_, bytes) in &applied.nodes {
            let start = self.blk.len();
            self.blk.extend_from_slice(bytes);
            self.push_block(start);
        }
        (applied.data, applied.prev_data)
    }

    /// Signed mode: runs the crate's own proof check (everything `--verify full` does but the
    /// signature) over the CAR slice just written; a node the inversion needs and the slice
    /// lacks is added from the account's tree, until the proof holds. Any other failure is a
    /// bug here.
    fn complete_proof(
        &mut self,
        repo: u32,
        rev: u64,
        commit: &BlockMeta,
        prev_data: &Digest32,
        absurd: Absurd,
    ) {
        use skyindex::repo::{verify_commit_proof, CommitFrame, RepoOp, VerifyError};
        let did = String::from_utf8_lossy(&self.dids[repo as usize]).into_owned();
        let rev_text = enc::tid(rev);
        let rev_text = std::str::from_utf8(&rev_text).expect("an ASCII TID");
        let paths: Vec<String> = self
            .ops
            .iter()
            .map(|o| signed::path(o.coll, o.rkey))
            .collect();
        let ops: Vec<RepoOp<'_>> = self
            .ops
            .iter()
            .zip(&paths)
            .map(|(o, path)| RepoOp {
                action: match o.action {
                    Action::Create => skyindex::repo::Action::Create,
                    Action::Update => skyindex::repo::Action::Update,
                    Action::Delete => skyindex::repo::Action::Delete,
                },
                path,
                cid: o.cid.as_ref().map(signed::cid_of),
                prev: o.prev.as_ref().map(signed::cid_of),
            })
            .collect();
        for _ in 0..64 {
            let missing = {
                let car = skyindex::ipld::CarSlice::parse(&self.car).expect("our own CAR");
                let frame = CommitFrame {
                    repo: &did,
                    rev: rev_text,
                    commit: signed::cid_of(&commit.digest),
                    blocks: &car,
                    ops: &ops,
                    prev_data: Some(signed::cid_of(prev_data)),
                };
                match verify_commit_proof(&frame, std::time::SystemTime::now()) {
                    Ok(_) => return,
                    Err(VerifyError::MissingBlock { cid, .. }) => signed::digest_of(&cid),
                    Err(e) => panic!("signed commit of {did} rev {rev_text} fails: {e}"),
                }
            };
            let tree = self.trees.as_ref().and_then(|t| t[repo as usize].as_ref());
            let node = tree
                .and_then(|t| t.node(&missing))
                .expect("a missing node is one of the tree's")
                .to_vec();
            // Before the commit block, which `write_car` takes from the end.
            let start = self.blk.len();
            self.blk.extend_from_slice(&node);
            let meta = BlockMeta {
                start,
                end: self.blk.len(),
                digest: missing,
            };
            let at = self.blocks.len() - 1;
            self.blocks.insert(at, meta);
            let commit = self.blocks[self.blocks.len() - 1];
            self.write_car(&commit, absurd);
        }
        panic!("signed commit of {did}: no proof after 64 added nodes");
    }

    /// The CAR slice: header `{roots: [commit], version: 1}`, then the commit block, the MST
    /// nodes and the records.
    fn write_car(&mut self, commit: &BlockMeta, absurd: Absurd) {
        let car = &mut self.car;
        car.clear();
        // The header is 58 bytes, so its length takes one varint byte, patched in after it.
        car.push(0);
        enc::map(car, 2);
        enc::text(car, b"roots");
        enc::array(car, 1);
        enc::link(car, CODEC_DAG_CBOR, &commit.digest);
        enc::text(car, b"version");
        enc::uint(car, 1);
        let header_len = car.len() - 1;
        debug_assert!(header_len < 0x80);
        car[0] = header_len as u8;
        if absurd == Absurd::CarHeader {
            let mut v = Vec::new();
            enc::varint(&mut v, 1 << 34);
            car.splice(0..1, v);
        }
        // Commit first, then MST nodes top-down, then records.
        let order = std::iter::once(self.blocks.len() - 1)
            .chain(
                (0..self.blocks.len() - 1)
                    .rev()
                    .filter(|i| !self.records.contains(i)),
            )
            .chain(self.records.iter().copied());
        for (n, i) in order.enumerate() {
            let b = self.blocks[i];
            let len = (enc::CID_BYTES + b.end - b.start) as u64;
            if absurd == Absurd::CarSection && n == 1 {
                enc::varint(car, len << 36);
            } else {
                enc::varint(car, len);
            }
            car.extend_from_slice(&enc::cid_bytes(CODEC_DAG_CBOR, &b.digest));
            car.extend_from_slice(&self.blk[b.start..b.end]);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_commit_body(
        &mut self,
        repo: u32,
        rev: u64,
        since: u64,
        prev_data: Option<&Digest32>,
        commit: &BlockMeta,
        absurd: Absurd,
        out: &mut Vec<u8>,
    ) {
        header(out, b"#commit");
        // {ops, rev, seq, repo, time, blobs, since, blocks, commit, rebase, tooBig, prevData}
        enc::map(out, 11 + usize::from(prev_data.is_some()));
        enc::text(out, b"ops");
        if absurd == Absurd::OpsArray {
            enc::head(out, 4, 1 << 40);
        } else {
            enc::array(out, self.ops.len());
        }
        for op in &self.ops {
            // {cid, path, prev?, action}
            enc::map(out, 3 + usize::from(op.prev.is_some()));
            enc::text(out, b"cid");
            match &op.cid {
                Some(d) => enc::link(out, CODEC_DAG_CBOR, d),
                None => enc::null(out),
            }
            enc::text(out, b"path");
            let k = content::rkey_bytes(op.rkey);
            enc::text_parts(out, &[op.coll.nsid().as_bytes(), b"/", k.as_bytes()]);
            if let Some(p) = &op.prev {
                enc::text(out, b"prev");
                enc::link(out, CODEC_DAG_CBOR, p);
            }
            enc::text(out, b"action");
            enc::text(out, op.action.name().as_bytes());
        }
        enc::text(out, b"rev");
        enc::text(out, &enc::tid(rev));
        enc::text(out, b"seq");
        enc::uint(out, self.seq as u64);
        enc::text(out, b"repo");
        if absurd == Absurd::RepoText {
            enc::head(out, 3, 1 << 62);
            out.extend_from_slice(&self.dids[repo as usize]);
        } else {
            enc::text(out, &self.dids[repo as usize]);
        }
        enc::text(out, b"time");
        enc::text(out, enc::datetime(self.now, 3, 0).as_bytes());
        enc::text(out, b"blobs");
        enc::array(out, 0);
        enc::text(out, b"since");
        if since == 0 {
            enc::null(out);
        } else {
            enc::text(out, &enc::tid(since));
        }
        enc::text(out, b"blocks");
        if absurd == Absurd::BlocksBytes {
            enc::head(out, 2, 0xffff_ffff_0000);
            out.extend_from_slice(&self.car);
        } else {
            enc::bytes(out, &self.car);
        }
        enc::text(out, b"commit");
        enc::link(out, CODEC_DAG_CBOR, &commit.digest);
        enc::text(out, b"rebase");
        enc::boolean(out, false);
        enc::text(out, b"tooBig");
        enc::boolean(out, false);
        if let Some(d) = prev_data {
            enc::text(out, b"prevData");
            enc::link(out, CODEC_DAG_CBOR, d);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Other events

    fn time(&self) -> enc::DateBuf {
        enc::datetime(self.now, 3, 0)
    }

    fn handle(&self, repo: u32, out: &mut String) {
        use std::fmt::Write;
        let name = content::FIRST_NAMES[repo as usize % content::FIRST_NAMES.len()];
        let g = self.repos[repo as usize].handle_gen;
        let _ = match g {
            0 => write!(out, "{name}{repo}.bsky.social"),
            g if g % 3 == 1 => {
                write!(
                    out,
                    "{name}{repo}.{}",
                    content::TLDS[(repo as usize + g as usize) % content::TLDS.len()]
                )
            }
            g if g % 3 == 2 => write!(out, "{name}-{g}-{repo}.bsky.social"),
            g => write!(out, "blog.{name}{repo}-{g}.com"),
        };
    }

    fn identity_frame(&mut self, repo: u32, with_handle: bool, out: &mut Vec<u8>) {
        self.aux.clear();
        if with_handle {
            if self.rng.chance(0.03) {
                self.aux.push_str("handle.invalid");
            } else {
                let mut h = std::mem::take(&mut self.aux);
                self.handle(repo, &mut h);
                self.aux = h;
            }
        }
        header(out, b"#identity");
        // {did, seq, time, handle?}
        enc::map(out, 3 + usize::from(with_handle));
        enc::text(out, b"did");
        enc::text(out, &self.dids[repo as usize]);
        enc::text(out, b"seq");
        enc::uint(out, self.seq as u64);
        enc::text(out, b"time");
        enc::text(out, self.time().as_bytes());
        if with_handle {
            enc::text(out, b"handle");
            enc::text(out, self.aux.as_bytes());
        }
    }

    fn account_frame(&mut self, repo: u32, status: Option<&str>, out: &mut Vec<u8>) {
        header(out, b"#account");
        // {did, seq, time, active, status?}
        enc::map(out, 4 + usize::from(status.is_some()));
        enc::text(out, b"did");
        enc::text(out, &self.dids[repo as usize]);
        enc::text(out, b"seq");
        enc::uint(out, self.seq as u64);
        enc::text(out, b"time");
        enc::text(out, self.time().as_bytes());
        enc::text(out, b"active");
        enc::boolean(out, status.is_none());
        if let Some(s) = status {
            enc::text(out, b"status");
            enc::text(out, s.as_bytes());
        }
    }

    fn identity_change(&mut self, out: &mut Vec<u8>) -> Kind {
        let repo = self.pick_active_repo();
        self.repos[repo as usize].handle_gen += 1;
        // A few identity events only say "look me up again" (no handle).
        let with_handle = self.rng.chance(0.9);
        self.identity_frame(repo, with_handle, out);
        Kind::Identity
    }

    fn account_change(&mut self, out: &mut Vec<u8>) -> Kind {
        let few_left = self.active * 2 <= self.repos.len() + 2;
        if !self.deactivated.is_empty() && (few_left || self.rng.chance(0.45)) {
            // Reactivation: #account, then #identity and #sync.
            let i = self.rng.below(self.deactivated.len() as u64) as usize;
            let repo = self.deactivated.swap_remove(i);
            self.repos[repo as usize].status = ACTIVE;
            self.active += 1;
            self.account_frame(repo, None, out);
            self.pending.push_back(Pending::Identity(repo));
            self.pending.push_back(Pending::Sync(repo));
            return Kind::Account;
        }
        if few_left {
            return self.identity_change(out);
        }
        let repo = self.pick_active_repo();
        let x = self.rng.below(100);
        let (status, state) = if x < 2 {
            ("deleted", DELETED)
        } else if x < 5 {
            ("takendown", TAKENDOWN)
        } else {
            ("deactivated", DEACTIVATED)
        };
        self.repos[repo as usize].status = state;
        self.active -= 1;
        if state == DEACTIVATED {
            self.deactivated.push(repo);
        }
        self.account_frame(repo, Some(status), out);
        Kind::Account
    }

    /// A new account: #identity, #account, the empty initial commit, #sync.
    fn sign_up(&mut self, out: &mut Vec<u8>) -> Kind {
        let repo = self.not_created.pop().expect("an account to create");
        self.repos[repo as usize].status = ACTIVE;
        self.active += 1;
        self.repos[repo as usize].profile = None;
        self.repos[repo as usize].chat_declared = false;
        self.identity_frame(repo, true, out);
        self.pending.push_back(Pending::Account(repo));
        self.pending.push_back(Pending::InitialCommit(repo));
        self.pending.push_back(Pending::Sync(repo));
        Kind::Identity
    }

    fn pending_event(&mut self, p: Pending, out: &mut Vec<u8>) -> Kind {
        match p {
            Pending::Identity(repo) => {
                self.identity_frame(repo, true, out);
                Kind::Identity
            }
            Pending::Account(repo) => {
                self.account_frame(repo, None, out);
                Kind::Account
            }
            Pending::InitialCommit(repo) => {
                self.initial_commit(repo, out);
                Kind::Commit
            }
            Pending::Sync(repo) => {
                self.sync(repo, out);
                Kind::Sync
            }
        }
    }

    /// The empty repo's first commit: no ops, no prevData, the commit and an empty MST root.
    fn initial_commit(&mut self, repo: u32, out: &mut Vec<u8>) {
        self.blk.clear();
        self.blocks.clear();
        self.records.clear();
        self.ops.clear();
        let start = self.blk.len();
        enc::map(&mut self.blk, 2);
        enc::text(&mut self.blk, b"e");
        enc::array(&mut self.blk, 0);
        enc::text(&mut self.blk, b"l");
        enc::null(&mut self.blk);
        let data = enc::sha256(&self.blk[start..]);
        self.blocks.push(BlockMeta {
            start,
            end: self.blk.len(),
            digest: data,
        });
        if let Some(trees) = self.trees.as_mut() {
            let empty = signed::Repo::empty();
            debug_assert_eq!(empty.root(), data);
            trees[repo as usize] = Some(empty);
        }
        let r = &self.repos[repo as usize];
        let rev = enc::tid_of(self.now.max((r.last_rev >> 10) + 1), r.clock);
        let commit = self.commit_block(repo, rev, &data);
        self.write_car(&commit, Absurd::None);
        self.write_commit_body(repo, rev, 0, None, &commit, Absurd::None, out);
        let r = &mut self.repos[repo as usize];
        r.last_rev = rev;
        r.data = data;
        self.count_commit(false);
    }

    /// `#sync`: the repo's current commit, alone in its CAR slice.
    fn sync(&mut self, repo: u32, out: &mut Vec<u8>) {
        self.blk.clear();
        self.blocks.clear();
        self.records.clear();
        let r = &self.repos[repo as usize];
        let rev = enc::tid_of(self.now.max((r.last_rev >> 10) + 1), r.clock);
        let mut data = r.data;
        if let Some(trees) = self.trees.as_mut() {
            let tree =
                trees[repo as usize].get_or_insert_with(|| seed_tree(self.opts.seed, repo, r));
            data = tree.root();
        }
        let commit = self.commit_block(repo, rev, &data);
        self.write_car(&commit, Absurd::None);
        header(out, b"#sync");
        // {did, rev, seq, time, blocks}
        enc::map(out, 5);
        enc::text(out, b"did");
        enc::text(out, &self.dids[repo as usize]);
        enc::text(out, b"rev");
        enc::text(out, &enc::tid(rev));
        enc::text(out, b"seq");
        enc::uint(out, self.seq as u64);
        enc::text(out, b"time");
        enc::text(out, self.time().as_bytes());
        enc::text(out, b"blocks");
        enc::bytes(out, &self.car);
        self.repos[repo as usize].last_rev = rev;
    }

    // -----------------------------------------------------------------------------------------
    // Hostile frames

    fn hostile_commit(&mut self, kind: CorruptKind, out: &mut Vec<u8>, start: usize) {
        let repo = self.pick_active_repo();
        let detect = match kind {
            CorruptKind::CidMismatch => {
                self.commit(repo, Hostile::CidMismatch, Absurd::None, out);
                Detect::Op
            }
            CorruptKind::InvalidRecord => {
                self.commit(repo, Hostile::InvalidRecord, Absurd::None, out);
                Detect::Op
            }
            CorruptKind::AbsurdLength => {
                let site = [
                    Absurd::BlocksBytes,
                    Absurd::OpsArray,
                    Absurd::RepoText,
                    Absurd::CarHeader,
                    Absurd::CarSection,
                ][self.rng.below(5) as usize];
                self.commit(repo, Hostile::None, site, out);
                Detect::Frame
            }
            CorruptKind::Truncated => {
                self.commit(repo, Hostile::None, Absurd::None, out);
                let len = out.len() - start;
                let keep = 1 + self.rng.below(len as u64 - 1) as usize;
                out.truncate(start + keep);
                Detect::Frame
            }
            CorruptKind::BitFlip => {
                self.commit(repo, Hostile::None, Absurd::None, out);
                self.flip_bits(&mut out[start..])
            }
        };
        self.stats.corrupt[kind as usize] += 1;
        self.corruptions.push(Corruption {
            seq: self.seq,
            kind,
            detect,
        });
    }

    /// Flips one bit of `frame`, re-rolling until the crate's strict decoder notices: a flip
    /// in a signature, an MST node (which `decode_frame` does not hash) or a digit of `seq` is
    /// invisible to it, and every hostile frame must be detectable so tests can count them.
    /// One bit only, so a detected flip has exactly one effect (never a changed seq as well).
    fn flip_bits(&mut self, frame: &mut [u8]) -> Detect {
        for _ in 0..64 {
            let i = self.rng.below(frame.len() as u64) as usize;
            let bit = 1u8 << self.rng.below(8);
            frame[i] ^= bit;
            if let Some(d) = detected(frame) {
                return d;
            }
            frame[i] ^= bit;
            self.stats.undetected_flips += 1;
        }
        // The header's first byte is a map head; as anything else the frame has no header.
        frame[0] ^= 0x80;
        Detect::Frame
    }
}

/// How the crate's decoder sees a frame: `Some(Frame)` if it fails, `Some(Op)` if exactly one
/// op is invalid, `None` if it decodes cleanly (or as something other than a commit).
fn detected(frame: &[u8]) -> Option<Detect> {
    use skyindex::decode::{decode_frame, Frame, TypedEvent};
    match decode_frame(frame) {
        Err(_) => Some(Detect::Frame),
        Ok(Frame::Event(TypedEvent::Commit(c))) if c.invalid.len() == 1 => Some(Detect::Op),
        Ok(_) => None,
    }
}

/// Signed mode: an account's repository as it was before the stream, from its own generator
/// (so its past does not depend on when it first acts).
fn seed_tree(seed: u64, repo: u32, r: &RepoState) -> signed::Repo {
    let mut rng = Rng::new(seed ^ (u64::from(repo) << 20) ^ 0x7ee5);
    signed::Repo::seeded(&mut rng, r.clock, r.profile, r.chat_declared)
}

/// The frame header `{t, op: 1}`.
fn header(out: &mut Vec<u8>, t: &[u8]) {
    enc::map(out, 2);
    enc::text(out, b"t");
    enc::text(out, t);
    enc::text(out, b"op");
    enc::uint(out, 1);
}
