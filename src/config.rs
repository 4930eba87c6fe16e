//! One validated configuration for `run`, built once from the flags; errors name the flag.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::cli::RunArgs;
use crate::dispatch::CollectionFilter;

#[derive(Debug, Clone)]
pub enum SourceSpec {
    Relay(Url),
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorStart {
    /// The saved cursor, or the live tip when there is none.
    Saved,
    Live,
    At(i64),
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub database_url: String,
    pub source: SourceSpec,
    /// The firehose_cursor key (the relay URL without credentials, or file:PATH).
    pub service: String,
    pub cursor: CursorStart,
    pub writers: usize,
    pub pool_size: u32,
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub channel_capacity: usize,
    pub stats_interval: Duration,
    pub stall_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub filter: Option<CollectionFilter>,
    pub migrate: bool,
    pub synchronous_commit_off: bool,
}

/// `500ms`, `10s`, `2m`, or a bare number of seconds.
pub fn parse_duration(flag: &str, s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{flag} {s:?}: expected a duration like 500ms, 10s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{flag} {s:?}: unit must be ms, s, m or h")),
    };
    if !(0.0..=1e9).contains(&secs) {
        return Err(format!("{flag} {s:?}: out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A URL with its passwords replaced, for logs and errors: the user-info one and libpq's
/// `?password=` and `?sslpassword=` parameters.
pub fn redact(url: &str) -> String {
    let Ok(mut u) = Url::parse(url) else {
        return "<unparseable URL>".to_owned();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let secret =
        |k: &str| k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
    if u.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

impl RunConfig {
    pub fn from_args(a: &RunArgs) -> Result<RunConfig, String> {
        let source = match a.relay.strip_prefix("file:") {
            Some(path) if !path.is_empty() => SourceSpec::File(PathBuf::from(path)),
            Some(_) => {
                return Err("--relay file: needs a path, e.g. file:/data/capture.bin.zst".into())
            }
            None => SourceSpec::Relay(crate::source::websocket::endpoint(&a.relay)?),
        };
        let service = match (&a.service, &source) {
            (Some(s), _) => s.clone(),
            (None, SourceSpec::Relay(_)) => redact(&a.relay).trim_end_matches('/').to_owned(),
            (None, SourceSpec::File(p)) => format!("file:{}", p.display()),
        };
        let cursor = match a.cursor.as_deref() {
            None => CursorStart::Saved,
            Some("live") => CursorStart::Live,
            Some(n) => {
                CursorStart::At(n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    format!("--cursor {n:?}: expected a seq (0 or more) or `live`")
                })?)
            }
        };
        let (writers, pool_size) = match (a.writers, a.pool_size) {
            (Some(w), Some(p)) if p as usize != w + 1 => {
                return Err(format!(
                    "--writers {w} needs DB_POOL_SIZE {} (writers + 1 for the cursor), not {p}",
                    w + 1
                ))
            }
            (Some(w), _) => (w, w as u32 + 1),
            (None, Some(p)) if p >= 2 => (p as usize - 1, p),
            (None, Some(p)) => {
                return Err(format!(
                    "DB_POOL_SIZE {p}: needs at least 2 (one writer + the cursor)"
                ))
            }
            (None, None) => (4, 5),
        };
        if writers == 0 || writers > 256 {
            return Err(format!("--writers {writers}: expected 1 to 256"));
        }
        if a.batch_size == 0 || a.batch_size > 100_000 {
            return Err(format!(
                "--batch-size {}: expected 1 to 100000",
                a.batch_size
            ));
        }
        if a.channel_capacity == 0 {
            return Err("--channel-capacity must be at least 1".into());
        }
        let synchronous_commit_off = match a.synchronous_commit.as_str() {
            "off" => true,
            "on" => false,
            other => {
                return Err(format!(
                    "--synchronous-commit {other:?}: expected on or off"
                ))
            }
        };
        let stats_interval = parse_duration("--stats-interval", &a.stats_interval)?;
        if stats_interval < Duration::from_millis(100) {
            return Err("--stats-interval must be at least 100ms".into());
        }
        let stall_timeout = parse_duration("--stall-timeout", &a.stall_timeout)?;
        if stall_timeout < Duration::from_secs(1) {
            return Err("--stall-timeout must be at least 1s".into());
        }
        Url::parse(&a.db.database_url).map_err(|e| format!("DATABASE_URL is not a URL: {e}"))?;
        Ok(RunConfig {
            database_url: a.db.database_url.clone(),
            source,
            service,
            cursor,
            writers,
            pool_size,
            batch_size: a.batch_size,
            batch_wait: parse_duration("--batch-wait", &a.batch_wait)?,
            channel_capacity: a.channel_capacity,
            stats_interval,
            stall_timeout,
            shutdown_timeout: parse_duration("--shutdown-timeout", &a.shutdown_timeout)?,
            filter: a
                .collections
                .as_deref()
                .map(CollectionFilter::parse)
                .transpose()?,
            migrate: !a.no_migrate,
            synchronous_commit_off,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("x", "500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("x", "10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("x", "2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("x", "ten").is_err());
        assert!(parse_duration("x", "5y").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let r = redact("postgres://bob:s3cret@db.example/index");
        assert!(!r.contains("s3cret"), "{r}");
        assert!(r.contains("bob"));
        let r = redact("postgres://db.example/index?user=bob&password=s3cret&sslmode=require");
        assert!(
            !r.contains("s3cret") && r.contains("sslmode=require"),
            "{r}"
        );
        let r = redact("postgres://db.example/index?sslpassword=s3cret");
        assert!(!r.contains("s3cret"), "{r}");
    }
}
