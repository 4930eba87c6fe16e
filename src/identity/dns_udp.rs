//! The real [`TxtLookup`]: one question at a time to the system's recursive nameservers, over
//! `std::net::UdpSocket`, TCP when an answer comes back truncated.
//!
//! Blocking and runtime-free on purpose (the caller is a plain thread). Each server gets a fresh
//! socket on an OS-chosen port, connected to the server so the kernel drops datagrams from
//! anyone else, and a random id; datagrams that are not an answer to our question are ignored
//! until the per-server deadline, so a flood of junk costs time already budgeted, never a wrong
//! answer. Servers are tried in order, `attempts` rounds in all.

use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::clock::after;
use super::config::DnsConfig;
use super::dns::TxtLookup;
use super::dns_wire::{read_answer, txt_query, Reading};
use super::error::{short, DnsError};

/// Where the system's nameservers are listed.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// A blocking DNS client for TXT records.
#[derive(Debug)]
pub struct UdpDns {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    attempts: u32,
    tcp_fallback: bool,
    counter: AtomicU64,
}

impl UdpDns {
    /// A client for `config.nameservers`, or those of `/etc/resolv.conf` when it names none.
    pub fn new(config: &DnsConfig) -> Result<UdpDns, DnsError> {
        let servers = if config.nameservers.is_empty() {
            std::fs::read_to_string(RESOLV_CONF)
                .map(|text| nameservers(&text))
                .unwrap_or_default()
        } else {
            config.nameservers.clone()
        };
        if servers.is_empty() {
            return Err(DnsError::NoNameservers);
        }
        Ok(UdpDns {
            servers,
            timeout: config.timeout,
            attempts: config.attempts.max(1),
            tcp_fallback: config.tcp_fallback,
            counter: AtomicU64::new(0),
        })
    }

    /// The nameservers asked, in order.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// A fresh query id: unpredictable (std's randomly keyed hasher over a counter), which with
    /// the random source port is what keeps off-path spoofing out.
    fn next_id(&self) -> u16 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(self.counter.fetch_add(1, Ordering::Relaxed));
        h.finish() as u16
    }

    fn ask_udp(&self, server: SocketAddr, name: &str) -> Result<Reading, DnsError> {
        let io = |e: std::io::Error| DnsError::Io {
            name: short(name),
            message: e.to_string(),
        };
        let id = self.next_id();
        let query = txt_query(id, name)?;
        let local: SocketAddr = match server.ip() {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).map_err(io)?;
        socket.connect(server).map_err(io)?;
        socket.send(&query).map_err(io)?;
        let deadline = after(Instant::now(), self.timeout);
        let mut buf = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DnsError::Timeout { name: short(name) });
            }
            socket.set_read_timeout(Some(left)).map_err(io)?;
            let n = match socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if is_timeout(&e) => return Err(DnsError::Timeout { name: short(name) }),
                Err(e) => return Err(io(e)),
            };
            match read_answer(id, name, &buf[..n])? {
                Reading::NotOurs => continue,
                Reading::Truncated if self.tcp_fallback => return self.ask_tcp(server, name),
                reading => return Ok(reading),
            }
        }
    }

    fn ask_tcp(&self, server: SocketAddr, name: &str) -> Result<Reading, DnsError> {
        let io = |e: std::io::Error| {
            if is_timeout(&e) {
                DnsError::Timeout { name: short(name) }
            } else {
                DnsError::Io {
                    name: short(name),
                    message: e.to_string(),
                }
            }
        };
        let id = self.next_id();
        let query = txt_query(id, name)?;
        let deadline = after(Instant::now(), self.timeout);
        let mut stream = TcpStream::connect_timeout(&server, self.timeout).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let len = u16::try_from(query.len()).map_err(|_| DnsError::BadName {
            name: short(name),
            reason: "query too long",
        })?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        stream.write_all(&framed).map_err(io)?;
        let mut len = [0u8; 2];
        read_exact_by(&mut stream, &mut len, deadline).map_err(io)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        read_exact_by(&mut stream, &mut answer, deadline).map_err(io)?;
        match read_answer(id, name, &answer)? {
            // Over TCP there is nothing else to wait for, and nowhere bigger to go.
            Reading::NotOurs | Reading::Truncated => Err(DnsError::Malformed {
                name: short(name),
                reason: "TCP answer is truncated or not for our question".to_owned(),
            }),
            reading => Ok(reading),
        }
    }
}

impl TxtLookup for UdpDns {
    fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
        let mut last = DnsError::NoNameservers;
        for _ in 0..self.attempts {
            for &server in &self.servers {
                match self.ask_udp(server, name) {
                    Ok(Reading::Records(records)) => return Ok(records),
                    Ok(_) => {
                        last = DnsError::Malformed {
                            name: short(name),
                            reason: "truncated answer".to_owned(),
                        }
                    }
                    Err(e @ DnsError::BadName { .. }) => return Err(e),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }
}

/// `read_exact` that gives up at `deadline` however slowly the bytes trickle in.
fn read_exact_by(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The `nameserver` lines of a resolv.conf, on port 53. Lines that do not parse (an IPv6
/// address with a zone, say) are skipped: a partial list beats none.
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next()?;
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::nameservers;

    #[test]
    fn resolv_conf() {
        let text = "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1 # six\n\
                    nameserver fe80::1%eth0\n  nameserver   10.0.0.2\noptions edns0\n";
        let got: Vec<String> = nameservers(text).iter().map(|a| a.to_string()).collect();
        assert_eq!(got, ["127.0.0.53:53", "[::1]:53", "10.0.0.2:53"]);
    }
}
