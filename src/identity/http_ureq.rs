//! The real [`HttpGet`]: ureq 3, blocking, rustls with ring and the webpki roots.
//!
//! ureq is told to do as little on its own as possible, so each safety rule is ours and is
//! tested: it follows no redirects (we do, so every hop is counted, loop-checked and
//! scheme-checked), reads no proxy from the environment (a proxy would resolve names for us and
//! bypass the guard), and treats no status as an error (404 and 410 are answers). Its name
//! resolution is replaced by [`GuardedResolver`], which applies the SSRF guard to every address
//! of every connection it opens, after resolving and before connecting; pooled connections were
//! checked when they were opened. See README, "Dependencies", for why ureq 3.

use std::io;
use std::net::SocketAddr;

use ureq::http::Uri;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::config::HttpConfig;
use super::error::{short, HttpError};
use super::guard;
use super::http::{HttpGet, HttpResponse};

/// Largest response header block read: ours are small, a hostile one is cut here.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most of a 4xx body read (XRPC errors are a small JSON object).
const MAX_ERROR_BODY: usize = 4096;

/// A blocking HTTP client with timeouts, a body cap, bounded redirects and the SSRF guard.
pub struct UreqClient {
    agent: ureq::Agent,
    max_redirects: u32,
    allow_plain_http: bool,
}

impl UreqClient {
    pub fn new(config: &HttpConfig) -> UreqClient {
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::WebPki)
            .build();
        let agent_config = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(None)
            .http_status_as_error(false)
            .https_only(!config.allow_plain_http)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_response_header_size(MAX_HEADER_BYTES)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_global(Some(config.total_timeout))
            .user_agent(config.user_agent.as_str())
            .build();
        let resolver = GuardedResolver {
            allow_private: config.allow_private_hosts,
            trusted: config.trusted_hosts.clone(),
            overrides: config.resolve_overrides.clone(),
            system: DefaultResolver::default(),
        };
        UreqClient {
            agent: ureq::Agent::with_parts(agent_config, DefaultConnector::new(), resolver),
            max_redirects: config.max_redirects,
            allow_plain_http: config.allow_plain_http,
        }
    }

    fn parse_url(&self, s: &str) -> Result<url::Url, HttpError> {
        let url = url::Url::parse(s).map_err(|_| HttpError::BadUrl {
            url: short(s),
            reason: "not a URL",
        })?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_plain_http => {}
            "http" => return Err(HttpError::InsecureScheme { url: short(s) }),
            _ => {
                return Err(HttpError::BadUrl {
                    url: short(s),
                    reason: "not an http(s) URL",
                })
            }
        }
        if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(HttpError::BadUrl {
                url: short(s),
                reason: "needs a host and no user information",
            });
        }
        Ok(url)
    }

    /// One request, no redirect following. A 2xx body goes to `sink` when there is one.
    fn once(
        &self,
        url: &url::Url,
        accept: &str,
        max_body: usize,
        sink: &mut Option<&mut dyn io::Write>,
    ) -> Result<Hop, HttpError> {
        let host = host_of(url);
        let mut response = self
            .agent
            .get(url.as_str())
            .header("Accept", accept)
            .call()
            .map_err(|e| map_error(e, &host, max_body))?;
        let status = response.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get("location")
                .ok_or(HttpError::BadRedirect {
                    host: host.clone(),
                    reason: "no Location header",
                })?
                .to_str()
                .map_err(|_| HttpError::BadRedirect {
                    host: host.clone(),
                    reason: "Location is not ASCII",
                })?;
            let next = url.join(location).map_err(|_| HttpError::BadRedirect {
                host: host.clone(),
                reason: "Location is not a URL",
            })?;
            return Ok(Hop::Redirect(next));
        }
        if !(200..300).contains(&status) {
            // A client error's body names the XRPC error (`RepoNotFound`, …): read a little
            // of it; nothing else of an error page is downloaded.
            let body = if (400..500).contains(&status) {
                response
                    .body_mut()
                    .with_config()
                    .limit(MAX_ERROR_BODY as u64)
                    .read_to_vec()
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let retry_after = retry_after(response.headers());
            return Ok(Hop::Done(HttpResponse {
                status,
                body,
                retry_after,
            }));
        }
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(HttpError::TooLarge {
                host,
                max: max_body,
            });
        }
        let body = match sink {
            None => response
                .body_mut()
                .with_config()
                .limit(max_body as u64)
                .read_to_vec()
                .map_err(|e| map_error(e, &host, max_body))?,
            Some(sink) => {
                let mut reader = response
                    .body_mut()
                    .with_config()
                    .limit(max_body as u64)
                    .reader();
                copy_body(&mut reader, &mut **sink, &host, max_body)?;
                Vec::new()
            }
        };
        Ok(Hop::Done(HttpResponse {
            status,
            body,
            retry_after: None,
        }))
    }
}

/// The wait a refusal asks for: `Retry-After` in seconds, else `RateLimit-Reset` (seconds, or
/// a Unix time as the reference PDS sends it); at most an hour; HTTP dates are not read.
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<std::time::Duration> {
    const HOUR: u64 = 3600;
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let secs = match number("retry-after") {
        Some(s) => s,
        None => {
            let reset = number("ratelimit-reset")?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // A value past a billion seconds is a time, not a delay.
            if reset > 1_000_000_000 {
                reset.saturating_sub(now)
            } else {
                reset
            }
        }
    };
    Some(std::time::Duration::from_secs(secs.min(HOUR)))
}

enum Hop {
    Done(HttpResponse),
    Redirect(url::Url),
}

/// Reads `reader` into `sink`, telling the server's failures (a timeout, a cut connection,
/// the cap) from ours (the sink's).
fn copy_body(
    reader: &mut impl io::Read,
    sink: &mut dyn io::Write,
    host: &str,
    max_body: usize,
) -> Result<(), HttpError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let kind = e.kind();
                let message = e.to_string();
                return Err(match e.into_inner().map(|b| b.downcast::<ureq::Error>()) {
                    Some(Ok(inner)) => map_error(*inner, host, max_body),
                    _ => map_error(
                        ureq::Error::Io(io::Error::new(kind, message)),
                        host,
                        max_body,
                    ),
                });
            }
        };
        sink.write_all(&buf[..n]).map_err(|e| HttpError::Spool {
            host: host.to_owned(),
            message: short(&e.to_string()),
        })?;
    }
}

impl UreqClient {
    fn follow(
        &self,
        url: &str,
        accept: &str,
        max_body: usize,
        mut sink: Option<&mut dyn io::Write>,
    ) -> Result<HttpResponse, HttpError> {
        let mut current = self.parse_url(url)?;
        let mut seen = vec![current.clone()];
        loop {
            match self.once(&current, accept, max_body, &mut sink)? {
                Hop::Done(response) => return Ok(response),
                Hop::Redirect(next) => {
                    let host = host_of(&current);
                    if seen.contains(&next) {
                        return Err(HttpError::RedirectLoop { host });
                    }
                    if seen.len() > self.max_redirects as usize {
                        return Err(HttpError::TooManyRedirects {
                            host,
                            max: self.max_redirects,
                        });
                    }
                    current = self.parse_url(next.as_str())?;
                    seen.push(next);
                }
            }
        }
    }
}

impl HttpGet for UreqClient {
    fn get(&self, url: &str, accept: &str, max_body: usize) -> Result<HttpResponse, HttpError> {
        self.follow(url, accept, max_body, None)
    }

    fn get_into(
        &self,
        url: &str,
        accept: &str,
        max_body: usize,
        sink: &mut dyn io::Write,
    ) -> Result<HttpResponse, HttpError> {
        self.follow(url, accept, max_body, Some(sink))
    }
}

fn host_of(url: &url::Url) -> String {
    short(url.host_str().unwrap_or(""))
}

/// Carries our refusal through ureq's `io::Error` so it comes back typed.
#[derive(Debug)]
struct Refused(HttpError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

fn map_error(e: ureq::Error, host: &str, max_body: usize) -> HttpError {
    let host = host.to_owned();
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout { host },
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge {
            host,
            max: max_body,
        },
        ureq::Error::HostNotFound => HttpError::NoAddress { host },
        ureq::Error::Io(io) => {
            if let Some(Refused(inner)) = io.get_ref().and_then(|r| r.downcast_ref::<Refused>()) {
                return inner.clone();
            }
            match io.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => HttpError::Timeout { host },
                _ => HttpError::Transport {
                    host,
                    message: short(&io.to_string()),
                },
            }
        }
        other => HttpError::Transport {
            host,
            message: short(&other.to_string()),
        },
    }
}

/// Name resolution with the SSRF guard: every address a host resolves to must be public, unless
/// private hosts are allowed or the host is a trusted one (the configured PLC directory).
/// Refusing the host when any address is private, rather than connecting to the public ones,
/// is deliberate: a name that points into private space at all is not one we want.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
    trusted: Vec<(String, u16)>,
    overrides: Vec<(String, SocketAddr)>,
    system: DefaultResolver,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let raw_host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let host = raw_host.trim_start_matches('[').trim_end_matches(']');
        let default_port = if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        };
        let port = uri.port_u16().unwrap_or(default_port);
        let addrs = match self
            .overrides
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
        {
            Some((_, addr)) => {
                let mut one = self.empty();
                one.push(*addr);
                one
            }
            // ureq's own lookup: the system resolver, on a helper thread so that the request's
            // timeout also bounds a hanging getaddrinfo.
            None => self.system.resolve(uri, config, timeout)?,
        };
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        let trusted = self
            .trusted
            .iter()
            .any(|(name, p)| *p == port && name.eq_ignore_ascii_case(host));
        if !self.allow_private && !trusted {
            if let Some(bad) = addrs.iter().find(|a| !guard::is_public(a.ip())) {
                let refusal = Refused(HttpError::PrivateAddress {
                    host: short(host),
                    addr: bad.ip(),
                });
                return Err(ureq::Error::Io(io::Error::other(refusal)));
            }
        }
        Ok(addrs)
    }
}
