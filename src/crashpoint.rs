//! Named points where the process can be made to die at once, as a `kill -9` would kill it
//! there: the crash tests set `SKYINDEX_CRASH_AT` to a point's name and check that what the
//! restarted process ends with is what an uninterrupted run ends with. Unset (always, in
//! production), a point costs one load of a value read once.
//!
//! The points: `claim` (a repo's claim written, its transaction not committed), `fetched` (a
//! snapshot read, not yet handed to its writer), `cutover` (a cutover's first chunk applied, its
//! transaction open).

use std::sync::OnceLock;

fn wanted() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| {
        std::env::var("SKYINDEX_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())
    })
    .as_deref()
}

/// Dies here with SIGKILL (no destructor, no flush beyond this line) when asked to.
pub fn reached(point: &str) {
    if wanted() == Some(point) {
        log::error!("crash point {point} reached: SIGKILL (SKYINDEX_CRASH_AT)");
        log::logger().flush();
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
        std::process::abort();
    }
}
