//! A dry run of a rule set: for each enabled rule, which contacts stand where its trigger
//! leads now (so would have entered it), and what the first of them would receive — the
//! messages rendered for them. Nothing is written, sent or enqueued.

use clientele_automation::{Action, Rule, RuleSet, Trigger, render};

use super::calendar;
use super::subject::conditions_hold;
use clientele_core::ContactId;
use clientele_core::time::DAY;
use clientele_store::{Store, StoreResult, Workspace};
use serde::Serialize;
use serde_json::json;

/// Contacts read per transaction.
const PAGE: i64 = 1000;

/// What a rule would do now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleDryRun {
    /// The rule.
    pub rule: String,
    /// Contacts that stand where the trigger leads and meet the conditions.
    pub would_enter: usize,
    /// Why the count is what it is, when the trigger cannot be matched now.
    pub note: Option<String>,
    /// The first of them (by id), up to the sample size.
    pub sample: Vec<SampleContact>,
    /// The rule's messages, rendered for the first sampled contact.
    pub messages: Vec<Preview>,
}

/// A contact of the sample.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SampleContact {
    /// Id.
    pub id: i64,
    /// External id.
    pub external_id: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// One message as it would go.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// `email` or `sms`.
    pub channel: String,
    /// Template.
    pub template: String,
    /// Rendered subject (e-mail).
    pub subject: String,
    /// Rendered plain text.
    pub text: String,
}

/// Run `set` dry over the workspace's contacts.
pub async fn dry_run(
    store: &dyn Store,
    ws: &Workspace,
    set: &RuleSet,
    sample: usize,
) -> StoreResult<Vec<RuleDryRun>> {
    let now = clientele_store::now_micros();
    let rules: Vec<&Rule> = set.rules.iter().filter(|r| r.enabled).collect();
    let mut matched: Vec<Vec<ContactId>> = vec![Vec::new(); rules.len()];
    let mut after = ContactId(0);
    loop {
        let ids = store.contact_ids_page(ws.id, after, PAGE).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        let mut tx = store.begin_write(ws.id).await?;
        let rows = tx.ladder_rows(&ids).await?;
        for row in &rows {
            for (rule, found) in rules.iter().zip(matched.iter_mut()) {
                let stands = match &rule.trigger {
                    Trigger::RungEntered(r) => row.rung == r.to_string(),
                    Trigger::StatusChanged(s) => row.status == s.to_string(),
                    // Its clock runs out today: the last order was N days ago.
                    Trigger::NoOrderFor { days } => tx
                        .last_order_at(row.contact_id)
                        .await?
                        .is_some_and(|last| (now - last) / DAY == *days),
                    _ => false,
                };
                if stands
                    && conditions_hold(&mut *tx, &rule.conditions, row.contact_id, now).await?
                {
                    found.push(row.contact_id);
                }
            }
        }
        tx.commit().await?;
    }
    let mut out = Vec::with_capacity(rules.len());
    let mut tx = store.begin_write(ws.id).await?;
    // Date rules: the contacts whose date falls today.
    if let Some((tz, today)) = calendar::today(ws, now) {
        for (rule, found) in rules.iter().zip(matched.iter_mut()) {
            if let Trigger::Anniversary(field) = rule.trigger {
                for c in calendar::falling_on(&mut *tx, &tz, today, field).await? {
                    if conditions_hold(&mut *tx, &rule.conditions, c, now).await? {
                        found.push(c);
                    }
                }
            }
        }
    }
    for (rule, mut found) in rules.into_iter().zip(matched) {
        found.sort();
        let note = match rule.trigger {
            Trigger::RungEntered(_) | Trigger::StatusChanged(_) => None,
            Trigger::RungLeft(_) => Some("fires only when a contact leaves the rung"),
            Trigger::EventReceived(_) => Some("fires only when such an event is accepted"),
            Trigger::ScoreCrossed { .. } => Some("fires only when the score crosses the threshold"),
            Trigger::Anniversary(_) => Some("those whose date is today"),
            Trigger::NoOrderFor { .. } => Some("those whose last order was that many days ago"),
        }
        .map(str::to_owned);
        let mut contacts = Vec::new();
        for id in found.iter().take(sample) {
            if let Some(f) = tx.contact_fields(*id).await? {
                contacts.push((id, f));
            }
        }
        let messages = match contacts.first() {
            Some((_, f)) => previews(ws, set, rule, f),
            None => Vec::new(),
        };
        out.push(RuleDryRun {
            rule: rule.name.clone(),
            would_enter: found.len(),
            note,
            sample: contacts
                .into_iter()
                .map(|(id, f)| SampleContact {
                    id: id.0,
                    external_id: f.external_id,
                    name: f.name,
                })
                .collect(),
            messages,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// The rule's messages for one contact, with a stand-in coupon where the rule issues one.
fn previews(
    ws: &Workspace,
    set: &RuleSet,
    rule: &Rule,
    f: &clientele_core::contact::ContactFields,
) -> Vec<Preview> {
    let language = match f.locale.as_deref() {
        Some(l) if l.starts_with("en") => "en",
        _ => "vi",
    };
    let mut ctx = json!({
        "contact": {"name": f.name, "email": f.email, "phone": f.phone, "external_id": f.external_id},
        "points": {"balance": 0},
        "workspace": {"name": ws.name},
        "unsubscribe_url": "https://…/u/…",
    });
    let mut out = Vec::new();
    for action in &rule.actions {
        let (channel, template) = match action {
            Action::IssueCoupon(t) => {
                let discount = match t.discount.kind() {
                    "percent" => format!("{}%", t.discount.value()),
                    _ => format!("{} {}", t.discount.value(), ws.currency),
                };
                ctx["coupon"] = json!({"code": "XXXX-XXXX-XXXX-XXXX", "discount": discount,
                                       "expires_at": "…"});
                continue;
            }
            Action::SendEmail { template, .. } => ("email", template),
            Action::SendSms { template, .. } => ("sms", template),
            _ => continue,
        };
        let rendered = set
            .template(template, language)
            .ok_or_else(|| "the template is missing".to_owned())
            .and_then(|t| render(t, &ctx).map_err(|e| e.to_string()));
        out.push(match rendered {
            Ok(r) => Preview {
                channel: channel.into(),
                template: template.clone(),
                subject: if channel == "email" {
                    r.subject
                } else {
                    String::new()
                },
                text: r.text,
            },
            Err(e) => Preview {
                channel: channel.into(),
                template: template.clone(),
                subject: String::new(),
                text: format!("(cannot be rendered: {e})"),
            },
        });
    }
    out
}
