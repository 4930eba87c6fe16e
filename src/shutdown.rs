//! SIGTERM/SIGINT: the first asks for a clean stop (the source stops reading, writers drain and
//! commit, the cursor is saved); a second exits at once. Exiting at once corrupts nothing: the
//! saved cursor only ever points at committed work, and uncommitted transactions roll back.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Exit status for a second signal (128 + SIGTERM, as shells report it).
pub const FORCED_EXIT: i32 = 143;

pub fn install() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional exit must see the flag as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(sig, FORCED_EXIT, stop.clone())
            .map_err(|e| format!("signal handler: {e}"))?;
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    Ok(stop)
}
