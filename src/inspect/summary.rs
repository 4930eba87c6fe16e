//! The counts `skyindex inspect` reports for a capture, kept as a pure accumulator
//! ([`Summary::add`] per decoded frame) so tests can check them without running the binary.
//!
//! Field names and meanings follow the `capture` section of `summary.json` written by
//! `tools/pds-capture` (`lib/inspect.js`), so a summary can be compared with that tool's key for
//! key. Where the two differ it is because we decode strictly: ops and account statuses come from
//! frames that decoded; frames and ops that did not are counted under `invalid`, by reason.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

use serde::Serialize;

use crate::decode::{ErrorFrame, Frame, FrameError, TypedEvent};

/// How many seq gaps are kept to show; the rest are only counted.
pub const GAPS_KEPT: usize = 10;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitSummary {
    /// Valid ops by action.
    pub ops: BTreeMap<String, u64>,
    /// Valid ops by `collection action`.
    pub ops_by_collection: BTreeMap<String, u64>,
    /// Commits with more than one op (valid or not).
    pub multi_op_commits: u64,
    pub max_ops_per_commit: u64,
    pub too_big: u64,
    pub rebase: u64,
    pub with_prev_data: u64,
    pub blocks_bytes: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    /// `active`, or `inactive:<status>` (plain `inactive` when no status is given).
    pub by_status: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySummary {
    pub with_handle: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidSummary {
    /// Frames that did not decode, by reason (variable parts masked, see [`reason_group`]).
    pub frames: BTreeMap<String, u64>,
    /// Ops of decoded commits that we would not index, by reason.
    pub ops: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub frames: u64,
    pub frame_bytes: u64,
    pub max_frame_bytes: u64,
    /// Every frame by its header's `t`; `(error)` for `op = -1`, `(unreadable)` when a bad frame
    /// gave no type. Sums to `frames`.
    pub by_type: BTreeMap<String, u64>,
    /// Error frames (`op = -1`) by their `error` name.
    pub error_frames: BTreeMap<String, u64>,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// How many times seq jumped forward by more than one.
    pub seq_gap_count: u64,
    /// The first [`GAPS_KEPT`] gaps as `[seq before, seq after]`.
    pub seq_gaps: Vec<[i64; 2]>,
    /// Seqs not above the one before them.
    pub non_monotonic: u64,
    pub commit: CommitSummary,
    pub account: AccountSummary,
    pub identity: IdentitySummary,
    pub distinct_dids: u64,
    pub invalid: InvalidSummary,
    #[serde(skip)]
    dids: HashSet<String>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Counts one frame of `len` bytes as it decoded.
    pub fn add(&mut self, frame: &Result<Frame, FrameError>, len: usize) {
        self.frames += 1;
        self.frame_bytes += len as u64;
        self.max_frame_bytes = self.max_frame_bytes.max(len as u64);
        let (t, seq, did): (&str, Option<i64>, Option<&str>) = match frame {
            Ok(Frame::Event(e)) => (header_type(e), e.seq(), e.did()),
            Ok(Frame::Skipped(s)) => (&s.t, s.seq, s.did.as_deref()),
            Ok(Frame::Error(e)) => {
                bump(&mut self.error_frames, error_name(e));
                ("(error)", None, None)
            }
            // A bad frame's seq and repo are still the relay's, so they count for the seq range
            // and DIDs; leaving them out would report gaps that are not there.
            Err(e) => (
                e.t.as_deref().unwrap_or("(unreadable)"),
                e.seq,
                e.did.as_deref(),
            ),
        };
        bump(&mut self.by_type, t);
        if let Some(seq) = seq {
            self.see_seq(seq);
        }
        if let Some(did) = did {
            if !self.dids.contains(did) {
                self.dids.insert(did.to_owned());
                self.distinct_dids += 1;
            }
        }
        match frame {
            Ok(Frame::Event(e)) => self.add_event(e),
            Ok(_) => {}
            Err(e) => bump(
                &mut self.invalid.frames,
                &reason_group(&e.error.to_string()),
            ),
        }
    }

    fn see_seq(&mut self, seq: i64) {
        if let Some(prev) = self.last_seq {
            if seq <= prev {
                self.non_monotonic += 1;
            } else if seq != prev + 1 {
                self.seq_gap_count += 1;
                if self.seq_gaps.len() < GAPS_KEPT {
                    self.seq_gaps.push([prev, seq]);
                }
            }
        }
        self.first_seq.get_or_insert(seq);
        self.last_seq = Some(seq);
    }

    fn add_event(&mut self, event: &TypedEvent) {
        match event {
            TypedEvent::Commit(c) => {
                let c_sum = &mut self.commit;
                let n = (c.ops.len() + c.invalid.len()) as u64;
                if n > 1 {
                    c_sum.multi_op_commits += 1;
                }
                c_sum.max_ops_per_commit = c_sum.max_ops_per_commit.max(n);
                c_sum.too_big += u64::from(c.too_big);
                c_sum.rebase += u64::from(c.rebase);
                c_sum.with_prev_data += u64::from(c.prev_data.is_some());
                c_sum.blocks_bytes += c.blocks_len as u64;
                for op in &c.ops {
                    let action = op.action.as_str();
                    bump(&mut c_sum.ops, action);
                    bump(
                        &mut c_sum.ops_by_collection,
                        &format!("{} {action}", op.collection),
                    );
                }
                for bad in &c.invalid {
                    bump(&mut self.invalid.ops, &reason_group(&bad.reason));
                }
            }
            TypedEvent::Account(a) => {
                let key = match (&a.status, a.active) {
                    (_, true) => "active".to_owned(),
                    (Some(s), false) => format!("inactive:{}", s.as_str()),
                    (None, false) => "inactive".to_owned(),
                };
                bump(&mut self.account.by_status, &key);
            }
            TypedEvent::Identity(i) => {
                self.identity.with_handle += u64::from(i.handle.is_some());
            }
            TypedEvent::Sync(_) | TypedEvent::Info(_) => {}
        }
    }

    /// Human-readable report, one topic per block.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "frames {}  bytes {}  largest {}",
            self.frames, self.frame_bytes, self.max_frame_bytes
        )?;
        write_counts(out, "by type", &self.by_type)?;
        write_counts(out, "error frames", &self.error_frames)?;
        match (self.first_seq, self.last_seq) {
            (Some(first), Some(last)) => writeln!(out, "seq {first} .. {last}")?,
            _ => writeln!(out, "seq none")?,
        }
        write!(out, "seq gaps {}", self.seq_gap_count)?;
        for [before, after] in &self.seq_gaps {
            write!(out, "  {}..{}", before + 1, after - 1)?;
        }
        if self.seq_gap_count > self.seq_gaps.len() as u64 {
            write!(out, "  …")?;
        }
        writeln!(out)?;
        writeln!(out, "non-monotonic seqs {}", self.non_monotonic)?;
        let c = &self.commit;
        writeln!(
            out,
            "commits: multi-op {}  max ops {}  tooBig {}  rebase {}  with prevData {}  blocks bytes {}",
            c.multi_op_commits, c.max_ops_per_commit, c.too_big, c.rebase, c.with_prev_data,
            c.blocks_bytes
        )?;
        write_counts(out, "ops", &c.ops)?;
        write_counts(out, "ops by collection", &c.ops_by_collection)?;
        write_counts(out, "accounts by status", &self.account.by_status)?;
        writeln!(out, "identities with handle {}", self.identity.with_handle)?;
        writeln!(out, "distinct DIDs {}", self.distinct_dids)?;
        write_counts(out, "invalid frames", &self.invalid.frames)?;
        write_counts(out, "invalid ops", &self.invalid.ops)
    }
}

fn write_counts(
    out: &mut dyn Write,
    title: &str,
    counts: &BTreeMap<String, u64>,
) -> io::Result<()> {
    if counts.is_empty() {
        return writeln!(out, "{title}: none");
    }
    writeln!(out, "{title}:")?;
    let width = counts.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (k, n) in counts {
        writeln!(out, "  {k:<width$}  {n:>8}")?;
    }
    Ok(())
}

/// The `t` the frame's header carried; decoding maps the legacy types onto modern events and
/// keeps a flag, which brings the original name back.
fn header_type(event: &TypedEvent) -> &'static str {
    match event {
        TypedEvent::Commit(_) => "#commit",
        TypedEvent::Sync(_) => "#sync",
        TypedEvent::Identity(i) if i.legacy => "#handle",
        TypedEvent::Identity(_) => "#identity",
        TypedEvent::Account(a) if a.legacy => "#tombstone",
        TypedEvent::Account(_) => "#account",
        TypedEvent::Info(_) => "#info",
    }
}

pub fn error_name(e: &ErrorFrame) -> &str {
    match e {
        ErrorFrame::FutureCursor(_) => "FutureCursor",
        ErrorFrame::ConsumerTooSlow(_) => "ConsumerTooSlow",
        ErrorFrame::Other { error, .. } => error,
    }
}

/// A reason without its variable parts, so that reasons differing only in a seq, an offset, a
/// CID or a quoted value are counted together: the first two `: `-separated clauses (the first
/// names where, the second what), with numbers, quoted values, DIDs, URIs and CIDs masked as `…`.
pub fn reason_group(reason: &str) -> String {
    let head: Vec<&str> = reason.splitn(3, ": ").take(2).collect();
    head.join(": ")
        .split(' ')
        .map(mask_word)
        .collect::<Vec<_>>()
        .join(" ")
}

fn mask_word(word: &str) -> &str {
    let core = word.trim_matches(|c: char| ",.;()[]{}".contains(c));
    let variable = core.parse::<f64>().is_ok()
        || core.starts_with(['"', '\''])
        || core.starts_with("did:")
        || core.starts_with("at://")
        || (core.len() >= 20 && core.contains(|c: char| c.is_ascii_digit()));
    if variable {
        "…"
    } else {
        word
    }
}

#[cfg(test)]
mod tests {
    use super::reason_group;

    #[test]
    fn reasons_lose_their_variable_parts() {
        assert_eq!(
            reason_group("frame of 5000 bytes is over the 2000000 byte limit"),
            "frame of … bytes is over the … byte limit"
        );
        assert_eq!(
            reason_group("#commit body: rev: invalid TID \"abc\""),
            "#commit body: rev"
        );
        assert_eq!(
            reason_group("CAR slice: block bafyreib57e6gucnawiujdl75kuli7mv6tmabmezckksacilxck2jsfbggq is not in the CAR slice"),
            "CAR slice: block … is not in the CAR slice"
        );
        assert_eq!(reason_group("unknown action \"frob\""), "unknown action …");
    }
}
