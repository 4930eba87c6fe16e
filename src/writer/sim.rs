//! An in-memory view of one table's rows that a group of events touches, so the group can be
//! applied with a few multi-row statements instead of several round trips per op.
//!
//! This is exact because each writer owns its repos outright: a record's URI contains its repo's
//! DID, and every event of a repo goes to the same writer, so no other writer can change these
//! rows while we hold them. Counter rows, which writers do share, are only ever changed by deltas.

use std::collections::HashMap;

use crate::changes::TableDiff;

/// One row as the simulation sees it: `info` is what counter bookkeeping needs (also loaded for
/// rows already in the database); `row` is the full row to insert, present only for rows this
/// group writes.
#[derive(Debug, Clone)]
pub struct Entry<I, R> {
    pub info: I,
    pub row: Option<R>,
}

#[derive(Debug)]
struct Slot<I, R> {
    in_db: bool,
    current: Option<Entry<I, R>>,
    dirty: bool,
}

#[derive(Debug)]
pub struct TableSim<I, R> {
    slots: HashMap<String, Slot<I, R>>,
}

impl<I, R> TableSim<I, R> {
    /// Starts from the rows already in the database (URI → info).
    pub fn new(existing: HashMap<String, I>) -> TableSim<I, R> {
        let slots = existing
            .into_iter()
            .map(|(uri, info)| {
                let slot = Slot {
                    in_db: true,
                    current: Some(Entry { info, row: None }),
                    dirty: false,
                };
                (uri, slot)
            })
            .collect();
        TableSim { slots }
    }

    pub fn get(&self, uri: &str) -> Option<&I> {
        self.slots
            .get(uri)
            .and_then(|s| s.current.as_ref())
            .map(|e| &e.info)
    }

    /// What the simulation knows of a URI: `Some(Some(info))` a row, `Some(None)` no row any
    /// more (removed in this segment), `None` nothing (not loaded, not written).
    pub fn lookup(&self, uri: &str) -> Option<Option<&I>> {
        self.slots
            .get(uri)
            .map(|s| s.current.as_ref().map(|e| &e.info))
    }

    /// Puts a row in place of whatever is there.
    pub fn put(&mut self, uri: &str, info: I, row: R) {
        let slot = self.slots.entry(uri.to_owned()).or_insert(Slot {
            in_db: false,
            current: None,
            dirty: false,
        });
        slot.current = Some(Entry {
            info,
            row: Some(row),
        });
        slot.dirty = true;
    }

    /// Removes the row, returning what it was, if it existed.
    pub fn remove(&mut self, uri: &str) -> Option<I> {
        let slot = self.slots.get_mut(uri)?;
        let entry = slot.current.take()?;
        slot.dirty = true;
        Some(entry.info)
    }

    /// The statements that take the database from where it was to where the simulation is.
    /// Sorted by URI so that statements are deterministic (and lock in a stable order).
    pub fn finish(self) -> TableDiff<R> {
        let mut touched: Vec<(String, Slot<I, R>)> =
            self.slots.into_iter().filter(|(_, s)| s.dirty).collect();
        touched.sort_by(|a, b| a.0.cmp(&b.0));
        let mut diff = TableDiff {
            delete: Vec::new(),
            insert: Vec::new(),
        };
        for (uri, slot) in touched {
            if slot.in_db {
                diff.delete.push(uri);
            }
            if let Some(row) = slot.current.and_then(|e| e.row) {
                diff.insert.push(row);
            }
        }
        diff
    }
}
