//! Automation rule sets: the shipped playbooks, checks that name the path, round trips,
//! and random documents that never panic the checker.

use clientele_automation::{Action, RuleSet, Trigger};
use clientele_ladder::{Rung, Status};
use proptest::prelude::*;
use serde_json::{Value, json};

#[test]
fn the_shipped_playbooks_cover_the_ladder() {
    let set = RuleSet::default();
    let shopper = set.rule("shopper_thank_you").unwrap();
    assert_eq!(shopper.trigger, Trigger::RungEntered(Rung::Shopper));
    assert!(matches!(shopper.actions[0], Action::IssueCoupon(_)));
    assert!(set.rule("customer_loyalty_invitation").is_some());
    let lapsed = set.rule("lapsed_last_chance").unwrap();
    assert_eq!(lapsed.trigger, Trigger::StatusChanged(Status::Lapsed));
    let client = set.rule("client_personal_thanks").unwrap();
    assert_eq!(client.actions[1], Action::Wait { hours: 14 * 24 });
    let promoter = set.rule("promoter_referral_invitation").unwrap();
    assert_eq!(
        promoter.trigger,
        Trigger::EventReceived(clientele_core::event::EventKind::SurveyAnswered)
    );
    let birthday = set.rule("birthday_points").unwrap();
    assert_eq!(
        birthday.trigger,
        Trigger::Anniversary(clientele_automation::DateField::Birthday)
    );
    for name in set.templates.keys() {
        assert!(set.template(name, "en").is_some() && set.template(name, "vi").is_some());
    }
    assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
}

#[test]
fn quiet_hours_may_span_midnight() {
    let l = clientele_automation::Limits::default();
    assert!(
        l.is_quiet(21 * 60) && l.is_quiet(23 * 60 + 59) && l.is_quiet(0) && l.is_quiet(7 * 60 + 59)
    );
    assert!(!l.is_quiet(8 * 60) && !l.is_quiet(12 * 60) && !l.is_quiet(20 * 60 + 59));
    let day = clientele_automation::Limits {
        quiet_hours: Some((12 * 60, 13 * 60)),
        cap: None,
    };
    assert!(day.is_quiet(12 * 60 + 30) && !day.is_quiet(13 * 60));
    let none = RuleSet::from_json(&json!({"limits": {"quiet_hours": null, "frequency_cap": null}}))
        .unwrap();
    assert_eq!(none.limits.quiet_hours, None);
    assert_eq!(none.limits.cap, None);
}

#[test]
fn bad_rule_sets_name_the_path() {
    let t = json!({"x": {"vi": {"subject": "s", "text": "t", "html": "h"}}});
    let rule = |r: Value| json!({"rules": [r], "templates": t});
    let email = json!({"send_email": {"template": "x"}});
    let cases = [
        (json!({"rule": []}), "rule"),
        (
            rule(
                json!({"name": "a b", "trigger": {"rung_entered": "shopper"}, "actions": [email]}),
            ),
            "rules[0].name",
        ),
        (
            rule(json!({"name": "a", "trigger": {"rung_entered": "vip"}, "actions": [email]})),
            "rules[0].trigger.rung_entered",
        ),
        (
            rule(json!({"name": "a", "trigger": {}, "actions": [email]})),
            "rules[0].trigger",
        ),
        (
            rule(json!({"name": "a", "trigger": {"status_changed": "sad"}, "actions": [email]})),
            "rules[0].trigger.status_changed",
        ),
        (
            rule(json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": []})),
            "rules[0].actions",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [{"send_email": {"template": "y"}}]}),
            ),
            "rules[0].actions[0].send_email.template",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [{"call_webhook": {"url": "ftp://x"}}]}),
            ),
            "rules[0].actions[0].call_webhook.url",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [{"fax": 1}]}),
            ),
            "rules[0].actions[0].fax",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [{"wait": {"weeks": 1}}]}),
            ),
            "rules[0].actions[0].wait.weeks",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [{"issue_coupon": {"kind": "percent", "value": 0}}]}),
            ),
            "rules[0].actions[0].issue_coupon.value",
        ),
        (
            rule(
                json!({"name": "a", "trigger": {"rung_entered": "shopper"}, "conditions": [{"has_tag": ""}], "actions": [email]}),
            ),
            "rules[0].conditions[0].has_tag",
        ),
        (
            json!({"templates": {"x": {"en": {"subject": "s", "text": "t", "html": "h"}}}}),
            "templates.x",
        ),
        (
            json!({"templates": {"x": {"vi": {"subject": "{% if %}", "text": "t", "html": "h"}}}}),
            "templates.x.vi.subject",
        ),
        (
            json!({"templates": {"x": {"fr": {"subject": "s", "text": "t", "html": "h"}}}}),
            "templates.x.fr",
        ),
        (
            json!({"limits": {"quiet_hours": {"start": "25:00", "end": "08:00"}}}),
            "limits.quiet_hours.start",
        ),
        (
            json!({"limits": {"frequency_cap": {"messages": 0, "days": 7}}}),
            "limits.frequency_cap.messages",
        ),
        (json!({"limits": {"curfew": true}}), "limits.curfew"),
    ];
    for (doc, path) in cases {
        let e = RuleSet::from_json(&doc).expect_err(&doc.to_string());
        assert_eq!(e.path, path, "{doc}: {e}");
    }
    let two = json!({"rules": [
        {"name": "a", "trigger": {"rung_entered": "shopper"}, "actions": [email]},
        {"name": "a", "trigger": {"rung_left": "shopper"}, "actions": [email]}], "templates": t});
    assert_eq!(RuleSet::from_json(&two).unwrap_err().path, "rules[1].name");
}

fn json_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..100).prop_map(Value::from),
        prop_oneof![
            Just("shopper"),
            Just("lapsed"),
            Just("x"),
            Just("{{ a }}"),
            Just("percent"),
            Just("https://hooks.shop.vn/x"),
            Just("survey.answered"),
            Just("birthday"),
            Just("nps_last"),
            Just(">="),
            Just("complaint"),
            Just("email"),
            Just("custom.city"),
        ]
        .prop_map(Value::from),
    ];
    let keys = prop_oneof![
        Just("rules"),
        Just("templates"),
        Just("name"),
        Just("trigger"),
        Just("actions"),
        Just("conditions"),
        Just("rung_entered"),
        Just("status_changed"),
        Just("send_email"),
        Just("call_webhook"),
        Just("send_sms"),
        Just("remove_tag"),
        Just("url"),
        Just("template"),
        Just("issue_coupon"),
        Just("kind"),
        Just("value"),
        Just("wait"),
        Just("days"),
        Just("vi"),
        Just("subject"),
        Just("text"),
        Just("html"),
        Just("x"),
        Just("event_received"),
        Just("score_crossed"),
        Just("metric"),
        Just("op"),
        Just("at_least"),
        Just("anniversary"),
        Just("no_order_for"),
        Just("branch"),
        Just("if"),
        Just("then"),
        Just("else"),
        Just("create_task"),
        Just("title"),
        Just("open_ticket"),
        Just("field"),
        Just("equals"),
        Just("present"),
        Just("consent"),
        Just("rung"),
        Just("status"),
        Just("award_points"),
        Just("bonus"),
        Just("default"),
        Just("has_tag"),
        Just("all"),
    ];
    leaf.prop_recursive(5, 60, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn any_document_is_checked_without_panicking(doc in json_doc()) {
        if let Ok(set) = RuleSet::from_json(&doc) {
            prop_assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
        }
    }
}

/// A random tree of actions: tags name their position, branches nest.
fn actions() -> impl Strategy<Value = Vec<Action>> {
    let leaf = (0u32..1000).prop_map(|n| Action::AddTag(format!("t{n}")));
    let tree = leaf.prop_recursive(4, 40, 4, |inner| {
        (
            proptest::collection::vec(inner.clone(), 0..4),
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(|(then, otherwise)| Action::Branch {
                conditions: vec![clientele_automation::Condition::HasTag("x".into())],
                then,
                otherwise,
            })
    });
    proptest::collection::vec(tree, 1..6)
}

/// The tags a walk of the tree does, answering each branch test from `choices` in turn.
fn walk_tree(actions: &[Action], choices: &mut impl Iterator<Item = bool>, out: &mut Vec<String>) {
    for a in actions {
        match a {
            Action::Branch {
                then, otherwise, ..
            } => {
                let side = if choices.next().unwrap_or(true) {
                    then
                } else {
                    otherwise
                };
                walk_tree(side, choices, out);
            }
            Action::AddTag(t) => out.push(t.clone()),
            _ => unreachable!(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    /// The flat program the runner steps through does what the tree of actions says, for
    /// every answer to its branch tests; its jumps only go forward, so every run ends.
    #[test]
    fn a_compiled_program_runs_as_its_tree_reads(
        tree in actions(),
        choices in proptest::collection::vec(any::<bool>(), 0..40),
    ) {
        use clientele_automation::{Op, program, resolve};
        let p = program(&tree);
        for (i, op) in p.iter().enumerate() {
            match op {
                Op::Test { otherwise: to, .. } | Op::Goto(to) => prop_assert!(*to > i && *to <= p.len()),
                Op::Act(_) => {}
            }
        }
        let mut expected = Vec::new();
        walk_tree(&tree, &mut choices.iter().copied(), &mut expected);
        let mut done = Vec::new();
        let mut answers = choices.iter().copied();
        let mut at = resolve(&p, 0);
        while let Some(i) = at {
            at = match &p[i] {
                Op::Act(Action::AddTag(t)) => {
                    done.push(t.clone());
                    resolve(&p, i + 1)
                }
                Op::Test { otherwise, .. } => {
                    if answers.next().unwrap_or(true) { resolve(&p, i + 1) } else { resolve(&p, *otherwise) }
                }
                other => unreachable!("{other:?}"),
            };
        }
        prop_assert_eq!(done, expected);
    }
}
