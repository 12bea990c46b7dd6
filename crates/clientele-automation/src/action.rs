//! Actions: the steps of a rule, and the flat program they compile to — the step numbers
//! runs and their keys use, with `branch` as a test that jumps.

use clientele_loyalty::Bonus;
use clientele_loyalty::coupon::Template as CouponTemplate;
use serde_json::{Value as Json, json};

use crate::condition::Condition;
use crate::document::{RuleError, Templates, err, join, known_fields, object};

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

/// Kinds of support ticket an `open_ticket` step may open.
pub const TICKET_KINDS: [&str; 4] = ["warranty", "return", "complaint", "question"];

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
    /// Give the bonus the loyalty earn rules set for this occasion (e.g. birthday), or
    /// `otherwise` points while they set none.
    AwardBonus {
        /// The occasion.
        bonus: Bonus,
        /// Points when the earn rules give none.
        otherwise: i64,
    },
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
    /// A to-do for a member of staff about the contact.
    CreateTask {
        /// What to do (a template: it sees the contact).
        title: String,
        /// Who should (an e-mail or a name); none: whoever takes it.
        assignee: Option<String>,
        /// Due this many days after it is created.
        due_days: i64,
    },
    /// A support ticket about the contact.
    OpenTicket {
        /// One of [`TICKET_KINDS`].
        kind: String,
        /// Its subject (a template).
        subject: String,
    },
    /// Go on with `then` if every condition holds now, else with `otherwise`; the rule's
    /// later steps follow either way.
    Branch {
        /// Tested when the step is reached.
        conditions: Vec<Condition>,
        /// Steps when they hold.
        then: Vec<Action>,
        /// Steps when they do not.
        otherwise: Vec<Action>,
    },
}

const ACTIONS: [&str; 11] = [
    "send_email",
    "send_sms",
    "issue_coupon",
    "award_points",
    "add_tag",
    "remove_tag",
    "wait",
    "call_webhook",
    "create_task",
    "open_ticket",
    "branch",
];

/// Branches nest at most this deep.
const MAX_DEPTH: usize = 4;

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

/// A short text that is also a template (titles, subjects).
fn short_template(v: Option<&Json>, at: &str) -> Result<String, RuleError> {
    match v.and_then(Json::as_str).map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 200 => {
            crate::template::check(t).map_err(|e| err(at, e))?;
            Ok(t.to_owned())
        }
        _ => Err(err(at, "a text of 1 to 200 characters")),
    }
}

/// A list of actions at `path`.
pub(crate) fn actions_from_json(
    list: &[Json],
    path: &str,
    templates: &Templates,
    depth: usize,
) -> Result<Vec<Action>, RuleError> {
    list.iter()
        .enumerate()
        .map(|(i, a)| Action::from_json(a, &format!("{path}[{i}]"), templates, depth))
        .collect()
}

impl Action {
    fn from_json(
        v: &Json,
        path: &str,
        templates: &Templates,
        depth: usize,
    ) -> Result<Self, RuleError> {
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
            "award_points" => match body {
                Json::Object(b) => {
                    known_fields(b, &at, &["bonus", "default"])?;
                    let bonus = match b.get("bonus").and_then(Json::as_str) {
                        Some("birthday") => Bonus::Birthday,
                        Some("survey_answered") => Bonus::SurveyAnswered,
                        Some("review_written") => Bonus::ReviewWritten,
                        _ => {
                            return Err(err(
                                format!("{at}.bonus"),
                                "birthday, survey_answered or review_written",
                            ));
                        }
                    };
                    let otherwise = match b.get("default") {
                        None => 0,
                        Some(v) => v
                            .as_i64()
                            .filter(|n| (0..=1_000_000).contains(n))
                            .ok_or_else(|| err(format!("{at}.default"), "0 to 1 000 000"))?,
                    };
                    Ok(Self::AwardBonus { bonus, otherwise })
                }
                _ => match body.as_i64() {
                    Some(n @ 1..=1_000_000) => Ok(Self::AwardPoints(n)),
                    _ => Err(err(
                        at,
                        "a whole number of points, 1 to 1 000 000, or {bonus = NAME}",
                    )),
                },
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
                    (None, Some(Some(d))) if d <= 3650 => d * 24,
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
            "create_task" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["title", "assignee", "due_days"])?;
                let title = short_template(b.get("title"), &format!("{at}.title"))?;
                let assignee = match b.get("assignee") {
                    None => None,
                    Some(Json::String(a)) if !a.trim().is_empty() && a.len() <= 200 => {
                        Some(a.trim().to_owned())
                    }
                    Some(_) => {
                        return Err(err(format!("{at}.assignee"), "1 to 200 characters"));
                    }
                };
                let due_days = match b.get("due_days") {
                    None => 1,
                    Some(d) => d
                        .as_i64()
                        .filter(|d| (0..=365).contains(d))
                        .ok_or_else(|| err(format!("{at}.due_days"), "0 to 365"))?,
                };
                Ok(Self::CreateTask {
                    title,
                    assignee,
                    due_days,
                })
            }
            "open_ticket" => {
                let b = object(body, &at)?;
                known_fields(b, &at, &["kind", "subject"])?;
                let kind = b.get("kind").and_then(Json::as_str).unwrap_or_default();
                if !TICKET_KINDS.contains(&kind) {
                    return Err(err(
                        format!("{at}.kind"),
                        format!("one of {}", TICKET_KINDS.join(", ")),
                    ));
                }
                let subject = short_template(b.get("subject"), &format!("{at}.subject"))?;
                Ok(Self::OpenTicket {
                    kind: kind.to_owned(),
                    subject,
                })
            }
            "branch" => {
                if depth >= MAX_DEPTH {
                    return Err(err(at, format!("branches nest at most {MAX_DEPTH} deep")));
                }
                let b = object(body, &at)?;
                known_fields(b, &at, &["if", "then", "else"])?;
                let list = |k: &str| -> Result<&[Json], RuleError> {
                    match b.get(k) {
                        None => Ok(&[]),
                        Some(Json::Array(a)) => Ok(a.as_slice()),
                        Some(_) => Err(err(format!("{at}.{k}"), "an array is expected")),
                    }
                };
                let conditions = list("if")?
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Condition::from_json(c, &format!("{at}.if[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                if conditions.is_empty() {
                    return Err(err(format!("{at}.if"), "at least one condition"));
                }
                let then =
                    actions_from_json(list("then")?, &format!("{at}.then"), templates, depth + 1)?;
                let otherwise =
                    actions_from_json(list("else")?, &format!("{at}.else"), templates, depth + 1)?;
                if then.is_empty() && otherwise.is_empty() {
                    return Err(err(at, "`then` or `else` needs at least one action"));
                }
                Ok(Self::Branch {
                    conditions,
                    then,
                    otherwise,
                })
            }
            _ => unreachable!("names checked above"),
        }
    }

    /// The document form.
    pub fn to_json(&self) -> Json {
        let list = |a: &[Action]| a.iter().map(Action::to_json).collect::<Vec<_>>();
        match self {
            Self::SendEmail { template, purpose } => {
                json!({"send_email": {"template": template, "purpose": purpose.name()}})
            }
            Self::SendSms { template, purpose } => {
                json!({"send_sms": {"template": template, "purpose": purpose.name()}})
            }
            Self::IssueCoupon(t) => json!({"issue_coupon": t.to_json()}),
            Self::AwardPoints(n) => json!({ "award_points": n }),
            Self::AwardBonus { bonus, otherwise } => {
                let name = bonus.reason().trim_start_matches("bonus:");
                json!({"award_points": {"bonus": name, "default": otherwise}})
            }
            Self::AddTag(t) => json!({ "add_tag": t }),
            Self::RemoveTag(t) => json!({ "remove_tag": t }),
            Self::Wait { hours } => json!({"wait": {"hours": hours}}),
            Self::CallWebhook { url } => json!({"call_webhook": {"url": url}}),
            Self::CreateTask {
                title,
                assignee,
                due_days,
            } => {
                let mut body = json!({"title": title, "due_days": due_days});
                if let Some(a) = assignee {
                    body["assignee"] = json!(a);
                }
                json!({ "create_task": body })
            }
            Self::OpenTicket { kind, subject } => {
                json!({"open_ticket": {"kind": kind, "subject": subject}})
            }
            Self::Branch {
                conditions,
                then,
                otherwise,
            } => json!({"branch": {
                "if": conditions.iter().map(Condition::to_json).collect::<Vec<_>>(),
                "then": list(then),
                "else": list(otherwise),
            }}),
        }
    }
}

/// One instruction of a rule's flat program; a run's step number is an index into it.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Do the action, then go on with the next instruction.
    Act(Action),
    /// Go on with the next instruction if the conditions hold, else at `otherwise`.
    Test {
        /// The branch's conditions.
        conditions: Vec<Condition>,
        /// Where the `else` steps start.
        otherwise: usize,
    },
    /// Go on at this instruction (the end of a `then` jumping over its `else`).
    Goto(usize),
}

/// Compile actions to their flat program. Without branches, instruction `i` is action `i`
/// (so the step numbers of runs made before branches existed still mean the same).
pub fn program(actions: &[Action]) -> Vec<Op> {
    fn emit(actions: &[Action], out: &mut Vec<Op>) {
        for a in actions {
            match a {
                Action::Branch {
                    conditions,
                    then,
                    otherwise,
                } => {
                    let test = out.len();
                    out.push(Op::Test {
                        conditions: conditions.clone(),
                        otherwise: 0,
                    });
                    emit(then, out);
                    let skip = (!otherwise.is_empty()).then(|| {
                        out.push(Op::Goto(0));
                        out.len() - 1
                    });
                    let else_at = out.len();
                    emit(otherwise, out);
                    let end = out.len();
                    if let Op::Test { otherwise, .. } = &mut out[test] {
                        *otherwise = else_at;
                    }
                    if let Some(g) = skip {
                        out[g] = Op::Goto(end);
                    }
                }
                other => out.push(Op::Act(other.clone())),
            }
        }
    }
    let mut out = Vec::new();
    emit(actions, &mut out);
    out
}

/// The instruction a run goes on with after reaching `at` (following jumps); `None`: the
/// run is over.
pub fn resolve(program: &[Op], mut at: usize) -> Option<usize> {
    // Jumps only go forward, so this ends.
    while let Some(Op::Goto(to)) = program.get(at) {
        at = *to;
    }
    (at < program.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_compiles_to_a_test_that_jumps_over_what_does_not_apply() {
        let tag = |t: &str| Action::AddTag(t.into());
        let cond = vec![Condition::HasTag("vip".into())];
        let actions = vec![
            tag("a"),
            Action::Branch {
                conditions: cond.clone(),
                then: vec![tag("b"), tag("c")],
                otherwise: vec![tag("d")],
            },
            tag("e"),
        ];
        let p = program(&actions);
        assert_eq!(
            p,
            vec![
                Op::Act(tag("a")),
                Op::Test {
                    conditions: cond.clone(),
                    otherwise: 5
                },
                Op::Act(tag("b")),
                Op::Act(tag("c")),
                Op::Goto(6),
                Op::Act(tag("d")),
                Op::Act(tag("e")),
            ]
        );
        assert_eq!(resolve(&p, 4), Some(6), "the end of `then` skips `else`");
        assert_eq!(resolve(&p, 7), None);
        // No else: the test jumps straight past `then`.
        let p = program(&[Action::Branch {
            conditions: cond,
            then: vec![tag("b")],
            otherwise: vec![],
        }]);
        assert!(matches!(p[0], Op::Test { otherwise: 2, .. }));
        assert_eq!(resolve(&p, 2), None);
    }
}
