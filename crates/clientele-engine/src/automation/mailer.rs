//! Sending e-mail: a narrow `Mailer` the runner calls, in two steps so that a message is
//! recorded as sent before the server may deliver it (see `gate`). Its SMTP implementation
//! is in `smtp`.

use std::future::Future;
use std::pin::Pin;

/// One e-mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// `Message-ID`, derived from the step's key: the same step always sends the same id,
    /// so a receiver can tell a retry from a new message.
    pub message_id: String,
    /// `List-Unsubscribe` targets (one-click URL), for marketing messages.
    pub unsubscribe: Option<String>,
    /// The step that sends it, by which the delivery agent looks up whether it was
    /// recorded.
    pub step: Option<StepRef>,
}

/// Which outbox step an e-mail belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRef {
    /// Its workspace.
    pub workspace: i64,
    /// Its contact.
    pub contact: i64,
    /// The step's key.
    pub key: String,
}

/// A mailer's answer, later.
pub type Sending<'a, T, E = String> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// Something that delivers e-mail.
pub trait Mailer: Send + Sync {
    /// Transmit the message up to, not including, the end of its data: the server holds it
    /// undelivered until the handover is finished, and discards it if the handover is
    /// dropped (or the process dies). An error says why it got no further.
    fn prepare<'a>(&'a self, email: &'a Email) -> Sending<'a, Box<dyn Handover>>;

    /// Prepare and finish at once.
    fn send<'a>(&'a self, email: &'a Email) -> Sending<'a, ()> {
        Box::pin(async move {
            let handover = self.prepare(email).await?;
            handover.finish().await.map_err(|e| e.to_string())
        })
    }
}

/// A message whose data is all with the server but its end.
pub trait Handover: Send + Sync {
    /// Let the message go (as this is called, not when the answer is awaited), and wait
    /// for the server's answer.
    fn finish(self: Box<Self>) -> Sending<'static, (), AfterData>;
}

/// What went wrong once the end of the data was let go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterData {
    /// The server answered with a refusal: nothing was delivered.
    #[error("refused at the end of the data: {0}")]
    Refused(String),
    /// No answer came: the message may have been delivered.
    #[error("no answer at the end of the data: {0}")]
    Unanswered(String),
}

/// What the server uses when no SMTP server is configured: every e-mail step fails with
/// that reason (and is retried), so nothing is silently dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSmtp;

impl Mailer for NoSmtp {
    fn prepare<'a>(&'a self, _email: &'a Email) -> Sending<'a, Box<dyn Handover>> {
        Box::pin(async { Err("no SMTP server is configured (start with --smtp-url)".to_owned()) })
    }
}
