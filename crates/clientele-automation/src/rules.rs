//! Automation rules as data. A rule set is one versioned document: rules (a trigger,
//! conditions over the contact, actions in sequence) and the templates their messages use,
//! in Vietnamese and English. Read from TOML (the shipped playbooks) or JSON (the API)
//! through the same checks, whose errors name the path (`rules[2].actions[0].send_email.template:
//! no such template`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::action::{Action, Op, actions_from_json, program};
use crate::condition::Condition;
pub use crate::document::{Localised, RuleError, Templates};
use crate::document::{err, known_fields, object};
use crate::trigger::Trigger;

/// The playbooks every new workspace starts with.
pub const DEFAULT_TOML: &str = include_str!("default_playbooks.toml");

/// The languages templates are written in; the first is the fallback.
pub const LANGUAGES: [&str; 2] = ["vi", "en"];

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
    /// The actions compiled: step `n` of a run is instruction `n`.
    pub program: Vec<Op>,
}

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
    let actions = actions_from_json(list("actions")?, &format!("{path}.actions"), templates, 0)?;
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
        program: program(&actions),
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
