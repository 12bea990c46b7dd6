//! The delivery agent's side of the protocol, against a real SMTP server: messages it holds
//! when its server goes away are let go only if the database recorded their steps.

use std::sync::Arc;
use std::time::Duration;

use clientele_engine::automation::{Committed, Email, SmtpMailer, StepRef, run_agent};
use clientele_testkit::smtp::SmtpSink;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn email(key: &str) -> Email {
    Email {
        to: format!("{key}@example.vn"),
        to_name: None,
        subject: format!("for {key}"),
        text: "hello".into(),
        html: "<p>hello</p>".into(),
        message_id: format!("<{key}@clientele>"),
        unsubscribe: None,
        step: Some(StepRef {
            workspace: 1,
            contact: 1,
            key: key.into(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_server_s_recorded_messages_are_let_go_and_the_others_dropped() {
    let sink = SmtpSink::start();
    let mailer = Arc::new(SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap());
    // "kept" was recorded before the server went away; "lost" was not.
    let committed: Committed = Arc::new(|steps: Vec<StepRef>| {
        Box::pin(async move { steps.iter().map(|s| s.key == "kept").collect() })
    });
    let (mut server_writes, agent_reads) = tokio::io::duplex(1 << 16);
    let (agent_writes, server_reads) = tokio::io::duplex(1 << 16);
    let agent = tokio::spawn(run_agent(
        mailer,
        committed,
        BufReader::new(agent_reads),
        agent_writes,
    ));
    let mut answers = BufReader::new(server_reads).lines();

    for (id, key) in [(1, "kept"), (2, "lost"), (3, "finished")] {
        let ask = json!({"prepare": {"id": id, "email": email(key)}});
        server_writes
            .write_all(format!("{ask}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut held = Vec::new();
    for _ in 0..3 {
        let a: Value = serde_json::from_str(&answers.next_line().await.unwrap().unwrap()).unwrap();
        held.push(a["held"]["id"].as_i64().expect("held"));
    }
    held.sort();
    assert_eq!(held, [1, 2, 3]);
    // Held, not delivered: the SMTP server has nothing yet.
    assert!(sink.messages().is_empty());

    // One finished the normal way.
    server_writes
        .write_all(b"{\"finish\": {\"id\": 3}}\n")
        .await
        .unwrap();
    let a: Value = serde_json::from_str(&answers.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(a["finished"]["id"], 3);
    assert_eq!(a["finished"]["result"], json!({"Ok": null}));

    // The server dies: its end of the pipe closes with two messages held.
    drop(server_writes);
    agent.await.unwrap().unwrap();
    let got = sink.wait_for(2, Duration::from_secs(10)).await;
    let mut to: Vec<String> = got.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, ["finished@example.vn", "kept@example.vn"]);
}
