//! The real DNS client (UDP, TCP on truncation) against a loopback responder, and the answer
//! reader against hostile messages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simple_dns::RCODE;
use skyindex::identity::config::DnsConfig;
use skyindex::identity::dns::TxtLookup;
use skyindex::identity::dns_udp::UdpDns;
use skyindex::identity::dns_wire::{read_answer, txt_query, Reading};
use skyindex::identity::DnsError;

use super::support::{txt_reply, DnsResponder};

fn client(server: std::net::SocketAddr, timeout_ms: u64, attempts: u32) -> UdpDns {
    UdpDns::new(&DnsConfig {
        nameservers: vec![server],
        timeout: Duration::from_millis(timeout_ms),
        attempts,
        tcp_fallback: true,
    })
    .unwrap()
}

fn strings(records: Vec<Vec<u8>>) -> Vec<String> {
    records
        .into_iter()
        .map(|r| String::from_utf8(r).unwrap())
        .collect()
}

#[test]
fn txt_records_over_udp() {
    let dns = DnsResponder::start(|q, _| {
        let name = simple_dns::Packet::parse(q).unwrap().questions[0]
            .qname
            .to_string();
        vec![match name.as_str() {
            "_atproto.alice.example.com" => txt_reply(
                q,
                &[&["did=did:plc:abc"], &["v=spf1 -all"]],
                RCODE::NoError,
                false,
            ),
            // One record split into several character-strings is one value.
            "_atproto.split.example.com" => {
                txt_reply(q, &[&["did=did:pl", "c:abc"]], RCODE::NoError, false)
            }
            "_atproto.fail.example.com" => txt_reply(q, &[], RCODE::ServerFailure, false),
            _ => txt_reply(q, &[], RCODE::NameError, false),
        }]
    });
    let c = client(dns.addr, 1000, 1);
    assert_eq!(
        strings(c.txt("_atproto.alice.example.com").unwrap()),
        ["did=did:plc:abc", "v=spf1 -all"]
    );
    assert_eq!(
        strings(c.txt("_atproto.split.example.com").unwrap()),
        ["did=did:plc:abc"]
    );
    assert!(c.txt("_atproto.nobody.example.com").unwrap().is_empty());
    assert!(matches!(
        c.txt("_atproto.fail.example.com"),
        Err(DnsError::ServerFailure { .. })
    ));
    assert!(matches!(
        c.txt(&format!("{}.com", "a".repeat(64))),
        Err(DnsError::BadName { .. })
    ));
}

#[test]
fn junk_before_the_answer_is_ignored() {
    let dns = DnsResponder::start(|q, _| {
        let good = txt_reply(q, &[&["did=did:plc:abc"]], RCODE::NoError, false);
        let mut wrong_id = good.clone();
        wrong_id[0] ^= 0xff;
        let mut not_a_response = good.clone();
        not_a_response[2] &= 0x7f;
        vec![b"junk".to_vec(), wrong_id, not_a_response, q.to_vec(), good]
    });
    let c = client(dns.addr, 1000, 1);
    assert_eq!(
        strings(c.txt("_atproto.alice.example.com").unwrap()),
        ["did=did:plc:abc"]
    );
}

#[test]
fn silence_times_out_after_every_attempt() {
    let dns = DnsResponder::start(|_, _| Vec::new());
    let c = client(dns.addr, 200, 2);
    let start = Instant::now();
    assert!(matches!(
        c.txt("_atproto.alice.example.com"),
        Err(DnsError::Timeout { .. })
    ));
    assert!(start.elapsed() >= Duration::from_millis(400));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(dns.queries(), 2);
}

#[test]
fn a_malformed_answer_with_our_id_is_an_error_not_a_panic() {
    let dns = DnsResponder::start(|q, _| {
        let mut bad = txt_reply(q, &[&["did=did:plc:abc"]], RCODE::NoError, false);
        bad.truncate(bad.len() - 3);
        vec![bad]
    });
    let c = client(dns.addr, 500, 1);
    assert!(matches!(
        c.txt("_atproto.alice.example.com"),
        Err(DnsError::Malformed { .. })
    ));
}

#[test]
fn truncated_answers_are_asked_again_over_tcp() {
    let udp_seen = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&udp_seen);
    let dns = DnsResponder::start(move |q, tcp| {
        if tcp {
            vec![txt_reply(
                q,
                &[&["did=did:plc:overtcp"]],
                RCODE::NoError,
                false,
            )]
        } else {
            seen.fetch_add(1, Ordering::SeqCst);
            vec![txt_reply(q, &[], RCODE::NoError, true)]
        }
    });
    if !dns.tcp {
        eprintln!("skipping: the responder's UDP port is taken for TCP");
        return;
    }
    let c = client(dns.addr, 1000, 1);
    assert_eq!(
        strings(c.txt("_atproto.alice.example.com").unwrap()),
        ["did=did:plc:overtcp"]
    );
    assert_eq!(udp_seen.load(Ordering::SeqCst), 1);
}

#[test]
fn cname_chains_are_followed_within_the_answer() {
    use simple_dns::rdata::{RData, CNAME, TXT};
    use simple_dns::{Name, Packet, ResourceRecord, CLASS};
    let query = txt_query(7, "_atproto.alice.example.com").unwrap();
    let q = Packet::parse(&query).unwrap();
    let mut reply = Packet::new_reply(7);
    reply.questions = q.questions.clone();
    let target = Name::new_unchecked("_atproto.hosting.example.net");
    reply.answers.push(ResourceRecord::new(
        q.questions[0].qname.clone(),
        CLASS::IN,
        60,
        RData::CNAME(CNAME(target.clone())),
    ));
    reply.answers.push(ResourceRecord::new(
        target,
        CLASS::IN,
        60,
        RData::TXT(TXT::new().with_string("did=did:plc:viacname").unwrap()),
    ));
    // A TXT record for an unrelated name in the same answer is not ours.
    reply.answers.push(ResourceRecord::new(
        Name::new_unchecked("_atproto.evil.example.org"),
        CLASS::IN,
        60,
        RData::TXT(TXT::new().with_string("did=did:plc:evil").unwrap()),
    ));
    let bytes = reply.build_bytes_vec().unwrap();
    assert_eq!(
        read_answer(7, "_atproto.alice.example.com", &bytes).unwrap(),
        Reading::Records(vec![b"did=did:plc:viacname".to_vec()])
    );
    // Another question in the reply: not an answer to ours.
    assert_eq!(
        read_answer(7, "_atproto.bob.example.com", &bytes).unwrap(),
        Reading::NotOurs
    );
    assert_eq!(
        read_answer(8, "_atproto.alice.example.com", &bytes).unwrap(),
        Reading::NotOurs
    );
}

#[test]
fn hostile_answers_never_panic() {
    use rand::{Rng, SeedableRng};
    let name = "_atproto.alice.example.com";
    let query = txt_query(0x1234, name).unwrap();
    let good = txt_reply(
        &query,
        &[&["did=did:plc:abc"], &["x"; 20]],
        RCODE::NoError,
        false,
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    for round in 0..20_000 {
        let mut bytes = if round % 4 == 0 {
            (0..rng.random_range(0..600))
                .map(|_| rng.random())
                .collect::<Vec<u8>>()
        } else {
            good.clone()
        };
        if bytes.len() >= 2 {
            bytes[0] = 0x12;
            bytes[1] = 0x34;
        }
        for _ in 0..rng.random_range(0..6) {
            if bytes.is_empty() {
                break;
            }
            let i = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[i] = rng.random(),
                1 => bytes.truncate(i),
                // Compression pointers to anywhere, including loops.
                _ => bytes[i] = 0xc0,
            }
        }
        let _ = read_answer(0x1234, name, &bytes);
    }
}
