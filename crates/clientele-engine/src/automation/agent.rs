//! The delivery agent: a process of its own that holds the SMTP connections, so that the
//! server dying between recording a chunk as sent and letting its messages go (see `gate`)
//! loses nothing. The server asks through the agent's stdin and reads its answers from its
//! stdout, one JSON object per line. If the server goes away (its end of the pipe closes),
//! the agent settles every message it holds by what the database says: a step recorded as
//! done has its message let go; any other is abandoned, and the server that takes the step
//! up again sends it. Only both processes dying together leaves the window open again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::mailer::{AfterData, Email, Handover, Mailer, Sending, StepRef};

/// What the server asks of the agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Ask {
    Prepare { id: u64, email: Box<Email> },
    Finish { id: u64 },
    Abandon { id: u64 },
}

/// What the agent answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Held {
        id: u64,
    },
    NotHeld {
        id: u64,
        error: String,
    },
    Finished {
        id: u64,
        result: Result<(), AfterData>,
    },
}

impl Answer {
    fn id(&self) -> u64 {
        match self {
            Answer::Held { id } | Answer::NotHeld { id, .. } | Answer::Finished { id, .. } => *id,
        }
    }
}

/// Which of these steps were recorded as done (one answer each, in order): how the agent
/// settles what it holds once the server is gone.
pub type Committed =
    Arc<dyn Fn(Vec<StepRef>) -> Pin<Box<dyn Future<Output = Vec<bool>> + Send>> + Send + Sync>;

/// The agent's side: answer the server's asks with `mailer` until its input closes, then
/// settle what is still held by `committed`, and return once every message is answered.
pub async fn run_agent(
    mailer: Arc<dyn Mailer>,
    committed: Committed,
    input: impl AsyncBufRead + Unpin,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> std::io::Result<()> {
    type Held = Arc<Mutex<HashMap<u64, (Option<StepRef>, Box<dyn Handover>)>>>;
    let held: Held = Arc::default();
    let (answers, outbox) = mpsc::unbounded_channel::<Answer>();
    // If the server is gone, answers go nowhere: the settling below needs none.
    let writer = tokio::spawn(write_lines(outbox, output));
    let mut tasks = tokio::task::JoinSet::new();
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        let ask: Ask = match serde_json::from_str(&line) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "the delivery agent got a line it cannot read");
                continue;
            }
        };
        match ask {
            Ask::Prepare { id, email } => {
                let (mailer, held, answers) = (mailer.clone(), held.clone(), answers.clone());
                tasks.spawn(async move {
                    match mailer.prepare(&email).await {
                        Ok(h) => {
                            lock(&held).insert(id, (email.step.clone(), h));
                            let _ = answers.send(Answer::Held { id });
                        }
                        Err(error) => {
                            let _ = answers.send(Answer::NotHeld { id, error });
                        }
                    }
                });
            }
            Ask::Finish { id } => {
                let taken = lock(&held).remove(&id);
                if let Some((_, h)) = taken {
                    let answer = h.finish();
                    let answers = answers.clone();
                    tasks.spawn(async move {
                        let result = answer.await;
                        let _ = answers.send(Answer::Finished { id, result });
                    });
                }
            }
            Ask::Abandon { id } => drop(lock(&held).remove(&id)),
        }
    }
    // The server is gone (or done): wait for messages still being prepared, then settle.
    while let Some(done) = tasks.join_next().await {
        let _ = done;
    }
    let (left, steps): (Vec<_>, Vec<_>) = lock(&held)
        .drain()
        .filter_map(|(id, (step, h))| Some(((id, h), step?)))
        .unzip();
    let recorded = if steps.is_empty() {
        Vec::new()
    } else {
        committed(steps).await
    };
    for ((id, h), release) in left.into_iter().zip(recorded) {
        if release {
            let result = h.finish().await;
            tracing::info!(
                id,
                ?result,
                "delivery agent: let go a message its server recorded"
            );
        }
        // Else dropped: abandoned, and sent by whichever server takes the step up again.
    }
    drop(answers);
    let _ = writer.await;
    Ok(())
}

/// Write what the queue carries, one JSON object per line, as many as are waiting per
/// write; until the queue closes, or a write fails (the other side is gone).
async fn write_lines<T: Serialize>(
    mut queue: mpsc::UnboundedReceiver<T>,
    mut out: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    while let Some(first) = queue.recv().await {
        let mut text = String::new();
        for item in std::iter::once(first).chain(std::iter::from_fn(|| queue.try_recv().ok())) {
            text.push_str(&serde_json::to_string(&item).expect("the protocol's types serialise"));
            text.push('\n');
        }
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// The server's side: a `Mailer` that hands each message to the agent process.
pub struct AgentMailer {
    asks: mpsc::UnboundedSender<Ask>,
    waiting: Waiting,
    next: AtomicU64,
}

impl std::fmt::Debug for AgentMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentMailer").finish_non_exhaustive()
    }
}

impl AgentMailer {
    /// Start the agent with `command` (its stdin and stdout become the pipe). The agent
    /// outlives this process on purpose; it ends when the pipe closes and it has settled.
    pub fn spawn(mut command: tokio::process::Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(false)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mailer = Self::over(stdin, stdout);
        // Reap it when it ends.
        tokio::spawn(async move { child.wait().await });
        Ok(mailer)
    }

    /// Talk to an agent over these pipes (its input, its output).
    pub fn over(
        input: impl AsyncWrite + Unpin + Send + 'static,
        output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    ) -> Self {
        let (asks, queue) = mpsc::unbounded_channel::<Ask>();
        let waiting: Waiting = Arc::default();
        tokio::spawn(async move {
            if write_lines(queue, input).await.is_err() {
                tracing::error!("the delivery agent's input is closed");
            }
        });
        let readers = waiting.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(output).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Answer>(&line) {
                    Ok(a) => {
                        if let Some(w) = lock(&readers).remove(&a.id()) {
                            let _ = w.send(a);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, %line, "the delivery agent said"),
                }
            }
            tracing::error!("the delivery agent stopped");
            // Whoever waits learns it now, not never.
            lock(&readers).clear();
        });
        Self {
            asks,
            waiting,
            next: AtomicU64::new(1),
        }
    }
}

fn ask(
    asks: &mpsc::UnboundedSender<Ask>,
    waiting: &Waiting,
    a: Ask,
    id: u64,
) -> oneshot::Receiver<Answer> {
    let (tx, rx) = oneshot::channel();
    lock(waiting).insert(id, tx);
    if asks.send(a).is_err() {
        lock(waiting).remove(&id);
    }
    rx
}

impl Mailer for AgentMailer {
    fn prepare<'a>(&'a self, email: &'a Email) -> Sending<'a, Box<dyn Handover>> {
        Box::pin(async move {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let prepare = Ask::Prepare {
                id,
                email: Box::new(email.clone()),
            };
            match ask(&self.asks, &self.waiting, prepare, id).await {
                Ok(Answer::Held { .. }) => Ok(Box::new(AgentHandover {
                    id,
                    asks: self.asks.clone(),
                    waiting: self.waiting.clone(),
                    finished: false,
                }) as Box<dyn Handover>),
                Ok(Answer::NotHeld { error, .. }) => Err(error),
                Ok(Answer::Finished { .. }) => {
                    Err("the delivery agent answered out of turn".into())
                }
                Err(_) => Err("the delivery agent stopped".into()),
            }
        })
    }
}

struct AgentHandover {
    id: u64,
    asks: mpsc::UnboundedSender<Ask>,
    waiting: Waiting,
    finished: bool,
}

impl Handover for AgentHandover {
    fn finish(mut self: Box<Self>) -> Sending<'static, (), AfterData> {
        self.finished = true;
        let answer = ask(
            &self.asks,
            &self.waiting,
            Ask::Finish { id: self.id },
            self.id,
        );
        Box::pin(async move {
            match answer.await {
                Ok(Answer::Finished { result, .. }) => result,
                _ => Err(AfterData::Unanswered("the delivery agent stopped".into())),
            }
        })
    }
}

impl Drop for AgentHandover {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.asks.send(Ask::Abandon { id: self.id });
        }
    }
}
