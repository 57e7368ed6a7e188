//! Fault injection on [`ProxyControl`]: the test-facing API (`inject`, `inject_after`,
//! `clear_faults`, `faults_fired`, ...) and the hooks the proxy calls. Owns `FaultWires`, the
//! per-proxy state behind it: the [`FaultBook`], the [`ListenerSwitch`], the signals that
//! release hung requests and close connections, and the count of open connections.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use tokio_util::sync::CancellationToken;

use super::fault::{Fault, FaultBook, RequestFacts, RequestFaults};
use super::listener_switch::ListenerSwitch;
use super::proxy_control::ProxyControl;

/// Shared by every clone of one [`ProxyControl`].
pub(crate) struct FaultWires {
    book: Mutex<FaultBook>,
    listener: ListenerSwitch,
    /// Fired by `clear_faults`: hung and stalled requests end (held ones go on).
    cleared: Signal,
    /// Fired by `release_held`: held requests go on.
    released: Signal,
    /// Fired when connections are refused: open connections close.
    refused: Signal,
    open_connections: Arc<AtomicUsize>,
    /// Woken whenever a fault fires.
    fired: Notify,
}

impl Default for FaultWires {
    fn default() -> Self {
        FaultWires {
            book: Mutex::default(),
            listener: ListenerSwitch::default(),
            cleared: Signal::default(),
            released: Signal::default(),
            refused: Signal::default(),
            open_connections: Arc::default(),
            fired: Notify::new(),
        }
    }
}

/// A signal that fires any number of times; a waiter is woken by the first firing after it
/// subscribed (`subscribe().cancelled_owned().await`).
#[derive(Default)]
pub(crate) struct Signal(Mutex<CancellationToken>);

impl Signal {
    fn lock(&self) -> MutexGuard<'_, CancellationToken> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fire(&self) {
        let mut current = self.lock();
        current.cancel();
        *current = CancellationToken::new();
    }

    fn subscribe(&self) -> CancellationToken {
        self.lock().clone()
    }
}

/// Held by a connection task; the connection counts as open until it is dropped.
pub(crate) struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ProxyControl {
    fn book(&self) -> MutexGuard<'_, FaultBook> {
        let wires = &self.faults;
        wires.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arm `fault` now. Takes effect before this returns (for `RefuseConnections`: the port
    /// no longer listens and open connections are being closed).
    pub fn inject(&self, fault: Fault) {
        if fault == Fault::RefuseConnections {
            self.refuse_connections();
        } else {
            self.book().arm(fault, 0);
        }
    }

    /// Arm `fault` so that it lets the first `skip` requests it would apply to pass normally
    /// (e.g. a token that expires mid-push). Not for `RefuseConnections`.
    pub fn inject_after(&self, skip: usize, fault: Fault) {
        assert!(
            fault != Fault::RefuseConnections,
            "inject_after: RefuseConnections is armed with inject() at the moment it starts"
        );
        self.book().arm(fault, skip);
    }

    /// Disarm every fault: listen again on the same port, release hung and stalled requests
    /// (their connections close without an answer). Counters stay.
    pub fn clear_faults(&self) {
        self.book().clear();
        if let Err(e) = self.faults.listener.resume() {
            panic!("ecr proxy: could not listen again on its port: {e}");
        }
        self.faults.cleared.fire();
    }

    /// Let every request parked by [`Fault::Hold`] go on (handled as usual from here).
    pub fn release_held(&self) {
        self.faults.released.fire();
    }

    /// How often faults with this [`Fault::label`] did something (see each variant).
    pub fn faults_fired(&self, label: &str) -> usize {
        self.book().fired(label)
    }

    /// Wait until faults labelled `label` fired at least `times` times in total; panics after
    /// `within`. For tests that must act while a fault holds (e.g. a request is hanging).
    pub async fn wait_until_fired(&self, label: &str, times: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.faults.fired.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let fired = self.faults_fired(label);
            if fired >= times {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("fault {label:?} fired {fired} times, not {times}, within {within:?}");
            }
        }
    }

    /// Every label that fired, with its count.
    pub fn all_faults_fired(&self) -> BTreeMap<String, usize> {
        self.book().fired_all()
    }

    /// Faults still armed (spent ones are removed), in injection order.
    pub fn armed_faults(&self) -> Vec<Fault> {
        self.book().armed()
    }

    /// Client connections the proxy has open right now.
    pub fn open_connections(&self) -> usize {
        self.faults.open_connections.load(Ordering::SeqCst)
    }

    pub(crate) fn reset_faults_fired(&self) {
        self.book().reset_fired();
    }

    fn refuse_connections(&self) {
        let open = self.open_connections();
        {
            let mut book = self.book();
            if !book.is_armed(&Fault::RefuseConnections) {
                book.arm(Fault::RefuseConnections, 0);
            }
            book.note_fired("refuse-connections", open);
        }
        self.faults.fired.notify_waiters();
        if let Err(e) = self.faults.listener.refuse() {
            panic!("ecr proxy: could not stop listening: {e}");
        }
        self.faults.refused.fire();
    }

    // ---- hooks for the proxy ----

    pub(crate) fn listener(&self) -> &ListenerSwitch {
        &self.faults.listener
    }

    /// Called for each accepted connection. False: refuse it (the port was switched off
    /// between the kernel's accept and ours); it is counted.
    pub(crate) fn admit_connection(&self) -> bool {
        let refusing = {
            let mut book = self.book();
            let refusing = book.is_armed(&Fault::RefuseConnections);
            if refusing {
                book.note_fired("refuse-connections", 1);
            }
            refusing
        };
        self.faults.fired.notify_waiters();
        !refusing
    }

    /// Count a connection as open while the returned guard lives.
    pub(crate) fn connection_opened(&self) -> OpenConnection {
        let counter = Arc::clone(&self.faults.open_connections);
        counter.fetch_add(1, Ordering::SeqCst);
        OpenConnection(counter)
    }

    /// Cancelled when connections must close because the port was switched off.
    pub(crate) fn subscribe_refused(&self) -> CancellationToken {
        self.faults.refused.subscribe()
    }

    /// Cancelled when faults are cleared. Subscribe BEFORE asking for a request's faults.
    pub(crate) fn subscribe_cleared(&self) -> CancellationToken {
        self.faults.cleared.subscribe()
    }

    /// Cancelled when held requests are released. Subscribe BEFORE asking for a request's faults.
    pub(crate) fn subscribe_released(&self) -> CancellationToken {
        self.faults.released.subscribe()
    }

    /// Called for every request when its head has arrived, before emulation and forwarding.
    pub(crate) fn faults_for_request(&self, facts: &RequestFacts<'_>) -> RequestFaults {
        let faults = self.book().on_request(facts);
        self.faults.fired.notify_waiters();
        faults
    }

    /// Called for every manifest GET answered 200: corrupt this one?
    pub(crate) fn take_manifest_corruption(&self, kind: &super::proxy_control::PathKind) -> bool {
        let corrupt = self.book().take_manifest_corruption(kind);
        self.faults.fired.notify_waiters();
        corrupt
    }
}
