//! DNS messages for one TXT question: the query we send, and the strict reading of an answer.
//!
//! Pure, so every hostile answer can be tested without a socket. The message codec is
//! `simple-dns` (no dependencies, no async; see README, "Dependencies"); the policy is
//! here: an answer counts only if it carries our id, is a response, and asks exactly our
//! question (anything else is ignored as not ours, so a spoofed or late datagram cannot end the
//! wait); TXT records count only for the name asked or a CNAME reached from it.

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};

use super::error::{short, DnsError};

/// UDP payload size we advertise (EDNS0): the size the DNS flag day of 2020 settled on, large
/// enough for any sane TXT set, small enough to avoid IP fragmentation.
pub const EDNS_UDP_SIZE: u16 = 1232;

/// Longest CNAME chain followed inside one answer.
const MAX_CNAME_HOPS: usize = 8;

/// What one received message means for our question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// An answer: the TXT records (possibly none, also for a name that does not exist).
    Records(Vec<Vec<u8>>),
    /// The server cut the answer: ask again over TCP.
    Truncated,
    /// Not an answer to our question (wrong id, not a response, other question): keep waiting.
    NotOurs,
}

/// The query message for the TXT records of `name`, with recursion desired and EDNS0.
pub fn txt_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let qname = Name::new(name).map_err(|_| DnsError::BadName {
        name: short(name),
        reason: "label or name too long, or a bad escape",
    })?;
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(
        qname,
        QTYPE::TYPE(TYPE::TXT),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    *packet.opt_mut() = Some(simple_dns::rdata::OPT {
        opt_codes: Vec::new(),
        udp_packet_size: EDNS_UDP_SIZE,
        version: 0,
    });
    packet.build_bytes_vec().map_err(|e| DnsError::BadName {
        name: short(name),
        reason: if matches!(e, simple_dns::SimpleDnsError::InvalidServiceName) {
            "name too long"
        } else {
            "cannot be encoded"
        },
    })
}

/// Reads `bytes` as the answer to [`txt_query`]`(id, name)`.
pub fn read_answer(id: u16, name: &str, bytes: &[u8]) -> Result<Reading, DnsError> {
    // Checked on the raw header first: a datagram with another id is not ours whatever else
    // it holds, and must not cost a full parse.
    if bytes.len() < 12 || u16::from_be_bytes([bytes[0], bytes[1]]) != id {
        return Ok(Reading::NotOurs);
    }
    let malformed = |reason: &str| DnsError::Malformed {
        name: short(name),
        reason: short(reason),
    };
    let packet = match Packet::parse(bytes) {
        Ok(p) => p,
        // A truncated answer may be cut mid-record; its header still says so.
        Err(_) if bytes[2] & 0x02 != 0 && bytes[2] & 0x80 != 0 => return Ok(Reading::Truncated),
        Err(e) => return Err(malformed(&e.to_string())),
    };
    let qname = Name::new(name).map_err(|_| malformed("query name"))?;
    if !packet.has_flags(PacketFlag::RESPONSE) || !asks_our_question(&packet, &qname) {
        return Ok(Reading::NotOurs);
    }
    if packet.has_flags(PacketFlag::TRUNCATION) {
        return Ok(Reading::Truncated);
    }
    match packet.rcode() {
        RCODE::NoError => Ok(Reading::Records(txt_records(&packet, qname))),
        RCODE::NameError => Ok(Reading::Records(Vec::new())),
        other => Err(DnsError::ServerFailure {
            name: short(name),
            rcode: format!("{other:?}"),
        }),
    }
}

fn asks_our_question(packet: &Packet, qname: &Name) -> bool {
    match packet.questions.as_slice() {
        [q] => {
            q.qname == *qname
                && q.qtype == QTYPE::TYPE(TYPE::TXT)
                && q.qclass == QCLASS::CLASS(CLASS::IN)
        }
        _ => false,
    }
}

/// TXT records owned by `qname` or by a name a CNAME chain from it reaches, strings joined.
fn txt_records<'a>(packet: &Packet<'a>, qname: Name<'a>) -> Vec<Vec<u8>> {
    let mut owners = vec![qname];
    for _ in 0..MAX_CNAME_HOPS {
        let next = packet.answers.iter().find_map(|rr| match &rr.rdata {
            RData::CNAME(target) if owners.contains(&rr.name) && !owners.contains(&target.0) => {
                Some(target.0.clone())
            }
            _ => None,
        });
        match next {
            Some(name) => owners.push(name),
            None => break,
        }
    }
    packet
        .answers
        .iter()
        .filter(|rr| rr.class == CLASS::IN && owners.contains(&rr.name))
        .filter_map(|rr| match &rr.rdata {
            RData::TXT(txt) => String::try_from(txt.clone()).ok().map(String::into_bytes),
            _ => None,
        })
        .collect()
}
