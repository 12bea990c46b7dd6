//! Conditions: filters over a contact — tags, fields, ladder metrics, rung, status and
//! consent — checked when a run starts and by `branch` steps.

use clientele_ladder::{Metrics, Rung, Status};
use serde_json::{Map, Value as Json, json};

use crate::document::{RuleError, err, known_fields, object};

/// What conditions read of one contact, as of now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// Tags.
    pub tags: Vec<String>,
    /// Fields by name (`name`, `email`, `phone`, `locale`, `time_zone`, `kind`,
    /// `external_id`) and `custom` (an object).
    pub fields: Map<String, Json>,
    /// Ladder metrics now.
    pub metrics: Metrics,
    /// Rung now (none before the first classification).
    pub rung: Option<Rung>,
    /// Status now.
    pub status: Option<Status>,
    /// Channels the contact consents to now.
    pub consents: Vec<String>,
}

/// A filter over the contact.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The contact carries the tag.
    HasTag(String),
    /// The contact does not carry the tag.
    LacksTag(String),
    /// A ladder metric comparison (`{metric, op, value}`, `{all}`, `{any}`), as in the
    /// ladder's own rules.
    Metric(clientele_ladder::Condition),
    /// The contact stands on one of these rungs.
    Rung(Vec<Rung>),
    /// The contact's status is one of these.
    Status(Vec<Status>),
    /// The contact consents to this channel now.
    Consent(String),
    /// A field (`locale`, `custom.city`…) equals a value, or is present (`None`).
    Field {
        /// `name`, `locale`…, or `custom.KEY`.
        path: String,
        /// The value it must equal; `None`: any value, but one.
        equals: Option<Json>,
    },
}

const KINDS: &str = "has_tag, lacks_tag, metric (with op, value), all, any, rung, status, consent, field (with equals or present)";

/// The field names a `field` condition may read (besides `custom.KEY`).
pub const FIELDS: [&str; 7] = [
    "name",
    "email",
    "phone",
    "locale",
    "time_zone",
    "kind",
    "external_id",
];

/// Channels a `consent` condition may name.
pub const CHANNELS: [&str; 4] = ["email", "sms", "phone", "push"];

impl Condition {
    /// Parse and check one condition at `path`.
    pub fn from_json(v: &Json, path: &str) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        if ["metric", "all", "any"]
            .iter()
            .any(|k| obj.contains_key(*k))
        {
            return clientele_ladder::Condition::from_json(v, path)
                .map(Self::Metric)
                .map_err(|e| err(e.path, e.reason));
        }
        let text = |name: &str| obj.get(name).and_then(Json::as_str).map(str::trim);
        if obj.contains_key("has_tag") || obj.contains_key("lacks_tag") {
            known_fields(obj, path, &["has_tag", "lacks_tag"])?;
            let name = if obj.contains_key("has_tag") {
                "has_tag"
            } else {
                "lacks_tag"
            };
            return match text(name) {
                Some(t) if !t.is_empty() && obj.len() == 1 => Ok(if name == "has_tag" {
                    Self::HasTag(t.to_owned())
                } else {
                    Self::LacksTag(t.to_owned())
                }),
                Some(_) if obj.len() > 1 => {
                    Err(err(path, "exactly one of has_tag, lacks_tag is expected"))
                }
                _ => Err(err(format!("{path}.{name}"), "a tag name is expected")),
            };
        }
        if obj.contains_key("rung") {
            known_fields(obj, path, &["rung"])?;
            return names(&obj["rung"], &format!("{path}.rung"), Rung::parse).map(Self::Rung);
        }
        if obj.contains_key("status") {
            known_fields(obj, path, &["status"])?;
            let parse = |n: &str| Status::ALL.into_iter().find(|s| s.name() == n);
            return names(&obj["status"], &format!("{path}.status"), parse).map(Self::Status);
        }
        if obj.contains_key("consent") {
            known_fields(obj, path, &["consent"])?;
            return match text("consent") {
                Some(c) if CHANNELS.contains(&c) => Ok(Self::Consent(c.to_owned())),
                _ => Err(err(
                    format!("{path}.consent"),
                    format!("a channel: {}", CHANNELS.join(", ")),
                )),
            };
        }
        if obj.contains_key("field") {
            known_fields(obj, path, &["field", "equals", "present"])?;
            let field = text("field").unwrap_or_default();
            let known = FIELDS.contains(&field)
                || field
                    .strip_prefix("custom.")
                    .is_some_and(|k| !k.is_empty() && k.len() <= 64);
            if !known {
                return Err(err(
                    format!("{path}.field"),
                    format!("one of {} or custom.KEY", FIELDS.join(", ")),
                ));
            }
            let equals = match (obj.get("equals"), obj.get("present")) {
                (Some(v), None) if !v.is_object() && !v.is_array() => Some(v.clone()),
                (None, Some(Json::Bool(true))) => None,
                _ => {
                    return Err(err(
                        path,
                        "a field condition has `equals` (a text, number or flag) or `present = true`",
                    ));
                }
            };
            return Ok(Self::Field {
                path: field.to_owned(),
                equals,
            });
        }
        Err(err(path, format!("a condition is one of: {KINDS}")))
    }

    /// The document form.
    pub fn to_json(&self) -> Json {
        match self {
            Self::HasTag(t) => json!({"has_tag": t}),
            Self::LacksTag(t) => json!({"lacks_tag": t}),
            Self::Metric(c) => c.to_json(),
            Self::Rung(r) => json!({"rung": r.iter().map(|r| r.name()).collect::<Vec<_>>()}),
            Self::Status(s) => json!({"status": s.iter().map(|s| s.name()).collect::<Vec<_>>()}),
            Self::Consent(c) => json!({ "consent": c }),
            Self::Field {
                path,
                equals: Some(v),
            } => json!({"field": path, "equals": v}),
            Self::Field { path, equals: None } => json!({"field": path, "present": true}),
        }
    }

    /// Whether a condition reads more than the contact's tags (and so needs the whole
    /// [`Subject`] loaded).
    pub fn needs_more_than_tags(&self) -> bool {
        !matches!(self, Self::HasTag(_) | Self::LacksTag(_))
    }

    /// Whether a condition reads ladder metrics (the costly part of a [`Subject`]: the
    /// contact's whole history).
    pub fn reads_metrics(&self) -> bool {
        matches!(self, Self::Metric(_))
    }

    /// Whether the contact passes.
    pub fn holds(&self, s: &Subject) -> bool {
        match self {
            Self::HasTag(t) => s.tags.iter().any(|x| x == t),
            Self::LacksTag(t) => !s.tags.iter().any(|x| x == t),
            Self::Metric(c) => c.holds(&s.metrics),
            Self::Rung(r) => s.rung.is_some_and(|x| r.contains(&x)),
            Self::Status(st) => s.status.is_some_and(|x| st.contains(&x)),
            Self::Consent(c) => s.consents.iter().any(|x| x == c),
            Self::Field { path, equals } => {
                let value = match path.strip_prefix("custom.") {
                    Some(key) => s.fields.get("custom").and_then(|c| c.get(key)),
                    None => s.fields.get(path.as_str()),
                };
                match (value, equals) {
                    (None | Some(Json::Null), _) => false,
                    (Some(_), None) => true,
                    // Text compares without regard to case or surrounding spaces.
                    (Some(Json::String(a)), Some(Json::String(b))) => {
                        a.trim().to_lowercase() == b.trim().to_lowercase()
                    }
                    (Some(Json::Number(a)), Some(Json::Number(b))) => a.as_f64() == b.as_f64(),
                    (Some(a), Some(b)) => a == b,
                }
            }
        }
    }
}

/// A name or a list of names, each parsed.
fn names<T>(v: &Json, path: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, RuleError> {
    let list: Vec<&Json> = match v {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if list.is_empty() {
        return Err(err(path, "at least one name is expected"));
    }
    list.iter()
        .enumerate()
        .map(|(i, n)| {
            n.as_str()
                .and_then(&parse)
                .ok_or_else(|| err(format!("{path}[{i}]"), "unknown name"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        let fields = json!({"locale": "vi", "custom": {"city": "Hà Nội", "vip": true}});
        Subject {
            tags: vec!["vip".into()],
            fields: fields.as_object().unwrap().clone(),
            metrics: Metrics {
                paid_orders: 3,
                nps_last: Some(9),
                ..Metrics::default()
            },
            rung: Some(Rung::Customer),
            status: Some(Status::Active),
            consents: vec!["email".into()],
        }
    }

    fn holds(doc: Json) -> bool {
        Condition::from_json(&doc, "c").unwrap().holds(&subject())
    }

    #[test]
    fn each_kind_of_condition_reads_its_part_of_the_contact() {
        assert!(holds(json!({"has_tag": "vip"})));
        assert!(!holds(json!({"lacks_tag": "vip"})));
        assert!(holds(json!({"metric": "nps_last", "op": ">=", "value": 9})));
        assert!(!holds(
            json!({"metric": "paid_orders", "op": ">", "value": 3})
        ));
        assert!(holds(json!({"any": [
            {"metric": "paid_orders", "op": ">", "value": 3},
            {"metric": "nps_last", "op": "==", "value": 9},
        ]})));
        assert!(holds(json!({"rung": ["client", "customer"]})));
        assert!(!holds(json!({"rung": "client"})));
        assert!(holds(json!({"status": "active"})));
        assert!(holds(json!({"consent": "email"})));
        assert!(!holds(json!({"consent": "sms"})));
        assert!(holds(json!({"field": "custom.city", "equals": " hà nội "})));
        assert!(holds(json!({"field": "custom.vip", "equals": true})));
        assert!(holds(json!({"field": "locale", "present": true})));
        assert!(!holds(json!({"field": "email", "present": true})));
    }

    #[test]
    fn bad_conditions_name_their_path() {
        for (doc, path) in [
            (json!({"rung": "king"}), "c.rung[0]"),
            (json!({"status": []}), "c.status"),
            (json!({"consent": "fax"}), "c.consent"),
            (json!({"field": "shoe_size", "equals": 42}), "c.field"),
            (json!({"field": "locale"}), "c"),
            (
                json!({"metric": "height", "op": ">", "value": 1}),
                "c.metric",
            ),
            (json!({"has_tag": ""}), "c.has_tag"),
            (json!({"has_tag": "a", "lacks_tag": "b"}), "c"),
            (json!({"colour": "red"}), "c"),
        ] {
            let e = Condition::from_json(&doc, "c").unwrap_err();
            assert_eq!(e.path, path, "{doc}: {e}");
        }
    }

    #[test]
    fn conditions_survive_their_document_form() {
        for doc in [
            json!({"has_tag": "vip"}),
            json!({"metric": "nps_last", "op": ">=", "value": 9.0}),
            json!({"rung": ["client"]}),
            json!({"status": ["at_risk", "lapsed"]}),
            json!({"consent": "sms"}),
            json!({"field": "custom.city", "equals": "Huế"}),
            json!({"field": "email", "present": true}),
        ] {
            let c = Condition::from_json(&doc, "c").unwrap();
            assert_eq!(Condition::from_json(&c.to_json(), "c").unwrap(), c);
        }
    }
}
