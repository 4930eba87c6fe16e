//! SIGTERM/SIGINT: the first asks for a clean stop (the source stops reading, writers drain and
//! commit, the cursor is saved); a second exits at once. Exiting at once corrupts nothing: the
//! saved cursor only ever points at committed work, and uncommitted transactions roll back.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Exit status for a second signal (128 + SIGTERM, as shells report it).
pub const FORCED_EXIT: i32 = 143;

/// How often a sleeping thread looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// Installs the handlers; the flag they set is what every stage watches.
pub fn install() -> Result<Arc<AtomicBool>, std::io::Error> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional exit must see the flag as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(sig, FORCED_EXIT, stop.clone())?;
        signal_hook::flag::register(sig, stop.clone())?;
    }
    Ok(stop)
}

/// Sleeps for `d`, waking early when `stop` is set. False when stopping.
pub fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Relaxed) {
            return false;
        }
        std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
    }
    !stop.load(Relaxed)
}
