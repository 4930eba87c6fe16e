//! Command-line flags with environment fallbacks, exactly as users type them. `config` turns
//! these into one validated configuration; nothing else reads flags or the environment.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "skyindex",
    version,
    about = "Follows the AT Protocol firehose and keeps an exact PostgreSQL index of its records",
    long_about = "Follows the AT Protocol firehose (com.atproto.sync.subscribeRepos) and keeps an exact, \
                  replay-safe PostgreSQL index of its records: posts, likes, reposts, follows, blocks, \
                  profiles, every other collection, exact counters, feed items, per-repo rev and the cursor."
)]
pub struct Cli {
    /// error, warn, info, debug or trace. RUST_LOG, if set, takes precedence.
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Append logs to this file instead of stderr; reopened on SIGHUP (for logrotate).
    #[arg(long, global = true, env = "SKYINDEX_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a relay (or a capture file) into PostgreSQL until stopped.
    Run(Box<RunArgs>),
    /// Apply pending database migrations (the same ones `diesel migration run` applies).
    Migrate(DbArgs),
    /// Summarise a capture file, or print it as Jetstream-shaped JSON lines with --json.
    Inspect(InspectArgs),
    /// Record a relay to a capture file.
    Capture(CaptureArgs),
    /// Serve a capture file as a subscribeRepos endpoint (for tests and rehearsals).
    Replay(ReplayArgs),
    /// Exit 0 if the database is reachable, migrations are current and the cursor is fresh.
    Health(HealthArgs),
    /// Print cursor, lag, last event time, row counts and counter totals.
    Status(StatusArgs),
    /// Mark repositories to be fetched again whole by the running service (`--backfill seen`).
    Resync(ResyncArgs),
    /// Add accounts to those `run --only-tracked` indexes (or take them away with --remove);
    /// added ones are also marked for a fetch, as `resync` marks them.
    Track(TrackArgs),
    /// Fetch repositories whole from their PDS and cut each over, then exit (one shot; the
    /// service need not run; `run`'s flags apply, `--relay` aside).
    Backfill(Box<BackfillCommandArgs>),
}

#[derive(Debug, Args)]
pub struct BackfillCommandArgs {
    /// The repositories' DIDs.
    pub dids: Vec<String>,
    /// A file of DIDs, one per line (`#` comments and blank lines ignored).
    #[arg(long)]
    pub dids_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct TrackArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Take the accounts away instead.
    #[arg(long)]
    pub remove: bool,
    /// The accounts' DIDs.
    #[arg(required = true)]
    pub dids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ResyncArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The repositories' DIDs.
    #[arg(required = true)]
    pub dids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// PostgreSQL URL, e.g. postgres://user:password@host/db. Never logged with its password.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Relay to follow: wss://host, ws://host:port, or file:PATH for a capture file (plain or .zst).
    #[arg(
        long = "relay",
        env = "RELAY_URL",
        default_value = "wss://bsky.network"
    )]
    pub relay: String,
    /// Where to start: a seq, or `live` for the relay's tip. Default: the saved cursor (or live).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Writer threads, each with one database connection. Default: DB_POOL_SIZE - 1, else 4.
    #[arg(long, env = "SKYINDEX_WRITERS")]
    pub writers: Option<usize>,
    /// Database connections in all: writers + 1 (the cursor keeper).
    #[arg(long, env = "DB_POOL_SIZE")]
    pub pool_size: Option<u32>,
    /// Most events a writer applies in one transaction.
    #[arg(long, env = "SKYINDEX_BATCH_SIZE", default_value_t = 1000)]
    pub batch_size: usize,
    /// How long a writer waits for more events to fill a group (e.g. 5ms).
    #[arg(long, env = "SKYINDEX_BATCH_WAIT", default_value = "5ms")]
    pub batch_wait: String,
    /// How long to wait at start for another instance's hold on the database to end (one just
    /// killed loses it a moment later) before refusing to start (e.g. 10s).
    #[arg(long, env = "SKYINDEX_OWNER_WAIT", default_value = "10s")]
    pub owner_wait: String,
    /// Accounts' rows (rev, status, handle) kept in memory, in all, split between the writers:
    /// a group reads from the database only the accounts not among them. 0: none kept.
    #[arg(long, env = "SKYINDEX_ACCOUNT_CACHE", default_value_t = 100_000)]
    pub account_cache: usize,
    /// Events queued per writer before the reader blocks (backpressure).
    #[arg(long, env = "SKYINDEX_CHANNEL_CAPACITY", default_value_t = 2000)]
    pub channel_capacity: usize,
    /// Interval of the `stats` log line (e.g. 10s).
    #[arg(long, env = "SKYINDEX_STATS_INTERVAL", default_value = "10s")]
    pub stats_interval: String,
    /// Reconnect when the relay sends nothing for this long (e.g. 60s).
    #[arg(long, env = "SKYINDEX_STALL_TIMEOUT", default_value = "60s")]
    pub stall_timeout: String,
    /// On SIGTERM/SIGINT, how long writers may take to drain before we exit anyway (e.g. 8s).
    #[arg(long, env = "SKYINDEX_SHUTDOWN_TIMEOUT", default_value = "8s")]
    pub shutdown_timeout: String,
    /// Index only these collections: NSIDs or prefixes like app.bsky.feed.*, comma-separated.
    #[arg(long, env = "SKYINDEX_COLLECTIONS")]
    pub collections: Option<String>,
    /// Refuse to start while migrations are pending, instead of applying them.
    #[arg(long)]
    pub no_migrate: bool,
    /// PostgreSQL synchronous_commit for the writers' sessions: on (default) or off. Off is no
    /// faster at the group sizes skyindex commits, and can lose the last commits if PostgreSQL
    /// alone crashes while skyindex keeps running (see README, "Durability").
    #[arg(long, env = "SKYINDEX_SYNCHRONOUS_COMMIT", default_value = "on")]
    pub synchronous_commit: String,
    /// Derive notifications (likes, reposts, follows, replies, mentions, quotes, …) for an
    /// AppView: `on` or `off`. Off by default: they cost about half the throughput today (one
    /// more row per like, repost and follow; see BENCHMARKS.md).
    #[arg(long, env = "SKYINDEX_NOTIFICATIONS", default_value = "off")]
    pub notifications: String,
    /// Which records of a snapshot (backfill, repair) notify, with --notifications on: `none`,
    /// `all`, or a duration: those dated at most that long before the fetch (what the live
    /// stream was saying when a repo first seen was fetched). A freshly backfilled AppView
    /// must not tell every account of years of old likes and follows.
    #[arg(long, env = "SKYINDEX_NOTIFY_BACKFILL", default_value = "1h")]
    pub notify_backfill: String,
    /// Index only the accounts `skyindex track` named (read again every 5 s): every other
    /// account's frames are dropped before their CAR is decoded.
    #[arg(long, env = "SKYINDEX_ONLY_TRACKED")]
    pub only_tracked: bool,
    /// Key of this stream's row in firehose_cursor. Default: the relay URL.
    #[arg(long, env = "SKYINDEX_SERVICE")]
    pub service: Option<String>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub labelers: LabelerArgs,
    #[command(flatten)]
    pub backfill: BackfillArgs,
}

/// Backfill and repair (README, "Backfill and repair").
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// `none`: index what the stream carries (no repo is ever fetched); `seen`: every repo the
    /// stream shows is fetched whole from its PDS and kept complete: after a `#sync`, a commit
    /// that does not chain to what we hold, or an operator's `resync`; `all`: `seen`, and every
    /// repo the relay lists (listRepos) too, at the first start, whenever the stream starts
    /// without a saved cursor, and every --backfill-interval.
    #[arg(
        long,
        env = "SKYINDEX_BACKFILL",
        default_value = "none",
        value_name = "none|seen|all"
    )]
    pub backfill: String,
    /// With `--backfill all`: enumerate the relay's repos again this long after the last
    /// enumeration completed (e.g. 24h).
    #[arg(long, env = "SKYINDEX_BACKFILL_INTERVAL", default_value = "24h")]
    pub backfill_interval: String,
    /// Repositories fetched at once, overall.
    #[arg(long, env = "SKYINDEX_BACKFILL_FETCHERS", default_value_t = 8)]
    pub backfill_fetchers: usize,
    /// getRepo requests per second toward one PDS (a token bucket; the reference PDS allows
    /// about 20).
    #[arg(long, env = "SKYINDEX_BACKFILL_HOST_RATE", default_value_t = 5.0)]
    pub backfill_host_rate: f64,
    /// getRepo requests in flight toward one PDS.
    #[arg(long, env = "SKYINDEX_BACKFILL_HOST_IN_FLIGHT", default_value_t = 4)]
    pub backfill_host_in_flight: usize,
    /// Largest repository export read, in MiB (past 8 MiB an export is kept on disk, in
    /// `TMPDIR`, not in memory).
    #[arg(long, env = "SKYINDEX_BACKFILL_MAX_MIB", default_value_t = 4096)]
    pub backfill_max_mib: usize,
    /// Longest one getRepo may take, body included (e.g. 5m).
    #[arg(long, env = "SKYINDEX_BACKFILL_TIMEOUT", default_value = "5m")]
    pub backfill_timeout: String,
    /// Track only the repos that hold records of these collections (repeatable, or
    /// comma-separated): `--backfill all` enumerates them with listReposByCollection, and a repo
    /// first seen live is fetched only when its commit writes one of the kept collections.
    /// Without --collections, only these collections are indexed.
    #[arg(
        long,
        env = "SKYINDEX_BACKFILL_COLLECTION",
        value_name = "NSID",
        value_delimiter = ','
    )]
    pub backfill_collection: Vec<String>,
}

/// Labelers to follow (their `subscribeLabels` streams, into the `labels` table).
#[derive(Debug, Args)]
pub struct LabelerArgs {
    /// Labelers to follow: DIDs, comma-separated, and/or `seen` (every account whose
    /// app.bsky.labeler.service record is indexed, looked for again every --labelers-rescan).
    /// Endpoints and keys come from their DID documents.
    #[arg(long, env = "SKYINDEX_LABELERS", value_name = "DID,…|seen")]
    pub labelers: Option<String>,
    /// With `--labelers seen`: how often to look for labelers indexed since (e.g. 1m).
    #[arg(long, env = "SKYINDEX_LABELERS_RESCAN", default_value = "1m")]
    pub labelers_rescan: String,
    /// Reconnect to a labeler whose connection answers nothing (no frame, no pong to our pings)
    /// for this long (e.g. 60s). A labeler that is merely quiet is not a stall.
    #[arg(long, env = "SKYINDEX_LABELER_STALL_TIMEOUT", default_value = "60s")]
    pub labeler_stall_timeout: String,
}

/// Verification of commits and identities.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// Check every #commit and #sync: `full` (signature against the author's key, and the ops
    /// against the commit's own proof, Sync 1.1), `signature` (the signature only), or `off`
    /// (believe the relay). A commit that fails is dropped, counted and logged.
    #[arg(long, env = "SKYINDEX_VERIFY", default_value = "full")]
    pub verify: String,
    /// On #identity, check that the handle in the DID document resolves back to the DID (DNS
    /// TXT or https well-known) and store `handle.invalid` when it does not: `on` or `off`
    /// (store the handle the relay asserts).
    #[arg(long, env = "SKYINDEX_VERIFY_HANDLES", default_value = "on")]
    pub verify_handles: String,
    /// The did:plc directory.
    #[arg(
        long,
        env = "SKYINDEX_PLC_URL",
        default_value = "https://plc.directory"
    )]
    pub plc_url: String,
    /// Let DID documents, handles and hosts resolve to loopback and private addresses (tests,
    /// private networks). Off, such hosts are refused (the PLC directory itself excepted).
    #[arg(long, env = "SKYINDEX_ALLOW_PRIVATE_HOSTS")]
    pub allow_private_hosts: bool,
    /// Fetch did:web documents and well-known handles over plain http (tests only).
    #[arg(long, env = "SKYINDEX_PLAIN_HTTP", hide = true)]
    pub plain_http: bool,
    /// Fixed addresses for host names, HOST=ADDR:PORT, like curl's --resolve (tests only).
    #[arg(long = "resolve", hide = true, value_name = "HOST=ADDR:PORT")]
    pub resolve: Vec<String>,
    /// DNS server for handle lookups, e.g. 127.0.0.1:53. Default: those of /etc/resolv.conf.
    #[arg(long, env = "SKYINDEX_DNS_SERVER")]
    pub dns_server: Option<String>,
    /// DID documents (and handle verdicts) kept in memory.
    #[arg(long, env = "SKYINDEX_IDENTITY_CACHE_SIZE", default_value_t = 100_000)]
    pub identity_cache_size: usize,
    /// How long a DID document is trusted before it is fetched again (e.g. 1h).
    #[arg(long, env = "SKYINDEX_IDENTITY_CACHE_TTL", default_value = "1h")]
    pub identity_cache_ttl: String,
    /// How long a failed lookup is remembered (e.g. 60s).
    #[arg(long, env = "SKYINDEX_IDENTITY_NEGATIVE_TTL", default_value = "60s")]
    pub identity_negative_ttl: String,
    /// Requests per second toward one host (the PLC directory, a did:web host, a handle's
    /// domain); a start with many unknown accounts waits rather than hammering it.
    #[arg(long, env = "SKYINDEX_RESOLVE_RATE", default_value_t = 10.0)]
    pub resolve_rate: f64,
    /// Requests in flight toward one host at most.
    #[arg(long, env = "SKYINDEX_RESOLVE_CONCURRENCY", default_value_t = 4)]
    pub resolve_concurrency: usize,
    /// A signature that fails re-fetches the author's document (a rotated key) at most this
    /// often per account (e.g. 30s).
    #[arg(long, env = "SKYINDEX_KEY_REFRESH_INTERVAL", default_value = "30s")]
    pub key_refresh_interval: String,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Capture file (plain or .zst).
    pub file: PathBuf,
    /// One JSON line per event, in the shape of Jetstream's v1 events.
    #[arg(long)]
    pub json: bool,
    /// Also say what verification would make of every commit and #sync, with keys from this
    /// did:plc directory (e.g. https://plc.directory). `--json` then leaves out what fails.
    #[arg(long)]
    pub plc_url: Option<String>,
    /// With --plc-url: `full` or `signature` (see `run --verify`).
    #[arg(long, default_value = "full")]
    pub verify: String,
    /// With --plc-url: let documents and hosts resolve to loopback and private addresses.
    #[arg(long)]
    pub allow_private_hosts: bool,
    /// With --plc-url: plain http for the directory and did:web (tests only).
    #[arg(long, hide = true)]
    pub plain_http: bool,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Relay to record: wss://host or ws://host:port.
    #[arg(long, env = "RELAY_URL")]
    pub relay: String,
    /// Output capture file (.zst to compress).
    #[arg(long)]
    pub out: PathBuf,
    /// Start after this seq (default: live).
    #[arg(long)]
    pub cursor: Option<i64>,
    /// Stop after this many frames.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Stop after this long (e.g. 60s).
    #[arg(long)]
    pub duration: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture file to serve (plain or .zst).
    #[arg(long)]
    pub file: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2470")]
    pub listen: String,
    /// Frames per second per connection (default: as fast as the consumer reads).
    #[arg(long)]
    pub rate: Option<f64>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The cursor must have advanced within this long (e.g. 60s).
    #[arg(long, default_value = "60s")]
    pub max_age: String,
    /// Cursor row to check. Default: the most recently updated one.
    #[arg(long, env = "SKYINDEX_SERVICE")]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Row counts from PostgreSQL's statistics (instant, approximate) and no counter totals,
    /// instead of exact counts (a full scan of every table).
    #[arg(long)]
    pub fast: bool,
}
