//! `Fault`: the failures a test can inject into one region's ECR proxy, and `FaultBook`, the
//! bookkeeping behind them: which faults are armed, how many requests each still applies to,
//! which one a request meets, and how often each fired. Pure state, no I/O: the proxy
//! (`ecr_proxy.rs`, `proxy_faults.rs`) asks the book and carries out the answer.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;

use super::proxy_control::PathKind;

/// One injected failure. Arm with [`ProxyControl::inject`](super::ProxyControl::inject);
/// [`ProxyControl::clear_faults`](super::ProxyControl::clear_faults) disarms all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The port stops listening (it stays reserved) until cleared: `connect()` fails with
    /// ECONNREFUSED, and connections already open are closed. Counted per open connection it
    /// closed; refusals by the kernel cannot be counted.
    RefuseConnections,
    /// Every request is read to its end and never answered: until cleared (then its
    /// connection is closed without an answer), the client closes the connection, or the
    /// proxy is dropped.
    Hang,
    /// The next `times` upload requests with a body (PUT or PATCH to an upload session): forward
    /// at most `bytes` bytes of the body (never the whole body), abort the upstream request,
    /// and close the client's connection without an answer. Nothing lands in the registry.
    CutUploadAfter { bytes: u64, times: usize },
    /// Like `CutUploadAfter`, but after `bytes` bytes the proxy stops reading and waits (an
    /// upload that stalls mid-body) until cleared or dropped, then closes without an answer.
    StallUploadAfter { bytes: u64, times: usize },
    /// The next `times` GETs answered 200 or 206 (a blob download, when forwarded): send at
    /// most `bytes` bytes of the answer's body, then wait until cleared (a download that
    /// stalls mid-body), then close the connection without the rest.
    StallDownloadAfter { bytes: u64, times: usize },
    /// Answer the next `count` requests `429` with ECR's throttling error and
    /// `Retry-After: SECONDS`, without forwarding.
    Throttle { count: usize, retry_after: u64 },
    /// Answer `status` without forwarding to the next `count` requests (only those whose
    /// [`PathKind::label`] is `kind`, when given). 429 and 503 carry ECR-like JSON errors.
    Status {
        status: u16,
        count: usize,
        kind: Option<&'static str>,
    },
    /// Delay every request by this much before handling it (several add up).
    Latency(Duration),
    /// The next `count` requests with an `Authorization` header get ECR's 403 "Your
    /// authorization token has expired" without forwarding.
    TokenExpired { count: usize },
    /// The next `count` manifest GETs answered 200 get one hex digit of a digest in the body
    /// changed: same length, same headers, still valid JSON, different sha256.
    CorruptManifestGet { count: usize },
    /// The next `count` requests with this method to `/v2/<repo>/manifests/<reference>` are
    /// parked (their body still unread) until [`ProxyControl::release_held`] or `clear_faults`,
    /// then handled as usual. Orders two runs deterministically.
    ///
    /// [`ProxyControl::release_held`]: super::ProxyControl::release_held
    Hold {
        method: &'static str,
        reference: String,
        count: usize,
    },
    /// `fault` only for requests that `only` matches (method, path kind, reference), e.g. the
    /// tag put of `prod`, or the blob HEADs. Build with [`Fault::only`].
    Only {
        only: RequestMatch,
        fault: Box<Fault>,
    },
}

/// Which requests a [`Fault::Only`] applies to; `None` fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMatch {
    pub method: Option<&'static str>,
    /// A [`PathKind::label`]: "manifest", "blob", "upload-start", ...
    pub kind: Option<&'static str>,
    /// A manifest's tag or digest, or a blob's digest.
    pub reference: Option<String>,
}

impl RequestMatch {
    /// Requests with this method to manifests with this tag or digest.
    pub fn manifest(method: &'static str, reference: &str) -> Self {
        Self {
            method: Some(method),
            kind: Some("manifest"),
            reference: Some(reference.to_string()),
        }
    }

    /// Requests with this method to paths of this kind.
    pub fn kind(method: &'static str, kind: &'static str) -> Self {
        Self {
            method: Some(method),
            kind: Some(kind),
            reference: None,
        }
    }

    fn matches(&self, method: &Method, kind: &PathKind) -> bool {
        let reference = match kind {
            PathKind::Manifest { reference, .. } => Some(reference.as_str()),
            PathKind::Blob { digest, .. } => Some(digest.as_str()),
            _ => None,
        };
        self.method.is_none_or(|m| method.as_str() == m)
            && self.kind.is_none_or(|k| kind.label() == k)
            && self
                .reference
                .as_deref()
                .is_none_or(|r| reference == Some(r))
    }
}

impl Fault {
    /// `fault`, for the requests `only` matches.
    pub fn only(only: RequestMatch, fault: Fault) -> Fault {
        Fault::Only {
            only,
            fault: Box::new(fault),
        }
    }

    /// The fault itself, unwrapped from [`Fault::Only`].
    fn inner(&self) -> &Fault {
        match self {
            Fault::Only { fault, .. } => fault.inner(),
            other => other,
        }
    }

    /// The name [`ProxyControl::faults_fired`](super::ProxyControl::faults_fired) counts it
    /// under: "refuse-connections", "hang", "cut-upload", "stall-upload", "stall-download",
    /// "throttle", "status-<code>" (e.g. "status-503"), "latency", "token-expired", "corrupt-manifest-get".
    pub fn label(&self) -> String {
        match self {
            Fault::RefuseConnections => "refuse-connections".into(),
            Fault::Hang => "hang".into(),
            Fault::CutUploadAfter { .. } => "cut-upload".into(),
            Fault::StallUploadAfter { .. } => "stall-upload".into(),
            Fault::StallDownloadAfter { .. } => "stall-download".into(),
            Fault::Throttle { .. } => "throttle".into(),
            Fault::Status { status, .. } => format!("status-{status}"),
            Fault::Latency(_) => "latency".into(),
            Fault::TokenExpired { .. } => "token-expired".into(),
            Fault::CorruptManifestGet { .. } => "corrupt-manifest-get".into(),
            Fault::Hold { .. } => "hold".into(),
            Fault::Only { fault, .. } => fault.label(),
        }
    }

    /// How many requests it applies to; `None`: every request until cleared.
    fn budget(&self) -> Option<usize> {
        match self {
            Fault::RefuseConnections | Fault::Hang | Fault::Latency(_) => None,
            Fault::CutUploadAfter { times, .. }
            | Fault::StallUploadAfter { times, .. }
            | Fault::StallDownloadAfter { times, .. } => Some(*times),
            Fault::Status { count, .. }
            | Fault::Throttle { count, .. }
            | Fault::TokenExpired { count }
            | Fault::CorruptManifestGet { count }
            | Fault::Hold { count, .. } => Some(*count),
            Fault::Only { fault, .. } => fault.budget(),
        }
    }

    /// Whether this request-level fault applies to a request with these facts.
    fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        match self {
            Fault::Hang | Fault::Latency(_) => true,
            Fault::CutUploadAfter { .. } | Fault::StallUploadAfter { .. } => {
                facts.is_upload_with_body()
            }
            Fault::StallDownloadAfter { .. } => facts.method == Method::GET,
            Fault::Throttle { .. } => true,
            Fault::Status { kind, .. } => kind.is_none_or(|k| k == facts.kind.label()),
            Fault::TokenExpired { .. } => facts.authenticated,
            Fault::Hold {
                method, reference, ..
            } => {
                facts.method.as_str() == *method
                    && matches!(facts.kind, PathKind::Manifest { reference: r, .. } if r == reference)
            }
            Fault::Only { only, fault } => {
                only.matches(facts.method, facts.kind) && fault.matches(facts)
            }
            Fault::RefuseConnections | Fault::CorruptManifestGet { .. } => false,
        }
    }

    fn action(&self) -> Option<RequestAction> {
        match self {
            Fault::Hang => Some(RequestAction::Hang),
            Fault::CutUploadAfter { bytes, .. } => Some(RequestAction::CutUpload(*bytes)),
            Fault::StallUploadAfter { bytes, .. } => Some(RequestAction::StallUpload(*bytes)),
            Fault::StallDownloadAfter { bytes, .. } => Some(RequestAction::StallDownload(*bytes)),
            Fault::Throttle { retry_after, .. } => Some(RequestAction::Throttle(*retry_after)),
            Fault::Status { status, .. } => Some(RequestAction::Status(*status)),
            Fault::TokenExpired { .. } => Some(RequestAction::TokenExpired),
            Fault::Hold { .. } => Some(RequestAction::Hold),
            Fault::Only { fault, .. } => fault.action(),
            Fault::RefuseConnections | Fault::Latency(_) | Fault::CorruptManifestGet { .. } => None,
        }
    }
}

/// What the proxy knows about a request when its head has arrived.
pub(crate) struct RequestFacts<'a> {
    pub method: &'a Method,
    pub kind: &'a PathKind,
    /// It carries an `Authorization` header.
    pub authenticated: bool,
    /// Its body is not known to be empty.
    pub has_body: bool,
}

impl RequestFacts<'_> {
    fn is_upload_with_body(&self) -> bool {
        (self.method == Method::PUT || self.method == Method::PATCH)
            && matches!(self.kind, PathKind::UploadSession { .. })
            && self.has_body
    }
}

/// What to do instead of (or before) answering a request normally.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestFaults {
    pub latency: Duration,
    pub action: Option<RequestAction>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestAction {
    Hang,
    CutUpload(u64),
    StallUpload(u64),
    StallDownload(u64),
    Throttle(u64),
    Status(u16),
    TokenExpired,
    Hold,
}

struct Armed {
    fault: Fault,
    /// Matching requests still to let through before it starts applying.
    skip: usize,
    remaining: Option<usize>,
}

/// Armed faults, in the order they were injected, and how often each kind fired.
#[derive(Default)]
pub(crate) struct FaultBook {
    armed: Vec<Armed>,
    fired: BTreeMap<String, usize>,
}

impl FaultBook {
    pub fn arm(&mut self, fault: Fault, skip: usize) {
        let remaining = fault.budget();
        self.armed.push(Armed {
            fault,
            skip,
            remaining,
        });
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    pub fn is_armed(&self, fault: &Fault) -> bool {
        self.armed.iter().any(|a| &a.fault == fault)
    }

    pub fn armed(&self) -> Vec<Fault> {
        self.armed.iter().map(|a| a.fault.clone()).collect()
    }

    pub fn note_fired(&mut self, label: &str, times: usize) {
        if times > 0 {
            *self.fired.entry(label.to_string()).or_default() += times;
        }
    }

    pub fn fired(&self, label: &str) -> usize {
        self.fired.get(label).copied().unwrap_or(0)
    }

    pub fn fired_all(&self) -> BTreeMap<String, usize> {
        self.fired.clone()
    }

    pub fn reset_fired(&mut self) {
        self.fired.clear();
    }

    /// Decide the faults one request meets: the sum of the active latencies, and the first
    /// armed fault (in injection order) whose action applies. Spends their budgets.
    pub fn on_request(&mut self, facts: &RequestFacts<'_>) -> RequestFaults {
        let mut out = RequestFaults::default();
        let mut action_label = None;
        for armed in &mut self.armed {
            let is_latency = matches!(armed.fault.inner(), Fault::Latency(_));
            let wanted = is_latency || out.action.is_none();
            if !wanted || !armed.fault.matches(facts) || armed.remaining == Some(0) {
                continue;
            }
            if armed.skip > 0 {
                armed.skip -= 1;
                continue;
            }
            if let Some(n) = armed.remaining.as_mut() {
                *n -= 1;
            }
            match armed.fault.inner() {
                Fault::Latency(d) => out.latency += *d,
                _ => {
                    out.action = armed.fault.action();
                    action_label = Some(armed.fault.label());
                }
            }
        }
        if !out.latency.is_zero() {
            self.note_fired("latency", 1);
        }
        if let Some(label) = action_label {
            self.note_fired(&label, 1);
        }
        self.armed.retain(|a| a.remaining != Some(0));
        out
    }

    /// Whether the manifest GET (of `kind`) just answered 200 must be corrupted (spends one
    /// budget).
    pub fn take_manifest_corruption(&mut self, kind: &PathKind) -> bool {
        let found = self.armed.iter_mut().find(|a| {
            let applies = match &a.fault {
                Fault::Only { only, .. } => only.matches(&Method::GET, kind),
                _ => true,
            };
            matches!(a.fault.inner(), Fault::CorruptManifestGet { .. })
                && applies
                && a.remaining != Some(0)
        });
        let Some(armed) = found else { return false };
        if armed.skip > 0 {
            armed.skip -= 1;
            return false;
        }
        if let Some(n) = armed.remaining.as_mut() {
            *n -= 1;
        }
        self.armed.retain(|a| a.remaining != Some(0));
        self.note_fired("corrupt-manifest-get", 1);
        true
    }
}
