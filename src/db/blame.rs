//! Which database errors are the event's fault and which are the database's.
//!
//! The policy: an error that only some data can cause (a constraint, a value PostgreSQL cannot
//! store) is the event's: the writer isolates the event and skips it. Everything else (connection
//! lost, deadlock, serialization, read-only, disk full, shutdown, anything we do not recognise)
//! is the database's: the writer retries with backoff and never skips an event for it, because a
//! database that is down must not turn into events silently lost.

use diesel::result::{DatabaseErrorKind, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// Retry the same work later.
    Database,
    /// Isolate and skip the event that causes it.
    Event,
}

pub fn blame(err: &Error) -> Blame {
    match err {
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::CheckViolation
            | DatabaseErrorKind::RestrictViolation
            | DatabaseErrorKind::ExclusionViolation => Blame::Event,
            DatabaseErrorKind::Unknown => blame_message(info.message()),
            _ => Blame::Database,
        },
        Error::SerializationError(_) | Error::DeserializationError(_) => Blame::Event,
        _ => Blame::Database,
    }
}

/// Diesel does not expose SQLSTATE for the codes it does not name, so the few data errors a
/// hostile record can still cause after validation are recognised by message.
fn blame_message(message: &str) -> Blame {
    const DATA_ERRORS: [&str; 7] = [
        "index row size",
        "index row requires",
        "invalid input syntax",
        "unsupported Unicode escape",
        "invalid byte sequence",
        "out of range",
        "value too long",
    ];
    if DATA_ERRORS.iter().any(|p| message.contains(p)) {
        Blame::Event
    } else {
        Blame::Database
    }
}
