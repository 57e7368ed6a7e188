//! `ListenerSwitch`: the ECR proxy's listening socket, which a test can switch off (the port
//! refuses connections: ECONNREFUSED, as for a host whose server is down) and on again on the
//! SAME port, synchronously, without the port ever becoming free for another process.
//!
//! How: the listener is bound with SO_REUSEADDR and SO_REUSEPORT. Switching off first binds a
//! second, non-listening socket to the same address (allowed by SO_REUSEPORT), then closes the
//! listener; the kernel answers a SYN to a port with no listening socket with RST, i.e.
//! ECONNREFUSED, and backlog connections not yet accepted are reset. Switching on calls
//! `listen()` on that placeholder. The accept loop polls through the switch, so it simply
//! waits while the port is off.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;

const BACKLOG: u32 = 1024;

enum Socket {
    Unbound,
    Listening(TcpListener),
    /// Bound, not listening: holds the port while connections are refused.
    Refusing(TcpSocket),
}

struct Inner {
    socket: Socket,
    addr: Option<SocketAddr>,
    /// The runtime the proxy runs on; `listen()` registers the socket with its reactor.
    runtime: Option<Handle>,
    /// The accept loop, woken whenever the socket changes.
    waker: Option<Waker>,
}

pub(crate) struct ListenerSwitch {
    inner: Mutex<Inner>,
}

impl Default for ListenerSwitch {
    fn default() -> Self {
        ListenerSwitch {
            inner: Mutex::new(Inner {
                socket: Socket::Unbound,
                addr: None,
                runtime: None,
                waker: None,
            }),
        }
    }
}

impl ListenerSwitch {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Listen on 127.0.0.1 (free port). Must be called inside the proxy's tokio runtime, once.
    pub fn bind_loopback(&self) -> io::Result<SocketAddr> {
        let mut inner = self.lock();
        if !matches!(inner.socket, Socket::Unbound) || inner.addr.is_some() {
            return Err(io::Error::other(
                "this ProxyControl already serves a proxy; make one per proxy",
            ));
        }
        let socket = reusable_socket()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(BACKLOG)?;
        let addr = listener.local_addr()?;
        inner.runtime = Some(Handle::current());
        inner.addr = Some(addr);
        inner.socket = Socket::Listening(listener);
        Ok(addr)
    }

    pub fn is_refusing(&self) -> bool {
        matches!(self.lock().socket, Socket::Refusing(_))
    }

    /// Stop listening, keeping the port. When this returns, new connections are refused.
    pub fn refuse(&self) -> io::Result<()> {
        let mut inner = self.lock();
        let Some(addr) = inner.addr else {
            return Ok(());
        };
        if matches!(inner.socket, Socket::Listening(_)) {
            let placeholder = reusable_socket()?;
            placeholder.bind(addr)?;
            // Replacing the listener drops (closes) it.
            inner.socket = Socket::Refusing(placeholder);
            wake(&mut inner);
        }
        Ok(())
    }

    /// Listen again on the same port.
    pub fn resume(&self) -> io::Result<()> {
        let mut inner = self.lock();
        match std::mem::replace(&mut inner.socket, Socket::Unbound) {
            Socket::Refusing(placeholder) => {
                let runtime = inner.runtime.clone();
                let listener = {
                    let _entered = runtime.as_ref().map(Handle::enter);
                    placeholder.listen(BACKLOG)?
                };
                inner.socket = Socket::Listening(listener);
                wake(&mut inner);
            }
            other => inner.socket = other,
        }
        Ok(())
    }

    /// Close the socket for good (the proxy is being dropped).
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.socket = Socket::Unbound;
        wake(&mut inner);
    }

    /// The next connection; waits while the port is switched off.
    pub async fn accept(&self) -> io::Result<TcpStream> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        let mut inner = self.lock();
        inner.waker = Some(cx.waker().clone());
        match &inner.socket {
            Socket::Listening(listener) => listener.poll_accept(cx).map_ok(|(stream, _)| stream),
            Socket::Refusing(_) | Socket::Unbound => Poll::Pending,
        }
    }
}

fn reusable_socket() -> io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    Ok(socket)
}

fn wake(inner: &mut Inner) {
    if let Some(waker) = inner.waker.take() {
        waker.wake();
    }
}
