//! Holding the database's owner lock (`db::owner`) for the life of a process that writes it:
//! taken before anything is written, so a second instance refuses to start; watched on its own
//! connection, so a session the server lost (a restart, `pg_terminate_backend`) is noticed and
//! the lock taken again. If by then another instance holds it, this one exits at once rather
//! than write beside it; if not, the writers forget the accounts they kept in memory (someone
//! may have written them in between) and go on.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use log::{error, info, warn};
use thiserror::Error;

use crate::backoff::Backoff;
use crate::db::{connect, owner, DbError};
use crate::redact::redact;
use crate::writer::user_cache;

/// Exit status when the lock, once lost, is found held by another instance.
pub const LOST_EXIT: i32 = 3;
/// How often the holding session is checked.
const CHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Error)]
pub enum OwnerError {
    #[error(
        "another skyindex is writing database {url} (its PostgreSQL session: pid {pid}, client {client}, connected since {since}); stop it first, or give this instance its own database"
    )]
    Held {
        url: String,
        pid: String,
        client: String,
        since: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("starting the owner-lock watch")]
    Spawn(#[source] std::io::Error),
}

/// The lock, held until dropped (its session ends with the connection).
pub struct OwnerLock {
    stop: Arc<AtomicBool>,
    watch: Option<JoinHandle<()>>,
}

impl Drop for OwnerLock {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(w) = self.watch.take() {
            let _ = w.join();
        }
    }
}

/// Takes the lock, waiting up to `wait` for a holder to go (a process just killed: its session
/// ends a moment later), then watches it.
pub fn take(url: &str, wait: Duration) -> Result<OwnerLock, OwnerError> {
    let mut conn = connect::connect(url)?;
    let until = Instant::now() + wait;
    let mut said = false;
    loop {
        if owner::try_take(&mut conn).map_err(DbError::query("taking the owner lock"))? {
            break;
        }
        let holder = owner::holder(&mut conn).map_err(DbError::query("the owner lock's holder"))?;
        if Instant::now() >= until {
            let h = holder.as_ref();
            return Err(OwnerError::Held {
                url: redact(url),
                pid: h.map_or_else(|| "?".into(), |h| h.pid.to_string()),
                client: h
                    .and_then(|h| h.client.clone())
                    .unwrap_or_else(|| "local socket".into()),
                since: h
                    .and_then(|h| h.since.clone())
                    .unwrap_or_else(|| "?".into()),
            });
        }
        if !said {
            info!(
                "owner lock: held by another session (pid {}); waiting up to {} s for it to end",
                holder.map_or_else(|| "?".into(), |h| h.pid.to_string()),
                wait.as_secs()
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    info!("owner lock taken: this process is the only one writing the database");
    let stop = Arc::new(AtomicBool::new(false));
    let watch = {
        let stop = stop.clone();
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("owner".into())
            .spawn(move || watch(conn, &url, &stop))
            .map_err(OwnerError::Spawn)?
    };
    Ok(OwnerLock {
        stop,
        watch: Some(watch),
    })
}

fn watch(mut conn: PgConnection, url: &str, stop: &AtomicBool) {
    while crate::shutdown::sleep_unless_stopped(CHECK, stop) {
        if matches!(owner::held(&mut conn), Ok(true)) {
            continue;
        }
        warn!("owner lock: its session is gone; taking it again");
        let Some(again) = reconnect(url, stop) else {
            return;
        };
        conn = again;
        match owner::try_take(&mut conn) {
            Ok(true) => {
                info!("owner lock taken again; the writers read their accounts afresh");
                user_cache::forget_everywhere();
            }
            Ok(false) => {
                error!(
                    "owner lock: another instance took the database while our session was gone; exiting at once, writing nothing more"
                );
                std::process::exit(LOST_EXIT);
            }
            Err(e) => warn!("owner lock: {e}; trying again"),
        }
    }
}

fn reconnect(url: &str, stop: &AtomicBool) -> Option<PgConnection> {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match connect::connect(url) {
            Ok(conn) => return Some(conn),
            Err(e) => {
                let wait = backoff.next_delay();
                warn!("owner lock: {e}; retry in {} ms", wait.as_millis());
                if !crate::shutdown::sleep_unless_stopped(wait, stop) {
                    return None;
                }
            }
        }
    }
}
