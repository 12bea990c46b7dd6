//! The one error shape of input validation: which field, and why.

use std::fmt;

/// A rejected input value. `field` is a dotted path into the input (`data.total`,
/// `events[3].contact.email`, or `line 12: Total` for files), `reason` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the offending field.
    pub field: String,
    /// Human-readable reason.
    pub reason: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error with `prefix.` put in front of the field path.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// Turn a `serde_path_to_error` failure into a field error with the path serde saw.
pub fn from_serde_path(err: serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = err.path().to_string();
    let field = if path == "." { String::new() } else { path };
    FieldError::new(field, clean_serde_message(&err.inner().to_string()))
}

/// serde_json appends " at line 1 column 42" which means nothing for a JSON value.
fn clean_serde_message(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_paths_and_indexes() {
        assert_eq!(
            FieldError::new("total", "x").within("data").field,
            "data.total"
        );
        assert_eq!(
            FieldError::new("[2].sku", "x").within("lines").field,
            "lines[2].sku"
        );
        assert_eq!(FieldError::new("", "x").within("data").field, "data");
    }
}
