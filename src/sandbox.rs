//! `waform sandbox`: a local fake of both providers, to try `apply` with no account.
//!
//! The sandbox serves, on one loopback port, the endpoints that the provider documents in
//! `provider-docs/` describe, with the same paths, authentication checks, request validation
//! and response bodies:
//!
//! - Aldeamo: `POST /v1/apikey/text/bsp/send` and `POST /v1/apikey/template/bsp/send`
//!   (the test and production hosts both map here), `ApiKey` + `UserId` headers, one message
//!   per request, `200 {"messageId"}`, `401 {"errors":["Authentication Error"]}`,
//!   `400 {"errors":["Bad Request"]}`.
//! - Mayten: `POST /api/Integration/MessageWpp`, `Authorization: Bearer`, many destinations in
//!   many `messages` per request, `200 {"responses":[{"trackingNumber","messageId","status"}],
//!   "trackUuid"}` with status `OK` or `OK, with line break`.
//!
//! Everything else is a 404. Identifiers come from a counter, so a run is reproducible. Every
//! request is recorded ([`Sandbox::received`], and optionally an NDJSON log with credentials
//! redacted), every accepted message too ([`Sandbox::accepted`]), and [`Faults`] can be
//! injected on the provider endpoints: a deterministic 429 storm, random 429s with
//! `Retry-After`, random 500s, latency, and connections dropped after the message was accepted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The Aldeamo text endpoint (test and production hosts alike).
pub const ALDEAMO_TEXT_PATH: &str = "/v1/apikey/text/bsp/send";
/// The Aldeamo template endpoint (test and production hosts alike).
pub const ALDEAMO_TEMPLATE_PATH: &str = "/v1/apikey/template/bsp/send";
/// The Mayten HSM integration endpoint.
pub const MAYTEN_PATH: &str = "/api/Integration/MessageWpp";

/// The largest request body read; larger bodies are answered 400.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// How long [`Sandbox::shutdown`] waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Headers whose values never reach the log or [`Sandbox::received`].
const REDACTED_HEADERS: &[&str] = &[
    "apikey",
    "userid",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// What the sandbox accepts and how it misbehaves.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// When `Some`, Aldeamo's `ApiKey` header must equal it (else 401); when `None` any
    /// non-empty `ApiKey` passes.
    pub aldeamo_api_key: Option<String>,
    /// When `Some`, Aldeamo's `UserId` header must equal it (else 401); when `None` any
    /// non-empty `UserId` passes.
    pub aldeamo_user_id: Option<String>,
    /// When `Some`, Mayten's `Authorization: Bearer <token>` must carry it (else 401); when
    /// `None` any non-empty bearer token passes.
    pub mayten_token: Option<String>,
    /// Faults injected on the provider endpoints.
    pub faults: Faults,
    /// Append one NDJSON line per received request to this file: `seq`, `method`, `path`,
    /// `headers` (lowercased names; `ApiKey`, `UserId` and `Authorization` values as `***`),
    /// `body` (JSON, or the text when it is not JSON), `status` and, when one was injected,
    /// `fault`.
    pub log: Option<PathBuf>,
}

/// Faults injected on the provider endpoints, decided per request in this order: `fail_first`,
/// 429 by rate, 500 by rate, then normal handling, then a dropped connection by rate (only for
/// requests that were accepted).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Probability of answering 429 with `Retry-After: <retry_after_secs>` and
    /// `{"errors":["Too Many Requests"]}`.
    pub rate_429: f64,
    /// The `Retry-After` value, in seconds, sent with every 429.
    pub retry_after_secs: u64,
    /// Probability of answering 500 `{"errors":["Internal Server Error"]}`; the message is not
    /// accepted.
    pub rate_500: f64,
    /// Probability of accepting the message (it is recorded and counts as delivered) and then
    /// closing the connection without any response.
    pub rate_drop: f64,
    /// Milliseconds added before answering each provider request.
    pub latency_ms: u64,
    /// Seed of the fault sequence: the fate of the n-th provider request depends only on the
    /// seed and n.
    pub seed: u64,
    /// The first N provider requests get 429 regardless of the rates (a deterministic storm).
    pub fail_first: u32,
    /// Numbers whose Aldeamo messages are refused with the documented 400 body, as the
    /// provider refuses a number it cannot deliver to.
    pub refuse: Vec<String>,
}

/// One request as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    /// Arrival number, from 1.
    pub seq: u64,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query string as sent, e.g. `/api/Integration/MessageWpp`.
    pub path: String,
    /// Headers by lowercased name (repeated headers joined with `, `); credential values are
    /// replaced with `***`.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON, or as a JSON string holding the text when it is not valid JSON.
    pub body: Value,
    /// The status the sandbox answered (for a dropped connection: the status it would have
    /// sent, 200).
    pub status: u16,
    /// The fault injected, if any: `fail_first`, `429`, `500` or `drop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// When the request reached the handler, in milliseconds since the sandbox started (for
    /// measuring pacing; not written to the log, which stays reproducible).
    #[serde(skip)]
    pub at_ms: f64,
}

/// One message the sandbox accepted: one per Aldeamo request, one per Mayten destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The [`Received::seq`] of the request that carried it.
    pub seq: u64,
    /// `aldeamo` or `mayten`.
    pub provider: &'static str,
    /// Aldeamo's `to`, or Mayten's `dstNumber`.
    pub to: String,
    /// The `messageId` answered for it.
    pub message_id: String,
    /// Mayten's `trackingNumber`, when given.
    pub tracking_number: Option<String>,
    /// Mayten's `trackUuid` of the request.
    pub track_uuid: Option<String>,
    /// Mayten's per-destination status (`OK` or `OK, with line break`); `None` for Aldeamo.
    pub status: Option<&'static str>,
}

/// A running sandbox.
pub struct Sandbox {
    /// The address it listens on (always loopback).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Bind 127.0.0.1:port (0 = any free port) and serve in the background on the current
    /// tokio runtime.
    pub async fn start(port: u16, config: SandboxConfig) -> io::Result<Sandbox> {
        Self::start_with(port, config, false).await
    }

    async fn start_with(port: u16, config: SandboxConfig, echo: bool) -> io::Result<Sandbox> {
        let log = match &config.log {
            Some(path) => Some(File::options().create(true).append(true).open(path)?),
            None => None,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                rng: fastrand::Rng::with_seed(config.faults.seed),
                next_seq: 1,
                next_id: 1,
                provider_requests: 0,
                received: Vec::new(),
                accepted: Vec::new(),
                log,
            }),
            config,
            echo,
            started: Instant::now(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<ConnHandle>();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(KillListener(listener), app).with_graceful_shutdown(async move {
            // A dropped sender (the `Sandbox` was dropped) stops the server too.
            let _ = stopped.await;
        });
        let task = tokio::spawn(server.into_future());
        Ok(Sandbox {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order (method, path, headers redacted as in the log,
    /// body JSON, status).
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// Every message accepted so far (one per Aldeamo request; one per Mayten destination).
    pub fn accepted(&self) -> Vec<Accepted> {
        self.shared.lock().accepted.clone()
    }

    /// Stop serving: no new connections are accepted, in-flight requests get a short grace
    /// period to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Run until Ctrl-C, printing `sandbox listening on http://127.0.0.1:PORT` to stderr then one
/// summary line per request; used by `waform sandbox`.
pub async fn run_forever(port: u16, config: SandboxConfig) -> io::Result<()> {
    let sandbox = Sandbox::start_with(port, config, true).await?;
    eprintln!("sandbox listening on {}", sandbox.url());
    let waited = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    waited
}

// ---------------------------------------------------------------------------------------------
// Shared state

struct Shared {
    config: SandboxConfig,
    echo: bool,
    started: Instant,
    inner: Mutex<Inner>,
}

struct Inner {
    rng: fastrand::Rng,
    next_seq: u64,
    next_id: u64,
    provider_requests: u64,
    received: Vec<Received>,
    accepted: Vec<Accepted>,
    log: Option<File>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the vectors half-written in a way that
        // matters here; keep serving rather than propagate the poison.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn next_uuid(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }
}

// ---------------------------------------------------------------------------------------------
// Connections that the handler can drop

/// Per-connection handle given to the handler (as connect info) to drop its connection.
#[derive(Clone, Debug)]
struct ConnHandle {
    killed: Arc<AtomicBool>,
}

impl ConnHandle {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

/// A TCP listener whose streams fail every read and write once their handle is killed, so
/// hyper closes the connection without writing the pending response.
struct KillListener(TcpListener);

impl Listener for KillListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let stream = KillableStream {
                        inner: stream,
                        handle: ConnHandle {
                            killed: Arc::new(AtomicBool::new(false)),
                        },
                    };
                    return (stream, addr);
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.io().handle.clone()
    }
}

struct KillableStream {
    inner: TcpStream,
    handle: ConnHandle,
}

impl KillableStream {
    fn killed(&self) -> bool {
        self.handle.killed.load(Ordering::SeqCst)
    }
}

fn dropped_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "sandbox fault: connection dropped",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Endpoint {
    AldeamoText,
    AldeamoTemplate,
    Mayten,
    Unknown,
}

impl Endpoint {
    fn of(method: &Method, path: &str) -> Endpoint {
        if method != Method::POST {
            return Endpoint::Unknown;
        }
        match path {
            ALDEAMO_TEXT_PATH => Endpoint::AldeamoText,
            ALDEAMO_TEMPLATE_PATH => Endpoint::AldeamoTemplate,
            MAYTEN_PATH => Endpoint::Mayten,
            _ => Endpoint::Unknown,
        }
    }

    fn provider(self) -> Option<&'static str> {
        match self {
            Endpoint::AldeamoText | Endpoint::AldeamoTemplate => Some("aldeamo"),
            Endpoint::Mayten => Some("mayten"),
            Endpoint::Unknown => None,
        }
    }
}

/// A message that passed authentication and validation, not yet given identifiers.
enum Valid {
    Aldeamo {
        to: String,
    },
    Mayten {
        /// Per destination: dstNumber, trackingNumber as sent, whether a param has a line break.
        destinations: Vec<(String, Value, bool)>,
    },
}

/// A refusal: status, body, and a short reason for the console summary.
struct Refusal {
    status: StatusCode,
    body: Value,
    reason: String,
}

fn aldeamo_unauthorized(reason: &str) -> Refusal {
    Refusal {
        status: StatusCode::UNAUTHORIZED,
        body: json!({"errors": ["Authentication Error"]}),
        reason: reason.to_owned(),
    }
}

fn aldeamo_bad_request(reason: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        body: json!({"errors": ["Bad Request"]}),
        reason: reason.into(),
    }
}

fn mayten_unauthorized(reason: &str) -> Refusal {
    Refusal {
        status: StatusCode::UNAUTHORIZED,
        body: json!({"message": "Unauthorized"}),
        reason: reason.to_owned(),
    }
}

fn mayten_bad_request(reason: impl Into<String>) -> Refusal {
    let reason = reason.into();
    Refusal {
        status: StatusCode::BAD_REQUEST,
        body: json!({"message": "Bad Request", "detail": reason}),
        reason,
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn check_aldeamo_auth(config: &SandboxConfig, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(api_key) = header_str(headers, "apikey") else {
        return Err(aldeamo_unauthorized("missing ApiKey header"));
    };
    let Some(user_id) = header_str(headers, "userid") else {
        return Err(aldeamo_unauthorized("missing UserId header"));
    };
    if config
        .aldeamo_api_key
        .as_deref()
        .is_some_and(|want| want != api_key)
    {
        return Err(aldeamo_unauthorized("wrong ApiKey"));
    }
    if config
        .aldeamo_user_id
        .as_deref()
        .is_some_and(|want| want != user_id)
    {
        return Err(aldeamo_unauthorized("wrong UserId"));
    }
    Ok(())
}

fn check_mayten_auth(config: &SandboxConfig, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(value) = header_str(headers, "authorization") else {
        return Err(mayten_unauthorized("missing Authorization header"));
    };
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(mayten_unauthorized("Authorization is not a Bearer token")),
    };
    if token.is_empty() {
        return Err(mayten_unauthorized("empty bearer token"));
    }
    if config
        .mayten_token
        .as_deref()
        .is_some_and(|want| want != token)
    {
        return Err(mayten_unauthorized("wrong bearer token"));
    }
    Ok(())
}

/// A required non-empty string member.
fn required_str<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn validate_aldeamo(endpoint: Endpoint, body: Option<&Value>) -> Result<Valid, Refusal> {
    let Some(body) = body.filter(|b| b.is_object()) else {
        return Err(aldeamo_bad_request("body is not a JSON object"));
    };
    if required_str(body, "from").is_none() {
        return Err(aldeamo_bad_request("missing from"));
    }
    let Some(to) = required_str(body, "to") else {
        return Err(aldeamo_bad_request("missing to"));
    };
    let Some(kind) = required_str(body, "type") else {
        return Err(aldeamo_bad_request("missing type"));
    };
    match (endpoint, kind) {
        (Endpoint::AldeamoText, "text") => {
            let text = body.get("text").unwrap_or(&Value::Null);
            if text
                .get("body")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(aldeamo_bad_request("missing text.body"));
            }
        }
        (Endpoint::AldeamoTemplate, "template") => {
            let template = body.get("template").unwrap_or(&Value::Null);
            if required_str(template, "namespace").is_none() {
                return Err(aldeamo_bad_request("missing template.namespace"));
            }
            if required_str(template, "name").is_none() {
                return Err(aldeamo_bad_request("missing template.name"));
            }
            let language = template.get("language").unwrap_or(&Value::Null);
            if required_str(language, "code").is_none() {
                return Err(aldeamo_bad_request("missing template.language.code"));
            }
            match template.get("components") {
                None | Some(Value::Null | Value::Array(_)) => {}
                Some(_) => return Err(aldeamo_bad_request("template.components is not a list")),
            }
        }
        (_, other) => {
            return Err(aldeamo_bad_request(format!(
                "type {other:?} is not accepted on this endpoint"
            )));
        }
    }
    Ok(Valid::Aldeamo { to: to.to_owned() })
}

fn string_list(value: Option<&Value>, required: bool, at: &str) -> Result<Vec<String>, Refusal> {
    match value {
        None | Some(Value::Null) if !required => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(mayten_bad_request(format!("{at}[{i}] is not a string"))),
            })
            .collect(),
        _ => Err(mayten_bad_request(format!("{at} is not a list of strings"))),
    }
}

fn validate_mayten(body: Option<&Value>) -> Result<Valid, Refusal> {
    let Some(body) = body.filter(|b| b.is_object()) else {
        return Err(mayten_bad_request("body is not a JSON object"));
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(mayten_bad_request("messages is missing or not a list"));
    };
    if messages.is_empty() {
        return Err(mayten_bad_request("messages is empty"));
    }
    let mut destinations = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        if !message.is_object() {
            return Err(mayten_bad_request(format!(
                "messages[{m}] is not an object"
            )));
        }
        for key in ["sourceId", "hsmId"] {
            if message.get(key).and_then(Value::as_i64).is_none() {
                return Err(mayten_bad_request(format!(
                    "messages[{m}].{key} is missing or not an integer"
                )));
            }
        }
        let Some(list) = message.get("destinations").and_then(Value::as_array) else {
            return Err(mayten_bad_request(format!(
                "messages[{m}].destinations is missing or not a list"
            )));
        };
        if list.is_empty() {
            return Err(mayten_bad_request(format!(
                "messages[{m}].destinations is empty"
            )));
        }
        for (d, destination) in list.iter().enumerate() {
            let at = format!("messages[{m}].destinations[{d}]");
            if !destination.is_object() {
                return Err(mayten_bad_request(format!("{at} is not an object")));
            }
            let Some(number) = required_str(destination, "dstNumber") else {
                return Err(mayten_bad_request(format!(
                    "{at}.dstNumber is missing or empty"
                )));
            };
            let tracking = match destination.get("trackingNumber") {
                None | Some(Value::Null) => Value::Null,
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(_) => {
                    return Err(mayten_bad_request(format!(
                        "{at}.trackingNumber is not a string"
                    )));
                }
            };
            let params = string_list(
                destination.get("hsmParams"),
                true,
                &format!("{at}.hsmParams"),
            )?;
            string_list(
                destination.get("internalParams"),
                false,
                &format!("{at}.internalParams"),
            )?;
            string_list(
                destination.get("chatParams"),
                false,
                &format!("{at}.chatParams"),
            )?;
            let line_break = params.iter().any(|p| p.contains(['\n', '\r']));
            destinations.push((number.to_owned(), tracking, line_break));
        }
    }
    Ok(Valid::Mayten { destinations })
}

/// Authentication then validation, with no side effect.
fn evaluate(
    config: &SandboxConfig,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Result<Valid, Refusal> {
    match endpoint {
        Endpoint::AldeamoText | Endpoint::AldeamoTemplate => {
            check_aldeamo_auth(config, headers)?;
            match validate_aldeamo(endpoint, body)? {
                Valid::Aldeamo { to } if config.faults.refuse.contains(&to) => {
                    Err(aldeamo_bad_request(format!("{to} is refused (--refuse)")))
                }
                valid => Ok(valid),
            }
        }
        Endpoint::Mayten => {
            check_mayten_auth(config, headers)?;
            validate_mayten(body)
        }
        Endpoint::Unknown => Err(Refusal {
            status: StatusCode::NOT_FOUND,
            body: json!({"errors": ["Not Found"]}),
            reason: "no such endpoint".to_owned(),
        }),
    }
}

fn redacted_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        let value = if REDACTED_HEADERS.contains(&name.as_str()) {
            "***".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        out.entry(name)
            .and_modify(|v| {
                if v != "***" {
                    v.push_str(", ");
                    v.push_str(&value);
                }
            })
            .or_insert(value);
    }
    out
}

/// What the handler sends back once the state is updated.
struct Outcome {
    status: StatusCode,
    /// Serialized JSON, so success bodies keep the documents' member order.
    body: String,
    retry_after: Option<u64>,
    drop_connection: bool,
    delay: bool,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    request: Request,
) -> Response {
    let at_ms = shared.started.elapsed().as_secs_f64() * 1000.0;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await;
    let outcome = process(&shared, &parts, bytes.as_ref().ok(), at_ms);
    if outcome.delay && shared.config.faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(shared.config.faults.latency_ms)).await;
    }
    if outcome.drop_connection {
        // The message is recorded as accepted; now make every read and write on this
        // connection fail so hyper closes it without writing the response below.
        conn.kill();
    }
    let mut response = (
        outcome.status,
        [(header::CONTENT_TYPE, "application/json")],
        outcome.body,
    )
        .into_response();
    if let Some(secs) = outcome.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Decide the answer to one request, and record it (and what it accepted) under the lock.
fn process(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    bytes: Option<&Bytes>,
    at_ms: f64,
) -> Outcome {
    let config = &shared.config;
    let faults = &config.faults;
    let path = parts.uri.path();
    let endpoint = Endpoint::of(&parts.method, path);
    let json_body: Option<Value> = bytes.and_then(|b| serde_json::from_slice(b).ok());
    let logged_body = match (&json_body, bytes) {
        (Some(value), _) => value.clone(),
        (None, Some(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (None, None) => Value::String("<unreadable body>".to_owned()),
    };
    let normal = if bytes.is_none() && endpoint != Endpoint::Unknown {
        Err(match endpoint {
            Endpoint::Mayten => mayten_bad_request("body could not be read"),
            _ => aldeamo_bad_request("body could not be read"),
        })
    } else {
        evaluate(config, endpoint, &parts.headers, json_body.as_ref())
    };

    let mut inner = shared.lock();
    let seq = inner.next_seq;
    inner.next_seq += 1;

    let mut outcome = Outcome {
        status: StatusCode::OK,
        body: String::new(),
        retry_after: None,
        drop_connection: false,
        delay: endpoint != Endpoint::Unknown,
    };
    let mut fault: Option<&'static str> = None;
    let mut summary = String::new();

    if endpoint != Endpoint::Unknown {
        let index = inner.provider_requests;
        inner.provider_requests += 1;
        // Always draw the three numbers, so request n's fate depends only on (seed, n).
        let (r429, r500, rdrop) = (inner.rng.f64(), inner.rng.f64(), inner.rng.f64());
        if index < u64::from(faults.fail_first) || r429 < faults.rate_429 {
            fault = Some(if index < u64::from(faults.fail_first) {
                "fail_first"
            } else {
                "429"
            });
            outcome.status = StatusCode::TOO_MANY_REQUESTS;
            outcome.body = json!({"errors": ["Too Many Requests"]}).to_string();
            outcome.retry_after = Some(faults.retry_after_secs);
        } else if r500 < faults.rate_500 {
            fault = Some("500");
            outcome.status = StatusCode::INTERNAL_SERVER_ERROR;
            outcome.body = json!({"errors": ["Internal Server Error"]}).to_string();
        } else {
            match normal {
                Ok(valid) => {
                    outcome.body = accept(&mut inner, seq, valid, &mut summary);
                    if rdrop < faults.rate_drop {
                        fault = Some("drop");
                        outcome.drop_connection = true;
                    }
                }
                Err(refusal) => {
                    outcome.status = refusal.status;
                    outcome.body = refusal.body.to_string();
                    summary = refusal.reason;
                }
            }
        }
    } else if let Err(refusal) = normal {
        outcome.status = refusal.status;
        outcome.body = refusal.body.to_string();
    }

    let received = Received {
        seq,
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned()),
        headers: redacted_headers(&parts.headers),
        body: logged_body,
        status: outcome.status.as_u16(),
        fault,
        at_ms,
    };
    if let Some(file) = inner.log.as_mut() {
        let mut line = serde_json::to_string(&received).unwrap_or_default();
        line.push('\n');
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("sandbox: cannot write the request log: {e}");
        }
    }
    if shared.echo {
        let provider = endpoint.provider().unwrap_or("-");
        let mut line = format!(
            "#{seq} {} {} -> {} {provider}",
            received.method, received.path, received.status
        );
        if let Some(fault) = fault {
            line.push_str(&format!(" [fault: {fault}]"));
        }
        if !summary.is_empty() {
            line.push_str(": ");
            line.push_str(&summary);
        }
        eprintln!("{line}");
    }
    inner.received.push(received);
    outcome
}

/// One destination of Mayten's success body, members in the document's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaytenResponse {
    tracking_number: Value,
    message_id: String,
    status: &'static str,
}

/// Mayten's success body, members in the document's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaytenAnswer {
    responses: Vec<MaytenResponse>,
    track_uuid: String,
}

/// Give identifiers to an accepted message, record it, and build the success body.
fn accept(inner: &mut Inner, seq: u64, valid: Valid, summary: &mut String) -> String {
    match valid {
        Valid::Aldeamo { to } => {
            let message_id = inner.next_uuid();
            *summary = format!("to {to}, messageId {message_id}");
            inner.accepted.push(Accepted {
                seq,
                provider: "aldeamo",
                to,
                message_id: message_id.clone(),
                tracking_number: None,
                track_uuid: None,
                status: None,
            });
            json!({"messageId": message_id}).to_string()
        }
        Valid::Mayten { destinations } => {
            let ids: Vec<String> = destinations.iter().map(|_| inner.next_uuid()).collect();
            let track_uuid = inner.next_uuid();
            let mut responses = Vec::with_capacity(destinations.len());
            let mut line_breaks = 0;
            for ((to, tracking, line_break), message_id) in destinations.into_iter().zip(ids) {
                let status = if line_break {
                    line_breaks += 1;
                    "OK, with line break"
                } else {
                    "OK"
                };
                responses.push(MaytenResponse {
                    tracking_number: tracking.clone(),
                    message_id: message_id.clone(),
                    status,
                });
                inner.accepted.push(Accepted {
                    seq,
                    provider: "mayten",
                    to,
                    message_id,
                    tracking_number: tracking.as_str().map(str::to_owned),
                    track_uuid: Some(track_uuid.clone()),
                    status: Some(status),
                });
            }
            let n = responses.len();
            let plural = if n == 1 { "" } else { "s" };
            *summary = format!("{n} destination{plural}, trackUuid {track_uuid}");
            if line_breaks > 0 {
                summary.push_str(&format!(", {line_breaks} with line break"));
            }
            let answer = MaytenAnswer {
                responses,
                track_uuid,
            };
            serde_json::to_string(&answer).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAYTEN_BULK: &str = r#"{
  "messages": [
    {
      "sourceId": 5,
      "hsmId": 10,
      "destinations": [
        {
          "trackingNumber": "645564456",
          "dstNumber": "5493516723999",
          "hsmParams": [
            "13"
          ],
          "internalParams": [
            "111111111"
          ],
          "chatParams": [
            "client"
          ]
        },
        {
          "trackingNumber": "564548",
          "dstNumber": "5493516724000",
          "hsmParams": [
            "14"
          ],
          "internalParams": [
            "111111111"
          ],
          "chatParams": [
            "client"
          ]
        }
      ]
    },
    {
      "sourceId": 6,
      "hsmId": 11,
      "destinations": [
        {
          "trackingNumber": "645564457",
          "dstNumber": "5493516724001",
          "hsmParams": [
            "15"
          ],
          "internalParams": [
            "111111111"
          ],
          "chatParams": [
            "client"
          ]
        },
        {
          "trackingNumber": "564549",
          "dstNumber": "5493516724002",
          "hsmParams": [
            "16"
          ],
          "internalParams": [
            "111111111"
          ],
          "chatParams": [
            "client"
          ]
        }
      ]
    }
  ]
}"#;

    const TOKEN: &str = "yJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

    fn text_body() -> Value {
        json!({
            "from": "573001112233",
            "to": "573137000001",
            "type": "text",
            "recipient_type": "individual",
            "text": {"body": "testing!!"}
        })
    }

    fn template_body() -> Value {
        json!({
            "from": "573195000000",
            "to": "573137000002",
            "type": "template",
            "template": {
                "namespace": "f29c496f_9a16_408b_bff7_379e57d1c8d5",
                "language": {"policy": "deterministic", "code": "es"},
                "name": "aldeamo_botones_autorespuesta",
                "components": [
                    {"type": "body", "sub_type": null, "index": null,
                     "parameters": [{"type": "text", "text": "William"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0",
                     "parameters": [{"type": "payload", "payload": "1. Confirmar-Button-Payload"}]}
                ]
            }
        })
    }

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    async fn aldeamo(sb: &Sandbox, path: &str, body: &Value) -> reqwest::Response {
        client()
            .post(format!("{}{path}", sb.url()))
            .header("ApiKey", "secret-key-123")
            .header("UserId", "user-9")
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn mayten(sb: &Sandbox, token: &str, body: &str) -> reqwest::Response {
        client()
            .post(format!("{}{MAYTEN_PATH}", sb.url()))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    async fn start(config: SandboxConfig) -> Sandbox {
        Sandbox::start(0, config).await.expect("start sandbox")
    }

    fn uuid(n: u64) -> String {
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// Aldeamo text and template sends on their documented paths answer 200 with a messageId.
    #[tokio::test]
    async fn aldeamo_text_and_template_accepted() {
        let sb = start(SandboxConfig {
            aldeamo_api_key: Some("secret-key-123".into()),
            aldeamo_user_id: Some("user-9".into()),
            ..SandboxConfig::default()
        })
        .await;
        let r = aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"messageId": uuid(1)})
        );
        let r = aldeamo(&sb, ALDEAMO_TEMPLATE_PATH, &template_body()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"messageId": uuid(2)})
        );

        let accepted = sb.accepted();
        assert_eq!(accepted.len(), 2);
        assert_eq!(accepted[0].provider, "aldeamo");
        assert_eq!(accepted[0].to, "573137000001");
        assert_eq!(accepted[1].to, "573137000002");
        assert_eq!(accepted[1].message_id, uuid(2));
        let received = sb.received();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].method, "POST");
        assert_eq!(received[0].path, ALDEAMO_TEXT_PATH);
        assert_eq!(received[0].body, text_body());
        assert_eq!(received[1].headers["apikey"], "***");
        assert_eq!(received[1].headers["content-type"], "application/json");
        sb.shutdown().await;
    }

    /// A missing ApiKey, or a wrong one when a key is configured, is a 401 with the documented body.
    #[tokio::test]
    async fn aldeamo_auth_errors_are_401() {
        let sb = start(SandboxConfig {
            aldeamo_api_key: Some("secret-key-123".into()),
            ..SandboxConfig::default()
        })
        .await;
        let r = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .header("UserId", "user-9")
            .json(&text_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"errors": ["Authentication Error"]})
        );
        let r = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .header("apikey", "other")
            .header("userid", "user-9")
            .json(&text_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // Header names are case-insensitive: lower-case names with the right key pass.
        let r = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .header("apikey", "secret-key-123")
            .header("userid", "anyone")
            .json(&text_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(sb.accepted().len(), 1);
        sb.shutdown().await;
    }

    /// Missing fields, a type that does not match the path, and malformed JSON are 400s with the documented body.
    #[tokio::test]
    async fn aldeamo_bad_requests_are_400() {
        let sb = start(SandboxConfig::default()).await;
        let mut no_to = text_body();
        no_to.as_object_mut().unwrap().remove("to");
        let mut no_namespace = template_body();
        no_namespace["template"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        let mut no_code = template_body();
        no_code["template"]["language"]
            .as_object_mut()
            .unwrap()
            .remove("code");
        let cases = [
            (ALDEAMO_TEXT_PATH, no_to),
            (ALDEAMO_TEMPLATE_PATH, no_namespace),
            (ALDEAMO_TEMPLATE_PATH, no_code),
            (ALDEAMO_TEXT_PATH, template_body()),
            (
                ALDEAMO_TEXT_PATH,
                json!({"from": "1", "to": "2", "type": "text"}),
            ),
            (ALDEAMO_TEXT_PATH, json!([1, 2, 3])),
        ];
        for (path, body) in cases {
            let r = aldeamo(&sb, path, &body).await;
            assert_eq!(r.status(), 400, "{body}");
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"errors": ["Bad Request"]})
            );
        }
        let r = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .header("ApiKey", "k")
            .header("UserId", "u")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(sb.accepted().is_empty());
        assert_eq!(
            sb.received().last().unwrap().body,
            Value::String("{not json".into())
        );
        sb.shutdown().await;
    }

    /// The document's "Success Bulk Multiple Accounts" request gets 4 OK responses in order, trackingNumbers echoed, one trackUuid.
    #[tokio::test]
    async fn mayten_documented_bulk_example() {
        let sb = start(SandboxConfig {
            mayten_token: Some(TOKEN.into()),
            ..SandboxConfig::default()
        })
        .await;
        let r = mayten(&sb, TOKEN, MAYTEN_BULK).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        let text = r.text().await.unwrap();
        // Members in the document's order.
        assert!(
            text.starts_with(r#"{"responses":[{"trackingNumber":"645564456","messageId":"#),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        let responses = body["responses"].as_array().unwrap();
        assert_eq!(responses.len(), 4);
        let tracking: Vec<&str> = responses
            .iter()
            .map(|r| r["trackingNumber"].as_str().unwrap())
            .collect();
        assert_eq!(tracking, ["645564456", "564548", "645564457", "564549"]);
        for (i, response) in responses.iter().enumerate() {
            assert_eq!(response["status"], "OK");
            assert_eq!(response["messageId"], uuid(i as u64 + 1));
        }
        assert_eq!(body["trackUuid"], uuid(5));
        let accepted = sb.accepted();
        let numbers: Vec<&str> = accepted.iter().map(|a| a.to.as_str()).collect();
        assert_eq!(
            numbers,
            [
                "5493516723999",
                "5493516724000",
                "5493516724001",
                "5493516724002"
            ]
        );
        assert!(
            accepted.iter().all(
                |a| a.provider == "mayten" && a.track_uuid.as_deref() == Some(uuid(5).as_str())
            )
        );
        assert_eq!(sb.received()[0].headers["authorization"], "***");
        sb.shutdown().await;
    }

    /// A line break (\n or \r) in an hsmParams value gives that destination "OK, with line break", the others "OK".
    #[tokio::test]
    async fn mayten_line_break_status() {
        let sb = start(SandboxConfig::default()).await;
        let body = json!({"messages": [{"sourceId": 5, "hsmId": 10, "destinations": [
            {"dstNumber": "5493516723999", "hsmParams": ["line\nbreak"]},
            {"dstNumber": "5493516724000", "hsmParams": ["plain"]},
            {"dstNumber": "5493516724001", "hsmParams": ["carriage\rreturn"]}
        ]}]});
        let r = mayten(&sb, "any", &body.to_string()).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let statuses: Vec<&str> = body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["OK, with line break", "OK", "OK, with line break"]
        );
        assert_eq!(body["responses"][0]["trackingNumber"], Value::Null);
        assert_eq!(sb.accepted()[0].status, Some("OK, with line break"));
        sb.shutdown().await;
    }

    /// Extra hsmParams beyond the template's count and unknown fields are ignored: still 200 OK.
    #[tokio::test]
    async fn mayten_extra_params_ignored() {
        let sb = start(SandboxConfig::default()).await;
        let body = json!({"campaign": "x", "messages": [{"sourceId": 5, "hsmId": 10, "priority": 1,
            "destinations": [{"trackingNumber": "t1", "dstNumber": "5493516723999",
                "hsmParams": ["a", "b", "c", "d", "e", "f", "g", "h"],
                "internalParams": [], "chatParams": ["client"], "color": "blue"}]}]});
        let r = mayten(&sb, "any", &body.to_string()).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["responses"][0]["status"], "OK");
        assert_eq!(body["responses"][0]["trackingNumber"], "t1");
        assert_eq!(sb.accepted().len(), 1);
        sb.shutdown().await;
    }

    /// With mayten_token set, a wrong or missing bearer is a 401 {"message":"Unauthorized"} and nothing is accepted.
    #[tokio::test]
    async fn mayten_wrong_bearer_is_401() {
        let sb = start(SandboxConfig {
            mayten_token: Some(TOKEN.into()),
            ..SandboxConfig::default()
        })
        .await;
        let r = mayten(&sb, "not-the-token", MAYTEN_BULK).await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"message": "Unauthorized"})
        );
        let r = client()
            .post(format!("{}{MAYTEN_PATH}", sb.url()))
            .header("Authorization", format!("Basic {TOKEN}"))
            .body(MAYTEN_BULK)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(sb.accepted().is_empty());
        assert_eq!(sb.received().len(), 2);
        sb.shutdown().await;
    }

    /// Malformed Mayten bodies (bad JSON, missing dstNumber, string sourceId, empty list) are 400s.
    #[tokio::test]
    async fn mayten_malformed_is_400() {
        let sb = start(SandboxConfig::default()).await;
        let cases = [
            "{".to_owned(),
            "null".to_owned(),
            json!({"messages": []}).to_string(),
            json!({"messages": [{"sourceId": "5", "hsmId": 10, "destinations": [
                {"dstNumber": "1", "hsmParams": []}]}]})
            .to_string(),
            json!({"messages": [{"sourceId": 5, "hsmId": 10, "destinations": [
                {"hsmParams": []}]}]})
            .to_string(),
            json!({"messages": [{"sourceId": 5, "hsmId": 10, "destinations": [
                {"dstNumber": "1"}]}]})
            .to_string(),
            json!({"messages": [{"sourceId": 5, "hsmId": 10, "destinations": [
                {"dstNumber": "1", "hsmParams": [1]}]}]})
            .to_string(),
        ];
        for body in cases {
            let r = mayten(&sb, "any", &body).await;
            assert_eq!(r.status(), 400, "{body}");
            let answer: Value = r.json().await.unwrap();
            assert_eq!(answer["message"], "Bad Request");
        }
        assert!(sb.accepted().is_empty());
        sb.shutdown().await;
    }

    /// Other paths and methods are 404 and are still recorded.
    #[tokio::test]
    async fn unknown_paths_are_404() {
        let sb = start(SandboxConfig::default()).await;
        let r = client()
            .get(format!("{}{MAYTEN_PATH}", sb.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = client()
            .post(format!("{}/v1/apikey/audio/bsp/send?x=1", sb.url()))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let received = sb.received();
        assert_eq!(received[1].path, "/v1/apikey/audio/bsp/send?x=1");
        assert_eq!(received[1].body, Value::String("hello".into()));
        sb.shutdown().await;
    }

    /// fail_first=3 answers the first three requests 429 with Retry-After and the documented body, then accepts.
    #[tokio::test]
    async fn fail_first_storm() {
        let sb = start(SandboxConfig {
            faults: Faults {
                fail_first: 3,
                retry_after_secs: 1,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        for _ in 0..3 {
            let r = aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
            assert_eq!(r.status(), 429);
            assert_eq!(r.headers()["retry-after"], "1");
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"errors": ["Too Many Requests"]})
            );
        }
        assert!(sb.accepted().is_empty());
        let r = aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(sb.accepted().len(), 1);
        let faults: Vec<Option<&str>> = sb.received().iter().map(|r| r.fault).collect();
        assert_eq!(
            faults,
            [
                Some("fail_first"),
                Some("fail_first"),
                Some("fail_first"),
                None
            ]
        );
        sb.shutdown().await;
    }

    /// rate_500=1.0 answers 500 with the body and accepts nothing; rate_429=1.0 answers 429.
    #[tokio::test]
    async fn rate_faults() {
        let sb = start(SandboxConfig {
            faults: Faults {
                rate_500: 1.0,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let r = mayten(&sb, "any", MAYTEN_BULK).await;
        assert_eq!(r.status(), 500);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"errors": ["Internal Server Error"]})
        );
        assert!(sb.accepted().is_empty());
        sb.shutdown().await;

        let sb = start(SandboxConfig {
            faults: Faults {
                rate_429: 1.0,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let r = mayten(&sb, "any", MAYTEN_BULK).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "0");
        sb.shutdown().await;
    }

    /// The same seed gives the same fault sequence; half rates give a mix of outcomes.
    #[tokio::test]
    async fn seeded_faults_are_deterministic() {
        async fn statuses(seed: u64) -> Vec<u16> {
            let sb = start(SandboxConfig {
                faults: Faults {
                    rate_429: 0.3,
                    rate_500: 0.3,
                    seed,
                    ..Faults::default()
                },
                ..SandboxConfig::default()
            })
            .await;
            for _ in 0..20 {
                aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
            }
            let out = sb.received().iter().map(|r| r.status).collect();
            sb.shutdown().await;
            out
        }
        let a = statuses(7).await;
        assert_eq!(a, statuses(7).await);
        assert!(
            a.contains(&200) && a.contains(&429) && a.contains(&500),
            "{a:?}"
        );
    }

    /// rate_drop=1.0: the client sees a connection error, yet accepted() holds the message; the server keeps serving.
    #[tokio::test]
    async fn dropped_connection_after_accepting() {
        let sb = start(SandboxConfig {
            faults: Faults {
                rate_drop: 1.0,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let result = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .header("ApiKey", "k")
            .header("UserId", "u")
            .json(&text_body())
            .send()
            .await;
        let err = result.expect_err("the connection must be dropped without a response");
        assert!(!err.is_status(), "{err:?}");
        let accepted = sb.accepted();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].to, "573137000001");
        assert_eq!(sb.received()[0].fault, Some("drop"));

        // Mayten too: every destination of the dropped request counts as accepted.
        let result = client()
            .post(format!("{}{MAYTEN_PATH}", sb.url()))
            .bearer_auth("t")
            .body(MAYTEN_BULK)
            .send()
            .await;
        assert!(result.is_err());
        assert_eq!(sb.accepted().len(), 5);

        // On the wire: not a single byte of response before the connection closes.
        let mut raw = TcpStream::connect(sb.addr).await.unwrap();
        let body = text_body().to_string();
        let request = format!(
            "POST {ALDEAMO_TEXT_PATH} HTTP/1.1\r\nHost: x\r\nApiKey: k\r\nUserId: u\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut raw, request.as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        let read = tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut answer).await;
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert_eq!(sb.accepted().len(), 6);

        // Refused requests are answered normally, never dropped.
        let r = client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .json(&text_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        sb.shutdown().await;
    }

    /// The NDJSON log has one line per request with credentials redacted: the real key and token never appear.
    #[tokio::test]
    async fn log_redacts_credentials() {
        let dir = std::env::temp_dir().join(format!(
            "waform-sandbox-log-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("requests.ndjson");
        let sb = start(SandboxConfig {
            log: Some(log.clone()),
            ..SandboxConfig::default()
        })
        .await;
        aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
        mayten(&sb, TOKEN, MAYTEN_BULK).await;
        client()
            .post(format!("{}{ALDEAMO_TEXT_PATH}", sb.url()))
            .body("garbage")
            .send()
            .await
            .unwrap();
        sb.shutdown().await;

        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("secret-key-123"));
        assert!(!text.contains("user-9"));
        assert!(!text.contains(TOKEN));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[0]["method"], "POST");
        assert_eq!(lines[0]["path"], ALDEAMO_TEXT_PATH);
        assert_eq!(lines[0]["headers"]["apikey"], "***");
        assert_eq!(lines[0]["headers"]["userid"], "***");
        assert_eq!(lines[0]["body"], text_body());
        assert_eq!(lines[0]["status"], 200);
        assert_eq!(lines[1]["headers"]["authorization"], "***");
        assert_eq!(lines[1]["body"]["messages"][1]["sourceId"], 6);
        assert_eq!(lines[2]["status"], 401);
        assert_eq!(lines[2]["body"], "garbage");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// latency_ms delays the answer and the request still succeeds.
    #[tokio::test]
    async fn latency_is_applied() {
        let sb = start(SandboxConfig {
            faults: Faults {
                latency_ms: 150,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        })
        .await;
        let started = Instant::now();
        let r = aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
        assert_eq!(r.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(100));
        let r = aldeamo(&sb, ALDEAMO_TEXT_PATH, &text_body()).await;
        assert_eq!(r.status(), 200);
        let received = sb.received();
        assert!(received[1].at_ms > received[0].at_ms, "{received:?}");
        sb.shutdown().await;
    }

    /// Concurrent requests each get a distinct messageId and are all recorded.
    #[tokio::test]
    async fn concurrent_requests_get_distinct_ids() {
        let sb = start(SandboxConfig::default()).await;
        let url = format!("{}{ALDEAMO_TEXT_PATH}", sb.url());
        let client = client();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let client = client.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut body = text_body();
                body["to"] = json!(format!("57313700{i:04}"));
                let r = client
                    .post(url)
                    .header("ApiKey", "k")
                    .header("UserId", "u")
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                r.json::<Value>().await.unwrap()["messageId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20);
        assert_eq!(sb.accepted().len(), 20);
        sb.shutdown().await;
    }
}
