//! The contract every part of a rule document is read under: errors that name the path,
//! and the helpers each part's parser shares. A module of its own so that the parts
//! (triggers, conditions, actions, templates) and the rule set that assembles them import
//! it, never each other.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

/// A template's text in one language: subject, plain text and HTML, each a minijinja
/// template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Localised {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Templates by name, then language.
pub type Templates = BTreeMap<String, BTreeMap<String, Localised>>;
/// A rule set that does not pass the checks: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct RuleError {
    /// Path inside the document.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

pub(crate) fn err(path: impl Into<String>, reason: impl Into<String>) -> RuleError {
    RuleError {
        path: path.into(),
        reason: reason.into(),
    }
}

pub(crate) fn join(path: &str, field: &str) -> String {
    if field.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

pub(crate) fn object<'a>(v: &'a Json, path: &str) -> Result<&'a Map<String, Json>, RuleError> {
    v.as_object()
        .ok_or_else(|| err(path, "an object is expected"))
}

pub(crate) fn known_fields(
    obj: &Map<String, Json>,
    path: &str,
    known: &[&str],
) -> Result<(), RuleError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(err(
            join(path, k),
            format!("unknown field (expected one of: {})", known.join(", ")),
        )),
    }
}
