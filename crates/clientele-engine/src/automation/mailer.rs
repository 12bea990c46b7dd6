//! Sending e-mail: a narrow `Mailer` the runner calls, and its SMTP implementation with
//! lettre (host, port, STARTTLS or TLS and credentials from one URL). The URL holds
//! secrets, so it is never logged or shown.

use std::future::Future;
use std::pin::Pin;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One e-mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Something that delivers e-mail.
pub trait Mailer: Send + Sync {
    /// Hand the message over; an error says why it was not accepted.
    fn send<'a>(
        &'a self,
        email: &'a Email,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// What the server uses when no SMTP server is configured: every e-mail step fails with
/// that reason (and is retried), so nothing is silently dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSmtp;

impl Mailer for NoSmtp {
    fn send<'a>(
        &'a self,
        _email: &'a Email,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Err("no SMTP server is configured (start with --smtp-url)".to_owned()) })
    }
}

/// Delivery through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// `url`: `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` (STARTTLS) or
    /// `smtps://…` (TLS from the first byte); `from`: the sender, `Name <address>` or an
    /// address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url is not a usable SMTP URL: {e}"))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("--smtp-from {from:?} is not an address: {e}"))?;
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(
        &'a self,
        email: &'a Email,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let to = Mailbox::new(
                email.to_name.clone(),
                email
                    .to
                    .parse()
                    .map_err(|e| format!("recipient {:?}: {e}", email.to))?,
            );
            let mut builder = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&email.subject)
                .message_id(Some(email.message_id.clone()));
            if let Some(url) = &email.unsubscribe {
                builder = builder
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{url}>"),
                    ))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        "List-Unsubscribe=One-Click".to_owned(),
                    ));
            }
            let message = builder
                .multipart(MultiPart::alternative_plain_html(
                    email.text.clone(),
                    email.html.clone(),
                ))
                .map_err(|e| format!("building the message: {e}"))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}"))
        })
    }
}
