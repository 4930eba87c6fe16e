//! The replay server: exactly the frames after the cursor, FutureCursor, a malformed cursor,
//! the live-tip option, every fault with the reconnects it calls for, pacing, and the command
//! stopping on SIGTERM.

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use skyindex::decode::{decode_frame, ErrorFrame, Frame};
use skyindex::replay::{ReplayOptions, ReplayServer, WithoutCursor};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::{fixture_frames, seq_of, serve};
use crate::common::pds_small;

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// How long without a message counts as the server having fallen silent. Generous, so a slow
/// machine does not pass for an idle server.
const SILENCE: Duration = Duration::from_secs(1);

fn client(server: &ReplayServer, cursor: Option<i64>) -> Client {
    let mut url = format!("{}/xrpc/com.atproto.sync.subscribeRepos", server.url());
    if let Some(c) = cursor {
        url.push_str(&format!("?cursor={c}"));
    }
    let (ws, _) = tungstenite::connect(url).expect("connect");
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(SILENCE)).unwrap();
    }
    ws
}

#[derive(Debug, PartialEq)]
enum Got {
    Frame(Vec<u8>),
    Closed,
    /// Nothing within the read timeout: the server is idle with the socket open.
    Silent,
}

fn next(ws: &mut Client) -> Got {
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => return Got::Frame(b.to_vec()),
            Ok(Message::Close(_)) => return Got::Closed,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Got::Silent
            }
            Err(_) => return Got::Closed,
        }
    }
}

/// Reads frames until the server closes or falls silent.
fn drain(ws: &mut Client) -> (Vec<Vec<u8>>, Got) {
    let mut frames = Vec::new();
    loop {
        match next(ws) {
            Got::Frame(f) => frames.push(f),
            end => return (frames, end),
        }
    }
}

#[test]
fn sends_exactly_the_frames_after_the_cursor() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions::default());
    let mut ws = client(&server, Some(500));
    let (got, end) = drain(&mut ws);
    let expected: Vec<Vec<u8>> = fixture
        .iter()
        .filter(|f| seq_of(f).is_some_and(|s| s > 500))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 499);
    assert!(got == expected, "frames after cursor 500 differ");
    assert_eq!(
        end,
        Got::Silent,
        "the socket stays open after the last frame"
    );
    // Pings are answered while idle.
    ws.send(Message::Ping(vec![1, 2, 3].into())).unwrap();
    assert_eq!(next(&mut ws), Got::Silent);
    ws.close(None).unwrap();

    let mut from_start = client(&server, None);
    assert_eq!(drain(&mut from_start).0.len(), fixture.len());
    assert_eq!(server.cursors(), vec![Some(500), None]);
}

#[test]
fn answers_a_future_cursor_with_an_error_frame() {
    let server = serve(ReplayOptions::default());
    let mut ws = client(&server, Some(999_999));
    let Got::Frame(f) = next(&mut ws) else {
        panic!("no error frame")
    };
    assert!(matches!(
        decode_frame(&f),
        Ok(Frame::Error(ErrorFrame::FutureCursor(_)))
    ));
    assert_eq!(next(&mut ws), Got::Closed);

    // The last seq itself is not in the future: nothing to send, socket open.
    let mut at_tip = client(&server, Some(999));
    assert_eq!(next(&mut at_tip), Got::Silent);
}

#[test]
fn refuses_a_malformed_cursor() {
    let server = serve(ReplayOptions::default());
    let url = format!(
        "{}/xrpc/com.atproto.sync.subscribeRepos?cursor=abc",
        server.url()
    );
    match tungstenite::connect(url) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
}

#[test]
fn without_cursor_can_start_at_the_live_tip() {
    let server = serve(ReplayOptions {
        without_cursor: WithoutCursor::LiveTip,
        ..ReplayOptions::default()
    });
    let mut ws = client(&server, None);
    assert_eq!(next(&mut ws), Got::Silent);
}

/// Connects again and again, each time with the last seq received, until everything has come.
fn follow(server: &ReplayServer, total: usize) -> Vec<Vec<u8>> {
    let mut got: Vec<Vec<u8>> = Vec::new();
    for _ in 0..50 {
        let cursor = got.iter().rev().find_map(|f| seq_of(f)).unwrap_or(0);
        let mut ws = client(server, Some(cursor));
        let (frames, _) = drain(&mut ws);
        got.extend(frames);
        if got.iter().filter(|f| seq_of(f).is_some()).count() >= total {
            return got;
        }
    }
    panic!("never got all frames");
}

#[test]
fn drops_every_n_frames_and_a_reconnect_continues_exactly() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions {
        drop_every: Some(100),
        ..ReplayOptions::default()
    });
    let got = follow(&server, fixture.len());
    assert!(
        got == fixture,
        "reassembled stream differs from the capture"
    );
    let cursors: Vec<Option<i64>> = (0..10).map(|i| Some(i * 100)).collect();
    assert_eq!(server.cursors(), cursors);
    assert_eq!(server.connections(), 10);
    assert_eq!(server.frames_sent(), fixture.len() as u64);
}

#[test]
fn error_frame_fault_fires_once_then_the_stream_goes_on() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions {
        error_frame_after: Some((50, "ConsumerTooSlow".into())),
        ..ReplayOptions::default()
    });
    let mut ws = client(&server, Some(0));
    let (mut frames, end) = drain(&mut ws);
    assert_eq!(end, Got::Closed);
    assert_eq!(frames.len(), 51);
    let error = frames.pop().unwrap();
    assert!(matches!(
        decode_frame(&error),
        Ok(Frame::Error(ErrorFrame::ConsumerTooSlow(_)))
    ));
    assert!(frames[..] == fixture[..50]);
    let mut again = client(&server, Some(50));
    let (rest, end) = drain(&mut again);
    assert_eq!(end, Got::Silent);
    assert!(rest[..] == fixture[50..]);
}

#[test]
fn stall_fault_goes_silent_once() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions {
        stall_after: Some(20),
        ..ReplayOptions::default()
    });
    let mut ws = client(&server, Some(0));
    let (first, end) = drain(&mut ws);
    assert_eq!((first.len(), end), (20, Got::Silent));
    let mut again = client(&server, Some(20));
    assert!(drain(&mut again).0[..] == fixture[20..]);
}

#[test]
fn garbage_fault_inserts_undecodable_messages() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions {
        garbage_every: Some(40),
        ..ReplayOptions::default()
    });
    let mut ws = client(&server, Some(900));
    let (got, _) = drain(&mut ws);
    let (garbage, frames): (Vec<_>, Vec<_>) =
        got.into_iter().partition(|f| decode_frame(f).is_err());
    assert_eq!(garbage.len(), 2);
    assert!(frames[..] == fixture[900..]);
}

#[test]
fn paces_to_the_rate() {
    let server = serve(ReplayOptions {
        rate: Some(100.0),
        ..ReplayOptions::default()
    });
    let mut ws = client(&server, Some(979));
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert!(matches!(next(&mut ws), Got::Frame(_)));
    }
    // The first frame goes at once, the 20th 19/100 s later.
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(next(&mut ws), Got::Silent);
}

#[test]
fn command_serves_until_sigterm() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let frames = pds_small().join("frames.bin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_skyindex"))
        .args([
            "replay",
            "--file",
            frames.to_str().unwrap(),
            "--listen",
            &listen,
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start replay");
    let url = format!("ws://{listen}/xrpc/com.atproto.sync.subscribeRepos?cursor=990");
    let mut ws = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            tungstenite::connect(&url).ok()
        })
        .expect("replay comes up")
        .0;
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(SILENCE)).unwrap();
    }
    assert_eq!(drain(&mut ws).0.len(), 9);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        next(&mut ws),
        Got::Closed,
        "clients are told the server is going"
    );
    assert!(child.wait().unwrap().success());
}
