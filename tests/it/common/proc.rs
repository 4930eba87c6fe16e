//! Running the real `skyindex` binary as a child process, with its log in a file the test can
//! read while it runs.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Running {
    pub child: Child,
    pub log: PathBuf,
    pub started: Instant,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "skyindex-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_skyindex")
}

/// `skyindex run` against `database_url` with extra args; logs go to a file.
pub fn spawn_run(database_url: &str, args: &[&str]) -> Running {
    spawn_run_of(bin(), database_url, args)
}

/// The same with another build of the binary (the chaos suite runs the release build).
pub fn spawn_run_of(binary: &str, database_url: &str, args: &[&str]) -> Running {
    let dir = TempDir::new("run");
    let log = dir.0.join("skyindex.log");
    let child = Command::new(binary)
        .arg("--log-file")
        .arg(&log)
        .arg("run")
        .args(args)
        .env("DATABASE_URL", database_url)
        // The fixtures' accounts lived on a PLC that is gone: these runs believe the relay.
        // Verification tests say `--verify` on their command line, which wins.
        .env("SKYINDEX_VERIFY", "off")
        .env("SKYINDEX_VERIFY_HANDLES", "off")
        .env_remove("RUST_LOG")
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn skyindex");
    Running {
        child,
        log,
        started: Instant::now(),
        _dir: dir,
    }
}

impl Running {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for exit, at most `limit`; kills and panics past it.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "skyindex did not exit within {limit:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the log contains `needle`, at most `limit`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) {
        let until = Instant::now() + limit;
        while !self.log_text().contains(needle) {
            if Instant::now() > until {
                panic!("log never said {needle:?}; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: i32) {
        // kill(1) keeps the tests free of libc bindings; a process already gone is fine.
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// SIGTERM, and a clean exit within 15 s; how long the exit took.
    pub fn stop(&mut self) -> Duration {
        let asked = Instant::now();
        self.signal(15);
        let status = self.wait(Duration::from_secs(15));
        assert!(
            status.success(),
            "exit {status} after SIGTERM; log:\n{}",
            self.log_text()
        );
        asked.elapsed()
    }

    /// The last `stats` line of the log.
    pub fn last_stats(&self) -> String {
        self.log_text()
            .lines()
            .rfind(|l| l.contains(" stats "))
            .unwrap_or("")
            .to_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
