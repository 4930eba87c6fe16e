//! Handle verification both ways: the document claims a handle, and the handle must resolve
//! back to the DID by DNS TXT or by the well-known URL; otherwise `handle.invalid`.

use std::sync::Arc;
use std::time::Duration;

use simple_dns::RCODE;
use skyindex::identity::clock::{ManualClock, SystemClock};
use skyindex::identity::config::{DnsConfig, IdentityConfig, LimitConfig};
use skyindex::identity::dns_udp::UdpDns;
use skyindex::identity::http_ureq::UreqClient;
use skyindex::identity::{DnsError, HandleStatus, HttpError, Identities, ResolveError};

use super::support::{
    doc_json, plc, txt_reply, DnsResponder, FakeDns, FakeHttp, HttpServer, Reply,
};

const PLC: &str = "https://plc.example.com";

struct Rig {
    ids: Identities,
    http: Arc<FakeHttp>,
    dns: Arc<FakeDns>,
    clock: Arc<ManualClock>,
}

fn rig(tweak: impl FnOnce(&mut IdentityConfig)) -> Rig {
    let mut config = IdentityConfig {
        plc_url: PLC.into(),
        limit: LimitConfig {
            rate_per_sec: 1e6,
            burst: 1_000_000,
            ..LimitConfig::default()
        },
        ..IdentityConfig::default()
    };
    tweak(&mut config);
    let http = Arc::new(FakeHttp::default());
    let dns = Arc::new(FakeDns::default());
    let clock = Arc::new(ManualClock::new());
    let ids = Identities::with_clients(config, http.clone(), dns.clone(), clock.clone()).unwrap();
    Rig {
        ids,
        http,
        dns,
        clock,
    }
}

impl Rig {
    fn account(&self, did: &str, handle: &str) {
        self.http
            .route(&format!("{PLC}/{did}"), 200, &doc_json(did, handle));
    }

    fn well_known(&self, handle: &str, body: &str) {
        self.http.route(
            &format!("https://{handle}/.well-known/atproto-did"),
            200,
            body,
        );
    }

    fn well_known_calls(&self, handle: &str) -> usize {
        self.http
            .calls_to(&format!("https://{handle}/.well-known/atproto-did"))
    }
}

#[test]
fn dns_match_verifies_without_asking_the_web() {
    let r = rig(|_| {});
    let did = plc(1);
    r.account(&did, "Alice.Example.com");
    r.dns.txt(
        "_atproto.alice.example.com",
        &["v=spf1 -all", &format!("did={did}")],
    );
    let id = r.ids.identity(&did).unwrap();
    assert_eq!(id.handle(), "alice.example.com");
    assert!(id.handle.is_verified());
    assert_eq!(r.well_known_calls("alice.example.com"), 0);

    // Cached: no more lookups until purged.
    r.ids.identity(&did).unwrap();
    assert_eq!(r.dns.calls(), 1);
    r.ids.purge(&did);
    r.ids.identity(&did).unwrap();
    assert_eq!(r.dns.calls(), 2);
}

#[test]
fn mismatch_both_ways_is_handle_invalid() {
    let r = rig(|_| {});
    let (did, other) = (plc(2), plc(3));
    r.account(&did, "bob.example.com");
    r.dns
        .txt("_atproto.bob.example.com", &[&format!("did={other}")]);
    r.well_known("bob.example.com", &other);
    let id = r.ids.identity(&did).unwrap();
    assert_eq!(id.handle(), "handle.invalid");
    assert_eq!(
        id.handle,
        HandleStatus::Invalid {
            claimed: Some("bob.example.com".into())
        }
    );
    assert_eq!(id.document.handle.as_deref(), Some("bob.example.com"));
    // A clean "no" is kept the full TTL, not just a negative entry's minute.
    r.clock.advance(Duration::from_secs(120));
    r.ids.identity(&did).unwrap();
    assert_eq!(
        (r.dns.calls(), r.well_known_calls("bob.example.com")),
        (1, 1)
    );
}

#[test]
fn well_known_is_the_fallback() {
    let r = rig(|_| {});
    let did = plc(4);
    r.account(&did, "carol.example.com");
    // No TXT record; the web server answers with the DID and some whitespace.
    r.well_known("carol.example.com", &format!("  {did}\n"));
    assert_eq!(r.ids.identity(&did).unwrap().handle(), "carol.example.com");

    // DNS failing (a timeout) does not stop the well-known method.
    let did2 = plc(5);
    r.account(&did2, "dave.example.com");
    r.dns.fail(
        "_atproto.dave.example.com",
        DnsError::Timeout { name: "x".into() },
    );
    r.well_known("dave.example.com", &did2);
    assert_eq!(r.ids.identity(&did2).unwrap().handle(), "dave.example.com");

    // Ambiguous TXT records (two DIDs) fail the DNS method; the web decides.
    let did3 = plc(6);
    r.account(&did3, "erin.example.com");
    r.dns.txt(
        "_atproto.erin.example.com",
        &[&format!("did={did3}"), "did=did:plc:someoneelse"],
    );
    r.well_known("erin.example.com", "not a did");
    assert_eq!(r.ids.identity(&did3).unwrap().handle(), "handle.invalid");
}

#[test]
fn failures_make_a_short_lived_verdict() {
    let r = rig(|_| {});
    let did = plc(7);
    r.account(&did, "flaky.example.com");
    r.dns.fail(
        "_atproto.flaky.example.com",
        DnsError::Timeout { name: "x".into() },
    );
    r.http.fail(
        "https://flaky.example.com/.well-known/atproto-did",
        HttpError::Timeout {
            host: "flaky.example.com".into(),
        },
    );
    assert_eq!(r.ids.identity(&did).unwrap().handle(), "handle.invalid");
    // Kept as long as a negative entry (60 s), then tried again, and now it works.
    r.ids.identity(&did).unwrap();
    assert_eq!(r.dns.calls(), 1);
    r.dns
        .txt("_atproto.flaky.example.com", &[&format!("did={did}")]);
    r.clock.advance(Duration::from_secs(61));
    assert_eq!(r.ids.identity(&did).unwrap().handle(), "flaky.example.com");
    assert_eq!(r.dns.calls(), 2);
}

#[test]
fn a_new_handle_is_checked_afresh() {
    let r = rig(|_| {});
    let did = plc(8);
    r.account(&did, "old.example.com");
    r.dns
        .txt("_atproto.old.example.com", &[&format!("did={did}")]);
    r.dns
        .txt("_atproto.new.example.com", &[&format!("did={did}")]);
    assert_eq!(r.ids.identity(&did).unwrap().handle(), "old.example.com");
    // Only the document is refreshed (a rotated key, say), and it now claims another handle.
    r.account(&did, "new.example.com");
    r.clock.advance(Duration::from_secs(31));
    r.ids.refresh(&did).unwrap();
    assert_eq!(r.ids.identity(&did).unwrap().handle(), "new.example.com");
}

#[test]
fn no_handle_or_a_reserved_one_needs_no_lookup() {
    let r = rig(|_| {});
    let (none, local) = (plc(9), plc(10));
    r.http.route(
        &format!("{PLC}/{none}"),
        200,
        &format!(r#"{{"id":"{none}"}}"#),
    );
    r.account(&local, "laptop.local");
    assert_eq!(
        r.ids.identity(&none).unwrap().handle,
        HandleStatus::Invalid { claimed: None }
    );
    assert_eq!(r.ids.identity(&local).unwrap().handle(), "handle.invalid");
    // `.test` is reserved outside development networks.
    let t = plc(11);
    r.account(&t, "koch5149-c5.test");
    assert_eq!(r.ids.identity(&t).unwrap().handle(), "handle.invalid");
    assert_eq!((r.dns.calls(), r.http.calls()), (0, 3));
}

#[test]
fn our_rate_limit_is_an_error_not_a_verdict() {
    let r = rig(|c| {
        c.limit.rate_per_sec = 0.001;
        c.limit.burst = 1;
        c.limit.max_wait = Duration::ZERO;
    });
    let did = plc(12);
    r.account(&did, "gina.example.com");
    // One token per host: the DNS lookup takes the handle domain's, so the well-known check
    // cannot start, and that must not be mistaken for a failed handle.
    let result = r.ids.identity(&did);
    assert!(
        matches!(result, Err(ResolveError::RateLimited { .. })),
        "{result:?}"
    );
}

#[test]
fn both_ways_with_the_real_clients() {
    // A loopback DNS responder and web server stand in for the handle's domain, and a loopback
    // directory serves the documents.
    let (by_dns, by_web, liar) = (plc(20), plc(21), plc(22));
    let (d1, d2, d3) = (by_dns.clone(), by_web.clone(), liar.clone());
    let web = HttpServer::start(move |req| match (req.host.as_str(), req.path.as_str()) {
        (_, p) if p == format!("/{d1}") => Reply::ok(doc_json(&d1, "one.example.com")),
        (_, p) if p == format!("/{d2}") => Reply::ok(doc_json(&d2, "two.example.com")),
        (_, p) if p == format!("/{d3}") => Reply::ok(doc_json(&d3, "one.example.com")),
        ("two.example.com", "/.well-known/atproto-did") => Reply::ok(d2.clone()),
        _ => Reply::status(404),
    });
    let d1 = by_dns.clone();
    let dns = DnsResponder::start(move |q, _| {
        let name = simple_dns::Packet::parse(q).unwrap().questions[0]
            .qname
            .to_string();
        vec![if name == "_atproto.one.example.com" {
            txt_reply(q, &[&[&format!("did={d1}")]], RCODE::NoError, false)
        } else {
            txt_reply(q, &[], RCODE::NameError, false)
        }]
    });
    let mut config = IdentityConfig {
        plc_url: web.url(""),
        plain_http: true,
        allow_private_hosts: true,
        dns: DnsConfig {
            nameservers: vec![dns.addr],
            timeout: Duration::from_millis(500),
            attempts: 1,
            tcp_fallback: false,
        },
        ..IdentityConfig::default()
    };
    config.http.resolve_overrides = vec![
        ("one.example.com".into(), web.addr),
        ("two.example.com".into(), web.addr),
    ];
    let http = Arc::new(UreqClient::new(&Identities::http_config(&config).unwrap()));
    let udp = Arc::new(UdpDns::new(&config.dns).unwrap());
    let ids = Identities::with_clients(config, http, udp, Arc::new(SystemClock)).unwrap();

    assert_eq!(ids.identity(&by_dns).unwrap().handle(), "one.example.com");
    assert_eq!(ids.identity(&by_web).unwrap().handle(), "two.example.com");
    // Claiming someone else's handle: DNS names the other DID, the web has nothing.
    assert_eq!(ids.identity(&liar).unwrap().handle(), "handle.invalid");
    assert_eq!(dns.queries(), 3);
}
