//! Which rung the rules give a contact, and why: the rule that held and, for the rung above,
//! every comparison that failed and by how much.

use serde::Serialize;

use crate::metrics::{Metrics, Value};
use crate::rules::{Condition, Operand, RuleSet, compare};
use crate::rung::Rung;

/// The highest rung whose rule holds.
pub fn rung_by_rules(rules: &RuleSet, m: &Metrics) -> Rung {
    rules
        .rungs
        .iter()
        .find(|(_, c)| c.holds(m))
        .map_or(Rung::Suspect, |(r, _)| *r)
}

/// One comparison with the contact's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The metric.
    pub metric: &'static str,
    /// The operator.
    pub op: &'static str,
    /// The rule's value.
    pub value: serde_json::Value,
    /// The contact's value (`null` when undefined).
    pub actual: serde_json::Value,
    /// Whether it holds.
    pub holds: bool,
    /// For a failed numeric comparison: how far the contact is from passing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_by: Option<f64>,
}

/// Why a contact stands where the rules put them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The rung the rules give.
    pub rung: Rung,
    /// Its rule's comparisons, with the contact's values.
    pub held: Vec<Check>,
    /// The rung above and its comparisons, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<NextRung>,
}

/// The rung above and what it takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextRung {
    /// The rung.
    pub rung: Rung,
    /// Its rule's comparisons; the failed ones say by how much.
    pub checks: Vec<Check>,
}

fn checks(c: &Condition, m: &Metrics) -> Vec<Check> {
    c.comparisons()
        .into_iter()
        .map(|(metric, op, value)| {
            let actual = m.value(metric);
            let holds = compare(actual, op, value);
            let short_by = match (holds, actual, value) {
                (false, Value::Number(a), Operand::Number(v)) => Some((v - a).abs()),
                (false, Value::Missing, Operand::Number(v)) => Some(v),
                _ => None,
            };
            Check {
                metric: metric.name(),
                op: op.as_str(),
                value: match value {
                    Operand::Number(n) => serde_json::json!(n),
                    Operand::Flag(b) => serde_json::json!(b),
                },
                actual: match actual {
                    Value::Number(n) => serde_json::json!(n),
                    Value::Flag(b) => serde_json::json!(b),
                    Value::Missing => serde_json::Value::Null,
                },
                holds,
                short_by,
            }
        })
        .collect()
}

/// Explain the rules' verdict for these metrics.
pub fn explain(rules: &RuleSet, m: &Metrics) -> Explanation {
    let index = rules
        .rungs
        .iter()
        .position(|(_, c)| c.holds(m))
        .unwrap_or(rules.rungs.len() - 1);
    let (rung, condition) = &rules.rungs[index];
    Explanation {
        rung: *rung,
        held: checks(condition, m),
        next: index.checked_sub(1).map(|above| NextRung {
            rung: rules.rungs[above].0,
            checks: checks(&rules.rungs[above].1, m),
        }),
    }
}
