//! Automation rules as data. A rule set is one versioned document: rules (a trigger,
//! conditions over the contact, actions in sequence) and the templates their messages use,
//! in Vietnamese and English. Read from TOML (the shipped playbooks) or JSON (the API)
//! through the same checks, whose errors name the path (`rules[2].actions[0].send_email.template:
//! no such template`).

use std::collections::BTreeMap;

use clientele_ladder::{Rung, Status};
use clientele_loyalty::coupon::Template as CouponTemplate;
use serde_json::{Map, Value as Json, json};

/// The playbooks every new workspace starts with.
pub const DEFAULT_TOML: &str = include_str!("default_playbooks.toml");

/// The languages templates are written in; the first is the fallback.
pub const LANGUAGES: [&str; 2] = ["vi", "en"];

/// What starts a run of a rule for a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The contact stepped onto this rung.
    RungEntered(Rung),
    /// The contact stepped off this rung.
    RungLeft(Rung),
    /// The contact's status became this.
    StatusChanged(Status),
}

impl Trigger {
    fn from_json(v: &Json, path: &str) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        known_fields(obj, path, &["rung_entered", "rung_left", "status_changed"])?;
        let text = |name: &str| obj.get(name).and_then(Json::as_str);
        let rung = |name: &str, t: &str| {
            Rung::parse(t).ok_or_else(|| err(format!("{path}.{name}"), "unknown rung"))
        };
        match (
            text("rung_entered"),
            text("rung_left"),
            text("status_changed"),
        ) {
            (Some(r), None, None) => Ok(Self::RungEntered(rung("rung_entered", r)?)),
            (None, Some(r), None) => Ok(Self::RungLeft(rung("rung_left", r)?)),
            (None, None, Some(s)) => Status::ALL
                .into_iter()
                .find(|x| x.name() == s)
                .map(Self::StatusChanged)
                .ok_or_else(|| err(format!("{path}.status_changed"), "unknown status")),
            _ => Err(err(
                path,
                "exactly one of rung_entered, rung_left, status_changed (a name) is expected",
            )),
        }
    }

    fn to_json(self) -> Json {
        match self {
            Self::RungEntered(r) => json!({"rung_entered": r.name()}),
            Self::RungLeft(r) => json!({"rung_left": r.name()}),
            Self::StatusChanged(s) => json!({"status_changed": s.name()}),
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

/// A filter over the contact, checked when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The contact carries the tag.
    HasTag(String),
    /// The contact does not carry the tag.
    LacksTag(String),
}

impl Condition {
    fn from_json(v: &Json, path: &str) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        known_fields(obj, path, &["has_tag", "lacks_tag"])?;
        let tag = |name: &str| -> Result<Option<String>, RuleError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Json::String(t)) if !t.trim().is_empty() => Ok(Some(t.trim().to_owned())),
                Some(_) => Err(err(format!("{path}.{name}"), "a tag name is expected")),
            }
        };
        match (tag("has_tag")?, tag("lacks_tag")?) {
            (Some(t), None) => Ok(Self::HasTag(t)),
            (None, Some(t)) => Ok(Self::LacksTag(t)),
            _ => Err(err(path, "exactly one of has_tag, lacks_tag is expected")),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Self::HasTag(t) => json!({"has_tag": t}),
            Self::LacksTag(t) => json!({"lacks_tag": t}),
        }
    }

    /// Whether a contact with `tags` passes.
    pub fn holds(&self, tags: &[String]) -> bool {
        match self {
            Self::HasTag(t) => tags.iter().any(|x| x == t),
            Self::LacksTag(t) => !tags.iter().any(|x| x == t),
        }
    }
}

/// Why a message is sent: marketing is capped and needs consent; service is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Offers, invitations: consent required, frequency-capped.
    Marketing,
    /// Receipts, answers to the contact's own request.
    Service,
}

impl Purpose {
    /// The spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Service => "service",
        }
    }
}

/// One step of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send an e-mail from a template of the set.
    SendEmail {
        /// Template name.
        template: String,
        /// Marketing or service.
        purpose: Purpose,
    },
    /// Send an SMS: the template's plain text.
    SendSms {
        /// Template name.
        template: String,
        /// Marketing or service.
        purpose: Purpose,
    },
    /// Issue a single-use coupon for the contact (its code is in later templates).
    IssueCoupon(CouponTemplate),
    /// Give points, as an adjustment with the rule as reason.
    AwardPoints(i64),
    /// Add a tag to the contact.
    AddTag(String),
    /// Remove a tag from the contact (nothing if it has none).
    RemoveTag(String),
    /// Wait before the next step.
    Wait {
        /// Hours to wait.
        hours: i64,
    },
    /// POST the step (rule, contact, rung, context) as JSON to an `http(s)` URL, signed.
    CallWebhook {
        /// Where to.
        url: String,
    },
}

const ACTIONS: [&str; 8] = [
    "remove_tag",
    "send_email",
    "send_sms",
    "issue_coupon",
    "award_points",
    "add_tag",
    "wait",
    "call_webhook",
];

/// A message action's body: `{"template", "purpose"}`.
fn message(body: &Json, at: &str, templates: &Templates) -> Result<(String, Purpose), RuleError> {
    let b = object(body, at)?;
    known_fields(b, at, &["template", "purpose"])?;
    let template = b
        .get("template")
        .and_then(Json::as_str)
        .ok_or_else(|| err(format!("{at}.template"), "a template name is expected"))?;
    if !templates.contains_key(template) {
        return Err(err(format!("{at}.template"), "no such template in the set"));
    }
    let purpose = match b.get("purpose").and_then(Json::as_str) {
        None | Some("marketing") => Purpose::Marketing,
        Some("service") => Purpose::Service,
        Some(_) => {
            return Err(err(format!("{at}.purpose"), "marketing or service"));
        }
    };
    Ok((template.to_owned(), purpose))
}

impl Action {
    fn from_json(v: &Json, path: &str, templates: &Templates) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        known_fields(obj, path, &ACTIONS)?;
        let (name, body) = match obj.iter().next() {
            Some(entry) if obj.len() == 1 => entry,
            _ => {
                return Err(err(
                    path,
                    format!("exactly one action is expected: {}", ACTIONS.join(", ")),
                ));
            }
        };
        let at = format!("{path}.{name}");
        match name.as_str() {
            "send_email" => {
                let (template, purpose) = message(body, &at, templates)?;
                Ok(Self::SendEmail { template, purpose })
            }
            "send_sms" => {
                let (template, purpose) = message(body, &at, templates)?;
                Ok(Self::SendSms { template, purpose })
            }
            "issue_coupon" => CouponTemplate::from_json(body)
                .map(Self::IssueCoupon)
                .map_err(|(f, r)| err(join(&at, &f), r)),
            "award_points" => match body.as_i64() {
                Some(n @ 1..=1_000_000) => Ok(Self::AwardPoints(n)),
                _ => Err(err(at, "a whole number of points, 1 to 1 000 000")),
            },
            "add_tag" | "remove_tag" => match body.as_str().map(str::trim) {
                Some(t) if !t.is_empty() && t.len() <= 64 => Ok(if name == "add_tag" {
                    Self::AddTag(t.to_owned())
                } else {
                    Self::RemoveTag(t.to_owned())
                }),
                _ => Err(err(at, "a tag of 1 to 64 characters")),
            },
            "wait" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["hours", "days"])?;
                let n = |k: &str| b.get(k).map(|v| v.as_i64().filter(|n| *n >= 0));
                let hours = match (n("hours"), n("days")) {
                    (Some(Some(h)), None) => h,
                    (None, Some(Some(d))) => d * 24,
                    _ => return Err(err(at, "hours or days, a whole number 0 or more")),
                };
                if hours > 24 * 3650 {
                    return Err(err(at, "at most ten years"));
                }
                Ok(Self::Wait { hours })
            }
            "call_webhook" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["url"])?;
                let url = b.get("url").and_then(Json::as_str).unwrap_or_default();
                let host = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"))
                    .and_then(|rest| rest.split(['/', '?', '#']).next())
                    .unwrap_or_default();
                if host.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
                    return Err(err(
                        format!("{at}.url"),
                        "an http:// or https:// URL with a host, at most 2048 characters",
                    ));
                }
                Ok(Self::CallWebhook {
                    url: url.to_owned(),
                })
            }
            _ => unreachable!("names checked above"),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Self::SendEmail { template, purpose } => {
                json!({"send_email": {"template": template, "purpose": purpose.name()}})
            }
            Self::SendSms { template, purpose } => {
                json!({"send_sms": {"template": template, "purpose": purpose.name()}})
            }
            Self::IssueCoupon(t) => json!({"issue_coupon": t.to_json()}),
            Self::AwardPoints(n) => json!({ "award_points": n }),
            Self::AddTag(t) => json!({ "add_tag": t }),
            Self::RemoveTag(t) => json!({ "remove_tag": t }),
            Self::Wait { hours } => json!({"wait": {"hours": hours}}),
            Self::CallWebhook { url } => json!({"call_webhook": {"url": url}}),
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique within the set; what runs and messages are filed under.
    pub name: String,
    /// Switched on.
    pub enabled: bool,
    /// What starts a run.
    pub trigger: Trigger,
    /// Checked when the run starts.
    pub conditions: Vec<Condition>,
    /// Done in order.
    pub actions: Vec<Action>,
}

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

/// Limits on marketing messages: quiet hours in the contact's time zone (messages wait
/// until they end) and a frequency cap (messages wait until the window has room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Minutes after local midnight when quiet hours start and end (`None` = none).
    pub quiet_hours: Option<(u32, u32)>,
    /// At most this many marketing messages per contact in `cap_days` days (`None` = no cap).
    pub cap: Option<(u32, u32)>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            quiet_hours: Some((21 * 60, 8 * 60)),
            cap: Some((2, 7)),
        }
    }
}

impl Limits {
    /// Whether `minute` (after local midnight) falls in quiet hours, which may span
    /// midnight.
    pub fn is_quiet(&self, minute: u32) -> bool {
        match self.quiet_hours {
            None => false,
            Some((start, end)) if start <= end => minute >= start && minute < end,
            Some((start, end)) => minute >= start || minute < end,
        }
    }

    fn from_json(v: &Json) -> Result<Self, RuleError> {
        let obj = object(v, "limits")?;
        known_fields(obj, "limits", &["quiet_hours", "frequency_cap"])?;
        let defaults = Self::default();
        let quiet_hours = match obj.get("quiet_hours") {
            None => defaults.quiet_hours,
            Some(Json::Null) => None,
            Some(q) => {
                let q = object(q, "limits.quiet_hours")?;
                known_fields(q, "limits.quiet_hours", &["start", "end"])?;
                let at = |k: &str| {
                    let path = format!("limits.quiet_hours.{k}");
                    q.get(k)
                        .and_then(Json::as_str)
                        .and_then(clock_minutes)
                        .ok_or_else(|| err(path, "a time of day such as \"21:00\" is expected"))
                };
                Some((at("start")?, at("end")?))
            }
        };
        let cap = match obj.get("frequency_cap") {
            None => defaults.cap,
            Some(Json::Null) => None,
            Some(c) => {
                let c = object(c, "limits.frequency_cap")?;
                known_fields(c, "limits.frequency_cap", &["messages", "days"])?;
                let n = |k: &str, max: u64| {
                    c.get(k)
                        .and_then(Json::as_u64)
                        .filter(|n| (1..=max).contains(n))
                        .map(|n| n as u32)
                        .ok_or_else(|| {
                            err(format!("limits.frequency_cap.{k}"), format!("1 to {max}"))
                        })
                };
                Some((n("messages", 1000)?, n("days", 365)?))
            }
        };
        Ok(Self { quiet_hours, cap })
    }

    fn to_json(self) -> Json {
        let clock = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        json!({
            "quiet_hours": self.quiet_hours.map(|(s, e)| json!({"start": clock(s), "end": clock(e)})),
            "frequency_cap": self.cap.map(|(m, d)| json!({"messages": m, "days": d})),
        })
    }
}

/// `HH:MM` as minutes after midnight.
fn clock_minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// Templates.
    pub templates: Templates,
    /// Quiet hours and frequency cap for marketing messages.
    pub limits: Limits,
}

/// A rule set that does not pass the checks: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct RuleError {
    /// Path inside the document.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> RuleError {
    RuleError {
        path: path.into(),
        reason: reason.into(),
    }
}

fn join(path: &str, field: &str) -> String {
    if field.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::from_toml(DEFAULT_TOML).expect("the shipped playbooks pass their own checks")
    }
}

impl RuleSet {
    /// Parse and check a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, RuleError> {
        let value: toml::Value = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("byte {}", s.start))
                .unwrap_or_default();
            err(at, e.message().to_owned())
        })?;
        let json = serde_json::to_value(value).map_err(|e| err("", e.to_string()))?;
        Self::from_json(&json)
    }

    /// Parse and check a JSON document (the API's body).
    pub fn from_json(doc: &Json) -> Result<Self, RuleError> {
        let obj = object(doc, "")?;
        known_fields(obj, "", &["rules", "templates", "limits"])?;
        let limits = match obj.get("limits") {
            None => Limits::default(),
            Some(l) => Limits::from_json(l)?,
        };
        let mut templates = Templates::new();
        if let Some(t) = obj.get("templates") {
            for (name, langs) in object(t, "templates")? {
                let path = format!("templates.{name}");
                let mut by_lang = BTreeMap::new();
                for (lang, parts) in object(langs, &path)? {
                    let at = format!("{path}.{lang}");
                    if !LANGUAGES.contains(&lang.as_str()) {
                        return Err(err(at, "unknown language (vi or en)"));
                    }
                    by_lang.insert(lang.clone(), localised(parts, &at)?);
                }
                if !by_lang.contains_key(LANGUAGES[0]) {
                    return Err(err(path, "a Vietnamese (vi) version is required"));
                }
                templates.insert(name.clone(), by_lang);
            }
        }
        let mut rules = Vec::new();
        if let Some(r) = obj.get("rules") {
            let list = r
                .as_array()
                .ok_or_else(|| err("rules", "an array is expected"))?;
            for (i, rule) in list.iter().enumerate() {
                let path = format!("rules[{i}]");
                let rule = rule_from_json(rule, &path, &templates)?;
                if rules.iter().any(|r: &Rule| r.name == rule.name) {
                    return Err(err(format!("{path}.name"), "another rule has this name"));
                }
                rules.push(rule);
            }
        }
        Ok(Self {
            rules,
            templates,
            limits,
        })
    }

    /// The document form (what the API returns and stores).
    pub fn to_json(&self) -> Json {
        let templates: Map<String, Json> = self
            .templates
            .iter()
            .map(|(name, langs)| {
                let langs: Map<String, Json> = langs
                    .iter()
                    .map(|(l, t)| {
                        let doc = json!({"subject": t.subject, "text": t.text, "html": t.html});
                        (l.clone(), doc)
                    })
                    .collect();
                (name.clone(), Json::Object(langs))
            })
            .collect();
        let rules: Vec<Json> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "enabled": r.enabled,
                    "trigger": r.trigger.to_json(),
                    "conditions": r.conditions.iter().map(Condition::to_json).collect::<Vec<_>>(),
                    "actions": r.actions.iter().map(Action::to_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"rules": rules, "templates": templates, "limits": self.limits.to_json()})
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// A template in `lang`, or in the fallback language.
    pub fn template(&self, name: &str, lang: &str) -> Option<&Localised> {
        let langs = self.templates.get(name)?;
        langs.get(lang).or_else(|| langs.get(LANGUAGES[0]))
    }
}

fn rule_from_json(v: &Json, path: &str, templates: &Templates) -> Result<Rule, RuleError> {
    let obj = object(v, path)?;
    known_fields(
        obj,
        path,
        &["name", "enabled", "trigger", "conditions", "actions"],
    )?;
    let name = match obj.get("name").and_then(Json::as_str) {
        Some(n)
            if !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            n.to_owned()
        }
        _ => {
            return Err(err(
                format!("{path}.name"),
                "1 to 64 letters, digits, _ or - are expected",
            ));
        }
    };
    let enabled = match obj.get("enabled") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| err(format!("{path}.enabled"), "true or false is expected"))?,
    };
    let trigger = Trigger::from_json(
        obj.get("trigger")
            .ok_or_else(|| err(format!("{path}.trigger"), "is required"))?,
        &format!("{path}.trigger"),
    )?;
    let list = |field: &str| -> Result<&[Json], RuleError> {
        match obj.get(field) {
            None => Ok(&[]),
            Some(Json::Array(a)) => Ok(a.as_slice()),
            Some(_) => Err(err(format!("{path}.{field}"), "an array is expected")),
        }
    };
    let conditions = list("conditions")?
        .iter()
        .enumerate()
        .map(|(i, c)| Condition::from_json(c, &format!("{path}.conditions[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let actions = list("actions")?
        .iter()
        .enumerate()
        .map(|(i, a)| Action::from_json(a, &format!("{path}.actions[{i}]"), templates))
        .collect::<Result<Vec<_>, _>>()?;
    if actions.is_empty() {
        return Err(err(
            format!("{path}.actions"),
            "at least one action is required",
        ));
    }
    Ok(Rule {
        name,
        enabled,
        trigger,
        conditions,
        actions,
    })
}

fn localised(v: &Json, path: &str) -> Result<Localised, RuleError> {
    let obj = object(v, path)?;
    known_fields(obj, path, &["subject", "text", "html"])?;
    let part = |name: &str| -> Result<String, RuleError> {
        let at = format!("{path}.{name}");
        let text = obj
            .get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| err(&at, "text is expected"))?;
        // A template that does not compile is refused now, not at send time.
        crate::template::check(text).map_err(|e| err(&at, e))?;
        Ok(text.to_owned())
    };
    Ok(Localised {
        subject: part("subject")?,
        text: part("text")?,
        html: part("html")?,
    })
}

fn object<'a>(v: &'a Json, path: &str) -> Result<&'a Map<String, Json>, RuleError> {
    v.as_object()
        .ok_or_else(|| err(path, "an object is expected"))
}

fn known_fields(obj: &Map<String, Json>, path: &str, known: &[&str]) -> Result<(), RuleError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(err(
            join(path, k),
            format!("unknown field (expected one of: {})", known.join(", ")),
        )),
    }
}
