//! `--collections`: NSIDs or prefixes ending in `.*` (like Jetstream's wantedCollections). Ops of
//! other collections are dropped before they reach a writer; the commit itself (its rev) still
//! applies.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("--collections {item:?}: {reason}")]
    Item {
        item: String,
        reason: crate::syntax::SyntaxError,
    },
    #[error("--collections is empty")]
    Empty,
}

#[derive(Debug, Clone, Default)]
pub struct CollectionFilter {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl CollectionFilter {
    pub fn parse(spec: &str) -> Result<CollectionFilter, FilterError> {
        let mut f = CollectionFilter::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |reason| FilterError::Item {
                item: item.to_owned(),
                reason,
            };
            if let Some(prefix) = item.strip_suffix(".*") {
                crate::syntax::nsid(&format!("{prefix}.x"))
                    .or_else(|_| crate::syntax::nsid(&format!("{prefix}.x.y")))
                    .map_err(bad)?;
                f.prefixes.push(format!("{prefix}."));
            } else {
                crate::syntax::nsid(item).map_err(bad)?;
                f.exact.push(item.to_owned());
            }
        }
        if f.exact.is_empty() && f.prefixes.is_empty() {
            return Err(FilterError::Empty);
        }
        Ok(f)
    }

    pub fn wants(&self, collection: &str) -> bool {
        self.exact.iter().any(|c| c == collection)
            || self.prefixes.iter().any(|p| collection.starts_with(p))
    }
}
