//! Sending: the compiled requests go out over HTTP, paced per sender, each recipient journaled
//! before and after its request so that nothing is sent twice and nothing is lost.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::emit::{Auth, Request};
use crate::model::{Provider, Rate, SecretRef, Sender};
use crate::state::{Intent, Outcome, Status, Store};

/// Exit code: some messages failed or are uncertain.
pub const EXIT_INCOMPLETE: i32 = 3;
/// Exit code: the provider refused the credentials.
pub const EXIT_CREDENTIALS: i32 = 4;
/// Exit code: the state could not be written; the run stopped.
pub const EXIT_STATE: i32 = 5;
/// Exit code: interrupted (Ctrl-C); the next run resumes.
pub const EXIT_INTERRUPTED: i32 = 130;

/// How `apply` behaves.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Pacing per sender name, overriding the senders' `rate`.
    pub rates: HashMap<String, Rate>,
    /// Pacing for every sender, overriding their `rate` (a per-sender override wins).
    pub rate_all: Option<Rate>,
    /// Attempts for a request that was throttled or could not connect.
    pub max_attempts: u32,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// Largest wait between retries.
    pub max_backoff: Duration,
}

impl Default for SendOptions {
    fn default() -> SendOptions {
        SendOptions {
            concurrency: 16,
            rates: HashMap::new(),
            rate_all: None,
            max_attempts: 8,
            timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The credentials of the senders, read when the run starts. Never printed.
#[derive(Default, Clone)]
pub struct Secrets {
    values: HashMap<SecretRef, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} redacted)", self.values.len())
    }
}

impl Secrets {
    /// Read every secret the senders name; the error lists what is missing (names only).
    pub fn load(senders: &[Arc<Sender>]) -> Result<Secrets, Vec<String>> {
        let mut values = HashMap::new();
        let mut missing = Vec::new();
        for sender in senders {
            let refs = [&sender.api_key, &sender.user_id, &sender.token];
            for secret in refs.into_iter().flatten() {
                if values.contains_key(secret) {
                    continue;
                }
                let value = match secret {
                    SecretRef::Env(name) => std::env::var(name)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            format!(
                                "sender `{}`: the environment variable `{name}` is not set",
                                sender.name
                            )
                        }),
                    SecretRef::File(path) => std::fs::read_to_string(path)
                        .map(|v| v.trim_end_matches(['\n', '\r']).to_owned())
                        .map_err(|err| {
                            format!(
                                "sender `{}`: cannot read the secret file `{}`: {err}",
                                sender.name,
                                path.display()
                            )
                        }),
                };
                match value {
                    Ok(v) => {
                        values.insert(secret.clone(), v);
                    }
                    Err(message) => missing.push(message),
                }
            }
        }
        if missing.is_empty() {
            Ok(Secrets { values })
        } else {
            Err(missing)
        }
    }

    fn get(&self, secret: &Option<SecretRef>) -> &str {
        secret
            .as_ref()
            .and_then(|s| self.values.get(s))
            .map_or("", String::as_str)
    }
}

/// An event of the run, for `--format json` and the progress display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    /// `sent`, `failed`, `unsent`, `uncertain`.
    pub event: &'static str,
    /// The campaign.
    pub campaign: String,
    /// The recipient's key.
    pub key: String,
    /// The recipient.
    pub to: String,
    /// The provider's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: u32,
}

/// Counts of one run.
#[derive(Debug, Default, Clone)]
pub struct RunCounts {
    /// Messages sent.
    pub sent: u64,
    /// Messages failed.
    pub failed: u64,
    /// Messages whose outcome is unknown.
    pub uncertain: u64,
    /// Messages that provably never reached the provider.
    pub unsent: u64,
    /// Messages whose intent was recorded (the others were never attempted).
    pub attempted: u64,
    /// Requests retried.
    pub retries: u64,
}

/// The window a pacer counts sends in: a second plus a margin, so that network jitter
/// between us and the provider cannot squeeze one send too many into any second it measures.
const WINDOW: Duration = Duration::from_millis(1050);

/// Paces one sender: never more than `rate` messages in any one-second window, and evenly
/// spaced.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    window: usize,
    next: Instant,
    recent: VecDeque<Instant>,
}

impl Pacer {
    /// A pacer for `rate` messages per second.
    pub fn new(rate: Rate) -> Pacer {
        let per_second = rate.0.max(1e-6);
        Pacer {
            interval: Duration::from_secs_f64(WINDOW.as_secs_f64() / per_second),
            window: per_second.floor().max(1.0) as usize,
            next: Instant::now(),
            recent: VecDeque::new(),
        }
    }

    /// The time between two sends.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserve `n` sends and return when the last of them may go.
    pub fn reserve(&mut self, n: usize) -> Instant {
        let mut at = Instant::now().max(self.next);
        for _ in 0..n.max(1) {
            at = at.max(self.next);
            if self.recent.len() >= self.window
                && let Some(oldest) = self.recent.pop_front()
            {
                at = at.max(oldest + WINDOW);
            }
            self.recent.push_back(at);
            self.next = at + self.interval;
        }
        at
    }
}

/// Where events of a run go.
pub type EventSink = Box<dyn FnMut(&Event) + Send>;

/// The state shared by the sending tasks.
struct Shared {
    client: reqwest::Client,
    secrets: Secrets,
    store: Arc<Mutex<Box<dyn Store>>>,
    /// The slot of each campaign in the store.
    slots: HashMap<Arc<str>, usize>,
    /// The first error of the state, which stopped the run.
    state_error: Mutex<Option<String>>,
    pacers: HashMap<String, Mutex<Pacer>>,
    stop: AtomicBool,
    credentials_refused: AtomicBool,
    counts: Mutex<RunCounts>,
    options: SendOptions,
    events: Mutex<EventSink>,
    /// Intents written so far (each request's intent takes the next number).
    written: std::sync::atomic::AtomicU64,
    /// Intents known durable: group commit syncs once for all the intents waiting. `None`
    /// once a sync failed: no intent written before it is known durable, so none may be sent.
    synced: tokio::sync::Mutex<Option<u64>>,
}

/// Send a stream of requests. `requests` is fed by the compiler; the function returns when the
/// stream ends or the run is stopped (Ctrl-C, refused credentials).
pub async fn send_all(
    mut requests: mpsc::Receiver<Request>,
    senders: &[Arc<Sender>],
    secrets: Secrets,
    store: Arc<Mutex<Box<dyn Store>>>,
    slots: HashMap<Arc<str>, usize>,
    options: SendOptions,
    events: EventSink,
) -> RunResult {
    let mut pacers = HashMap::new();
    for sender in senders {
        let rate = options
            .rates
            .get(&*sender.name)
            .copied()
            .or(options.rate_all)
            .or(sender.rate);
        if let Some(rate) = rate {
            pacers.insert(sender.name.to_string(), Mutex::new(Pacer::new(rate)));
        }
    }
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .pool_max_idle_per_host(options.concurrency.max(1))
        .user_agent(concat!("waform/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    let shared = Arc::new(Shared {
        client,
        secrets,
        store,
        slots,
        state_error: Mutex::new(None),
        pacers,
        stop: AtomicBool::new(false),
        credentials_refused: AtomicBool::new(false),
        counts: Mutex::new(RunCounts::default()),
        options: options.clone(),
        events: Mutex::new(events),
        written: std::sync::atomic::AtomicU64::new(0),
        synced: tokio::sync::Mutex::new(Some(0)),
    });
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let request = tokio::select! {
            r = requests.recv() => r,
            _ = &mut ctrl_c => {
                interrupted = true;
                shared.stop.store(true, Ordering::SeqCst);
                None
            }
        };
        let Some(request) = request else { break };
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            _ = &mut ctrl_c => {
                interrupted = true;
                shared.stop.store(true, Ordering::SeqCst);
                break;
            }
        };
        let Ok(permit) = permit else { break };
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let shared = shared.clone();
        tasks.spawn(async move {
            send_one(&shared, request).await;
            drop(permit);
        });
    }
    requests.close();
    while tasks.join_next().await.is_some() {}
    let synced = lock(&shared.store).sync();
    if let Err(err) = synced {
        fail_state(&shared, err.cause.to_string());
    }
    let counts = lock(&shared.counts).clone();
    let state_error = lock(&shared.state_error).take();
    RunResult {
        counts,
        credentials_refused: shared.credentials_refused.load(Ordering::SeqCst),
        interrupted,
        state_error,
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// What was sent, failed, uncertain.
    pub counts: RunCounts,
    /// The provider refused the credentials; the run stopped.
    pub credentials_refused: bool,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
    /// The state could not be written (the first error); the run stopped.
    pub state_error: Option<String>,
}

/// Lock a mutex, also one a panicking task left poisoned.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stop the run because the state could not be written, keeping the first error.
fn fail_state(shared: &Shared, error: String) {
    lock(&shared.state_error).get_or_insert(error);
    shared.stop.store(true, Ordering::SeqCst);
}

/// What one attempt came to.
enum Attempt {
    /// The provider answered; per recipient outcomes.
    Done(Vec<Outcome>),
    /// Nothing was sent (throttled or could not connect): try again after the delay.
    Retry(Duration, String),
    /// The outcome is unknown (sent but no answer).
    Uncertain(String),
    /// Credentials refused: stop everything.
    Refused(String),
}

/// The outcome of a request's recipient `i`; its slot is filled in by [`send_one`].
fn record(request: &Request, i: usize, status: Status, attempts: u32) -> Outcome {
    let r = &request.recipients[i];
    Outcome {
        slot: 0,
        key: r.key.clone(),
        to: r.to.clone(),
        tracking: r.tracking_number.clone(),
        digest: r.digest,
        status,
        message_id: None,
        track_uuid: None,
        error: None,
        attempts,
        warning: None,
    }
}

fn all(request: &Request, status: Status, attempts: u32, error: Option<String>) -> Vec<Outcome> {
    (0..request.recipients.len())
        .map(|i| Outcome {
            error: error.clone(),
            ..record(request, i, status, attempts)
        })
        .collect()
}

async fn send_one(shared: &Shared, request: Request) {
    if shared.stop.load(Ordering::SeqCst) {
        return;
    }
    let (request_id, earlier, ticket) = match record_intent(shared, &request) {
        Ok(written) => written,
        Err(err) => return fail_state(shared, err.cause.to_string()),
    };
    lock(&shared.counts).attempted += request.recipients.len() as u64;
    if let Err(err) = durable(shared, ticket).await {
        // The intent may not be on disk: the request must not leave. Its recipients stay
        // without an outcome of this run and replay as uncertain if the intent did persist.
        return fail_state(shared, err);
    }
    let mut attempts = 0;
    let outcomes = loop {
        attempts += 1;
        if let Some(pacer) = shared.pacers.get(&*request.sender) {
            let sends = request.recipients.len();
            let shared_wait = {
                let interval = lock(pacer).interval();
                lock(&shared.store).pace(&request.sender, interval, sends)
            };
            match shared_wait {
                Ok(Some(wait)) => tokio::time::sleep(wait).await,
                Ok(None) => {
                    let at = lock(pacer).reserve(sends);
                    tokio::time::sleep_until(at.into()).await;
                }
                Err(err) => {
                    fail_state(shared, err.cause.to_string());
                    break all(
                        &request,
                        Status::Unsent,
                        attempts,
                        Some(
                            "the run stopped before sending it: the state could not pace it"
                                .to_owned(),
                        ),
                    );
                }
            }
        }
        match attempt(shared, &request, attempts).await {
            Attempt::Done(outcomes) => break outcomes,
            Attempt::Uncertain(error) => {
                break all(&request, Status::Uncertain, attempts, Some(error));
            }
            Attempt::Refused(error) => {
                shared.credentials_refused.store(true, Ordering::SeqCst);
                shared.stop.store(true, Ordering::SeqCst);
                break all(&request, Status::Unsent, attempts, Some(error));
            }
            Attempt::Retry(delay, error) => {
                let stopped = shared.stop.load(Ordering::SeqCst);
                if attempts >= shared.options.max_attempts || stopped {
                    let why = if stopped {
                        format!("the run stopped before sending it: {error}")
                    } else {
                        format!("gave up after {attempts} attempts: {error}")
                    };
                    break all(&request, Status::Unsent, attempts, Some(why));
                }
                lock(&shared.counts).retries += 1;
                let jitter = Duration::from_millis(fastrand::u64(
                    0..=delay.as_millis().min(1000) as u64 / 2 + 1,
                ));
                tokio::time::sleep(delay + jitter).await;
            }
        }
    };
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .zip(&request.recipients)
        .map(|(o, r)| Outcome {
            attempts: o.attempts + earlier,
            slot: shared.slots.get(&r.campaign).copied().unwrap_or(0),
            ..o
        })
        .collect();
    let recorded = lock(&shared.store).outcome(request_id, &outcomes);
    if let Err(err) = recorded {
        fail_state(shared, err.cause.to_string());
    }
    let mut counts = lock(&shared.counts);
    let mut events = lock(&shared.events);
    for (o, r) in outcomes.iter().zip(&request.recipients) {
        let event = match o.status {
            Status::Sent => {
                counts.sent += 1;
                "sent"
            }
            Status::Failed => {
                counts.failed += 1;
                "failed"
            }
            Status::Uncertain => {
                counts.uncertain += 1;
                "uncertain"
            }
            Status::Unsent => {
                counts.unsent += 1;
                "unsent"
            }
        };
        events(&Event {
            event,
            campaign: r.campaign.to_string(),
            key: o.key.clone(),
            to: o.to.clone(),
            message_id: o.message_id.clone(),
            error: o.error.clone(),
            attempts: o.attempts,
        });
    }
}

/// Write the intents of a request's recipients: its id, the attempts they had before, and
/// the request's ticket for [`durable`].
fn record_intent(
    shared: &Shared,
    request: &Request,
) -> Result<(u64, u32, u64), crate::state::StateError> {
    let mut store = lock(&shared.store);
    let request_id = store.next_request_id()?;
    let slot = |campaign: &Arc<str>| shared.slots.get(campaign).copied().unwrap_or(0);
    let earlier = request
        .recipients
        .iter()
        .filter_map(|r| store.lookup(slot(&r.campaign), &r.key))
        .map(|e| e.attempts())
        .max()
        .unwrap_or(0);
    let intents: Vec<Intent<'_>> = request
        .recipients
        .iter()
        .map(|r| Intent {
            slot: slot(&r.campaign),
            key: &r.key,
            to: &r.to,
            tracking: r.tracking_number.as_deref(),
            digest: r.digest,
            body: Some(request.json_of(r)),
            attempt: earlier + 1,
        })
        .collect();
    store.intent(request_id, &intents)?;
    let ticket = shared.written.fetch_add(1, Ordering::SeqCst) + 1;
    Ok((request_id, earlier, ticket))
}

/// Wait until the intent numbered `ticket` is durable. One task at a time runs the store's
/// [`crate::state::Syncer`] outside the store's lock, so that the intents of every request
/// waiting meanwhile share one sync (group commit).
async fn durable(shared: &Shared, ticket: u64) -> Result<(), String> {
    let mut synced = shared.synced.lock().await;
    match *synced {
        None => return Err("an earlier sync to disk failed".to_owned()),
        Some(done) if done >= ticket => return Ok(()),
        Some(_) => {}
    }
    let (target, syncer) = {
        let mut store = lock(&shared.store);
        (shared.written.load(Ordering::SeqCst), store.syncer())
    };
    let failed = match syncer {
        Err(err) => err.cause.to_string(),
        Ok(syncer) => match tokio::task::spawn_blocking(syncer).await {
            Ok(Ok(())) => {
                *synced = Some(target);
                return Ok(());
            }
            Ok(Err(err)) => format!("syncing it to disk failed: {err}"),
            Err(err) => format!("syncing it to disk failed: {err}"),
        },
    };
    *synced = None;
    Err(failed)
}

fn backoff(attempts: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(200u64.saturating_mul(1u64 << attempts.min(10)));
    base.min(max)
}

async fn attempt(shared: &Shared, request: &Request, attempts: u32) -> Attempt {
    let mut builder = shared
        .client
        .post(&*request.url)
        .header("Content-Type", "application/json")
        .body(request.body.clone());
    match &*request.auth {
        Auth::Aldeamo { api_key, user_id } => {
            builder = builder
                .header("ApiKey", shared.secrets.get(api_key))
                .header("UserId", shared.secrets.get(user_id));
        }
        Auth::Bearer { token } => {
            builder = builder.header(
                "Authorization",
                format!("Bearer {}", shared.secrets.get(token)),
            );
        }
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(err) if err.is_connect() => {
            return Attempt::Retry(
                backoff(attempts, shared.options.max_backoff),
                format!("cannot connect: {}", error_text(&err)),
            );
        }
        Err(err) if err.is_timeout() => {
            return Attempt::Uncertain(format!("no answer in time: {}", error_text(&err)));
        }
        Err(err) => return Attempt::Uncertain(format!("connection lost: {}", error_text(&err))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = match response.text().await {
        Ok(t) => t,
        Err(err) => {
            return Attempt::Uncertain(format!(
                "connection lost while reading the answer: {}",
                error_text(&err)
            ));
        }
    };
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match status {
        200..=299 => Attempt::Done(accepted(request, &body, attempts)),
        401 | 403 => Attempt::Refused(format!(
            "credentials refused ({status}): {}",
            provider_errors(&body, &text)
        )),
        429 => Attempt::Retry(
            retry_after
                .unwrap_or_else(|| backoff(attempts, shared.options.max_backoff))
                .min(shared.options.max_backoff),
            "throttled (429)".to_owned(),
        ),
        500..=599 => Attempt::Uncertain(format!(
            "provider error {status}: {}",
            provider_errors(&body, &text)
        )),
        _ => Attempt::Done(all(
            request,
            Status::Failed,
            attempts,
            Some(format!(
                "refused ({status}): {}",
                provider_errors(&body, &text)
            )),
        )),
    }
}

fn error_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn provider_errors(body: &Value, text: &str) -> String {
    match body.get("errors").and_then(Value::as_array) {
        Some(errors) => errors
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("; "),
        None => text.chars().take(200).collect(),
    }
}

fn accepted(request: &Request, body: &Value, attempts: u32) -> Vec<Outcome> {
    match request.provider {
        Provider::Aldeamo => {
            let id = body
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            (0..request.recipients.len())
                .map(|i| Outcome {
                    message_id: id.clone(),
                    ..record(request, i, Status::Sent, attempts)
                })
                .collect()
        }
        Provider::Mayten => {
            let track = body
                .get("trackUuid")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let responses = body
                .get("responses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            (0..request.recipients.len())
                .map(|i| {
                    let mut r = record(request, i, Status::Sent, attempts);
                    r.track_uuid = track.clone();
                    let by_tracking = r.tracking.as_ref().and_then(|t| {
                        responses.iter().find(|x| {
                            x.get("trackingNumber").and_then(Value::as_str) == Some(t.as_str())
                        })
                    });
                    match by_tracking.or_else(|| responses.get(i)) {
                        Some(answer) => {
                            r.message_id = answer
                                .get("messageId")
                                .and_then(Value::as_str)
                                .map(str::to_owned);
                            let status = answer.get("status").and_then(Value::as_str).unwrap_or("");
                            if status == "OK, with line break" {
                                r.warning =
                                    Some("Mayten removed line breaks from a parameter".to_owned());
                            } else if status != "OK" {
                                r.status = Status::Failed;
                                r.error = Some(format!("Mayten status: {status}"));
                            }
                        }
                        None => {
                            r.status = Status::Uncertain;
                            r.error = Some(
                                "Mayten's answer has no response for this destination".to_owned(),
                            );
                        }
                    }
                    r
                })
                .collect()
        }
    }
}

/// Whether a URL may be used: https anywhere, plain http only on loopback.
pub fn endpoint_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A plan file: what `apply --plan` holds the sources to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanFile {
    /// Format version.
    pub version: u32,
    /// SHA-256 of every request (sender, method, default URL, body), in order.
    pub sha256: String,
    /// Messages planned.
    pub messages: u64,
    /// Requests planned.
    pub requests: u64,
    /// Campaigns planned.
    pub campaigns: Vec<String>,
}

/// Incrementally hashes requests for a [`PlanFile`].
#[derive(Default)]
pub struct PlanHasher {
    hasher: sha2::Sha256,
    /// Requests hashed.
    pub requests: u64,
}

impl PlanHasher {
    /// Add one request.
    pub fn add(&mut self, request: &Request) {
        use sha2::Digest;
        self.requests += 1;
        self.hasher.update(request.to_ndjson().as_bytes());
        self.hasher.update(b"\n");
    }

    /// The hex digest.
    pub fn finish(self) -> String {
        use sha2::Digest;
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Write JSON atomically.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A JSON line for the `--format json` event stream.
pub fn event_line(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| json!({"event": event.event}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pacer never lets more than `rate` sends into any one-second window.
    #[test]
    fn pacer_holds_the_rate() {
        let mut pacer = Pacer::new(Rate(100.0));
        let times: Vec<Instant> = (0..350).map(|_| pacer.reserve(1)).collect();
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 100, "{in_window} sends in one second");
        }
    }

    fn mayten_request(tracking: &[&str]) -> Request {
        Request {
            sender: "m".into(),
            provider: Provider::Mayten,
            method: "POST",
            url: "http://127.0.0.1/api/Integration/MessageWpp".into(),
            body: "{}".to_owned(),
            recipients: tracking
                .iter()
                .enumerate()
                .map(|(i, t)| crate::emit::Recipient {
                    campaign: Arc::from("c"),
                    to: format!("57300100000{i}"),
                    key: format!("57300100000{i}"),
                    tracking_number: Some((*t).to_owned()),
                    digest: 0,
                    json: 0..0,
                })
                .collect(),
            auth: Auth::Bearer { token: None }.into(),
        }
    }

    /// Mayten answers are recorded per destination: OK sent, line break sent with a warning, anything else failed.
    #[test]
    fn mayten_statuses_per_destination() {
        let request = mayten_request(&["a", "b", "c", "d"]);
        let body = json!({
            "responses": [
                {"trackingNumber": "b", "messageId": "m-b", "status": "OK, with line break"},
                {"trackingNumber": "a", "messageId": "m-a", "status": "OK"},
                {"trackingNumber": "c", "messageId": "m-c", "status": "Invalid number"}
            ],
            "trackUuid": "t-1"
        });
        let records = accepted(&request, &body, 1);
        assert_eq!(records[0].status, Status::Sent);
        assert_eq!(records[0].message_id.as_deref(), Some("m-a"));
        assert_eq!(records[0].track_uuid.as_deref(), Some("t-1"));
        assert_eq!(records[1].status, Status::Sent);
        assert!(records[1].warning.is_some());
        assert_eq!(records[2].status, Status::Failed);
        assert_eq!(
            records[2].error.as_deref(),
            Some("Mayten status: Invalid number")
        );
        assert_eq!(records[3].status, Status::Uncertain, "no answer for d");
    }

    /// Provider error bodies are summarised from their `errors` list.
    #[test]
    fn provider_errors_are_read() {
        let body = json!({"errors": ["Bad Request", "to is missing"]});
        assert_eq!(provider_errors(&body, ""), "Bad Request; to is missing");
        assert_eq!(provider_errors(&Value::Null, "plain text"), "plain text");
    }

    /// Plain http is allowed only for loopback endpoints.
    #[test]
    fn http_only_on_loopback() {
        assert!(endpoint_allowed("http://127.0.0.1:8080"));
        assert!(endpoint_allowed("http://localhost:1/x"));
        assert!(endpoint_allowed("http://[::1]:80"));
        assert!(endpoint_allowed("https://example.com"));
        assert!(!endpoint_allowed("http://example.com"));
        assert!(!endpoint_allowed("http://10.0.0.1:80"));
    }
}
