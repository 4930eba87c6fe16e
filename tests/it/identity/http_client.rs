//! The real HTTP client (ureq) against loopback servers: timeouts, size caps, redirects, the
//! SSRF guard; and did:plc / did:web resolution through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use skyindex::identity::config::{HttpConfig, IdentityConfig};
use skyindex::identity::http::HttpGet;
use skyindex::identity::http_ureq::UreqClient;
use skyindex::identity::{HttpError, Identities, ResolveError};

use super::support::{doc_json, plc, FakeDns, HttpServer, Reply};

fn client(tweak: impl FnOnce(&mut HttpConfig)) -> UreqClient {
    let mut config = HttpConfig {
        allow_plain_http: true,
        allow_private_hosts: true,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(1),
        ..HttpConfig::default()
    };
    tweak(&mut config);
    UreqClient::new(&config)
}

const ACCEPT: &str = "application/json";

#[test]
fn plain_get_and_statuses() {
    let server = HttpServer::start(|req| match req.path.as_str() {
        "/ok" => Reply::ok("hello"),
        "/gone" => Reply::status(410),
        _ => Reply::status(404),
    });
    let c = client(|_| {});
    let r = c.get(&server.url("/ok"), ACCEPT, 100).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(
        c.get(&server.url("/nope"), ACCEPT, 100).unwrap().status,
        404
    );
    assert_eq!(
        c.get(&server.url("/gone"), ACCEPT, 100).unwrap().status,
        410
    );
}

#[test]
fn bodies_over_the_cap_are_refused() {
    let server = HttpServer::start(|req| match req.path.as_str() {
        "/declared" => Reply::ok(vec![b'x'; 5000]),
        "/exact" => Reply::ok(vec![b'x'; 100]),
        // No Content-Length: the cap must hold while reading.
        _ => Reply::Unsized(50 * 1024 * 1024),
    });
    let c = client(|c| c.total_timeout = Duration::from_secs(5));
    assert!(matches!(
        c.get(&server.url("/declared"), ACCEPT, 100),
        Err(HttpError::TooLarge { max: 100, .. })
    ));
    assert_eq!(
        c.get(&server.url("/exact"), ACCEPT, 100)
            .unwrap()
            .body
            .len(),
        100
    );
    let start = Instant::now();
    assert!(matches!(
        c.get(&server.url("/stream"), ACCEPT, 64 * 1024),
        Err(HttpError::TooLarge { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_slow_drip_times_out() {
    // One byte every 100 ms keeps each read under the read timeout; the total timeout ends it.
    let server = HttpServer::start(|_| Reply::Drip {
        len: 100,
        every: Duration::from_millis(100),
    });
    let c = client(|c| {
        c.read_timeout = Duration::from_millis(500);
        c.total_timeout = Duration::from_millis(800);
    });
    let start = Instant::now();
    let result = c.get(&server.url("/"), ACCEPT, 1000);
    assert!(
        matches!(result, Err(HttpError::Timeout { .. })),
        "{result:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn garbage_responses_are_errors() {
    let server = HttpServer::start(|req| match req.path.as_str() {
        "/garbage" => Reply::Raw(b"\x00\x01 not http at all\r\n\r\n".to_vec()),
        "/empty" => Reply::Raw(Vec::new()),
        "/headers" => Reply::Raw(
            format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(),
        ),
        _ => Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec()),
    });
    let c = client(|_| {});
    for path in ["/garbage", "/empty", "/headers", "/truncated"] {
        let r = c.get(&server.url(path), ACCEPT, 1000);
        assert!(r.is_err(), "{path}: {r:?}");
    }
}

#[test]
fn redirects_are_bounded() {
    let server = HttpServer::start(|req| match req.path.as_str() {
        "/a" => Reply::redirect("/b"),
        "/b" => Reply::redirect("/a"),
        "/r1" => Reply::redirect("/r2"),
        "/r2" => Reply::redirect("/r3"),
        "/r3" => Reply::redirect("/r4"),
        "/r4" => Reply::redirect("/r5"),
        "/r5" => Reply::ok("end"),
        "/noloc" => Reply::Full(302, Vec::new(), Vec::new()),
        "/ftp" => Reply::redirect("ftp://example.com/x"),
        _ => Reply::status(404),
    });
    let c = client(|c| c.max_redirects = 3);
    assert!(matches!(
        c.get(&server.url("/a"), ACCEPT, 100),
        Err(HttpError::RedirectLoop { .. })
    ));
    assert!(matches!(
        c.get(&server.url("/r1"), ACCEPT, 100),
        Err(HttpError::TooManyRedirects { max: 3, .. })
    ));
    assert_eq!(server.requests_to("/r5"), 0);
    assert_eq!(c.get(&server.url("/r2"), ACCEPT, 100).unwrap().body, b"end");
    assert!(matches!(
        c.get(&server.url("/noloc"), ACCEPT, 100),
        Err(HttpError::BadRedirect { .. })
    ));
    assert!(matches!(
        c.get(&server.url("/ftp"), ACCEPT, 100),
        Err(HttpError::BadUrl { .. })
    ));
}

#[test]
fn https_only_unless_plain_http() {
    let server = HttpServer::start(|_| Reply::ok("x"));
    let strict = client(|c| c.allow_plain_http = false);
    assert!(matches!(
        strict.get(&server.url("/"), ACCEPT, 100),
        Err(HttpError::InsecureScheme { .. })
    ));
    assert_eq!(server.requests(), 0);
    // A redirect from https to http would be refused the same way (checked per hop).
}

#[test]
fn the_ssrf_guard() {
    let target = HttpServer::start(|_| Reply::ok("secret"));
    let target_url = target.url("/internal");
    let front = HttpServer::start(move |req| match req.path.as_str() {
        "/to-loopback" => Reply::redirect(&target_url),
        "/to-name" => Reply::redirect("http://intranet.example.com/x"),
        _ => Reply::ok("front"),
    });
    let overrides = vec![
        ("public.example.com".to_owned(), front.addr),
        ("intranet.example.com".to_owned(), target.addr),
    ];

    // Guard on: a name that resolves to loopback is refused before anything is sent.
    let guarded = client(|c| {
        c.allow_private_hosts = false;
        c.resolve_overrides = overrides.clone();
        // The front server stands in for a public host: trusted like the PLC directory.
        c.trusted_hosts = vec![("public.example.com".to_owned(), 80)];
    });
    let r = guarded.get("http://intranet.example.com/x", ACCEPT, 100);
    assert!(matches!(r, Err(HttpError::PrivateAddress { .. })), "{r:?}");
    let r = guarded.get(&target.url("/direct"), ACCEPT, 100);
    assert!(matches!(r, Err(HttpError::PrivateAddress { .. })), "{r:?}");
    for addr in [
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let r = guarded.get(addr, ACCEPT, 100);
        assert!(
            matches!(r, Err(HttpError::PrivateAddress { .. })),
            "{addr}: {r:?}"
        );
    }
    // The trusted host works, but its redirects into private space do not.
    assert_eq!(
        guarded
            .get("http://public.example.com/", ACCEPT, 100)
            .unwrap()
            .body,
        b"front"
    );
    let r = guarded.get("http://public.example.com/to-loopback", ACCEPT, 100);
    assert!(matches!(r, Err(HttpError::PrivateAddress { .. })), "{r:?}");
    let r = guarded.get("http://public.example.com/to-name", ACCEPT, 100);
    assert!(matches!(r, Err(HttpError::PrivateAddress { .. })), "{r:?}");
    assert_eq!(target.requests(), 0, "nothing reached the private server");

    // Guard off (tests, private networks): the same redirects are followed.
    let open = client(|c| c.resolve_overrides = overrides.clone());
    assert_eq!(
        open.get("http://public.example.com/to-loopback", ACCEPT, 100)
            .unwrap()
            .body,
        b"secret"
    );
    assert_eq!(
        open.get("http://public.example.com/to-name", ACCEPT, 100)
            .unwrap()
            .body,
        b"secret"
    );
    assert_eq!(target.requests(), 2);
    assert_eq!(target.seen()[1].host, "intranet.example.com");
}

/// An `Identities` over the real client, its PLC directory at `plc_url`.
fn identities(plc_url: &str, tweak: impl FnOnce(&mut IdentityConfig)) -> Identities {
    let mut config = IdentityConfig {
        plc_url: plc_url.to_owned(),
        plain_http: true,
        ..IdentityConfig::default()
    };
    config.http.total_timeout = Duration::from_secs(2);
    tweak(&mut config);
    let http = Arc::new(UreqClient::new(&Identities::http_config(&config).unwrap()));
    Identities::with_clients(
        config,
        http,
        Arc::new(FakeDns::default()),
        Arc::new(skyindex::identity::clock::SystemClock),
    )
    .unwrap()
}

#[test]
fn plc_resolution_through_a_loopback_directory() {
    let (alive, gone, wrong, huge) = (plc(1), plc(2), plc(3), plc(4));
    let (a, g, w, h) = (alive.clone(), gone.clone(), wrong.clone(), huge.clone());
    let server = HttpServer::start(move |req| {
        let did = req.path.trim_start_matches('/');
        if did == a {
            Reply::ok(doc_json(&a, "alice.example.com"))
        } else if did == g {
            Reply::status(410)
        } else if did == w {
            Reply::ok(doc_json(&a, "alice.example.com"))
        } else if did == h {
            Reply::ok(vec![b' '; 1024 * 1024])
        } else {
            Reply::status(404)
        }
    });
    // The guard stays on: the configured directory is the one private host allowed.
    let ids = identities(&server.url(""), |c| c.allow_private_hosts = false);
    let doc = ids.document(&alive).unwrap();
    assert_eq!(doc.handle.as_deref(), Some("alice.example.com"));
    assert_eq!(doc.pds.as_deref(), Some("https://pds.example.com"));
    assert_eq!(server.seen()[0].path, format!("/{alive}"));
    assert!(matches!(
        ids.document(&gone),
        Err(ResolveError::Tombstoned { .. })
    ));
    assert!(matches!(
        ids.document(&plc(5)),
        Err(ResolveError::NotFound { .. })
    ));
    assert!(matches!(
        ids.document(&wrong),
        Err(ResolveError::Document { .. })
    ));
    assert!(matches!(
        ids.document(&huge),
        Err(ResolveError::Http {
            source: HttpError::TooLarge { .. },
            ..
        })
    ));
    // Refused before any request: bad syntax, unsupported method, a did:plc that would change
    // the URL's path.
    let before = server.requests();
    for bad in [
        "did:plc:../../admin",
        "did:key:zQ3sh",
        "not a did",
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaa%2F",
    ] {
        assert!(ids.document(bad).is_err(), "{bad}");
    }
    assert_eq!(server.requests(), before);
}

#[test]
fn did_web_through_a_loopback_host() {
    let server = HttpServer::start(|req| match (req.host.as_str(), req.path.as_str()) {
        ("alice.example.com", "/.well-known/did.json") => {
            Reply::ok(doc_json("did:web:alice.example.com", "alice.example.com"))
        }
        ("moved.example.com", "/.well-known/did.json") => {
            Reply::redirect("http://alice.example.com/.well-known/did.json")
        }
        _ => Reply::status(404),
    });
    let ids = identities("https://plc.invalid", |c| {
        c.allow_private_hosts = true;
        c.http.resolve_overrides = vec![
            ("alice.example.com".into(), server.addr),
            ("moved.example.com".into(), server.addr),
            ("nobody.example.com".into(), server.addr),
        ];
    });
    let doc = ids.document("did:web:alice.example.com").unwrap();
    assert_eq!(doc.did, "did:web:alice.example.com");
    // A redirect to another host's document: fetched, but the id must still match.
    assert!(matches!(
        ids.document("did:web:moved.example.com"),
        Err(ResolveError::Document { .. })
    ));
    assert!(matches!(
        ids.document("did:web:nobody.example.com"),
        Err(ResolveError::NotFound { .. })
    ));
    for bad in [
        "did:web:localhost%3A8080",
        "did:web:example.com:u:alice",
        "did:web:laptop.local",
        "did:web:10.0.0.1",
    ] {
        assert!(
            matches!(ids.document(bad), Err(ResolveError::BadIdentifier { .. })),
            "{bad}"
        );
    }

    // With the guard on, the same loopback host is refused.
    let guarded = identities("https://plc.invalid", |c| {
        c.http.resolve_overrides = vec![("alice.example.com".into(), server.addr)];
    });
    assert!(matches!(
        guarded.document("did:web:alice.example.com"),
        Err(ResolveError::Http {
            source: HttpError::PrivateAddress { .. },
            ..
        })
    ));
}

#[test]
fn rate_limit_toward_the_directory() {
    let server = HttpServer::start(|req| {
        let did = req.path.trim_start_matches('/').to_owned();
        Reply::ok(doc_json(&did, "x.example.com"))
    });
    // A startup burst of 20 unknown DIDs: the bucket lets 5 through at once, then one per
    // second; with no waiting allowed the other 15 fail fast and are not cached.
    let ids = identities(&server.url(""), |c| {
        c.limit.rate_per_sec = 1.0;
        c.limit.burst = 5;
        c.limit.max_wait = Duration::ZERO;
    });
    let results: Vec<_> = (0..20).map(|i| ids.document(&plc(100 + i))).collect();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(ResolveError::RateLimited { .. })))
        .count();
    assert_eq!(server.requests(), 5);
    assert_eq!(limited, 15);
    assert_eq!(ids.stats().snapshot().rate_limited, 15);

    // Allowed to wait, lookups queue behind the bucket instead: 4 at 10/s after a burst of 1
    // take at least 3 token intervals, and each waiting one is counted.
    let ids = identities(&server.url(""), |c| {
        c.limit.rate_per_sec = 10.0;
        c.limit.burst = 1;
        c.limit.max_wait = Duration::from_secs(5);
    });
    let before = server.requests();
    let start = Instant::now();
    for i in 0..4 {
        ids.document(&plc(200 + i)).unwrap();
    }
    assert_eq!(server.requests() - before, 4);
    assert_eq!(ids.stats().snapshot().rate_limited_waits, 3);
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn tls_certificates_are_verified() {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = crate::common::project_dir().join("tests/fixtures/identity");
    let cert = std::fs::read(dir.join("self-signed.cert.der")).unwrap();
    let key = std::fs::read(dir.join("self-signed.key.der")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert)],
            rustls::pki_types::PrivateKeyDer::try_from(key).unwrap(),
        )
        .unwrap();
    let server_config = Arc::new(server_config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let got_request = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&got_request);
    let server = std::thread::spawn(move || {
        // One connection: the client must abort the handshake, so no request ever arrives.
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(3)));
        let conn = rustls::ServerConnection::new(server_config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut buf = [0u8; 64];
        if matches!(tls.read(&mut buf), Ok(n) if n > 0) {
            seen.store(true, Ordering::SeqCst);
        }
    });
    let c = client(|c| {
        c.allow_plain_http = false;
        c.resolve_overrides = vec![("self-signed.example.com".into(), addr)];
    });
    let r = c.get(
        "https://self-signed.example.com/.well-known/did.json",
        ACCEPT,
        1000,
    );
    match &r {
        Err(HttpError::Transport { message, .. }) => {
            assert!(
                message.to_lowercase().contains("certificate") || message.contains("UnknownIssuer"),
                "{message}"
            )
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    server.join().unwrap();
    assert!(!got_request.load(Ordering::SeqCst));
}
