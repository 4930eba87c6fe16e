//! Test doubles for identity: a loopback HTTP/1.1 server with scripted replies (for the real
//! client), an in-memory `HttpGet` and `TxtLookup` (for the logic above them), and a loopback
//! DNS responder (for the real DNS client). Everything binds 127.0.0.1 and stops on drop.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use skyindex::identity::dns::TxtLookup;
use skyindex::identity::http::{HttpGet, HttpResponse};
use skyindex::identity::{DnsError, HttpError};

/// A document for `did` claiming `handle`, with a key and a PDS.
pub fn doc_json(did: &str, handle: &str) -> String {
    format!(
        r##"{{"@context":["https://www.w3.org/ns/did/v1"],"id":"{did}","alsoKnownAs":["at://{handle}"],
        "verificationMethod":[{{"id":"{did}#atproto","type":"Multikey","controller":"{did}",
        "publicKeyMultibase":"zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}}],
        "service":[{{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.example.com"}}]}}"##
    )
}

/// A valid did:plc for test number `n`.
pub fn plc(n: usize) -> String {
    let mut id = String::new();
    let mut x = n;
    for _ in 0..24 {
        id.push((b'a' + (x % 26) as u8) as char);
        x /= 26;
    }
    format!("did:plc:{id}")
}

// ---------------------------------------------------------------------------------------------
// Loopback HTTP server.

/// What the server does with one request.
pub enum Reply {
    /// Status, extra headers, body (sent with Content-Length).
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// 200 with no Content-Length, `len` bytes then close: a body that only ends when it ends.
    Unsized(usize),
    /// 200, then the body one byte every `every`, `len` bytes in all.
    Drip { len: usize, every: Duration },
    /// Raw bytes, then close.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full(200, Vec::new(), body.into())
    }

    pub fn status(status: u16) -> Reply {
        Reply::Full(status, Vec::new(), Vec::new())
    }

    pub fn redirect(location: &str) -> Reply {
        Reply::Full(302, vec![("Location".into(), location.into())], Vec::new())
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub host: String,
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct HttpServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, handler, stop) =
                        (Arc::clone(&seen), Arc::clone(&handler), Arc::clone(&stop));
                    std::thread::spawn(move || serve(conn, &seen, &*handler, &stop));
                }
            })
        };
        HttpServer {
            addr,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn requests_to(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .count()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
    let host = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("host").then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    let request = Seen { path, host };
    seen.lock().unwrap().push(request.clone());
    let _ = match handler(&request) {
        Reply::Full(status, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            conn.write_all(out.as_bytes())
                .and_then(|_| conn.write_all(&body))
        }
        Reply::Unsized(len) => conn
            .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            .and_then(|_| {
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = len;
                while left > 0 && !stop.load(Ordering::SeqCst) {
                    let n = left.min(chunk.len());
                    conn.write_all(&chunk[..n])?;
                    left -= n;
                }
                Ok(())
            }),
        Reply::Drip { len, every } => conn
            .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes())
            .and_then(|_| {
                for _ in 0..len {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    conn.write_all(b" ")?;
                    std::thread::sleep(every);
                }
                Ok(())
            }),
        Reply::Raw(bytes) => conn.write_all(&bytes),
    };
}

// ---------------------------------------------------------------------------------------------
// In-memory HTTP and DNS.

/// An `HttpGet` answering from a table, counting calls per URL, optionally slow.
#[derive(Default)]
pub struct FakeHttp {
    pub routes: Mutex<HashMap<String, Result<HttpResponse, HttpError>>>,
    pub calls: Mutex<Vec<String>>,
    pub delay: Mutex<Duration>,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl FakeHttp {
    pub fn route(&self, url: &str, status: u16, body: &str) {
        self.routes.lock().unwrap().insert(
            url.to_owned(),
            Ok(HttpResponse {
                status,
                body: body.as_bytes().to_vec(),
                retry_after: None,
            }),
        );
    }

    pub fn fail(&self, url: &str, error: HttpError) {
        self.routes
            .lock()
            .unwrap()
            .insert(url.to_owned(), Err(error));
    }

    pub fn calls_to(&self, url: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|u| *u == url)
            .count()
    }

    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl HttpGet for FakeHttp {
    fn get(&self, url: &str, _accept: &str, max_body: usize) -> Result<HttpResponse, HttpError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.calls.lock().unwrap().push(url.to_owned());
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let answer = self
            .routes
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .unwrap_or(Ok(HttpResponse {
                status: 404,
                body: Vec::new(),
                retry_after: None,
            }));
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut answer = answer?;
        if answer.body.len() > max_body {
            return Err(HttpError::TooLarge {
                host: "fake".into(),
                max: max_body,
            });
        }
        answer.body.truncate(max_body);
        Ok(answer)
    }
}

/// What a TXT lookup returns.
type TxtAnswer = Result<Vec<Vec<u8>>, DnsError>;

/// A `TxtLookup` answering from a table; names not in it have no records.
#[derive(Default)]
pub struct FakeDns {
    pub records: Mutex<HashMap<String, TxtAnswer>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeDns {
    pub fn txt(&self, name: &str, values: &[&str]) {
        self.records.lock().unwrap().insert(
            name.to_owned(),
            Ok(values.iter().map(|v| v.as_bytes().to_vec()).collect()),
        );
    }

    pub fn fail(&self, name: &str, error: DnsError) {
        self.records
            .lock()
            .unwrap()
            .insert(name.to_owned(), Err(error));
    }

    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl TxtLookup for FakeDns {
    fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
        self.calls.lock().unwrap().push(name.to_owned());
        self.records
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or(Ok(Vec::new()))
    }
}

// ---------------------------------------------------------------------------------------------
// Loopback DNS responder.

/// A UDP (and, when the same port is free, TCP) DNS server on 127.0.0.1 whose answers are
/// scripted: the handler gets each query's bytes and returns the datagrams to send back (none,
/// junk, several). Over TCP the handler's last datagram is sent, length-prefixed.
pub struct DnsResponder {
    pub addr: SocketAddr,
    pub tcp: bool,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

type DnsHandler = dyn Fn(&[u8], bool) -> Vec<Vec<u8>> + Send + Sync;

impl DnsResponder {
    /// `handler(query, over_tcp)`.
    pub fn start(handler: impl Fn(&[u8], bool) -> Vec<Vec<u8>> + Send + Sync + 'static) -> Self {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("udp addr");
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let handler: Arc<DnsHandler> = Arc::new(handler);
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        {
            let (handler, queries, stop) = (
                Arc::clone(&handler),
                Arc::clone(&queries),
                Arc::clone(&stop),
            );
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::SeqCst) {
                    let Ok((n, from)) = udp.recv_from(&mut buf) else {
                        continue;
                    };
                    queries.fetch_add(1, Ordering::SeqCst);
                    for datagram in handler(&buf[..n], false) {
                        let _ = udp.send_to(&datagram, from);
                    }
                }
            }));
        }
        let tcp = TcpListener::bind(addr).ok();
        let has_tcp = tcp.is_some();
        if let Some(listener) = tcp {
            listener.set_nonblocking(true).unwrap();
            let (handler, queries, stop) = (
                Arc::clone(&handler),
                Arc::clone(&queries),
                Arc::clone(&stop),
            );
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut conn, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut len = [0u8; 2];
                    if conn.read_exact(&mut len).is_err() {
                        continue;
                    }
                    let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if conn.read_exact(&mut query).is_err() {
                        continue;
                    }
                    queries.fetch_add(1, Ordering::SeqCst);
                    if let Some(answer) = handler(&query, true).pop() {
                        let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&answer);
                        let _ = conn.write_all(&framed);
                    }
                }
            }));
        }
        DnsResponder {
            addr,
            tcp: has_tcp,
            queries,
            stop,
            threads,
        }
    }

    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A reply to `query` (its id and question copied) with the given TXT records, each a list of
/// character-strings, and flags/rcode as given.
pub fn txt_reply(
    query: &[u8],
    records: &[&[&str]],
    rcode: simple_dns::RCODE,
    truncated: bool,
) -> Vec<u8> {
    use simple_dns::rdata::{RData, TXT};
    use simple_dns::{Packet, PacketFlag, ResourceRecord, CLASS};
    let q = Packet::parse(query).expect("our own query parses");
    let mut reply = Packet::new_reply(q.id());
    reply.questions = q.questions.clone();
    *reply.rcode_mut() = rcode;
    if truncated {
        reply.set_flags(PacketFlag::TRUNCATION);
    }
    let name = q.questions[0].qname.clone();
    for strings in records {
        let mut txt = TXT::new();
        for s in *strings {
            txt.add_string(s).unwrap();
        }
        reply.answers.push(ResourceRecord::new(
            name.clone(),
            CLASS::IN,
            300,
            RData::TXT(txt),
        ));
    }
    reply.build_bytes_vec().unwrap()
}
