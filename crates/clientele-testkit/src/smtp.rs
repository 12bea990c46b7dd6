//! A real SMTP server in the test process (mailin-embedded on 127.0.0.1, a free port) that
//! keeps every message it accepts, so tests check what actually went over the wire.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use tokio::sync::watch;

/// One message as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The raw message (headers and body).
    pub data: String,
}

impl Received {
    /// The value of a header (first occurrence), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            match (&mut value, line.starts_with([' ', '\t'])) {
                (Some(v), true) => v.push_str(line.trim_start()),
                (Some(_), false) => break,
                (None, _) => {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case(name)
                    {
                        value = Some(v.trim().to_owned());
                    }
                }
            }
        }
        value
    }
}

#[derive(Clone)]
struct Sink {
    kept: Arc<Mutex<Vec<Received>>>,
    count: Arc<watch::Sender<usize>>,
    to: Vec<String>,
    buf: Vec<u8>,
    /// How many more messages to refuse at the end of their data.
    refuse: Arc<std::sync::atomic::AtomicUsize>,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.buf.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        use std::sync::atomic::Ordering::SeqCst;
        let refuse = self
            .refuse
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        if refuse.is_ok() {
            self.buf.clear();
            return response::OUT_OF_SPACE;
        }
        let message = Received {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned(),
        };
        let n = {
            let mut kept = self.kept.lock().expect("sink lock");
            kept.push(message);
            kept.len()
        };
        self.count.send_replace(n);
        response::OK
    }
}

/// The running server. It lives as long as the test process.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    kept: Arc<Mutex<Vec<Received>>>,
    count: watch::Receiver<usize>,
}

impl SmtpSink {
    /// Start a server on a free port.
    pub fn start() -> Self {
        Self::refusing(0)
    }

    /// Start a server that refuses the first `n` messages at the end of their data (a
    /// transient failure, as a full queue would answer).
    pub fn refusing(n: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("its address");
        let kept = Arc::new(Mutex::new(Vec::new()));
        let (tx, count) = watch::channel(0);
        let sink = Sink {
            kept: kept.clone(),
            count: Arc::new(tx),
            to: Vec::new(),
            buf: Vec::new(),
            refuse: Arc::new(n.into()),
        };
        let mut server = Server::new(sink);
        server
            .with_name("sink.test")
            // One thread per connection: enough for a client's whole pool of connections.
            .with_num_threads(64)
            .with_ssl(SslConfig::None)
            .expect("no TLS")
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                panic!("the test SMTP server stopped: {e}");
            }
        });
        Self { addr, kept, count }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Received> {
        self.kept.lock().expect("sink lock").clone()
    }

    /// Wait until at least `n` messages arrived (or `timeout` passed), then return all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let mut rx = self.count.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        self.messages()
    }
}
