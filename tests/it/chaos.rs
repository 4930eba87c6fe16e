//! Crash, fault and hostile-input tests: the real binary, the real PostgreSQL, and a database
//! that must end equal to a clean, uninterrupted run's. The fast versions run with `cargo test`;
//! `scripts/chaos.sh` runs every scenario at scale and prints the figures (RELIABILITY.md).
//!
//! - kill.rs: SIGKILL at random moments, restarts from the saved cursor (scenario 1)
//! - relay_faults.rs: the replay server's faults, all at once; at scale, ignored (scenario 3)
//! - hostile.rs: a generated capture with 1% hostile frames (scenario 5)
//! - shutdown.rs: the cursor keeper's connection lost just before SIGTERM (scenario 2)

mod hostile;
mod kill;
mod relay_faults;
mod shutdown;
mod support;
