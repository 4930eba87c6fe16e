//! Logging for log-file monitoring: one line per record, UTC timestamp, level, message with
//! `key=value` identifiers. To stderr (journald) or to `--log-file`, reopened on SIGHUP so
//! logrotate can move it away.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use env_logger::{Builder, Target};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LoggingError {
    #[error("LOG_LEVEL {0:?}: expected error, warn, info, debug or trace")]
    Level(String),
    #[error("--log-file {}", .0.display())]
    File(PathBuf, #[source] io::Error),
    #[error("SIGHUP handler")]
    Signal(#[source] io::Error),
    #[error("installing the logger")]
    Install(#[source] log::SetLoggerError),
}

/// A log file that reopens itself (same path) on the next write after SIGHUP.
struct ReopeningFile {
    path: PathBuf,
    file: Mutex<File>,
    reopen: Arc<AtomicBool>,
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

struct Handle(Arc<ReopeningFile>);

impl Write for Handle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = self.0.file.lock().unwrap_or_else(|p| p.into_inner());
        if self.0.reopen.swap(false, Relaxed) {
            if let Ok(f) = open(&self.0.path) {
                *file = f;
            }
        }
        file.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .file
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .flush()
    }
}

/// Installs the logger. `level` is LOG_LEVEL; RUST_LOG wins when set.
pub fn init(level: &str, log_file: Option<&Path>) -> Result<(), LoggingError> {
    let level = match level.to_ascii_lowercase().as_str() {
        l @ ("error" | "warn" | "info" | "debug" | "trace" | "off") => l.to_owned(),
        "warning" => "warn".to_owned(),
        other => return Err(LoggingError::Level(other.to_owned())),
    };
    let mut builder = Builder::new();
    // Our own lines at the chosen level; dependencies only when they warn.
    builder.parse_filters(&format!("warn,skyindex={level}"));
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder.format(|buf, record| {
        // One record, one line: messages from libpq and others carry newlines, which would
        // break every grep of the log file.
        let message = record.args().to_string().replace(['\n', '\r'], " ");
        writeln!(
            buf,
            "{} {:<5} {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            record.level(),
            message.trim_end()
        )
    });
    if let Some(path) = log_file {
        let file = open(path).map_err(|e| LoggingError::File(path.to_owned(), e))?;
        let reopen = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGHUP, reopen.clone())
            .map_err(LoggingError::Signal)?;
        let handle = Handle(Arc::new(ReopeningFile {
            path: path.to_owned(),
            file: Mutex::new(file),
            reopen,
        }));
        builder.target(Target::Pipe(Box::new(handle)));
    } else {
        builder.target(Target::Stderr);
    }
    builder.try_init().map_err(LoggingError::Install)
}
