//! `app.bsky.labeler.service` (record key `self`): an account declaring it runs a labeler, with
//! the label values it publishes and the definitions of its own values. Likes of it are counted
//! on `at://<did>/app.bsky.labeler.service/self`.
//!
//! The key is the literal `self`; the reference AppView indexes no other key (`labeler.ts`), and
//! the planner decides by the record key as it does for profiles.

use chrono::{DateTime, Utc};
use ipld_core::ipld::Ipld;

use super::fields::{self, Map, UNBOUNDED};
use super::{RecordError, LABELER_SERVICE};
use crate::syntax;

#[derive(Debug, Clone, PartialEq)]
pub struct LabelerService {
    pub policies: LabelerPolicies,
    /// Self-label values.
    pub labels: Vec<String>,
    /// Report reason types in scope; `None` (absent) means all, unlike an empty list.
    pub reason_types: Option<Vec<String>>,
    /// Subject types reports are taken on (`account`, `record`, `chat`, …); `None` when absent.
    pub subject_types: Option<Vec<String>>,
    /// Collections (NSIDs) reports are taken on; `None` (absent) means any.
    pub subject_collections: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
}

/// `app.bsky.labeler.defs#labelerPolicies`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelerPolicies {
    /// The values this labeler publishes, global (`porn`, `!hide`, …) or its own; open set.
    pub label_values: Vec<String>,
    pub label_value_definitions: Vec<LabelValueDefinition>,
}

/// `com.atproto.label.defs#labelValueDefinition`: one of the labeler's own values.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelValueDefinition {
    /// At most 100 bytes and graphemes. The lexicon's description asks for `[a-z-]+`; the
    /// reference does not enforce it, and neither do we.
    pub identifier: String,
    /// `inform`, `alert`, `none`, or a value not known yet.
    pub severity: String,
    /// `content`, `media`, `none`, or a value not known yet.
    pub blurs: String,
    /// `ignore`, `warn`, `hide` or a value not known yet; absent means `warn`.
    pub default_setting: Option<String>,
    pub adult_only: Option<bool>,
    pub locales: Vec<LabelValueStrings>,
}

/// `com.atproto.label.defs#labelValueDefinitionStrings`: a definition's name and description in
/// one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelValueStrings {
    pub lang: String,
    pub name: String,
    pub description: String,
}

const IDENTIFIER_MAX: usize = 100;
const LOCALE_NAME_MAX_BYTES: usize = 640;
const LOCALE_NAME_MAX_GRAPHEMES: usize = 64;
const LOCALE_DESCRIPTION_MAX_BYTES: usize = 100_000;
const LOCALE_DESCRIPTION_MAX_GRAPHEMES: usize = 10_000;

pub(crate) fn decode(bytes: &[u8]) -> Result<LabelerService, RecordError> {
    let m = fields::record(LABELER_SERVICE, bytes)?;
    let p = fields::req_object(&m, "policies")?;
    let label_values = fields::opt_strings(p, "labelValues", UNBOUNDED, |s| {
        fields::open_value("policies", s).map(drop)
    })
    .map_err(|e| fields::within("policies", None, e))?
    .ok_or_else(|| fields::within("policies", None, fields::missing("labelValues")))?;
    let label_value_definitions = fields::opt_array(p, "labelValueDefinitions", UNBOUNDED)
        .map_err(|e| fields::within("policies", None, e))?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            definition(d).map_err(|e| {
                let e = fields::within("labelValueDefinitions", Some(i), e);
                fields::within("policies", None, e)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let open = |field: &'static str| {
        fields::opt_strings(&m, field, UNBOUNDED, |s| {
            fields::open_value(field, s).map(drop)
        })
    };
    let subject_collections = fields::opt_strings(&m, "subjectCollections", UNBOUNDED, |s| {
        syntax::nsid(s).map_err(|e| RecordError::field("subjectCollections", e))
    })?;
    Ok(LabelerService {
        policies: LabelerPolicies {
            label_values,
            label_value_definitions,
        },
        labels: fields::self_labels(&m)?,
        reason_types: open("reasonTypes")?,
        subject_types: open("subjectTypes")?,
        subject_collections,
        created_at: fields::created_at(&m)?,
    })
}

fn definition(value: &Ipld) -> Result<LabelValueDefinition, RecordError> {
    let d = fields::as_object("definition", value)?;
    let open = |field: &'static str| fields::open_value(field, fields::req_str(d, field)?);
    let locales = fields::opt_array(d, "locales", UNBOUNDED)?
        .ok_or_else(|| fields::missing("locales"))?
        .iter()
        .enumerate()
        .map(|(i, l)| locale(l).map_err(|e| fields::within("locales", Some(i), e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LabelValueDefinition {
        identifier: fields::req_text(d, "identifier", 0, IDENTIFIER_MAX, IDENTIFIER_MAX)?,
        severity: open("severity")?,
        blurs: open("blurs")?,
        default_setting: fields::opt_str(d, "defaultSetting")?
            .map(|s| fields::open_value("defaultSetting", s))
            .transpose()?,
        adult_only: fields::opt_bool(d, "adultOnly")?,
        locales,
    })
}

fn locale(value: &Ipld) -> Result<LabelValueStrings, RecordError> {
    let l: &Map = fields::as_object("locales", value)?;
    let lang = fields::req_str(l, "lang")?;
    syntax::language(lang).map_err(|e| RecordError::field("lang", e))?;
    Ok(LabelValueStrings {
        lang: lang.to_owned(),
        name: fields::req_text(
            l,
            "name",
            0,
            LOCALE_NAME_MAX_BYTES,
            LOCALE_NAME_MAX_GRAPHEMES,
        )?,
        description: fields::req_text(
            l,
            "description",
            0,
            LOCALE_DESCRIPTION_MAX_BYTES,
            LOCALE_DESCRIPTION_MAX_GRAPHEMES,
        )?,
    })
}
