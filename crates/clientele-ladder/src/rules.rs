//! Rule sets as data: one condition per rung, a demotion policy and the engagement points per
//! interaction kind. Read from TOML (the shipped default) or JSON (the API), both through the
//! same checks, whose errors name the offending path (`rungs[2].when.all[0].metric`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use crate::metrics::{Kind, Metric, Metrics, Value};
use crate::rung::Rung;

/// The default rules of DESIGN §2.
pub const DEFAULT_TOML: &str = include_str!("default_rules.toml");

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            ">=" => Self::Ge,
            ">" => Self::Gt,
            "<=" => Self::Le,
            "<" => Self::Lt,
            "==" => Self::Eq,
            "!=" => Self::Ne,
            _ => return None,
        })
    }

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ge => ">=",
            Self::Gt => ">",
            Self::Le => "<=",
            Self::Lt => "<",
            Self::Eq => "==",
            Self::Ne => "!=",
        }
    }

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Self::Ge => a >= b,
            Self::Gt => a > b,
            Self::Le => a <= b,
            Self::Lt => a < b,
            Self::Eq => a == b,
            Self::Ne => a != b,
        }
    }
}

/// What a comparison compares with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    /// A number.
    Number(f64),
    /// A flag.
    Flag(bool),
}

/// A rung's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Holds for everyone.
    Always,
    /// `metric op value`.
    Compare {
        /// The metric.
        metric: Metric,
        /// The operator.
        op: Op,
        /// The value.
        value: Operand,
    },
    /// Every part holds.
    All(Vec<Condition>),
    /// At least one part holds.
    Any(Vec<Condition>),
}

impl Condition {
    /// Whether it holds for these metrics. A missing value fails every comparison.
    pub fn holds(&self, m: &Metrics) -> bool {
        match self {
            Self::Always => true,
            Self::Compare { metric, op, value } => compare(m.value(*metric), *op, *value),
            Self::All(parts) => parts.iter().all(|c| c.holds(m)),
            Self::Any(parts) => parts.iter().any(|c| c.holds(m)),
        }
    }

    /// Every comparison inside, in order.
    pub fn comparisons(&self) -> Vec<(Metric, Op, Operand)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<(Metric, Op, Operand)>) {
        match self {
            Self::Always => {}
            Self::Compare { metric, op, value } => out.push((*metric, *op, *value)),
            Self::All(parts) | Self::Any(parts) => parts.iter().for_each(|p| p.collect(out)),
        }
    }

    /// Parse and check a condition (`"always"`, `{metric, op, value}`, `{all: […]}`,
    /// `{any: […]}`); errors name the path under `path`. Automation rules reuse it.
    pub fn from_json(c: &Json, path: &str) -> Result<Self, RuleError> {
        parse_condition(c, path)
    }

    /// The document form.
    pub fn to_json(&self) -> Json {
        match self {
            Self::Always => Json::String("always".into()),
            Self::Compare { metric, op, value } => serde_json::json!({
                "metric": metric.name(),
                "op": op.as_str(),
                "value": match value { Operand::Number(n) => serde_json::json!(n), Operand::Flag(b) => serde_json::json!(b) },
            }),
            Self::All(parts) => {
                serde_json::json!({"all": parts.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
            Self::Any(parts) => {
                serde_json::json!({"any": parts.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
        }
    }
}

/// Whether `actual op value` holds.
pub fn compare(actual: Value, op: Op, value: Operand) -> bool {
    match (actual, value) {
        (Value::Number(a), Operand::Number(b)) => op.holds(a, b),
        (Value::Flag(a), Operand::Flag(b)) => match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            _ => false,
        },
        _ => false,
    }
}

/// When a contact whose rules no longer hold leaves their rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Demotion {
    /// At once.
    Immediate,
    /// Once the rules have failed for this many days without a break.
    Grace {
        /// Days.
        days: u32,
    },
    /// Never: rungs only go up.
    Never,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Conditions from the top rung down; the last is the suspect's `always`.
    pub rungs: Vec<(Rung, Condition)>,
    /// Demotion policy.
    pub demotion: Demotion,
    /// Engagement points per interaction kind.
    pub engagement_points: BTreeMap<String, f64>,
    /// Thresholds the rules compare the time-driven metrics with, computed once: they are
    /// read at every evaluation.
    pub(crate) time_thresholds: TimeThresholds,
}

/// Distinct thresholds per time-driven metric, ascending.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TimeThresholds {
    pub tenure_days: Vec<f64>,
    pub days_since_last_order: Vec<f64>,
    pub engagement_score: Vec<f64>,
}

fn thresholds(rungs: &[(Rung, Condition)], metric: Metric) -> Vec<f64> {
    let mut out: Vec<f64> = rungs
        .iter()
        .flat_map(|(_, c)| c.comparisons())
        .filter(|(m, ..)| *m == metric)
        .filter_map(|(_, _, v)| match v {
            Operand::Number(n) => Some(n),
            Operand::Flag(_) => None,
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
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

/// Interaction kinds that may earn engagement points (the event envelope's kinds).
pub const INTERACTION_KINDS: [&str; 10] = [
    "page_view",
    "email_open",
    "email_click",
    "form_submit",
    "demo_request",
    "reply",
    "call",
    "meeting",
    "chat",
    "review",
];

impl RuleSet {
    /// The shipped default rules.
    pub fn default_rules() -> Self {
        Self::from_toml(DEFAULT_TOML).expect("the shipped default rules are valid")
    }

    /// Parse and check a TOML rule file.
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

    /// Parse and check a JSON rule set (the API's body).
    pub fn from_json(doc: &Json) -> Result<Self, RuleError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| err("", "a rule set is an object with `rungs`"))?;
        for key in obj.keys() {
            if !["rungs", "demotion", "engagement_points"].contains(&key.as_str()) {
                return Err(err(key.clone(), "unknown field"));
            }
        }
        let demotion = match obj.get("demotion") {
            None => Demotion::Grace { days: 30 },
            Some(d) => parse_demotion(d)?,
        };
        let engagement_points = match obj.get("engagement_points") {
            None => default_points(),
            Some(p) => parse_points(p)?,
        };
        let list = obj
            .get("rungs")
            .and_then(Json::as_array)
            .ok_or_else(|| err("rungs", "a list of the seven rungs, top first, is required"))?;
        let mut rungs = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let path = format!("rungs[{i}]");
            let o = item
                .as_object()
                .ok_or_else(|| err(&path, "must be an object with `rung` and `when`"))?;
            for key in o.keys() {
                if !["rung", "when"].contains(&key.as_str()) {
                    return Err(err(format!("{path}.{key}"), "unknown field"));
                }
            }
            let name = o
                .get("rung")
                .and_then(Json::as_str)
                .ok_or_else(|| err(format!("{path}.rung"), "a rung name is required"))?;
            let rung = Rung::parse(name).ok_or_else(|| {
                err(
                    format!("{path}.rung"),
                    format!(
                        "unknown rung {name:?}: expected one of {}",
                        names(Rung::ALL.iter().rev().map(|r| r.name()))
                    ),
                )
            })?;
            let when = o
                .get("when")
                .ok_or_else(|| err(format!("{path}.when"), "a condition is required"))?;
            rungs.push((rung, parse_condition(when, &format!("{path}.when"))?));
        }
        let time_thresholds = TimeThresholds {
            tenure_days: thresholds(&rungs, Metric::TenureDays),
            days_since_last_order: thresholds(&rungs, Metric::DaysSinceLastOrder),
            engagement_score: thresholds(&rungs, Metric::EngagementScore),
        };
        let set = Self {
            rungs,
            demotion,
            engagement_points,
            time_thresholds,
        };
        set.check_ladder()?;
        Ok(set)
    }

    /// The rule set as JSON, as the API shows it and `from_json` reads it.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "demotion": self.demotion,
            "engagement_points": self.engagement_points,
            "rungs": self.rungs.iter().map(|(r, c)| serde_json::json!({"rung": r.name(), "when": c.to_json()})).collect::<Vec<_>>(),
        })
    }

    /// Every rung once, top first; the suspect holds for everyone and no rung is shadowed.
    fn check_ladder(&self) -> Result<(), RuleError> {
        let expected: Vec<Rung> = Rung::ALL.iter().rev().copied().collect();
        for (i, want) in expected.iter().enumerate() {
            match self.rungs.get(i) {
                Some((got, _)) if got == want => {}
                Some((got, _)) => {
                    return Err(err(
                        format!("rungs[{i}].rung"),
                        format!(
                            "expected {want} here, found {got}: rungs go top first, each once ({})",
                            names(expected.iter().map(|r| r.name()))
                        ),
                    ));
                }
                None => {
                    return Err(err(
                        "rungs",
                        format!("rung {want} is missing: all seven are required"),
                    ));
                }
            }
        }
        if self.rungs.len() > expected.len() {
            return Err(err(
                format!("rungs[{}]", expected.len()),
                "more than seven rungs",
            ));
        }
        let last = self.rungs.len() - 1;
        if self.rungs[last].1 != Condition::Always {
            return Err(err(
                format!("rungs[{last}].when"),
                "the suspect rung holds for everyone else: its condition must be \"always\"",
            ));
        }
        for (i, (rung, condition)) in self.rungs.iter().enumerate().take(last) {
            if always_holds(condition) {
                return Err(err(
                    format!("rungs[{i}].when"),
                    format!("holds for everyone, so no contact could stand on a rung below {rung}"),
                ));
            }
            if !satisfiable(condition) {
                return Err(err(
                    format!("rungs[{i}].when"),
                    format!("can never hold, so {rung} is unreachable"),
                ));
            }
        }
        Ok(())
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// Engagement points of the default rules.
pub fn default_points() -> BTreeMap<String, f64> {
    [
        ("page_view", 1.0),
        ("email_open", 1.0),
        ("email_click", 2.0),
        ("form_submit", 5.0),
        ("demo_request", 8.0),
        ("reply", 5.0),
        ("call", 5.0),
        ("meeting", 8.0),
        ("chat", 3.0),
        ("review", 5.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn parse_demotion(d: &Json) -> Result<Demotion, RuleError> {
    let o = d
        .as_object()
        .ok_or_else(|| err("demotion", "an object with `policy`"))?;
    let policy = o
        .get("policy")
        .and_then(Json::as_str)
        .ok_or_else(|| err("demotion.policy", "immediate, grace or never"))?;
    match policy {
        "immediate" => Ok(Demotion::Immediate),
        "never" => Ok(Demotion::Never),
        "grace" => {
            let days = match o.get("days") {
                None => 30,
                Some(v) => v
                    .as_u64()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| err("demotion.days", "a whole number of days from 1 to 3650"))?
                    as u32,
            };
            Ok(Demotion::Grace { days })
        }
        other => Err(err(
            "demotion.policy",
            format!("unknown policy {other:?}: expected immediate, grace or never"),
        )),
    }
}

fn parse_points(p: &Json) -> Result<BTreeMap<String, f64>, RuleError> {
    let o = p.as_object().ok_or_else(|| {
        err(
            "engagement_points",
            "an object of interaction kind → points",
        )
    })?;
    let mut out = BTreeMap::new();
    for (kind, v) in o {
        let path = format!("engagement_points.{kind}");
        if !INTERACTION_KINDS.contains(&kind.as_str()) {
            return Err(err(
                path,
                format!(
                    "unknown interaction kind: expected one of {}",
                    INTERACTION_KINDS.join(", ")
                ),
            ));
        }
        let points = v
            .as_f64()
            .filter(|p| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| err(&path, "points must be a number, 0 or more"))?;
        out.insert(kind.clone(), points);
    }
    Ok(out)
}

fn parse_condition(c: &Json, path: &str) -> Result<Condition, RuleError> {
    if c.as_str() == Some("always") {
        return Ok(Condition::Always);
    }
    let o = c.as_object().ok_or_else(|| {
        err(
            path,
            "a condition is \"always\", {metric, op, value}, {all: [...]} or {any: [...]}",
        )
    })?;
    for (key, group) in [("all", true), ("any", false)] {
        if let Some(list) = o.get(key) {
            if o.len() != 1 {
                return Err(err(path, format!("`{key}` stands alone in its object")));
            }
            let items = list
                .as_array()
                .ok_or_else(|| err(format!("{path}.{key}"), "must be a list of conditions"))?;
            let parts = items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_condition(item, &format!("{path}.{key}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if parts.is_empty() {
                return Err(err(
                    format!("{path}.{key}"),
                    "is empty; write \"always\" for a condition that always holds",
                ));
            }
            return Ok(if group {
                Condition::All(parts)
            } else {
                Condition::Any(parts)
            });
        }
    }
    for key in o.keys() {
        if !["metric", "op", "value"].contains(&key.as_str()) {
            return Err(err(format!("{path}.{key}"), "unknown field"));
        }
    }
    let name = o
        .get("metric")
        .and_then(Json::as_str)
        .ok_or_else(|| err(format!("{path}.metric"), "a metric name is required"))?;
    let metric = Metric::parse(name).ok_or_else(|| {
        err(
            format!("{path}.metric"),
            format!(
                "unknown metric {name:?}: expected one of {}",
                names(Metric::ALL.iter().map(|m| m.name()))
            ),
        )
    })?;
    let op_text = o
        .get("op")
        .and_then(Json::as_str)
        .ok_or_else(|| err(format!("{path}.op"), "an operator is required"))?;
    let op = Op::parse(op_text).ok_or_else(|| {
        err(
            format!("{path}.op"),
            format!("unknown operator {op_text:?}: expected >=, >, <=, <, == or !="),
        )
    })?;
    let raw = o
        .get("value")
        .ok_or_else(|| err(format!("{path}.value"), "a value is required"))?;
    let value = match metric.kind() {
        Kind::Flag => {
            let b = raw.as_bool().ok_or_else(|| {
                err(
                    format!("{path}.value"),
                    format!("{name} is a flag: compare it with true or false"),
                )
            })?;
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(err(
                    format!("{path}.op"),
                    format!("{name} is a flag: only == and != apply"),
                ));
            }
            Operand::Flag(b)
        }
        Kind::Number => {
            Operand::Number(raw.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
                err(
                    format!("{path}.value"),
                    format!("{name} is a number: compare it with a number"),
                )
            })?)
        }
    };
    Ok(Condition::Compare { metric, op, value })
}

/// Whether the condition holds whatever the metrics (only `always`, or groups of it).
fn always_holds(c: &Condition) -> bool {
    match c {
        Condition::Always => true,
        Condition::Compare { .. } => false,
        Condition::All(parts) => parts.iter().all(always_holds),
        Condition::Any(parts) => parts.iter().any(always_holds),
    }
}

/// Whether some metrics could satisfy the condition: an `all` whose comparisons on one
/// number leave an empty interval, or demand a flag both ways, cannot.
fn satisfiable(c: &Condition) -> bool {
    match c {
        Condition::Always | Condition::Compare { .. } => true,
        Condition::Any(parts) => parts.iter().any(satisfiable),
        Condition::All(parts) => {
            if !parts.iter().all(satisfiable) {
                return false;
            }
            let direct: Vec<(Metric, Op, Operand)> = parts
                .iter()
                .filter_map(|p| match p {
                    Condition::Compare { metric, op, value } => Some((*metric, *op, *value)),
                    _ => None,
                })
                .collect();
            Metric::ALL.iter().all(|m| {
                let on: Vec<(Op, Operand)> = direct
                    .iter()
                    .filter(|(x, ..)| x == m)
                    .map(|(_, o, v)| (*o, *v))
                    .collect();
                interval_nonempty(&on)
            })
        }
    }
}

/// Whether the comparisons on one metric can all hold at once.
fn interval_nonempty(on: &[(Op, Operand)]) -> bool {
    let (mut lo, mut lo_open, mut hi, mut hi_open) =
        (f64::NEG_INFINITY, false, f64::INFINITY, false);
    let mut flags = (false, false);
    let mut equal: Vec<f64> = Vec::new();
    for (op, v) in on {
        match v {
            Operand::Flag(b) => {
                let want = if *op == Op::Eq { *b } else { !*b };
                if want {
                    flags.0 = true;
                } else {
                    flags.1 = true;
                }
            }
            Operand::Number(x) => match op {
                Op::Ge if *x > lo || (*x == lo && lo_open) => (lo, lo_open) = (*x, false),
                Op::Gt if *x >= lo => (lo, lo_open) = (*x, true),
                Op::Le if *x < hi || (*x == hi && hi_open) => (hi, hi_open) = (*x, false),
                Op::Lt if *x <= hi => (hi, hi_open) = (*x, true),
                Op::Eq => equal.push(*x),
                _ => {}
            },
        }
    }
    if flags.0 && flags.1 {
        return false;
    }
    let inside = |x: f64| (x > lo || (x == lo && !lo_open)) && (x < hi || (x == hi && !hi_open));
    if let Some(first) = equal.first() {
        return equal.iter().all(|x| x == first) && inside(*first);
    }
    lo < hi || (lo == hi && !lo_open && !hi_open)
}
