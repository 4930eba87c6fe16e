//! One validated configuration for `run`, built once from the flags; errors name the flag.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use url::Url;

use crate::cli::{IdentityArgs, LabelerArgs, RunArgs};
use crate::identity::IdentityConfig;
use crate::pipeline::{
    BackfillSettings, CollectionFilter, FilterError, Indexing, LabelerSettings, NotifyBackfill,
    Settings, VerifyMode, VerifySettings,
};
use crate::redact::redact;
use crate::source::websocket::{self, EndpointError};
use crate::source::SourceSpec;

/// A flag (or its environment variable) that cannot be used, and why.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{flag} {value:?}: {expected}")]
    Value {
        flag: &'static str,
        value: String,
        expected: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Relay(#[from] EndpointError),
    #[error(transparent)]
    Collections(#[from] FilterError),
    #[error("DATABASE_URL is not a URL")]
    DatabaseUrl(#[source] url::ParseError),
}

fn value(flag: &'static str, value: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        flag,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

/// `--backfill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    None,
    Seen,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorStart {
    /// The saved cursor, or the live tip when there is none.
    Saved,
    Live,
    At(i64),
}

impl CursorStart {
    /// Where the stream starts, given the cursor the database holds: the seq everything at or
    /// below which is committed, and whether the first connection goes to the live tip.
    pub fn resolve(self, saved: Option<i64>) -> (Option<i64>, bool) {
        match self {
            CursorStart::At(n) => (Some(n), false),
            CursorStart::Live => (None, true),
            CursorStart::Saved => (saved, saved.is_none()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub database_url: String,
    pub cursor: CursorStart,
    pub pool_size: u32,
    pub migrate: bool,
    pub synchronous_commit_off: bool,
    /// `--owner-wait`: how long a start waits for the database's owner lock.
    pub owner_wait: std::time::Duration,
    pub pipeline: Settings,
    /// How identities are resolved, for verification.
    pub identity: IdentityConfig,
}

/// `--notify-backfill`: `none`, `all`, or a duration (the snapshot's records dated at most that
/// long before the fetch notify).
fn notify_backfill(s: &str) -> Result<NotifyBackfill, ConfigError> {
    match s.trim() {
        "none" => Ok(NotifyBackfill::None),
        "all" => Ok(NotifyBackfill::All),
        d => parse_duration("--notify-backfill", d).map(NotifyBackfill::Recent),
    }
}

/// `500ms`, `10s`, `2m`, or a bare number of seconds.
pub fn parse_duration(flag: &'static str, s: &str) -> Result<Duration, ConfigError> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| value(flag, s, "expected a duration like 500ms, 10s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(value(flag, s, "unit must be ms, s, m or h")),
    };
    if !(0.0..=1e9).contains(&secs) {
        return Err(value(flag, s, "out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl RunConfig {
    pub fn from_args(a: &RunArgs) -> Result<RunConfig, ConfigError> {
        let source = match a.relay.strip_prefix("file:") {
            Some(path) if !path.is_empty() => SourceSpec::File(PathBuf::from(path)),
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "--relay file: needs a path, e.g. file:/data/capture.bin.zst".into(),
                ))
            }
            None => SourceSpec::Relay(websocket::endpoint(&a.relay)?),
        };
        let service = match (&a.service, &source) {
            (Some(s), _) => s.clone(),
            (None, SourceSpec::Relay(_)) => redact(&a.relay).trim_end_matches('/').to_owned(),
            (None, SourceSpec::File(p)) => format!("file:{}", p.display()),
        };
        let cursor = match a.cursor.as_deref() {
            None => CursorStart::Saved,
            Some("live") => CursorStart::Live,
            Some(n) => CursorStart::At(
                n.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| value("--cursor", n, "expected a seq (0 or more) or `live`"))?,
            ),
        };
        let (writers, pool_size) = match (a.writers, a.pool_size) {
            (Some(w), Some(p)) if p as usize != w + 1 => {
                return Err(ConfigError::Invalid(format!(
                    "--writers {w} needs DB_POOL_SIZE {} (writers + 1 for the cursor), not {p}",
                    w + 1
                )))
            }
            (Some(w), _) => (w, w as u32 + 1),
            (None, Some(p)) if p >= 2 => (p as usize - 1, p),
            (None, Some(p)) => {
                return Err(ConfigError::Invalid(format!(
                    "DB_POOL_SIZE {p}: needs at least 2 (one writer + the cursor)"
                )))
            }
            (None, None) => (4, 5),
        };
        if writers == 0 || writers > 256 {
            return Err(ConfigError::Invalid(format!(
                "--writers {writers}: expected 1 to 256"
            )));
        }
        if a.batch_size == 0 || a.batch_size > 100_000 {
            return Err(ConfigError::Invalid(format!(
                "--batch-size {}: expected 1 to 100000",
                a.batch_size
            )));
        }
        if a.channel_capacity == 0 {
            return Err(ConfigError::Invalid(
                "--channel-capacity must be at least 1".into(),
            ));
        }
        let synchronous_commit_off = match a.synchronous_commit.as_str() {
            "off" => true,
            "on" => false,
            other => return Err(value("--synchronous-commit", other, "expected on or off")),
        };
        let stats_interval = parse_duration("--stats-interval", &a.stats_interval)?;
        if stats_interval < Duration::from_millis(100) {
            return Err(ConfigError::Invalid(
                "--stats-interval must be at least 100ms".into(),
            ));
        }
        let stall_timeout = parse_duration("--stall-timeout", &a.stall_timeout)?;
        if stall_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "--stall-timeout must be at least 1s".into(),
            ));
        }
        Url::parse(&a.db.database_url).map_err(ConfigError::DatabaseUrl)?;
        let backfill = match a.backfill.backfill.as_str() {
            "none" => Backfill::None,
            "seen" => Backfill::Seen,
            "all" => Backfill::All,
            other => return Err(value("--backfill", other, "expected none, seen or all")),
        };
        let backfill_settings = backfill_settings(&a.backfill, backfill == Backfill::All)?;
        Ok(RunConfig {
            database_url: a.db.database_url.clone(),
            cursor,
            pool_size,
            migrate: !a.no_migrate,
            synchronous_commit_off,
            owner_wait: parse_duration("--owner-wait", &a.owner_wait)?,
            pipeline: Settings {
                source,
                service,
                writers,
                batch_size: a.batch_size,
                batch_wait: parse_duration("--batch-wait", &a.batch_wait)?,
                user_cache: a.account_cache,
                channel_capacity: a.channel_capacity,
                stats_interval,
                stall_timeout,
                shutdown_timeout: parse_duration("--shutdown-timeout", &a.shutdown_timeout)?,
                filter: match (&a.collections, &a.backfill.backfill_collection) {
                    (Some(c), _) => Some(CollectionFilter::parse(c)?),
                    // Tracking repos for their collections, those are what is indexed.
                    (None, tracked) if !tracked.is_empty() => {
                        Some(CollectionFilter::parse(&tracked.join(","))?)
                    }
                    (None, _) => None,
                },
                verify: verify_settings(&a.identity)?,
                indexing: Indexing {
                    notifications: on_off("--notifications", &a.notifications)?,
                    notify_backfill: notify_backfill(&a.notify_backfill)?,
                    quiet_before: None,
                    snapshot: false,
                    first_sight_needs_ops: !a.backfill.backfill_collection.is_empty(),
                    repo_sync: backfill != Backfill::None,
                },
                labelers: labeler_settings(&a.labelers, a.identity.allow_private_hosts)?,
                backfill: (backfill != Backfill::None).then_some(backfill_settings),
                only_tracked: a.only_tracked,
            },
            identity: identity_config(&a.identity)?,
        })
    }
}

/// The backfill's limits from its flags (used whether or not `--backfill` turns it on, so
/// `skyindex backfill` shares them).
pub fn backfill_settings(
    a: &crate::cli::BackfillArgs,
    enumerate: bool,
) -> Result<BackfillSettings, ConfigError> {
    Ok(BackfillSettings {
        fetchers: a.backfill_fetchers.max(1),
        host_rate: a.backfill_host_rate,
        host_in_flight: a.backfill_host_in_flight.max(1),
        max_bytes: a.backfill_max_mib.saturating_mul(1 << 20),
        timeout: parse_duration("--backfill-timeout", &a.backfill_timeout)?,
        enumerate,
        interval: parse_duration("--backfill-interval", &a.backfill_interval)?,
        collections: backfill_collections(&a.backfill_collection)?,
    })
}

/// `--backfill-collection`: NSIDs, each checked, none twice.
fn backfill_collections(items: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        crate::syntax::nsid(item)
            .map_err(|e| ConfigError::Invalid(format!("--backfill-collection {item:?}: {e}")))?;
        if !out.iter().any(|c| c == item) {
            out.push(item.to_owned());
        }
    }
    Ok(out)
}

/// `--labelers`: DIDs and/or `seen`, each DID checked, none twice.
fn labeler_settings(
    a: &LabelerArgs,
    allow_private_hosts: bool,
) -> Result<LabelerSettings, ConfigError> {
    let mut settings = LabelerSettings {
        rescan: parse_duration("--labelers-rescan", &a.labelers_rescan)?,
        stall_timeout: parse_duration("--labeler-stall-timeout", &a.labeler_stall_timeout)?,
        allow_private_hosts,
        ..LabelerSettings::default()
    };
    if settings.stall_timeout < Duration::from_secs(1) {
        return Err(ConfigError::Invalid(
            "--labeler-stall-timeout must be at least 1s".into(),
        ));
    }
    if settings.rescan < Duration::from_secs(1) {
        return Err(ConfigError::Invalid(
            "--labelers-rescan must be at least 1s".into(),
        ));
    }
    for item in a.labelers.as_deref().unwrap_or("").split(',') {
        let item = item.trim();
        match item {
            "" => {}
            "seen" => settings.seen = true,
            did => {
                crate::syntax::did(did).map_err(|e| {
                    value("--labelers", did, format!("expected DIDs or `seen` ({e})"))
                })?;
                if !settings.dids.iter().any(|d| d == did) {
                    settings.dids.push(did.to_owned());
                }
            }
        }
    }
    Ok(settings)
}

fn on_off(flag: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(value(flag, other, "expected on or off")),
    }
}

fn verify_settings(a: &IdentityArgs) -> Result<VerifySettings, ConfigError> {
    let mode = match a.verify.as_str() {
        "full" => VerifyMode::Full,
        "signature" => VerifyMode::Signature,
        "off" => VerifyMode::Off,
        other => return Err(value("--verify", other, "expected full, signature or off")),
    };
    Ok(VerifySettings {
        mode,
        handles: on_off("--verify-handles", &a.verify_handles)?,
    })
}

/// The resolver's configuration from the flags; the rest keeps `IdentityConfig`'s defaults.
pub fn identity_config(a: &IdentityArgs) -> Result<IdentityConfig, ConfigError> {
    let mut c = IdentityConfig {
        plc_url: a.plc_url.trim_end_matches('/').to_owned(),
        allow_private_hosts: a.allow_private_hosts,
        plain_http: a.plain_http,
        refresh_min_interval: parse_duration("--key-refresh-interval", &a.key_refresh_interval)?,
        ..IdentityConfig::default()
    };
    Url::parse(&c.plc_url).map_err(|e| value("--plc-url", &a.plc_url, e.to_string()))?;
    if a.identity_cache_size == 0 {
        return Err(ConfigError::Invalid(
            "--identity-cache-size must be at least 1".into(),
        ));
    }
    c.cache.max_entries = a.identity_cache_size;
    c.cache.ttl = parse_duration("--identity-cache-ttl", &a.identity_cache_ttl)?;
    c.cache.negative_ttl = parse_duration("--identity-negative-ttl", &a.identity_negative_ttl)?;
    if !(a.resolve_rate.is_finite() && a.resolve_rate > 0.0) {
        return Err(value(
            "--resolve-rate",
            &a.resolve_rate.to_string(),
            "expected a positive number of requests per second",
        ));
    }
    c.limit.rate_per_sec = a.resolve_rate;
    c.limit.burst = (a.resolve_rate.ceil() as u32).max(c.limit.burst);
    if a.resolve_concurrency == 0 {
        return Err(ConfigError::Invalid(
            "--resolve-concurrency must be at least 1".into(),
        ));
    }
    c.limit.max_in_flight = a.resolve_concurrency;
    for entry in &a.resolve {
        let parsed = entry
            .split_once('=')
            .and_then(|(host, addr)| Some((host.to_owned(), addr.parse().ok()?)));
        let (host, addr) =
            parsed.ok_or_else(|| value("--resolve", entry, "expected HOST=ADDR:PORT"))?;
        c.http.resolve_overrides.push((host, addr));
    }
    if let Some(server) = &a.dns_server {
        let addr = server.parse().map_err(|_| {
            value(
                "--dns-server",
                server,
                "expected ADDRESS:PORT, e.g. 127.0.0.1:53",
            )
        })?;
        c.dns.nameservers = vec![addr];
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("x", "500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_duration("x", "10").ok(),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_duration("x", "2m").ok(),
            Some(Duration::from_secs(120))
        );
        assert!(parse_duration("x", "ten").is_err());
        assert!(parse_duration("x", "5y").is_err());
    }
}
