//! The automation contract through the real binary, on SQLite and PostgreSQL:
//! `clientele serve --smtp-url` sends the shopper playbook's message (with its coupon code)
//! to a real SMTP server within 10 s of the first paid order, the customer playbook's after
//! the second, and a repeated event starts nothing.

use std::time::Duration;

use clientele_core::time::{SECOND, format_instant};
use clientele_engine::automation::survey;
use clientele_store::now_micros;
use clientele_testkit::smtp::SmtpSink;
mod common;

use clientele_testkit::{TestDb, both_backends};
use common::{clientele, serve};
use serde_json::{Value, json};

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

fn paid(id: &str, order: &str) -> Value {
    let at = format_instant(now_micros() - 60 * SECOND);
    json!({"id": id, "kind": "order.paid", "occurred_at": at, "contact": {"external_id": "lan"},
           "data": {"order_id": order, "total": 350_000, "currency": "VND"}})
}

async fn serve_sends_the_playbooks_through_smtp(db: TestDb) {
    let sink = SmtpSink::start();
    clientele(
        &db,
        &[
            "workspace",
            "create",
            "shop",
            "--currency",
            "VND",
            "--timezone",
            "Asia/Ho_Chi_Minh",
            "--phone-region",
            "VN",
        ],
    );
    let token = clientele(&db, &["token", "create", "--workspace", "shop"]);
    let url = sink.url();
    let args = ["--smtp-url", &url, "--smtp-from", "Cửa hàng <care@shop.vn>"];
    let (mut child, base) = serve(
        &db,
        &[&args[..], &["--public-url", "https://crm.shop.vn"]].concat(),
    )
    .await;
    let api = Api {
        base,
        token,
        http: reqwest::Client::new(),
    };

    // The suite runs at any hour: this contact is outside quiet hours because there are none.
    let (_, mut rules) = api.get("/api/v1/automation/rules").await;
    rules["rules"]["limits"]["quiet_hours"] = Value::Null;
    let (s, r) = api
        .post("/api/v1/automation/rules", rules["rules"].clone())
        .await;
    assert_eq!((s, &r["version"]), (200, &json!(2)), "{r}");

    let (s, contact) = api
        .post(
            "/api/v1/contacts",
            json!({"external_id": "lan", "email": "lan@example.vn", "name": "Lan",
                   "time_zone": "Asia/Ho_Chi_Minh"}),
        )
        .await;
    assert_eq!(s, 201, "{contact}");
    let id = contact["id"].as_i64().unwrap();
    let (s, _) = api
        .post(
            &format!("/api/v1/contacts/{id}/consents"),
            json!({"channel": "email", "granted": true, "source": "checkout"}),
        )
        .await;
    assert_eq!(s, 201);

    let (s, r) = api
        .post("/api/v1/events", json!({"events": [paid("e1", "o1")]}))
        .await;
    assert_eq!(s, 200, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the shopper's message within 10 s");
    let (_, coupons) = api.get(&format!("/api/v1/contacts/{id}/coupons")).await;
    let code = coupons["items"][0]["code"].as_str().unwrap().to_owned();
    assert!(
        got[0].data.contains(&code),
        "the coupon code is in the body"
    );

    // The same event again starts nothing: no new step is written.
    let (_, before) = api.get(&format!("/api/v1/contacts/{id}/automation")).await;
    api.post("/api/v1/events", json!({"events": [paid("e1", "o1")]}))
        .await;
    let (_, after) = api.get(&format!("/api/v1/contacts/{id}/automation")).await;
    assert_eq!(
        before["items"].as_array().unwrap().len(),
        after["items"].as_array().unwrap().len()
    );

    api.post("/api/v1/events", json!({"events": [paid("e2", "o2")]}))
        .await;
    let got = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(
        got.len(),
        2,
        "the customer's message follows the second order"
    );
    // The message is recorded once the server has it: poll the API until it says so.
    let messages = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (s, m) = api.get(&format!("/api/v1/contacts/{id}/messages")).await;
            assert_eq!(s, 200);
            if m["items"].as_array().is_some_and(|a| a.len() == 2) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both messages recorded");
    let rules: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["customer_loyalty_invitation", "shopper_thank_you"]);
    assert_eq!(messages["items"][0]["status"], "sent");
    assert_eq!(messages["items"][0]["channel"], "email");

    // Marketing e-mail carries a signed one-click unsubscribe link (RFC 8058).
    let header = got[0].header("List-Unsubscribe").unwrap();
    let link = header
        .strip_prefix("<https://crm.shop.vn")
        .and_then(|h| h.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{header}"));
    assert!(link.starts_with("/u/"), "{link}");
    assert_eq!(
        got[0].header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let page = |path: &str, post: bool| {
        let url = format!("{}{path}", api.base);
        let req = if post {
            api.http.post(url).body("List-Unsubscribe=One-Click")
        } else {
            api.http.get(url)
        };
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let email_consent = || async {
        let (_, c) = api.get(&format!("/api/v1/contacts/{id}/consents")).await;
        c.as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|c| c["channel"] == "email")
            .map(|c| c["granted"].as_bool().unwrap())
    };
    // Opening the link only asks (mail scanners fetch links).
    let (s, body) = page(link, false).await;
    assert!(
        s == 200 && body.contains("<form method=\"post\">"),
        "{s} {body}"
    );
    assert_eq!(email_consent().await, Some(true));
    // A link signed for another contact is refused.
    let forged = link.replacen(&format!(".{id}."), &format!(".{}.", id + 1), 1);
    assert_eq!(page(&forged, true).await.0, 404);
    let (s, body) = page(link, true).await;
    assert!(s == 200 && body.contains("Unsubscribed"), "{s} {body}");
    assert_eq!(email_consent().await, Some(false), "consent withdrawn");

    // A dry run: Lan is a customer now, so the customer rule would take her, the shopper
    // rule no one; nothing is sent.
    let (s, dry) = api.post("/api/v1/automation/dry-run", json!({})).await;
    assert_eq!(s, 200, "{dry}");
    let rule = |name: &str| {
        dry["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(rule("shopper_thank_you")["would_enter"], 0);
    let customer = rule("customer_loyalty_invitation");
    assert_eq!(customer["would_enter"], 1);
    assert_eq!(customer["sample"][0]["external_id"], "lan");
    assert_eq!(customer["messages"][0]["channel"], "email");
    assert!(
        !customer["messages"][0]["subject"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let (s, bad) = api
        .post(
            "/api/v1/automation/dry-run",
            json!({"rules": [{"name": "x"}]}),
        )
        .await;
    assert_eq!(s, 422, "{bad}");
    assert_eq!(sink.messages().len(), 2, "a dry run sends nothing");

    // Webhook receivers learn the signing key from the API; it stays the same.
    let (s, k1) = api.get("/api/v1/automation/webhook-key").await;
    let (_, k2) = api.get("/api/v1/automation/webhook-key").await;
    let key = k1["key"].as_str().unwrap();
    assert!(s == 200 && key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(k1, k2);

    // NPS answer links, signed as the question e-mail signs them (that e-mail goes 14 days
    // after a contact becomes a client): opening one shows the scale with the score chosen
    // and sends it from the browser; the POST records it, once.
    let ws = db.store.workspace_by_name("shop").await.unwrap().unwrap();
    let mut tx = db.store.begin_write(ws.id).await.unwrap();
    let key = survey::key(&mut *tx, now_micros()).await.unwrap();
    tx.commit().await.unwrap();
    let contact = clientele_core::ContactId(id);
    let asked = format!("/s/{}", survey::token(&key, ws.id, contact, 777));
    let (s, body) = page(&format!("{asked}?score=9"), false).await;
    assert!(
        s == 200 && body.contains("name=\"score\" value=\"9\">"),
        "{s} {body}"
    );
    assert_eq!(page("/s/1.2.3.00", false).await.0, 404);
    let answer = |path: String, score: &str| {
        let req = api
            .http
            .post(format!("{}{path}", api.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("score={score}"));
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, body) = answer(asked.clone(), "9").await;
    assert!(
        s == 200 && body.contains("Thank you for your answer"),
        "{s} {body}"
    );
    let (s, body) = answer(asked.clone(), "2").await;
    assert!(s == 200 && body.contains("already recorded"), "{s} {body}");
    assert_eq!(answer(asked, "11").await.0, 404, "a score outside 0–10");
    // Two paid orders and a 9: an advocate; the promoter rule ran, but Lan unsubscribed.
    let (_, ladder) = api.get(&format!("/api/v1/contacts/{id}/ladder")).await;
    assert_eq!(ladder["rung"], "advocate", "{ladder}");
    let until = |path: String, want: fn(&Value) -> bool| {
        let api = &api;
        async move {
            tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    let (_, v) = api.get(&path).await;
                    if want(&v) {
                        return v;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{path} never as expected"))
        }
    };
    let m = until(format!("/api/v1/contacts/{id}/messages"), |m| {
        m["items"][0]["rule"] == "promoter_referral_invitation"
    })
    .await;
    assert_eq!(m["items"][0]["status"], "skipped");
    assert_eq!(m["items"][0]["detail"], "no e-mail consent");
    // A detractor's answer opens a ticket and a task for staff.
    let other = format!("/s/{}", survey::token(&key, ws.id, contact, 778));
    answer(other, "2").await;
    let tickets = until(format!("/api/v1/tickets?contact_id={id}"), |t| {
        t["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(tickets["items"][0]["kind"], "complaint");
    assert_eq!(tickets["items"][0]["subject"], "NPS 2: Lan");
    let tasks = until("/api/v1/tasks".into(), |t| {
        t["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(
        tasks["items"][0]["title"],
        "Call Lan about their NPS answer (2)"
    );
    let task = tasks["items"][0]["id"].as_i64().unwrap();
    let (s, done) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/tasks/{task}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!((s, &done["status"]), (200, &json!("done")), "{done}");
    let (_, open) = api.get("/api/v1/tasks").await;
    assert_eq!(open["items"], json!([]), "done tasks leave the open list");
    let (_, all) = api.get("/api/v1/tasks?status=all").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Rules are checked without being stored, and switched off and on one at a time.
    let (_, active) = api.get("/api/v1/automation/rules").await;
    let (s, v) = api
        .post("/api/v1/automation/rules/validate", active["rules"].clone())
        .await;
    assert_eq!((s, &v["valid"]), (200, &json!(true)), "{v}");
    let mut broken = active["rules"].clone();
    broken["rules"][0]["trigger"] = json!({"anniversary": "wedding"});
    let (s, v) = api.post("/api/v1/automation/rules/validate", broken).await;
    assert_eq!(
        (s, &v["field"]),
        (422, &json!("rules[0].trigger.anniversary")),
        "{v}"
    );
    let version = active["version"].as_i64().unwrap();
    let (s, v) = api
        .call(
            reqwest::Method::PATCH,
            "/api/v1/automation/rules/birthday_points",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((s, &v["version"]), (200, &json!(version + 1)), "{v}");
    let (_, now_active) = api.get("/api/v1/automation/rules").await;
    let birthday = now_active["rules"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "birthday_points")
        .unwrap()
        .clone();
    assert_eq!(birthday["enabled"], false);
    let (s, _) = api
        .call(
            reqwest::Method::PATCH,
            "/api/v1/automation/rules/no_such_rule",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = api
        .call(
            reqwest::Method::PATCH,
            "/api/v1/automation/rules/birthday_points",
            Some(json!({"enabled": "no"})),
        )
        .await;
    assert_eq!((s, &v["field"]), (422, &json!("enabled")), "{v}");
    child.kill().await.unwrap();

    // Operators see the same from the command line.
    let list = clientele(&db, &["automation", "list"]);
    assert!(list.starts_with("# rule set version 3"), "{list}");
    assert!(
        list.contains("shopper_thank_you\ton\trung_entered:shopper\tissue_coupon:10% → send_email:shopper_thank_you (marketing)"),
        "{list}"
    );
    let off = clientele(&db, &["automation", "disable", "shopper_thank_you"]);
    assert!(
        off.starts_with("shopper_thank_you: off (rule set version "),
        "{off}"
    );
    let list = clientele(&db, &["automation", "list"]);
    assert!(list.contains("shopper_thank_you\toff\t"), "{list}");
    assert!(
        list.contains("birthday_points\toff\tanniversary:birthday"),
        "{list}"
    );
    let on = clientele(&db, &["automation", "enable", "shopper_thank_you"]);
    assert!(on.starts_with("shopper_thank_you: on"), "{on}");
    let file = std::env::temp_dir().join(format!("rules-{}.json", std::process::id()));
    std::fs::write(&file, now_active["rules"].to_string()).unwrap();
    let checked = clientele(&db, &["automation", "validate", file.to_str().unwrap()]);
    assert!(
        checked.ends_with("valid (8 rules, 8 templates)"),
        "{checked}"
    );
    std::fs::write(&file, json!({"rules": [{"name": "x"}]}).to_string()).unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["automation", "validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("rules[0].trigger: is required"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    std::fs::remove_file(&file).unwrap();
    let dry = clientele(&db, &["automation", "dry-run"]);
    // Lan is an advocate now: no rung rule would take her; rules on events say when they fire.
    assert!(
        dry.contains("customer_loyalty_invitation\t0 would enter"),
        "{dry}"
    );
    assert!(
        dry.contains("promoter_referral_invitation\t0 would enter (fires only when such an event is accepted)"),
        "{dry}"
    );
    let runs = clientele(&db, &["automation", "runs", "lan"]);
    assert!(runs.contains("shopper_thank_you,2,1,done,1,"), "{runs}");
    assert!(
        runs.contains(",email,customer_loyalty_invitation,sent,lan@example.vn,"),
        "{runs}"
    );
}

both_backends!(serve_sends_the_playbooks_through_smtp);
