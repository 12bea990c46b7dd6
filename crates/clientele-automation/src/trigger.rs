//! Triggers: what starts a run of a rule for a contact.

use clientele_core::event::EventKind;
use clientele_ladder::{Metric, Rung, Status};
use serde_json::{Value as Json, json};

use crate::document::{RuleError, err, known_fields, object};

/// A date a contact has once a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// The custom field `birthday`: `YYYY-MM-DD`, or `MM-DD` without a year.
    Birthday,
    /// The day of the contact's first paid order.
    FirstOrder,
}

impl DateField {
    /// The spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Birthday => "birthday",
            Self::FirstOrder => "first_order",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Birthday, Self::FirstOrder]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// What starts a run of a rule for a contact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// The contact stepped onto this rung.
    RungEntered(Rung),
    /// The contact stepped off this rung.
    RungLeft(Rung),
    /// The contact's status became this.
    StatusChanged(Status),
    /// An event of this kind about the contact was accepted.
    EventReceived(EventKind),
    /// A ladder metric went from below `at_least` (or undefined) to at least it.
    ScoreCrossed {
        /// Which metric (a number).
        metric: Metric,
        /// The threshold.
        at_least: f64,
    },
    /// The yearly return of a date of the contact's, in the workspace's time zone.
    Anniversary(DateField),
    /// This many days passed since the contact's last paid order without another.
    NoOrderFor {
        /// Days.
        days: i64,
    },
}

const TRIGGERS: [&str; 7] = [
    "rung_entered",
    "rung_left",
    "status_changed",
    "event_received",
    "score_crossed",
    "anniversary",
    "no_order_for",
];

impl Trigger {
    /// Parse and check a trigger at `path`.
    pub fn from_json(v: &Json, path: &str) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        known_fields(obj, path, &TRIGGERS)?;
        let (name, body) = match obj.iter().next() {
            Some(entry) if obj.len() == 1 => entry,
            _ => {
                return Err(err(
                    path,
                    format!("exactly one trigger is expected: {}", TRIGGERS.join(", ")),
                ));
            }
        };
        let at = format!("{path}.{name}");
        let text = body.as_str().unwrap_or_default();
        let rung = || Rung::parse(text).ok_or_else(|| err(&at, "unknown rung"));
        match name.as_str() {
            "rung_entered" => Ok(Self::RungEntered(rung()?)),
            "rung_left" => Ok(Self::RungLeft(rung()?)),
            "status_changed" => Status::ALL
                .into_iter()
                .find(|x| x.name() == text)
                .map(Self::StatusChanged)
                .ok_or_else(|| err(&at, "unknown status (active, at_risk, lapsed)")),
            "event_received" => EventKind::parse(text)
                .map(Self::EventReceived)
                .ok_or_else(|| err(&at, "unknown event kind")),
            "score_crossed" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["metric", "at_least"])?;
                let metric = b
                    .get("metric")
                    .and_then(Json::as_str)
                    .and_then(Metric::parse)
                    .filter(|m| m.kind() == clientele_ladder::metrics::Kind::Number)
                    .ok_or_else(|| err(format!("{at}.metric"), "a numeric ladder metric"))?;
                let at_least = b
                    .get("at_least")
                    .and_then(Json::as_f64)
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(format!("{at}.at_least"), "a number is expected"))?;
                Ok(Self::ScoreCrossed { metric, at_least })
            }
            "anniversary" => DateField::parse(text)
                .map(Self::Anniversary)
                .ok_or_else(|| err(&at, "birthday or first_order")),
            "no_order_for" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["days"])?;
                match b.get("days").and_then(Json::as_i64) {
                    Some(days @ 1..=3650) => Ok(Self::NoOrderFor { days }),
                    _ => Err(err(format!("{at}.days"), "a whole number, 1 to 3650")),
                }
            }
            _ => unreachable!("names checked above"),
        }
    }

    /// The document form.
    pub fn to_json(self) -> Json {
        match self {
            Self::RungEntered(r) => json!({"rung_entered": r.name()}),
            Self::RungLeft(r) => json!({"rung_left": r.name()}),
            Self::StatusChanged(s) => json!({"status_changed": s.name()}),
            Self::EventReceived(k) => json!({"event_received": k.as_str()}),
            Self::ScoreCrossed { metric, at_least } => {
                json!({"score_crossed": {"metric": metric.name(), "at_least": at_least}})
            }
            Self::Anniversary(f) => json!({"anniversary": f.name()}),
            Self::NoOrderFor { days } => json!({"no_order_for": {"days": days}}),
        }
    }

    /// Whether a ladder change (`kind` `rung` or `status`, from → to) starts this trigger.
    pub fn fires_on(&self, kind: &str, from: &str, to: &str) -> bool {
        match (self, kind) {
            (Self::RungEntered(r), "rung") => to == r.name(),
            (Self::RungLeft(r), "rung") => from == r.name(),
            (Self::StatusChanged(s), "status") => to == s.name(),
            _ => false,
        }
    }
}

/// The month and day of a stored date (`YYYY-MM-DD`, `MM-DD` or `--MM-DD`), if it is one.
pub fn month_day(text: &str) -> Option<(u8, u8)> {
    let t = text.trim();
    let md = match t.len() {
        10 if t.as_bytes()[4] == b'-' && t[..4].bytes().all(|b| b.is_ascii_digit()) => &t[5..],
        7 if t.starts_with("--") => &t[2..],
        5 => t,
        _ => return None,
    };
    let (m, d) = md.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (m, d): (u8, u8) = (m.parse().ok()?, d.parse().ok()?);
    let days_in = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    ((1..=12).contains(&m) && d >= 1 && d <= days_in[usize::from(m) - 1]).then_some((m, d))
}

/// Whether a yearly date `(month, day)` falls on `(month, day)` of a year: 29 February
/// falls on 28 February in years without it.
pub fn falls_on(date: (u8, u8), today: (u8, u8), leap_year: bool) -> bool {
    date == today || (date == (2, 29) && !leap_year && today == (2, 28))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_with_or_without_a_year() {
        assert_eq!(month_day("1990-07-14"), Some((7, 14)));
        assert_eq!(month_day("07-14"), Some((7, 14)));
        assert_eq!(month_day("--02-29"), Some((2, 29)));
        for bad in [
            "",
            "1990-13-01",
            "1990-02-30",
            "7-14",
            "14/07/1990",
            "abcd-07-14",
        ] {
            assert_eq!(month_day(bad), None, "{bad}");
        }
        assert!(falls_on((2, 29), (2, 28), false));
        assert!(!falls_on((2, 29), (2, 28), true));
        assert!(falls_on((2, 29), (2, 29), true));
    }

    #[test]
    fn triggers_parse_check_and_survive_their_document_form() {
        for doc in [
            json!({"rung_entered": "client"}),
            json!({"status_changed": "at_risk"}),
            json!({"event_received": "survey.answered"}),
            json!({"score_crossed": {"metric": "engagement_score", "at_least": 20.0}}),
            json!({"anniversary": "birthday"}),
            json!({"no_order_for": {"days": 45}}),
        ] {
            let t = Trigger::from_json(&doc, "t").unwrap();
            assert_eq!(t.to_json(), doc);
        }
        for (doc, path) in [
            (
                json!({"event_received": "order.shipped"}),
                "t.event_received",
            ),
            (
                json!({"score_crossed": {"metric": "ambassador", "at_least": 1}}),
                "t.score_crossed.metric",
            ),
            (
                json!({"score_crossed": {"metric": "nps_last"}}),
                "t.score_crossed.at_least",
            ),
            (json!({"anniversary": "wedding"}), "t.anniversary"),
            (json!({"no_order_for": {"days": 0}}), "t.no_order_for.days"),
            (
                json!({"rung_entered": "client", "rung_left": "client"}),
                "t",
            ),
            (json!({"when": "now"}), "t.when"),
        ] {
            assert_eq!(
                Trigger::from_json(&doc, "t").unwrap_err().path,
                path,
                "{doc}"
            );
        }
    }
}
