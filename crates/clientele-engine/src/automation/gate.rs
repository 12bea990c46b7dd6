//! Holding back the end of an e-mail's data. An SMTP server delivers a message only once it
//! reads the line with a single dot that ends the data; a connection that closes before it
//! leaves nothing delivered. So the runner has the whole message written, records it as
//! sent, and only then lets the dot go: a crash before the record resends a message the
//! server never delivered, and the only crash that loses one is between the commit and one
//! small write (microseconds, against the server's whole round trip and a commit before).
//!
//! lettre writes the body, flushes it, asks its iterator for the next part, and writes the
//! dot. The iterator's `None` arms the gate; the TCP stream under lettre (under TLS too,
//! whose records of the body were flushed before) then holds its next write, keeping its
//! bytes. Releasing writes them to the socket at once, from the releasing thread (through a
//! duplicate of the socket's descriptor): the runner lets a whole chunk go in one loop of
//! small writes right after its commit, rather than waiting for each connection's task to
//! be scheduled. lettre's own write then finds them written.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

/// The gate of one connection, reset for each message.
#[derive(Debug)]
pub(super) struct Gate {
    state: Mutex<State>,
    /// The connection's socket, for the releasing thread's write.
    wire: std::net::TcpStream,
}

#[derive(Debug, Default)]
struct State {
    armed: bool,
    released: bool,
    abandoned: bool,
    held: Option<oneshot::Sender<()>>,
    waker: Option<Waker>,
    /// What the held write carried.
    kept: Vec<u8>,
    /// How much of it the release wrote.
    written: usize,
}

impl Gate {
    fn new(tcp: &tokio::net::TcpStream) -> io::Result<Self> {
        Ok(Self {
            state: Mutex::default(),
            wire: std::net::TcpStream::from(tcp.as_fd().try_clone_to_owned()?),
        })
    }

    /// Ready for a new message; the receiver hears when its end is being held.
    pub(super) fn expect(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.lock() = State {
            held: Some(tx),
            ..State::default()
        };
        rx
    }

    /// The body is written: hold the next write.
    fn arm(&self) {
        self.lock().armed = true;
    }

    /// Let the end of the data go: written now if the socket takes it (a few bytes on an
    /// idle socket: it does), else by the connection's task.
    pub(super) fn release(&self) {
        let mut s = self.lock();
        s.released = true;
        if !s.kept.is_empty() {
            s.written = (&self.wire).write(&s.kept).unwrap_or(0);
        }
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }

    /// Never let it go: the held write fails, and the connection is dropped, so the server
    /// discards the message.
    pub(super) fn abandon(&self) {
        let mut s = self.lock();
        s.abandoned = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The message's bytes as one part, arming the gate when lettre asks for more.
pub(super) struct ArmAtEnd<'a> {
    pub(super) body: Option<&'a [u8]>,
    pub(super) gate: &'a Gate,
}

impl<'a> Iterator for ArmAtEnd<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let part = self.body.take();
        if part.is_none() {
            self.gate.arm();
        }
        part
    }
}

/// A connection's TCP stream, with its gate.
#[derive(Debug)]
pub(super) struct GatedStream {
    inner: tokio::net::TcpStream,
    peer: SocketAddr,
    gate: Arc<Gate>,
}

impl GatedStream {
    pub(super) fn new(inner: tokio::net::TcpStream) -> io::Result<Self> {
        Ok(Self {
            peer: inner.peer_addr()?,
            gate: Arc::new(Gate::new(&inner)?),
            inner,
        })
    }

    pub(super) fn gate(&self) -> Arc<Gate> {
        self.gate.clone()
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        {
            let mut s = self.gate.lock();
            if s.armed && !s.released {
                if s.abandoned {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the message was abandoned before the end of its data",
                    )));
                }
                if let Some(held) = s.held.take() {
                    s.kept = buf.to_vec();
                    let _ = held.send(());
                }
                s.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if s.written > 0 {
                // The same bytes again (a writer retries what it could not write): the
                // release wrote them.
                let written = std::mem::take(&mut s.written);
                if !buf.starts_with(&s.kept[..written]) {
                    return Poll::Ready(Err(io::Error::other(
                        "the held write changed before it was let go",
                    )));
                }
                return Poll::Ready(Ok(written));
            }
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for GatedStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}
