//! Earn rules as data: points per currency unit, multipliers per ladder rung, bonuses and
//! caps. Read from TOML (the shipped default) or JSON (the API) through the same checks,
//! whose errors name the offending path (`multipliers.vip: unknown rung …`).

use std::collections::BTreeMap;

use clientele_ladder::Rung;
use serde_json::{Map, Value as Json, json};

use crate::coupon::Template;

/// The rules every new workspace starts with.
pub const DEFAULT_TOML: &str = include_str!("default_earn_rules.toml");

/// A non-negative decimal with three places, kept in thousandths so that points are
/// computed in integers and round the same way everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(pub i64);

impl Rate {
    /// One.
    pub const ONE: Rate = Rate(1000);

    /// As a number, for documents.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// Bonus points per occasion (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bonuses {
    /// The contact's first paid order.
    pub first_order: i64,
    /// A second paid order within 30 days of the first.
    pub second_order_within_30_days: i64,
    /// On the contact's birthday (awarded by the automation playbook).
    pub birthday: i64,
    /// Answering a survey.
    pub survey_answered: i64,
    /// Writing a review.
    pub review_written: i64,
}

const BONUS_NAMES: [&str; 5] = [
    "first_order",
    "second_order_within_30_days",
    "birthday",
    "survey_answered",
    "review_written",
];

impl Bonuses {
    fn slot(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name {
            "first_order" => &mut self.first_order,
            "second_order_within_30_days" => &mut self.second_order_within_30_days,
            "birthday" => &mut self.birthday,
            "survey_answered" => &mut self.survey_answered,
            "review_written" => &mut self.review_written,
            _ => return None,
        })
    }

    fn get(&self, name: &str) -> i64 {
        let mut copy = *self;
        copy.slot(name).map_or(0, |v| *v)
    }
}

/// Upper bounds on earning (`None` = unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// Points one order may earn, base, multiplier and bonuses together.
    pub per_order: Option<i64>,
    /// Points one contact may earn in one day of the workspace's time zone.
    pub per_day: Option<i64>,
}

/// What one side of a converted referral receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralReward {
    /// Points, in a lot that expires like earned ones.
    Points(i64),
    /// A single-use coupon issued to the contact.
    Coupon(Template),
}

impl ReferralReward {
    fn from_json(v: &Json, path: &str) -> Result<Self, RuleError> {
        let obj = object(v, path)?;
        known_fields(obj, path, &["points", "coupon"])?;
        match (obj.get("points"), obj.get("coupon")) {
            (Some(p), None) => Ok(Self::Points(points(p, &format!("{path}.points"), true)?)),
            (None, Some(c)) => Template::from_json(c)
                .map(Self::Coupon)
                .map_err(|(f, r)| err(format!("{path}.coupon.{f}").trim_end_matches('.'), r)),
            _ => Err(err(path, "either points or coupon is expected")),
        }
    }

    fn to_json(self) -> Json {
        match self {
            Self::Points(p) => json!({ "points": p }),
            Self::Coupon(t) => json!({ "coupon": t.to_json() }),
        }
    }
}

/// The referral programme: who is rewarded with what when a referee's first order is paid
/// within the attribution window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRules {
    /// Whether referrals are attributed and rewarded.
    pub enabled: bool,
    /// Days after the sign-up within which the first paid order converts the referral.
    pub window_days: u32,
    /// The referrer's reward.
    pub referrer: ReferralReward,
    /// The referee's reward.
    pub referee: ReferralReward,
    /// Where a referral link sends people (`ref=CODE` is added); none: Clientele's own page.
    pub landing_url: Option<String>,
}

impl ReferralRules {
    fn from_json(v: &Json) -> Result<Self, RuleError> {
        let defaults = default_referrals();
        let obj = object(v, "referrals")?;
        known_fields(
            obj,
            "referrals",
            &[
                "enabled",
                "window_days",
                "referrer",
                "referee",
                "landing_url",
            ],
        )?;
        let enabled = match obj.get("enabled") {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| err("referrals.enabled", "true or false is expected"))?,
        };
        let window_days = match obj.get("window_days") {
            None => defaults.window_days,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=3650) => n as u32,
                _ => {
                    return Err(err(
                        "referrals.window_days",
                        "a whole number of days, 1 to 3650",
                    ));
                }
            },
        };
        let side = |name: &str, default: ReferralReward| match obj.get(name) {
            None => Ok(default),
            Some(v) => ReferralReward::from_json(v, &format!("referrals.{name}")),
        };
        let landing_url = match obj.get("landing_url") {
            None | Some(Json::Null) => None,
            Some(Json::String(u)) if u.starts_with("https://") || u.starts_with("http://") => {
                Some(u.clone())
            }
            Some(_) => {
                return Err(err(
                    "referrals.landing_url",
                    "an http:// or https:// address is expected",
                ));
            }
        };
        Ok(Self {
            enabled,
            window_days,
            referrer: side("referrer", defaults.referrer)?,
            referee: side("referee", defaults.referee)?,
            landing_url,
        })
    }

    fn to_json(&self) -> Json {
        json!({
            "enabled": self.enabled,
            "window_days": self.window_days,
            "referrer": self.referrer.to_json(),
            "referee": self.referee.to_json(),
            "landing_url": self.landing_url,
        })
    }
}

/// A validated set of earn rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnRules {
    /// Whether orders earn points at all (a shop may run without a programme).
    pub enabled: bool,
    /// Points per whole unit of the base currency of a paid order's total.
    pub points_per_unit: Rate,
    /// Months after which a lot of earned points expires.
    pub expiry_months: u32,
    /// Multipliers per rung (absent = 1).
    pub multipliers: BTreeMap<Rung, Rate>,
    /// Bonuses.
    pub bonuses: Bonuses,
    /// Caps.
    pub caps: Caps,
    /// The referral programme.
    pub referrals: ReferralRules,
}

/// Earn rules that do not pass the checks: where, and why.
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

/// The largest number of points one rule may name (bonus, cap): far above any real
/// programme, far below overflow when added up.
const MAX_POINTS: i64 = 1_000_000_000;

impl Default for EarnRules {
    fn default() -> Self {
        Self::from_toml(DEFAULT_TOML).expect("the shipped earn rules pass their own checks")
    }
}

/// What a document without a `[referrals]` table gets (the shipped defaults spell it out).
fn default_referrals() -> ReferralRules {
    ReferralRules {
        enabled: true,
        window_days: 60,
        referrer: ReferralReward::Points(200),
        referee: ReferralReward::Points(100),
        landing_url: None,
    }
}

impl EarnRules {
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
        known_fields(
            obj,
            "",
            &[
                "enabled",
                "points_per_unit",
                "expiry_months",
                "multipliers",
                "bonuses",
                "caps",
                "referrals",
            ],
        )?;
        let enabled = match obj.get("enabled") {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| err("enabled", "true or false is expected"))?,
        };
        let points_per_unit = match obj.get("points_per_unit") {
            None => Rate::ONE,
            Some(v) => rate(v, "points_per_unit", false)?,
        };
        let expiry_months = match obj.get("expiry_months") {
            None => 12,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=120) => n as u32,
                _ => return Err(err("expiry_months", "a whole number of months, 1 to 120")),
            },
        };
        let mut multipliers = BTreeMap::new();
        if let Some(m) = obj.get("multipliers") {
            for (name, v) in object(m, "multipliers")? {
                let path = format!("multipliers.{name}");
                let rung = Rung::parse(name).ok_or_else(|| {
                    err(&path, "unknown rung (suspect, prospect, shopper, customer, client, advocate, raving_fan)")
                })?;
                multipliers.insert(rung, rate(v, &path, false)?);
            }
        }
        let mut bonuses = Bonuses::default();
        if let Some(b) = obj.get("bonuses") {
            let b = object(b, "bonuses")?;
            known_fields(b, "bonuses", &BONUS_NAMES)?;
            for (name, v) in b {
                let slot = bonuses.slot(name).expect("names checked above");
                *slot = points(v, &format!("bonuses.{name}"), true)?;
            }
        }
        let mut caps = Caps::default();
        if let Some(c) = obj.get("caps") {
            let c = object(c, "caps")?;
            known_fields(c, "caps", &["per_order", "per_day"])?;
            let cap = |name: &str| match c.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => points(v, &format!("caps.{name}"), false).map(Some),
            };
            caps.per_order = cap("per_order")?;
            caps.per_day = cap("per_day")?;
        }
        let referrals = match obj.get("referrals") {
            None => default_referrals(),
            Some(r) => ReferralRules::from_json(r)?,
        };
        Ok(Self {
            enabled,
            points_per_unit,
            expiry_months,
            multipliers,
            bonuses,
            caps,
            referrals,
        })
    }

    /// The document form (what the API returns and stores).
    pub fn to_json(&self) -> Json {
        let multipliers: Map<String, Json> = self
            .multipliers
            .iter()
            .map(|(r, m)| (r.name().to_owned(), json!(m.as_f64())))
            .collect();
        let bonuses: Map<String, Json> = BONUS_NAMES
            .iter()
            .map(|n| ((*n).to_owned(), json!(self.bonuses.get(n))))
            .collect();
        json!({
            "enabled": self.enabled,
            "points_per_unit": self.points_per_unit.as_f64(),
            "expiry_months": self.expiry_months,
            "multipliers": multipliers,
            "bonuses": bonuses,
            "caps": {"per_order": self.caps.per_order, "per_day": self.caps.per_day},
            "referrals": self.referrals.to_json(),
        })
    }

    /// The multiplier for a rung (1 when none is set).
    pub fn multiplier(&self, rung: Rung) -> Rate {
        self.multipliers.get(&rung).copied().unwrap_or(Rate::ONE)
    }
}

fn object<'a>(v: &'a Json, path: &str) -> Result<&'a Map<String, Json>, RuleError> {
    v.as_object()
        .ok_or_else(|| err(path, "an object is expected"))
}

fn known_fields(obj: &Map<String, Json>, path: &str, known: &[&str]) -> Result<(), RuleError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            Err(err(
                at,
                format!("unknown field (expected one of: {})", known.join(", ")),
            ))
        }
    }
}

/// A positive decimal with at most three places, at most 1 000 000.
fn rate(v: &Json, path: &str, zero_ok: bool) -> Result<Rate, RuleError> {
    let n = v
        .as_f64()
        .ok_or_else(|| err(path, "a number is expected"))?;
    let milli = (n * 1000.0).round();
    if !n.is_finite() || n < 0.0 || (n == 0.0 && !zero_ok) || n > 1_000_000.0 {
        return Err(err(path, "a positive number up to 1 000 000 is expected"));
    }
    if (milli - n * 1000.0).abs() > 1e-6 {
        return Err(err(path, "at most three decimal places"));
    }
    Ok(Rate(milli as i64))
}

/// A whole number of points.
fn points(v: &Json, path: &str, zero_ok: bool) -> Result<i64, RuleError> {
    match v.as_i64() {
        Some(n) if n > 0 || (zero_ok && n == 0) => {
            if n > MAX_POINTS {
                Err(err(path, format!("at most {MAX_POINTS} points")))
            } else {
                Ok(n)
            }
        }
        _ => Err(err(
            path,
            if zero_ok {
                "a whole number of points, 0 or more"
            } else {
                "a whole number of points, 1 or more"
            },
        )),
    }
}
