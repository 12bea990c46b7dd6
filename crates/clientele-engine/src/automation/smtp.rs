//! The SMTP mailer, on lettre's connection API: host, port, STARTTLS or TLS and credentials
//! from one URL (which holds secrets, so it is never logged or shown), a pool of open
//! connections, and each message's end of data held back by the connection's `Gate` until
//! the runner has recorded it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{Either, select};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::rustls;

use super::gate::{ArmAtEnd, Gate, GatedStream};
use super::mailer::{AfterData, Email, Handover, Mailer, Sending};

/// The bound on connecting (TCP and TLS) to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection is secured.
enum Security {
    /// Plain SMTP (`smtp://host`), for a relay on the same host or network.
    Plain,
    /// `STARTTLS` after the greeting: `smtp://host?tls=required` (refuses a server
    /// without it) or `?tls=opportunistic`.
    StartTls {
        params: TlsParameters,
        required: bool,
    },
    /// TLS from the first byte (`smtps://host`).
    Tls(tokio_rustls::TlsConnector),
}

struct Config {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

/// One open connection and its gate.
struct Connection {
    smtp: AsyncSmtpConnection,
    gate: Arc<Gate>,
}

/// Delivery through an SMTP server.
pub struct SmtpMailer {
    config: Arc<Config>,
    idle: Arc<Mutex<Vec<Connection>>>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the credentials.
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
        let config = parse_url(url).map_err(|e| format!("--smtp-url is not usable: {e}"))?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("--smtp-from {from:?} is not an address: {e}"))?;
        Ok(Self {
            config: Arc::new(config),
            idle: Arc::default(),
            from,
        })
    }

    fn build(&self, email: &Email) -> Result<(Envelope, Vec<u8>), String> {
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
        Ok((message.envelope().clone(), message.formatted()))
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Start the message on `conn`: answers once its end is held, or why it got no further.
    async fn start(
        &self,
        conn: Connection,
        envelope: Envelope,
        bytes: Vec<u8>,
    ) -> Result<Box<dyn Handover>, String> {
        let held = conn.gate.expect();
        let gate = conn.gate.clone();
        let idle = self.idle.clone();
        let (done_tx, mut done) = oneshot::channel();
        // Its own task: the handover outlives this call, and the connection goes back to
        // the pool (or is dropped) when the server has answered.
        tokio::spawn(async move {
            let mut conn = conn;
            let result = transmit(&mut conn, &envelope, &bytes).await;
            // A connection that failed mid-message is closed, not reused (no QUIT: a server
            // in a confused state may never answer it).
            if result.is_ok() {
                idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            }
            let _ = done_tx.send(result);
        });
        match select(held, &mut done).await {
            Either::Left((Ok(()), _)) => {}
            Either::Left((Err(_), _)) => return Err("the connection's gate was reset".into()),
            Either::Right((Ok(Err(e)), _)) => return Err(format!("SMTP: {e}")),
            Either::Right((Ok(Ok(())), _)) => {
                return Err("the server answered before the end of the data".into());
            }
            Either::Right((Err(_), _)) => return Err("the sending task ended".into()),
        }
        Ok(Box::new(SmtpHandover {
            gate,
            done: Some(done),
        }))
    }
}

impl Mailer for SmtpMailer {
    fn prepare<'a>(&'a self, email: &'a Email) -> Sending<'a, Box<dyn Handover>> {
        Box::pin(async move {
            let (envelope, bytes) = self.build(email)?;
            // A pooled connection may have been closed by the server since: one more try
            // on a new one.
            if let Some(conn) = self.take_idle()
                && let Ok(handover) = self.start(conn, envelope.clone(), bytes.clone()).await
            {
                return Ok(handover);
            }
            let conn = connect(&self.config)
                .await
                .map_err(|e| format!("SMTP: {e}"))?;
            self.start(conn, envelope, bytes).await
        })
    }
}

struct SmtpHandover {
    gate: Arc<Gate>,
    done: Option<oneshot::Receiver<Result<(), lettre::transport::smtp::Error>>>,
}

impl Handover for SmtpHandover {
    fn finish(mut self: Box<Self>) -> Sending<'static, (), AfterData> {
        let done = self.done.take();
        self.gate.release();
        Box::pin(async move {
            let Some(done) = done else {
                return Err(AfterData::Unanswered("finished twice".into()));
            };
            match done.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) if e.is_permanent() || e.is_transient() => {
                    Err(AfterData::Refused(e.to_string()))
                }
                Ok(Err(e)) => Err(AfterData::Unanswered(e.to_string())),
                Err(_) => Err(AfterData::Unanswered("the sending task ended".into())),
            }
        })
    }
}

impl Drop for SmtpHandover {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.gate.abandon();
        }
    }
}

/// One message on an open connection, its end held by the gate.
async fn transmit(
    conn: &mut Connection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let mut options = Vec::new();
    if !bytes.is_ascii() {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
    if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
        options.push(MailParameter::SmtpUtfEight);
    }
    conn.smtp
        .command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.smtp.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    conn.smtp.command(Data).await?;
    conn.smtp
        .message_iter(ArmAtEnd {
            body: Some(bytes),
            gate: &conn.gate,
        })
        .await?;
    Ok(())
}

async fn connect(config: &Config) -> Result<Connection, String> {
    let address = (config.host.as_str(), config.port);
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| format!("connecting to {}:{} timed out", config.host, config.port))?
        .map_err(|e| format!("connecting to {}:{}: {e}", config.host, config.port))?;
    // Commands are small and answered one by one: don't let Nagle hold them.
    let _ = tcp.set_nodelay(true);
    let gated = GatedStream::new(tcp).map_err(|e| e.to_string())?;
    let gate = gated.gate();
    // The gate sits under TLS, so what it holds is the record that carries the dot.
    let stream: Box<dyn AsyncTokioStream> = match &config.security {
        Security::Tls(connector) => {
            let name = rustls::pki_types::ServerName::try_from(config.host.clone())
                .map_err(|e| format!("{:?} as a TLS name: {e}", config.host))?;
            let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, gated))
                .await
                .map_err(|_| "the TLS handshake timed out".to_owned())?
                .map_err(|e| format!("TLS: {e}"))?;
            Box::new(TlsWire(tls))
        }
        _ => Box::new(gated),
    };
    let smtp = AsyncSmtpConnection::connect_with_transport(stream, &config.hello);
    let mut smtp = tokio::time::timeout(CONNECT_TIMEOUT, smtp)
        .await
        .map_err(|_| "the server's greeting timed out".to_owned())?
        .map_err(|e| format!("SMTP: {e}"))?;
    if let Security::StartTls { params, required } = &config.security {
        if smtp.can_starttls() {
            smtp.starttls(params.clone(), &config.hello)
                .await
                .map_err(|e| format!("STARTTLS: {e}"))?;
        } else if *required {
            return Err("the server does not offer STARTTLS (tls=required)".into());
        }
    }
    if let Some(credentials) = &config.credentials {
        smtp.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
            .await
            .map_err(|e| format!("SMTP authentication: {e}"))?;
    }
    Ok(Connection { smtp, gate })
}

/// TLS from the first byte, over the gated stream.
#[derive(Debug)]
struct TlsWire(tokio_rustls::client::TlsStream<GatedStream>);

impl tokio::io::AsyncRead for TlsWire {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsWire {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsWire {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The URL forms lettre's `from_url` reads, to the same defaults.
fn parse_url(text: &str) -> Result<Config, String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("no host")?.to_owned();
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let tls_params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
    let (security, default_port) = match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => (Security::Plain, 25),
        ("smtp", Some("required" | "opportunistic")) => (
            Security::StartTls {
                params: tls_params()?,
                required: tls.as_deref() == Some("required"),
            },
            587,
        ),
        ("smtps", _) => {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            (
                Security::Tls(tokio_rustls::TlsConnector::from(Arc::new(config))),
                465,
            )
        }
        (scheme, tls) => {
            return Err(format!(
                "scheme {scheme:?} with tls={tls:?}: use smtp://, smtp://…?tls=required, \
                 smtp://…?tls=opportunistic or smtps://"
            ));
        }
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|e| e.to_string())
    };
    let credentials = match url.password() {
        Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
        None => None,
    };
    let hello = match url.path().trim_matches('/') {
        "" => ClientId::default(),
        name => ClientId::Domain(name.to_owned()),
    };
    Ok(Config {
        host,
        port: url.port().unwrap_or(default_port),
        security,
        credentials,
        hello,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_lettre_reads_them() {
        let c = parse_url("smtp://relay.local").unwrap();
        assert_eq!((c.port, matches!(c.security, Security::Plain)), (25, true));
        let c = parse_url("smtp://u%40x:p%2Fw@mail.shop.vn?tls=required").unwrap();
        assert_eq!(c.port, 587);
        assert!(matches!(
            c.security,
            Security::StartTls { required: true, .. }
        ));
        assert!(c.credentials.is_some());
        let c = parse_url("smtps://mail.shop.vn:2465/clientele.shop.vn").unwrap();
        assert_eq!(c.port, 2465);
        assert!(matches!(c.security, Security::Tls(_)));
        assert_eq!(c.hello, ClientId::Domain("clientele.shop.vn".into()));
        let e = parse_url("http://mail.shop.vn").err().unwrap();
        assert!(e.contains("\"http\""), "{e}");
        assert!(parse_url("smtp://mail.shop.vn?tls=maybe").is_err());
    }
}
