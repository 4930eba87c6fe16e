//! A did:plc directory on loopback, for benchmarks: answers `GET /{did}` with the document
//! `gen_stream --signed DIR` wrote for it (`DIR/dids.json`), 404 for any other path.
//!
//! ```text
//! cargo run --release --example plc_directory -- --documents DIR/dids.json --listen 127.0.0.1:0
//! ```
//!
//! Prints `listening on ADDR` once bound. `GET /_stats` answers the number of documents served
//! so far (so a benchmark can say how many fetches a run made). One thread per connection, HTTP/1.1 keep-alive, no
//! async runtime: the indexer's resolver keeps a few connections open, and a benchmark must
//! measure the indexer, not this server's connection setup.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Serve gen_stream's DID documents as a did:plc directory on loopback")]
struct Args {
    /// The `dids.json` written by `gen_stream --signed DIR`.
    #[arg(long)]
    documents: PathBuf,
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

/// Longest request head accepted; a resolver's GET is a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("plc_directory: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read(&args.documents)
        .map_err(|e| format!("reading {}: {e}", args.documents.display()))?;
    let all: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", args.documents.display()))?;
    // Serialised once: a request costs a lookup and a write.
    let docs: HashMap<String, Vec<u8>> = all
        .into_iter()
        .map(|(did, doc)| (format!("/{did}"), doc.to_string().into_bytes()))
        .collect();
    let docs = Arc::new(docs);
    let served = Arc::new(AtomicU64::new(0));
    let listener =
        TcpListener::bind(&args.listen).map_err(|e| format!("binding {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    eprintln!("plc_directory: {} documents on http://{addr}", docs.len());
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let (docs, served) = (docs.clone(), served.clone());
        std::thread::spawn(move || {
            // A client that goes away mid-request is its own business.
            let _ = serve(conn, &docs, &served);
        });
    }
    Ok(())
}

/// Answers requests on one connection until the client closes it.
fn serve(
    conn: TcpStream,
    docs: &HashMap<String, Vec<u8>>,
    served: &AtomicU64,
) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    loop {
        // The request line, then headers up to the blank line (GETs have no body).
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut head = line.len();
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            head += line.len();
            if head > MAX_HEAD {
                return Ok(());
            }
            let l = line.to_ascii_lowercase();
            if l.starts_with("connection:") && l.contains("close") {
                close = true;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
        }
        let count;
        let (status, body): (&str, &[u8]) = match docs.get(path.as_str()) {
            Some(doc) => {
                served.fetch_add(1, Relaxed);
                ("200 OK", doc)
            }
            None if path == "/_stats" => {
                count = served.load(Relaxed).to_string();
                ("200 OK", count.as_bytes())
            }
            None => ("404 Not Found", b"{\"message\":\"DID not registered\"}"),
        };
        // One write per response: separate small writes would each be a segment (no Nagle).
        let mut reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/did+ld+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        reply.extend_from_slice(body);
        out.write_all(&reply)?;
        if close {
            return Ok(());
        }
    }
}
