//! What becomes of one label of a labeler once its fields passed: its signature checked with
//! the labeler's key (fetched once more when it fails: keys rotate), and what a refusal costs
//! (a count by reason, a log line with labeler and seq; past a hundred per labeler, debug
//! only, so a hostile labeler cannot fill the disk). Kept apart from the reader, which runs
//! the connection.

use std::sync::atomic::Ordering::Relaxed;

use log::{debug, info, warn};

use super::frame::Unverified;
use super::labeler::{self, Labeler, LabelerError};
use super::signature;
use super::stats::LabelerStats;
use crate::backoff::Backoff;
use crate::error_chain::chain;
use crate::identity::Identities;
use crate::stats::Stats;

/// Refusals logged per labeler, one line each; past this they are counted and logged at debug
/// only.
const MAX_REFUSALS_LOGGED: u64 = 100;

/// What a signature check found.
pub(super) enum Sig {
    Good,
    Bad(&'static str, String),
    /// The key could not be fetched again (the directory is unreachable): read the frame again
    /// later rather than refuse a label that may be good.
    Wait,
}

pub(super) struct Checks<'a> {
    pub did: &'a str,
    pub identities: &'a Identities,
    pub stats: &'a Stats,
    pub labeler_stats: &'a LabelerStats,
}

impl Checks<'_> {
    /// Checks a signature with the labeler's key; if it fails, fetches the document once more
    /// (the key may have been rotated) and checks again with the new key.
    /// `key_wait` (the backoff of waits for a key) is reset when a fetch succeeds.
    pub fn signature(
        &self,
        item: &Unverified,
        labeler: &mut Labeler,
        key_wait: &mut Backoff,
    ) -> Sig {
        let Err(first) = signature::verify(&labeler.key, item) else {
            return Sig::Good;
        };
        let fresh = labeler::resolve(self.identities, self.did, true);
        if fresh.is_ok() {
            key_wait.reset();
        }
        match fresh {
            Ok(fresh) if fresh.key_text != labeler.key_text => {
                info!(
                    "labeler did={}: #atproto_label key changed; using the new one",
                    self.did
                );
                *labeler = fresh;
                match signature::verify(&labeler.key, item) {
                    Ok(()) => Sig::Good,
                    Err(e) => Sig::Bad("bad_signature", e.to_string()),
                }
            }
            Ok(_) => Sig::Bad("bad_signature", first.to_string()),
            Err(e) if e.is_transient() => {
                warn!(
                    "labeler did={}: a signature failed and its key cannot be fetched again ({}); reading again later",
                    self.did,
                    chain(&e)
                );
                Sig::Wait
            }
            Err(e @ (LabelerError::NoKey(_) | LabelerError::BadKey { .. })) => {
                Sig::Bad("no_key", e.to_string())
            }
            Err(e) => Sig::Bad("bad_signature", format!("{first}; refresh: {e}")),
        }
    }

    /// Counts and logs a refused label (or frame). Never stored.
    pub fn refuse(
        &self,
        seq: Option<i64>,
        uri: Option<&str>,
        val: Option<&str>,
        reason: &'static str,
        detail: &str,
    ) {
        self.stats.label_refused(reason);
        let n = self.labeler_stats.refused.fetch_add(1, Relaxed) + 1;
        let line = format!(
            "label refused: labeler={} seq={} uri={} val={} reason={reason} detail={detail}",
            self.did,
            seq.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            uri.unwrap_or("-"),
            val.unwrap_or("-"),
        );
        if n <= MAX_REFUSALS_LOGGED {
            warn!("{line}");
            if n == MAX_REFUSALS_LOGGED {
                warn!(
                    "labeler did={}: {MAX_REFUSALS_LOGGED} labels refused; further refusals are counted and logged at debug only",
                    self.did
                );
            }
        } else {
            debug!("{line}");
        }
    }
}
