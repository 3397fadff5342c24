//! The PostgreSQL backend (`--state postgres://USER@HOST:PORT/DB`): the same slots and the same
//! semantics as the local folder ([`super::local`]), in tables of the schema `waform`.
//!
//! ```text
//! waform.migrations  version, name, applied_at          the migrations applied (see MIGRATIONS)
//! waform.slots       id, campaign, provider, host, account, key_expr
//! waform.recipients  slot_id, key, seq, status, in_flight, attempts, digest, body, ...
//! ```
//!
//! A recipient's row is its latest record, as the folder's replay keeps each key's latest line:
//! an intent sets it `uncertain` and `in_flight` (with the digest and the provider JSON of its
//! message), an outcome sets its status. Each [`Store::intent`] and [`Store::outcome`] is one
//! statement, so one transaction, committed (with `synchronous_commit = on`) before it returns:
//! committed is durable, and the [`Syncer`] has nothing left to do. A row still `in_flight`
//! when the store is opened again is an intent whose run stopped: it reads as uncertain.
//!
//! At open each slot's rows are loaded into a [`KeyIndex`] (16 bytes a key, streamed), so that
//! lookups stay in memory; reports and old bodies are read from the database again, a page at
//! a time. The tables are created and migrated by waform itself ([`MIGRATIONS`], under a
//! transaction-level advisory lock, so that concurrent first runs wait for each other). A
//! writer takes a session-level advisory lock per slot: a second `apply` of the same campaign
//! to the same target against the same database fails at once with a clear error (it is
//! released when the connection closes, also when the process dies). There is no legacy
//! journal here.
//!
//! The [`Store`] trait is synchronous and `apply` calls it from tokio tasks while it holds a
//! std `Mutex`. So the client does not run on the caller's runtime: each store owns a thread
//! with its own current-thread tokio runtime, which drives the connection and runs one job at
//! a time; a call sends it a job and blocks on a std channel for the answer. Blocking the
//! caller's worker thread for one round trip is what the folder does with its writes; the
//! connection never depends on the caller's runtime, so it cannot deadlock, and no runtime is
//! started inside another.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio_postgres::{Client, NoTls, Statement};

use super::index::key_hash;
use super::local::IN_FLIGHT_ERROR;
use super::{
    Conflict, Counts, Entry, Intent, KeyIndex, Outcome, Record, Slot, StateError, Status, Store,
    Syncer, Target, Unreadable,
};

/// The migrations, in order: version, name, SQL. Never edit one that was released; add one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial", include_str!("postgres/0001_initial.sql")),
    (2, "workers", include_str!("postgres/0002_workers.sql")),
    (3, "pacers", include_str!("postgres/0003_pacers.sql")),
];

/// The advisory-lock class of the migrations (`wafo`).
const MIGRATION_LOCK: i32 = 0x7761_666f;
/// How long a worker's claims hold unless it renews them, by default.
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(60);
/// How many request ids one `request_blocks` value stands for.
const REQUEST_BLOCK: u64 = 1024;
/// How many records a page of a report reads.
const PAGE: i64 = 5000;
/// How long connecting may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How TLS is used (`sslmode=` in the URL, as libpq names them; `prefer` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, the certificate unchecked; plain otherwise.
    Prefer,
    /// TLS or no connection; the certificate unchecked (it encrypts, it does not authenticate).
    Require,
    /// TLS, with the certificate checked against the roots (`sslrootcert=FILE`, or the Mozilla
    /// roots of webpki-roots) and the host name.
    VerifyFull,
}

/// A PostgreSQL state location: the parsed URL. Its password is never shown: [`fmt::Debug`]
/// and [`PgLocation::shown`] give `postgres://user@host:port/db`.
#[derive(Clone)]
pub struct PgLocation {
    config: tokio_postgres::Config,
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    shown: String,
    lease: std::time::Duration,
}

impl fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PgLocation").field(&self.shown).finish()
    }
}

impl PartialEq for PgLocation {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown && self.ssl == other.ssl && self.root_cert == other.root_cert
    }
}

impl Eq for PgLocation {}

/// Whether `text` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// `text` with its password left out, for messages about a URL that could not be parsed:
/// the scheme, the user and what follows the `@`, without the query.
pub fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return "postgres://…".to_owned();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (user, host) = match rest.rsplit_once('@') {
        Some((info, host)) => (Some(info.split(':').next().unwrap_or("")), host),
        None => (None, rest),
    };
    match user {
        Some(user) => format!("{scheme}://{user}@{host}"),
        None => format!("{scheme}://{host}"),
    }
}

impl PgLocation {
    /// Parse a `postgres://` or `postgresql://` URL. `sslmode` may be `disable`, `prefer`,
    /// `require` or `verify-full`; `sslrootcert=FILE` gives the roots for `verify-full`. The
    /// error never holds the password.
    pub fn parse(text: &str) -> Result<PgLocation, String> {
        let redacted = redact(text);
        let scheme = if text.starts_with("postgresql://") {
            "postgresql"
        } else {
            "postgres"
        };
        let (base, query) = match text.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (text, None),
        };
        let mut ssl = SslMode::Prefer;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "sslmode" => {
                    ssl = match value {
                        "disable" => SslMode::Disable,
                        "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(format!(
                                "`sslmode={other}` in `{redacted}` is not supported: use disable, prefer, require or verify-full"
                            ));
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(value))),
                _ => kept.push(pair),
            }
        }
        let rebuilt = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: tokio_postgres::Config = rebuilt
            .parse()
            .map_err(|e| format!("`{redacted}` is not a valid PostgreSQL URL: {e}"))?;
        if config.get_hosts().is_empty() {
            return Err(format!(
                "`{redacted}` names no host: write postgres://USER@HOST:PORT/DB"
            ));
        }
        if config.get_user().is_none()
            && let Some(user) = std::env::var("PGUSER")
                .ok()
                .or_else(|| std::env::var("USER").ok())
                .filter(|u| !u.is_empty())
        {
            config.user(user);
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .application_name("waform");
        let shown = shown(scheme, &config);
        Ok(PgLocation {
            config,
            ssl,
            root_cert,
            shown,
            lease: DEFAULT_LEASE,
        })
    }

    /// How the location is shown: `postgres://user@host:port/db`, never with the password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The TLS mode.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl
    }

    /// How long a writer's claims hold unless renewed (it renews them every third of it).
    pub fn set_lease(&mut self, lease: std::time::Duration) {
        self.lease = lease.max(std::time::Duration::from_millis(100));
    }

    /// The connection's configuration with its password: from the URL, else `PGPASSWORD`,
    /// else the password file (`PGPASSFILE`, or `~/.pgpass`), as libpq finds it.
    fn config(&self) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        if config.get_password().is_none() {
            if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
                config.password(password);
            } else if let Some(password) = self.password_file() {
                config.password(password);
            }
        }
        config
    }

    /// The password for this connection in the password file, if any.
    fn password_file(&self) -> Option<String> {
        let path = match std::env::var_os("PGPASSFILE") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).ok()?.permissions().mode();
            if mode & 0o077 != 0 {
                eprintln!(
                    "warning: the password file {} is ignored: it has group or world access; `chmod 0600` it",
                    path.display()
                );
                return None;
            }
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let host = match self.config.get_hosts().first()? {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => "localhost".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("");
        let db = self.config.get_dbname().unwrap_or(user);
        pgpass_lookup(&text, &host, port, db, user)
    }

    /// The rustls configuration of this location's `sslmode`.
    fn tls(&self) -> io::Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?;
        if self.ssl != SslMode::VerifyFull {
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
                .with_no_client_auth());
        }
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) if path != Path::new("system") => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject;
                let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
                    io::Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot read sslrootcert `{}`: {e}", path.display()),
                    )
                })?;
                for cert in certs {
                    let cert = cert.map_err(|e| {
                        io::Error::new(
                            ErrorKind::InvalidInput,
                            format!("sslrootcert `{}` is not PEM: {e}", path.display()),
                        )
                    })?;
                    roots.add(cert).map_err(|e| {
                        io::Error::new(
                            ErrorKind::InvalidInput,
                            format!("a certificate of `{}`: {e}", path.display()),
                        )
                    })?;
                }
            }
            _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

/// Decode `%XX` escapes (a query value).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a parsed configuration is shown: `scheme://user@host:port[,host:port]/db`.
fn shown(scheme: &str, config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                tokio_postgres::config::Host::Tcp(h) if h.contains(':') => format!("[{h}]:{port}"),
                tokio_postgres::config::Host::Tcp(h) => format!("{h}:{port}"),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let user = config.get_user();
    let db = config.get_dbname().or(user).unwrap_or("");
    match user {
        Some(user) => format!("{scheme}://{user}@{}/{db}", hosts.join(",")),
        None => format!("{scheme}://{}/{db}", hosts.join(",")),
    }
}

/// The password of the first line of a password file (`host:port:db:user:password`, `*`
/// matching anything, `\` escaping `:` and `\`) that matches.
pub fn pgpass_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(next) = chars.next()
                        && let Some(field) = fields.last_mut()
                    {
                        field.push(next);
                    }
                }
                ':' if fields.len() < 5 => fields.push(String::new()),
                c => {
                    if let Some(field) = fields.last_mut() {
                        field.push(c);
                    }
                }
            }
        }
        if fields.len() != 5 {
            continue;
        }
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return fields.pop();
        }
    }
    None
}

/// A certificate verifier that accepts any certificate but checks the handshake's signatures
/// (libpq's `require` and `prefer`: encrypted, not authenticated).
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A job for the connection's thread.
type Job = Box<dyn FnOnce(Arc<Client>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A connection, driven by a thread of its own (see the module's comment).
struct Db {
    jobs: Option<tokio::sync::mpsc::UnboundedSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a failed PostgreSQL call says: the server's message when it sent one.
fn pg_error(e: tokio_postgres::Error) -> io::Error {
    let text = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                let more = cause.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = cause.source();
            }
            text
        }
    };
    io::Error::other(text)
}

fn lost() -> io::Error {
    io::Error::new(
        ErrorKind::ConnectionAborted,
        "the connection to PostgreSQL was lost",
    )
}

impl Db {
    /// Connect (TLS as the location says) and set the session up.
    fn connect(location: &PgLocation) -> io::Result<Db> {
        let config = location.config();
        let tls = match location.ssl {
            SslMode::Disable => None,
            _ => Some(location.tls()?),
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<io::Result<()>>(1);
        let (jobs_tx, mut jobs_rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let ssl = location.ssl;
        let thread = std::thread::Builder::new()
            .name("waform-postgres".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let client = match connect(config, ssl, tls).await {
                        Ok(client) => Arc::new(client),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    while let Some(job) = jobs_rx.recv().await {
                        job(client.clone()).await;
                    }
                });
            })?;
        let db = Db {
            jobs: Some(jobs_tx),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(db),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(lost()),
        }
    }

    /// Run `f` on the connection's thread and wait for its answer.
    fn call<T, F, Fut>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Client>) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<T>> + Send + 'static,
    {
        call_on(self.jobs.as_ref().ok_or_else(lost)?, f)
    }
}

/// Run `f` on the thread of the connection that `jobs` feeds, and wait for its answer.
fn call_on<T, F, Fut>(jobs: &tokio::sync::mpsc::UnboundedSender<Job>, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<Client>) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job: Job = Box::new(move |client| {
        Box::pin(async move {
            let _ = tx.send(f(client).await);
        })
    });
    jobs.send(job).map_err(|_| lost())?;
    rx.recv().map_err(|_| lost())?
}

impl Drop for Db {
    fn drop(&mut self) {
        // Closing the queue ends the thread, which closes the connection (and so releases
        // the session's advisory locks) before the store is gone.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connect and spawn the connection's driver on the current (the thread's own) runtime.
async fn connect(
    config: tokio_postgres::Config,
    ssl: SslMode,
    tls: Option<rustls::ClientConfig>,
) -> io::Result<Client> {
    let client = match tls {
        None => {
            let (client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
        Some(tls) => {
            let mut config = config;
            config.ssl_mode(if ssl == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            });
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, connection) = config.connect(tls).await.map_err(pg_error)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
    };
    client
        .batch_execute("SET synchronous_commit = on")
        .await
        .map_err(pg_error)?;
    Ok(client)
}

/// The schema version this waform writes.
fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The schema version of the database; 0 when waform never created its tables there.
async fn version(client: &Client) -> io::Result<i32> {
    let exists: bool = client
        .query_one("SELECT to_regclass('waform.migrations') IS NOT NULL", &[])
        .await
        .map_err(pg_error)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM waform.migrations",
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

/// Create or migrate the schema `waform`: every migration not yet applied, in one transaction
/// under an advisory lock (a concurrent run waits, then finds them applied). Applying them
/// again is a no-op.
pub async fn migrate(client: &Client) -> io::Result<()> {
    let result = async {
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK}, 0);
                 CREATE SCHEMA IF NOT EXISTS waform;
                 CREATE TABLE IF NOT EXISTS waform.migrations (
                     version integer PRIMARY KEY,
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 );"
            ))
            .await?;
        let applied: Vec<i32> = client
            .query("SELECT version FROM waform.migrations", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (version, name, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            client.batch_execute(sql).await?;
            client
                .execute(
                    "INSERT INTO waform.migrations (version, name) VALUES ($1, $2)",
                    &[version, name],
                )
                .await?;
        }
        client.batch_execute("COMMIT").await
    }
    .await;
    if let Err(e) = result {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(pg_error(e));
    }
    Ok(())
}

/// Connect and create or migrate the schema; the schema version after it.
pub fn migrate_at(location: &PgLocation) -> Result<i32, StateError> {
    let fail = |cause| StateError {
        location: location.shown.clone(),
        cause,
    };
    let db = Db::connect(location).map_err(fail)?;
    db.call(|client| async move {
        migrate(&client).await?;
        version(&client).await
    })
    .map_err(fail)
}

/// Check the schema's version: migrate it when `create` (or when it exists but is older);
/// `false` when nothing was ever stored there (and `create` is false).
async fn prepare_schema(client: &Client, create: bool) -> io::Result<bool> {
    let found = version(client).await?;
    if found > latest() {
        return Err(io::Error::new(
            ErrorKind::Unsupported,
            format!(
                "the state was written by a newer waform (schema version {found}, this one knows {}); upgrade waform",
                latest()
            ),
        ));
    }
    if found == 0 && !create {
        return Ok(false);
    }
    if found < latest() {
        migrate(client).await?;
    }
    Ok(true)
}

/// The slots the database holds for `campaigns` (those with at least one recipient), each
/// campaign's in a stable order.
pub fn discover(location: &PgLocation, campaigns: &[&str]) -> Result<Vec<Slot>, StateError> {
    let fail = |cause| StateError {
        location: location.shown.clone(),
        cause,
    };
    let db = Db::connect(location).map_err(fail)?;
    let names: Vec<String> = campaigns.iter().map(|c| (*c).to_owned()).collect();
    let rows = db
        .call(move |client| async move {
            if !prepare_schema(&client, false).await? {
                return Ok(Vec::new());
            }
            let rows = client
                .query(
                    "SELECT campaign, provider, host, account, key_expr FROM waform.slots s
                     WHERE campaign = ANY($1)
                       AND EXISTS (SELECT 1 FROM waform.recipients r
                                   WHERE r.slot_id = s.id AND r.status IS NOT NULL)",
                    &[&names],
                )
                .await
                .map_err(pg_error)?;
            Ok(rows
                .iter()
                .map(|r| Slot {
                    campaign: r.get(0),
                    target: Some(Target {
                        provider: r.get(1),
                        host: r.get(2),
                        account: r.get(3),
                    }),
                    key: r.get(4),
                    default_host: false,
                })
                .collect::<Vec<Slot>>())
        })
        .map_err(fail)?;
    let mut slots = Vec::new();
    for &campaign in campaigns {
        let mut found: Vec<Slot> = rows
            .iter()
            .filter(|s| s.campaign == campaign)
            .cloned()
            .collect();
        found.sort();
        slots.extend(found);
    }
    Ok(slots)
}

/// One open slot.
struct Open {
    /// Its row in `waform.slots`; `None` when the database has none (nothing stored yet,
    /// read only), or for a legacy slot, which does not exist here.
    id: Option<i64>,
    index: KeyIndex,
    counts: Counts,
    conflicts: Vec<Conflict>,
}

/// The prepared statements of a writable store.
#[derive(Clone)]
struct Statements {
    flush: Statement,
    claim: Statement,
}

/// Intents and outcomes written (in the order given, one row per record) and committed
/// together by one statement: an intent is a row `in_flight`, an outcome one that is not. An
/// intent only takes a key this worker holds (or that nobody holds): the count of rows written
/// tells whether a claim was lost.
const FLUSH_SQL: &str = r#"
INSERT INTO waform.recipients AS r
    (slot_id, key, seq, request_id, "to", tracking, status, in_flight, attempts, digest, body,
     message_id, track_uuid, error, warning, updated_at, claimed_by)
SELECT w.slot_id, w.key, w.seq, w.request_id, w.to_, w.tracking, w.status, w.in_flight,
       w.attempts, w.digest, w.body, w.message_id, w.track_uuid, w.error, w.warning, now(),
       CASE WHEN w.in_flight THEN $15 END
FROM (SELECT u.*, nextval('waform.record_seq') AS seq
      FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::boolean[], $8::integer[], $9::bigint[], $10::text[], $11::text[],
                  $12::text[], $13::text[], $14::text[]) WITH ORDINALITY
          AS u(request_id, slot_id, key, to_, tracking, status, in_flight, attempts, digest,
               body, message_id, track_uuid, error, warning, ord)
      ORDER BY u.ord) AS w
ORDER BY w.slot_id, w.key
ON CONFLICT (slot_id, key) DO UPDATE SET
    seq = EXCLUDED.seq, request_id = EXCLUDED.request_id, "to" = EXCLUDED."to",
    tracking = CASE WHEN EXCLUDED.in_flight THEN EXCLUDED.tracking
                    ELSE coalesce(EXCLUDED.tracking, r.tracking) END,
    status = EXCLUDED.status, in_flight = EXCLUDED.in_flight, attempts = EXCLUDED.attempts,
    digest = EXCLUDED.digest, body = coalesce(EXCLUDED.body, r.body),
    message_id = EXCLUDED.message_id, track_uuid = EXCLUDED.track_uuid, error = EXCLUDED.error,
    warning = EXCLUDED.warning, updated_at = now(),
    claimed_by = CASE WHEN EXCLUDED.in_flight THEN r.claimed_by END
WHERE NOT EXCLUDED.in_flight OR r.claimed_by IS NULL OR r.claimed_by = $15
"#;

/// Claim keys of a slot for worker `$2`: a key is taken when its record is still the one this
/// worker read at open (`$4`, `$5`: no record, or the same status and attempts) and nobody
/// else holds it (no claim, or the claimer's lease expired). Existing rows are locked
/// `FOR UPDATE SKIP LOCKED`, so a worker never waits for a row another worker is claiming (it
/// is simply not this one's); a key with no row gets one with no record (`status` NULL), in
/// key order, so that inserts racing for the same new keys wait in one order.
const CLAIM_SQL: &str = r#"
WITH wanted AS (
    SELECT k.key, k.status, k.attempts
    FROM unnest($3::text[], $4::text[], $5::integer[]) AS k(key, status, attempts)
),
free AS (
    SELECT r.key
    FROM waform.recipients r JOIN wanted w ON w.key = r.key
    WHERE r.slot_id = $1
      AND (r.status IS NULL OR (r.status = w.status AND r.attempts = w.attempts))
      AND (r.claimed_by IS NULL OR r.claimed_by = $2
           OR NOT EXISTS (SELECT 1 FROM waform.workers x
                          WHERE x.id = r.claimed_by AND x.slot_id = r.slot_id
                            AND x.lease_until > now()))
    ORDER BY r.key
    FOR UPDATE OF r SKIP LOCKED
),
taken AS (
    UPDATE waform.recipients r SET claimed_by = $2
    FROM free WHERE r.slot_id = $1 AND r.key = free.key
    RETURNING r.key
),
added AS (
    INSERT INTO waform.recipients (slot_id, key, seq, status, attempts, in_flight, claimed_by)
    SELECT $1, w.key, nextval('waform.record_seq'), w.status, w.attempts, false, $2
    FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM waform.recipients r WHERE r.slot_id = $1 AND r.key = w.key)
    ORDER BY w.key
    ON CONFLICT (slot_id, key) DO NOTHING
    RETURNING key
)
SELECT key FROM taken UNION ALL SELECT key FROM added
"#;

/// Records written but not yet committed, as the columns of [`FLUSH_SQL`].
#[derive(Default)]
struct Pending {
    requests: Vec<i64>,
    slot_ids: Vec<i64>,
    keys: Vec<String>,
    tos: Vec<String>,
    trackings: Vec<Option<String>>,
    statuses: Vec<&'static str>,
    in_flight: Vec<bool>,
    attempts: Vec<i32>,
    digests: Vec<i64>,
    bodies: Vec<Option<String>>,
    message_ids: Vec<Option<String>>,
    track_uuids: Vec<Option<String>>,
    errors: Vec<Option<String>>,
    warnings: Vec<Option<String>>,
    /// The keys of the intents and of the outcomes: one statement writes a key once.
    intent_keys: std::collections::HashSet<(i64, String)>,
    outcome_keys: std::collections::HashSet<(i64, String)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        request: i64,
        slot_id: i64,
        key: String,
        to: String,
        tracking: Option<String>,
        status: Status,
        in_flight: bool,
        attempts: u32,
        digest: u64,
        body: Option<String>,
        outcome: Option<&Outcome>,
    ) {
        self.requests.push(request);
        self.slot_ids.push(slot_id);
        self.keys.push(key);
        self.tos.push(to);
        self.trackings.push(tracking);
        self.statuses.push(status.as_str());
        self.in_flight.push(in_flight);
        self.attempts
            .push(i32::try_from(attempts).unwrap_or(i32::MAX));
        self.digests.push(digest as i64);
        self.bodies.push(body);
        self.message_ids
            .push(outcome.and_then(|o| o.message_id.clone()));
        self.track_uuids
            .push(outcome.and_then(|o| o.track_uuid.clone()));
        self.errors.push(outcome.and_then(|o| o.error.clone()));
        self.warnings.push(outcome.and_then(|o| o.warning.clone()));
    }
}

/// Write and commit `pending` in one transaction; refused (rolled back) when an intent's key
/// is held by another worker now (this worker's lease expired and its claim was taken).
async fn flush(
    client: &Client,
    statement: &Statement,
    worker: &str,
    pending: Pending,
) -> io::Result<()> {
    let total = pending.keys.len() as u64;
    let statuses: Vec<&str> = pending.statuses.clone();
    client.batch_execute("BEGIN").await.map_err(pg_error)?;
    let written = client
        .execute(
            statement,
            &[
                &pending.requests,
                &pending.slot_ids,
                &pending.keys,
                &pending.tos,
                &pending.trackings,
                &statuses,
                &pending.in_flight,
                &pending.attempts,
                &pending.digests,
                &pending.bodies,
                &pending.message_ids,
                &pending.track_uuids,
                &pending.errors,
                &pending.warnings,
                &worker,
            ],
        )
        .await;
    match written {
        Ok(n) if n == total => client.batch_execute("COMMIT").await.map_err(pg_error),
        Ok(n) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(io::Error::other(format!(
                "{} of the keys about to be sent were taken by another worker (this one's lease expired): nothing of them was sent",
                total - n
            )))
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(pg_error(e))
        }
    }
}

/// The PostgreSQL state, opened for some slots.
pub struct Postgres {
    db: Db,
    shown: String,
    writable: bool,
    slots: Vec<Slot>,
    open: Vec<Open>,
    statements: Option<Statements>,
    next_req: u64,
    /// The end (exclusive) of the block of request ids reserved.
    reserved_req: u64,
    /// Set after a failed write (also one by a [`Syncer`]): the run stops, as with the folder.
    poisoned: Arc<std::sync::Mutex<Option<String>>>,
    /// This process's worker id, which its claims carry.
    worker: String,
    /// How long its claims hold unless renewed.
    lease: std::time::Duration,
    /// Whether it joined a slot (it has rows in `waform.workers`, renewed in the background).
    joined: bool,
    /// Records written and not yet committed.
    pending: Pending,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("location", &self.shown)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

fn status_of(text: &str) -> Status {
    match text {
        "sent" => Status::Sent,
        "failed" => Status::Failed,
        "unsent" => Status::Unsent,
        _ => Status::Uncertain,
    }
}

/// The rows of a slot's recipients, streamed into an index.
async fn load_index(client: &Client, slot_id: i64) -> io::Result<KeyIndex> {
    let stream = client
        .query_raw(
            "SELECT key, status, attempts, digest FROM waform.recipients
             WHERE slot_id = $1 AND status IS NOT NULL",
            [slot_id],
        )
        .await
        .map_err(pg_error)?;
    let mut stream = std::pin::pin!(stream);
    let mut index = KeyIndex::default();
    while let Some(row) = stream.next().await {
        let row = row.map_err(pg_error)?;
        let key: &str = row.get(0);
        let status: &str = row.get(1);
        let attempts: i32 = row.get(2);
        let digest: Option<i64> = row.get(3);
        index.insert(
            key,
            Entry::new(
                status_of(status),
                attempts.max(0) as u32,
                digest.map(|d| d as u64),
            ),
        );
    }
    index.finish();
    Ok(index)
}

/// The slot's id: found, or created when `create`.
async fn slot_id(client: &Client, slot: &Slot, create: bool) -> io::Result<Option<i64>> {
    let Some(target) = &slot.target else {
        return Ok(None);
    };
    if create {
        client
            .execute(
                "INSERT INTO waform.slots (campaign, provider, host, account, key_expr)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (campaign, provider, host, account, (coalesce(key_expr, '')), (key_expr IS NULL))
                 DO NOTHING",
                &[&slot.campaign, &target.provider, &target.host, &target.account, &slot.key],
            )
            .await
            .map_err(pg_error)?;
    }
    let row = client
        .query_opt(
            "SELECT id FROM waform.slots WHERE campaign = $1 AND provider = $2 AND host = $3
             AND account = $4 AND key_expr IS NOT DISTINCT FROM $5::text",
            &[
                &slot.campaign,
                &target.provider,
                &target.host,
                &target.account,
                &slot.key,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| r.get(0)))
}

/// The campaign's other slots at the same provider and host that have recipients.
async fn conflicts_of(client: &Client, slot: &Slot, id: Option<i64>) -> io::Result<Vec<Conflict>> {
    let Some(target) = &slot.target else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT s.provider, s.host, s.account, s.key_expr, count(*)
             FROM waform.slots s JOIN waform.recipients r ON r.slot_id = s.id
             WHERE r.status IS NOT NULL AND s.campaign = $1 AND s.provider = $2 AND s.host = $3
               AND s.id IS DISTINCT FROM $4::bigint
             GROUP BY s.id, s.provider, s.host, s.account, s.key_expr
             ORDER BY s.account, s.key_expr NULLS FIRST",
            &[&slot.campaign, &target.provider, &target.host, &id],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| Conflict {
            other: Slot {
                campaign: slot.campaign.clone(),
                target: Some(Target {
                    provider: r.get(0),
                    host: r.get(1),
                    account: r.get(2),
                }),
                key: r.get(3),
                default_host: false,
            },
            outcomes: r.get::<_, i64>(4).max(0) as u64,
        })
        .filter(|c| !(c.other.target == slot.target && c.other.key == slot.key))
        .collect())
}

impl Postgres {
    /// Open `slots` to write: connect, create or migrate the schema, take each slot's
    /// advisory lock (a second writer of one of them fails at once), create the slots' rows
    /// and load their recipients.
    pub fn open(location: &PgLocation, slots: Vec<Slot>) -> Result<Postgres, StateError> {
        Postgres::connect(location, slots, true)
    }

    /// Read `slots` without any lock (a run may be going on); a database where waform never
    /// wrote reads as empty.
    pub fn read(location: &PgLocation, slots: Vec<Slot>) -> Result<Postgres, StateError> {
        Postgres::connect(location, slots, false)
    }

    fn connect(
        location: &PgLocation,
        slots: Vec<Slot>,
        writable: bool,
    ) -> Result<Postgres, StateError> {
        let fail = |cause| StateError {
            location: location.shown.clone(),
            cause,
        };
        let db = Db::connect(location).map_err(|e| {
            fail(io::Error::new(
                e.kind(),
                format!("cannot connect to PostgreSQL: {e}"),
            ))
        })?;
        let specs = slots.clone();
        let (open, statements) = db
            .call(move |client| async move {
                let stored = prepare_schema(&client, writable).await?;
                let mut open = Vec::with_capacity(specs.len());
                for slot in &specs {
                    let id = if stored {
                        slot_id(&client, slot, writable).await?
                    } else {
                        None
                    };
                    let index = match id {
                        Some(id) => load_index(&client, id).await?,
                        None => KeyIndex::default(),
                    };
                    let mut counts = Counts::default();
                    index.entries().for_each(|e| counts.add(e.status(), 1));
                    let conflicts = if counts.total() == 0 && stored {
                        conflicts_of(&client, slot, id).await?
                    } else {
                        Vec::new()
                    };
                    open.push(Open {
                        id,
                        index,
                        counts,
                        conflicts,
                    });
                }
                let statements = if writable {
                    Some(Statements {
                        flush: client.prepare(FLUSH_SQL).await.map_err(pg_error)?,
                        claim: client.prepare(CLAIM_SQL).await.map_err(pg_error)?,
                    })
                } else {
                    None
                };
                Ok((open, statements))
            })
            .map_err(fail)?;
        Ok(Postgres {
            db,
            shown: location.shown.clone(),
            writable,
            slots,
            open,
            statements,
            next_req: 0,
            reserved_req: 0,
            poisoned: Arc::default(),
            worker: format!(
                "{}-{}-{:08x}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "waform".to_owned()),
                std::process::id(),
                fastrand::u32(..)
            ),
            lease: location.lease,
            joined: false,
            pending: Pending::default(),
        })
    }

    fn error(&self, cause: io::Error) -> StateError {
        StateError {
            location: self.shown.clone(),
            cause,
        }
    }

    fn check_writable(&self) -> Result<(), StateError> {
        if !self.writable {
            return Err(self.error(io::Error::new(
                ErrorKind::PermissionDenied,
                "the state was opened read-only",
            )));
        }
        if let Some(why) = &*self.poisoned.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(self.error(io::Error::other(format!(
                "nothing more can be recorded after an earlier write failed: {why}"
            ))));
        }
        Ok(())
    }

    /// Run a write; a failure poisons the store.
    fn write<F, Fut>(&mut self, f: F) -> Result<(), StateError>
    where
        F: FnOnce(Arc<Client>) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        self.check_writable()?;
        match self.db.call(f) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.poison(&e);
                Err(self.error(e))
            }
        }
    }

    /// Refuse every later write: `e` failed.
    fn poison(&self, e: &io::Error) {
        self.poisoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| e.to_string());
    }

    /// Write and commit what is pending now.
    fn flush_now(&mut self) -> Result<(), StateError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let statements = self.statements()?;
        let pending = std::mem::take(&mut self.pending);
        let worker = self.worker.clone();
        self.write(move |client| async move {
            flush(&client, &statements.flush, &worker, pending).await
        })
    }

    /// This process's worker id (as its claims name it).
    pub fn worker(&self) -> &str {
        &self.worker
    }

    fn slot_id(&self, slot: usize) -> io::Result<i64> {
        self.open
            .get(slot)
            .and_then(|o| o.id)
            .ok_or_else(|| io::Error::other("this slot has no row in the database"))
    }

    fn statements(&self) -> Result<Statements, StateError> {
        self.statements
            .clone()
            .ok_or_else(|| self.error(io::Error::other("the state was opened read-only")))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Commit what is pending (outcomes after the last sync), as the folder has them
        // written; then leave the slots: the keys claimed and not sent are free at once.
        if self.writable && self.check_writable().is_ok() {
            let _ = self.flush_now();
        }
        if self.writable && self.joined {
            let worker = self.worker.clone();
            let _ = self.db.call(move |client| async move {
                client
                    .execute("DELETE FROM waform.workers WHERE id = $1", &[&worker])
                    .await
                    .map_err(pg_error)?;
                Ok(())
            });
        }
    }
}

/// A key whose record here differs from the one being imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConflict {
    /// The campaign.
    pub campaign: String,
    /// The key.
    pub key: String,
    /// Its status here.
    pub here: String,
    /// Its status in what is imported.
    pub imported: String,
}

/// What an import did, or why nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Committed: how many rows were new, and how many were already here, the same.
    Done {
        /// Rows written.
        new: u64,
        /// Rows already here with the same record.
        same: u64,
    },
    /// Rolled back: some keys already have another record here (how many, and a few).
    Refused {
        /// How many keys differ.
        count: u64,
        /// Up to five of them.
        examples: Vec<ImportConflict>,
    },
}

impl Postgres {
    /// Start an import (`waform state import`): one transaction for every slot, into a
    /// temporary table; nothing is visible before [`Postgres::import_finish`] commits.
    pub fn import_begin(&mut self) -> Result<(), StateError> {
        self.write(|client| async move {
            client
                .batch_execute(
                    r#"BEGIN;
                       CREATE TEMP TABLE waform_import (
                           ord bigint, slot_id bigint, key text, request_id bigint, "to" text,
                           tracking text, status text, in_flight boolean, attempts integer,
                           digest bigint, body text, message_id text, track_uuid text,
                           error text, warning text
                       ) ON COMMIT DROP"#,
                )
                .await
                .map_err(pg_error)
        })
    }

    /// Add records of a slot to the import, in the order of their latest record.
    pub fn import_batch(
        &mut self,
        slot: usize,
        first: u64,
        rows: Vec<super::local::Exported>,
    ) -> Result<(), StateError> {
        let id = self.slot_id(slot).map_err(|e| self.error(e))?;
        let ords: Vec<i64> = (0..rows.len() as u64).map(|i| (first + i) as i64).collect();
        let ids = vec![id; rows.len()];
        let mut keys = Vec::with_capacity(rows.len());
        let mut requests = Vec::with_capacity(rows.len());
        let mut tos = Vec::with_capacity(rows.len());
        let mut trackings = Vec::with_capacity(rows.len());
        let mut statuses = Vec::with_capacity(rows.len());
        let mut in_flight = Vec::with_capacity(rows.len());
        let mut attempts = Vec::with_capacity(rows.len());
        let mut digests = Vec::with_capacity(rows.len());
        let mut bodies = Vec::with_capacity(rows.len());
        let mut message_ids = Vec::with_capacity(rows.len());
        let mut track_uuids = Vec::with_capacity(rows.len());
        let mut errors = Vec::with_capacity(rows.len());
        let mut warnings = Vec::with_capacity(rows.len());
        for r in rows {
            keys.push(r.key);
            requests.push(r.req as i64);
            tos.push(r.to);
            trackings.push(r.tracking);
            statuses.push(r.status.as_str().to_owned());
            in_flight.push(r.in_flight);
            attempts.push(i32::try_from(r.attempts).unwrap_or(i32::MAX));
            digests.push(r.digest.map(|d| d as i64));
            bodies.push(r.body);
            message_ids.push(r.message_id);
            track_uuids.push(r.track_uuid);
            errors.push(r.error);
            warnings.push(r.warning);
        }
        self.write(move |client| async move {
            client
                .execute(
                    "INSERT INTO waform_import SELECT * FROM unnest(
                         $1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[],
                         $6::text[], $7::text[], $8::boolean[], $9::integer[], $10::bigint[],
                         $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])",
                    &[
                        &ords,
                        &ids,
                        &keys,
                        &requests,
                        &tos,
                        &trackings,
                        &statuses,
                        &in_flight,
                        &attempts,
                        &digests,
                        &bodies,
                        &message_ids,
                        &track_uuids,
                        &errors,
                        &warnings,
                    ],
                )
                .await
                .map_err(pg_error)?;
            Ok(())
        })
    }

    /// Finish an import: refused (rolled back) if a key already has another record here;
    /// otherwise the new rows are written (after every record here, in their order) and
    /// committed, and rows already here unchanged are left alone.
    pub fn import_finish(&mut self) -> Result<Imported, StateError> {
        self.check_writable()?;
        let result = self.db.call(|client| async move {
            let differ = r#"FROM waform_import i
                JOIN waform.recipients r USING (slot_id, key)
                JOIN waform.slots s ON s.id = i.slot_id
                WHERE (r.status, r.in_flight, r.attempts, r.digest, r.message_id, r.request_id)
                      IS DISTINCT FROM
                      (i.status, i.in_flight, i.attempts, i.digest, i.message_id, i.request_id)"#;
            let count: i64 = client
                .query_one(&format!("SELECT count(*) {differ}"), &[])
                .await
                .map_err(pg_error)?
                .get(0);
            if count > 0 {
                let examples = client
                    .query(
                        &format!(
                            "SELECT s.campaign, i.key, r.status, i.status {differ} ORDER BY i.ord LIMIT 5"
                        ),
                        &[],
                    )
                    .await
                    .map_err(pg_error)?
                    .iter()
                    .map(|r| ImportConflict {
                        campaign: r.get(0),
                        key: r.get(1),
                        here: r.get(2),
                        imported: r.get(3),
                    })
                    .collect();
                client.batch_execute("ROLLBACK").await.map_err(pg_error)?;
                return Ok(Imported::Refused {
                    count: count as u64,
                    examples,
                });
            }
            let total: i64 = client
                .query_one("SELECT count(*) FROM waform_import", &[])
                .await
                .map_err(pg_error)?
                .get(0);
            // Seq numbers after every record here, in the import's order.
            let base: i64 = client
                .query_one(
                    "SELECT setval('waform.record_seq', nextval('waform.record_seq') + $1) - $1",
                    &[&total],
                )
                .await
                .map_err(pg_error)?
                .get(0);
            let new = client
                .execute(
                    r#"INSERT INTO waform.recipients
                           (slot_id, key, seq, request_id, "to", tracking, status, in_flight,
                            attempts, digest, body, message_id, track_uuid, error, warning)
                       SELECT slot_id, key, $1 + row_number() OVER (ORDER BY ord), request_id,
                              "to", tracking, status, in_flight, attempts, digest, body,
                              message_id, track_uuid, error, warning
                       FROM waform_import
                       ON CONFLICT (slot_id, key) DO NOTHING"#,
                    &[&base],
                )
                .await
                .map_err(pg_error)?;
            client.batch_execute("COMMIT").await.map_err(pg_error)?;
            Ok(Imported::Done {
                new,
                same: (total as u64).saturating_sub(new),
            })
        });
        result.map_err(|e| {
            self.poison(&e);
            self.error(e)
        })
    }
}

impl Store for Postgres {
    fn slots(&self) -> &[Slot] {
        &self.slots
    }

    fn lookup(&self, slot: usize, key: &str) -> Option<Entry> {
        self.open[slot].index.get_hash(key_hash(key))
    }

    fn claim(&mut self, slot: usize, keys: &[&str]) -> Result<Vec<bool>, StateError> {
        self.check_writable()?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let statements = self.statements()?;
        let id = self.slot_id(slot).map_err(|e| self.error(e))?;
        let mut names = Vec::with_capacity(keys.len());
        let mut statuses = Vec::with_capacity(keys.len());
        let mut attempts = Vec::with_capacity(keys.len());
        for key in keys {
            let seen = self.lookup(slot, key);
            names.push((*key).to_owned());
            statuses.push(seen.map(|e| e.status().as_str()));
            attempts.push(seen.map(|e| e.attempts() as i32));
        }
        let worker = self.worker.clone();
        let claimed = self
            .db
            .call(move |client| async move {
                let rows = client
                    .query(
                        &statements.claim,
                        &[&id, &worker, &names, &statuses, &attempts],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(rows
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<std::collections::HashSet<String>>())
            })
            .map_err(|e| {
                self.poison(&e);
                self.error(e)
            })?;
        Ok(keys.iter().map(|k| claimed.contains(*k)).collect())
    }

    fn join(&mut self, slot: usize, sources: u64) -> Result<(), StateError> {
        self.check_writable()?;
        let id = self.slot_id(slot).map_err(|e| self.error(e))?;
        let worker = self.worker.clone();
        let lease = self.lease.as_secs_f64();
        let spec = &self.slots[slot];
        let what = format!("campaign `{}` → {}", spec.campaign, spec.target_text());
        let shown = self.shown.clone();
        let renew = !self.joined;
        let every = self.lease / 3;
        self.db
            .call(move |client| async move {
                let sources = sources as i64;
                client.batch_execute("BEGIN").await.map_err(pg_error)?;
                let joined = async {
                    let running: Option<i64> = client
                        .query_one("SELECT sources FROM waform.slots WHERE id = $1 FOR UPDATE", &[&id])
                        .await?
                        .get(0);
                    let others: i64 = client
                        .query_one(
                            "SELECT count(*) FROM waform.workers
                             WHERE slot_id = $1 AND id <> $2 AND lease_until > now()",
                            &[&id, &worker],
                        )
                        .await?
                        .get(0);
                    if others > 0 && running.is_some_and(|r| r != sources) {
                        return Ok(Some(others));
                    }
                    client
                        .execute(
                            "DELETE FROM waform.workers WHERE slot_id = $1 AND lease_until <= now()",
                            &[&id],
                        )
                        .await?;
                    client
                        .execute("UPDATE waform.slots SET sources = $2 WHERE id = $1", &[&id, &sources])
                        .await?;
                    client
                        .execute(
                            "INSERT INTO waform.workers (id, slot_id, lease_until)
                             VALUES ($1, $2, now() + make_interval(secs => $3))
                             ON CONFLICT (id, slot_id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
                            &[&worker, &id, &lease],
                        )
                        .await?;
                    Ok::<_, tokio_postgres::Error>(None)
                }
                .await;
                match joined {
                    Ok(None) => client.batch_execute("COMMIT").await.map_err(pg_error)?,
                    Ok(Some(others)) => {
                        let _ = client.batch_execute("ROLLBACK").await;
                        return Err(io::Error::new(
                            ErrorKind::AlreadyExists,
                            format!(
                                "{what} is being sent by {others} other waform run(s) using {shown} from other sources (the campaign's messages differ); nothing was sent: wait for them to end, or run with the same sources"
                            ),
                        ));
                    }
                    Err(e) => {
                        let _ = client.batch_execute("ROLLBACK").await;
                        return Err(pg_error(e));
                    }
                }
                if renew {
                    // Renew the lease of every slot joined, in the background, as long as
                    // the connection lives (it ends with the store).
                    let client = client.clone();
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(every).await;
                            let _ = client
                                .execute(
                                    "UPDATE waform.workers
                                     SET lease_until = now() + make_interval(secs => $2)
                                     WHERE id = $1",
                                    &[&worker, &lease],
                                )
                                .await;
                        }
                    });
                }
                Ok(())
            })
            .map_err(|e| self.error(e))?;
        self.joined = true;
        Ok(())
    }

    fn pace(
        &mut self,
        sender: &str,
        interval: std::time::Duration,
        sends: usize,
    ) -> Result<Option<std::time::Duration>, StateError> {
        let sender = sender.to_owned();
        let span = interval.as_secs_f64() * sends.max(1) as f64;
        let wait = self
            .db
            .call(move |client| async move {
                let row = client
                    .query_one(
                        "INSERT INTO waform.pacers AS p (sender, next_at)
                         VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                         ON CONFLICT (sender) DO UPDATE
                         SET next_at = greatest(p.next_at, clock_timestamp())
                                       + make_interval(secs => $2)
                         RETURNING extract(epoch FROM p.next_at - clock_timestamp())::float8",
                        &[&sender, &span],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(row.get::<_, f64>(0))
            })
            .map_err(|e| self.error(e))?;
        // The reservation's last send is one interval before `next_at`; the request carrying
        // them waits for it, as the in-process pacer does.
        let wait = (wait - interval.as_secs_f64()).max(0.0);
        Ok(Some(std::time::Duration::from_secs_f64(wait)))
    }

    fn next_request_id(&mut self) -> Result<u64, StateError> {
        self.check_writable()?;
        if self.next_req >= self.reserved_req {
            let block = self
                .db
                .call(|client| async move {
                    let row = client
                        .query_one("SELECT nextval('waform.request_blocks')", &[])
                        .await
                        .map_err(pg_error)?;
                    Ok(row.get::<_, i64>(0))
                })
                .map_err(|e| self.error(e))?;
            self.next_req = (block.max(1) as u64).saturating_mul(REQUEST_BLOCK);
            self.reserved_req = self.next_req.saturating_add(REQUEST_BLOCK);
        }
        let id = self.next_req;
        self.next_req += 1;
        Ok(id)
    }

    fn intent(&mut self, request: u64, intents: &[Intent<'_>]) -> Result<(), StateError> {
        self.check_writable()?;
        // One row per key: the last intent of a key in the request wins.
        let mut last: HashMap<(usize, &str), usize> = HashMap::new();
        for (at, intent) in intents.iter().enumerate() {
            last.insert((intent.slot, intent.key), at);
        }
        for (at, intent) in intents.iter().enumerate() {
            if last.get(&(intent.slot, intent.key)) != Some(&at) {
                continue;
            }
            let id = self.slot_id(intent.slot).map_err(|e| self.error(e))?;
            let both = (id, intent.key.to_owned());
            if self.pending.intent_keys.contains(&both) || self.pending.outcome_keys.contains(&both)
            {
                self.flush_now()?;
            }
            self.pending.intent_keys.insert(both);
            self.pending.push(
                request as i64,
                id,
                intent.key.to_owned(),
                intent.to.to_owned(),
                intent.tracking.map(str::to_owned),
                Status::Uncertain,
                true,
                intent.attempt,
                intent.digest,
                intent.body.map(str::to_owned),
                None,
            );
        }
        Ok(())
    }

    fn syncer(&mut self) -> Result<Syncer, StateError> {
        // Everything written so far is committed by one transaction, outside the lock.
        self.check_writable()?;
        if self.pending.is_empty() {
            return Ok(Box::new(|| Ok(())));
        }
        let statements = self.statements()?;
        let pending = std::mem::take(&mut self.pending);
        let worker = self.worker.clone();
        let poisoned = self.poisoned.clone();
        let jobs = self.db.jobs.clone().ok_or_else(|| self.error(lost()))?;
        Ok(Box::new(move || {
            let done = call_on(&jobs, move |client| async move {
                flush(&client, &statements.flush, &worker, pending).await
            });
            if let Err(e) = &done {
                poisoned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| e.to_string());
            }
            done
        }))
    }

    fn outcome(&mut self, request: u64, outcomes: &[Outcome]) -> Result<(), StateError> {
        self.check_writable()?;
        let mut last: HashMap<(usize, &str), usize> = HashMap::new();
        for (at, o) in outcomes.iter().enumerate() {
            last.insert((o.slot, o.key.as_str()), at);
        }
        for (at, o) in outcomes.iter().enumerate() {
            if last.get(&(o.slot, o.key.as_str())) != Some(&at) {
                continue;
            }
            let id = self.slot_id(o.slot).map_err(|e| self.error(e))?;
            let both = (id, o.key.clone());
            if self.pending.intent_keys.contains(&both) || self.pending.outcome_keys.contains(&both)
            {
                self.flush_now()?;
            }
            self.pending.outcome_keys.insert(both);
            self.pending.push(
                request as i64,
                id,
                o.key.clone(),
                o.to.clone(),
                o.tracking.clone(),
                o.status,
                false,
                o.attempts,
                o.digest,
                None,
                Some(o),
            );
        }
        for o in outcomes {
            let before = self.open[o.slot].index.get(&o.key);
            self.open[o.slot].counts.moved(before, o.status);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StateError> {
        if !self.writable {
            return Ok(());
        }
        self.check_writable()?;
        self.flush_now()
    }

    fn counts(&self, slot: usize) -> Counts {
        // A worker counts the slot as it is now, what other workers recorded included, but
        // not the intents in flight of those still working (their outcome is to come).
        let (true, Some(id)) = (self.joined, self.open[slot].id) else {
            return self.open[slot].counts;
        };
        let worker = self.worker.clone();
        let now = self.db.call(move |client| async move {
            let rows = client
                .query(
                    "SELECT status, count(*) FROM waform.recipients r
                     WHERE slot_id = $1 AND status IS NOT NULL
                       AND NOT (in_flight AND claimed_by IS DISTINCT FROM $2 AND EXISTS (
                           SELECT 1 FROM waform.workers w
                           WHERE w.id = r.claimed_by AND w.slot_id = r.slot_id
                             AND w.lease_until > now()))
                     GROUP BY status",
                    &[&id, &worker],
                )
                .await
                .map_err(pg_error)?;
            let mut counts = Counts::default();
            for row in rows {
                let status: &str = row.get(0);
                counts.add(status_of(status), row.get::<_, i64>(1));
            }
            Ok(counts)
        });
        now.unwrap_or(self.open[slot].counts)
    }

    fn records(&self, slot: usize, each: &mut dyn FnMut(Record)) -> Result<(), StateError> {
        let Some(id) = self.open[slot].id else {
            return Ok(());
        };
        let spec = &self.slots[slot];
        let target = spec.target_text();
        let mut after = i64::MIN;
        loop {
            let page = self
                .db
                .call(move |client| async move {
                    let rows = client
                        .query(
                            r#"SELECT key, "to", tracking, status, in_flight, message_id,
                                      track_uuid, error, attempts, warning, seq
                               FROM waform.recipients
                               WHERE slot_id = $1 AND seq > $2 AND status IS NOT NULL
                               ORDER BY seq LIMIT $3"#,
                            &[&id, &after, &PAGE],
                        )
                        .await
                        .map_err(pg_error)?;
                    Ok(rows)
                })
                .map_err(|e| self.error(e))?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.get(10);
            let full = page.len() as i64 == PAGE;
            for row in page {
                let in_flight: bool = row.get(4);
                let status: &str = row.get(3);
                each(Record {
                    campaign: spec.campaign.clone(),
                    target: target.clone(),
                    key: row.get(0),
                    to: row.get(1),
                    tracking_number: row.get(2),
                    status: status_of(status),
                    message_id: row.get(5),
                    track_uuid: row.get(6),
                    error: if in_flight {
                        Some(IN_FLIGHT_ERROR.to_owned())
                    } else {
                        row.get(7)
                    },
                    attempts: row.get::<_, i32>(8).max(0) as u32,
                    warning: row.get(9),
                });
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn sent_bodies(
        &self,
        slot: usize,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StateError> {
        let Some(id) = self.open[slot].id else {
            return Ok(HashMap::new());
        };
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = keys.to_vec();
        self.db
            .call(move |client| async move {
                let rows = client
                    .query(
                        "SELECT key, body FROM waform.recipients
                         WHERE slot_id = $1 AND key = ANY($2) AND body IS NOT NULL",
                        &[&id, &keys],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .map_err(|e| self.error(e))
    }

    fn conflicts(&self, slot: usize) -> Vec<Conflict> {
        self.open[slot].conflicts.clone()
    }

    fn unreadable(&self) -> Option<Unreadable> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL's password never shows, whichever the form, and its parts are shown in libpq's order.
    #[test]
    fn urls_are_shown_without_their_password() {
        let at = PgLocation::parse("postgres://ana:s3cr%3At@db.example:6543/sends?sslmode=require")
            .unwrap();
        assert_eq!(at.shown(), "postgres://ana@db.example:6543/sends");
        assert_eq!(at.ssl_mode(), SslMode::Require);
        assert!(!format!("{at:?}").contains("s3cr"));
        let default_port = PgLocation::parse("postgresql://ana@localhost/sends").unwrap();
        assert_eq!(
            default_port.shown(),
            "postgresql://ana@localhost:5432/sends"
        );
        assert_eq!(default_port.ssl_mode(), SslMode::Prefer);
        let query_password =
            PgLocation::parse("postgres://ana@h:1/d?password=hunter2&sslmode=disable").unwrap();
        assert_eq!(query_password.shown(), "postgres://ana@h:1/d");
        assert_eq!(query_password.ssl_mode(), SslMode::Disable);
        assert!(!format!("{query_password:?}").contains("hunter2"));
        let verify =
            PgLocation::parse("postgres://ana@h/d?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem")
                .unwrap();
        assert_eq!(verify.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(verify.root_cert.as_deref(), Some(Path::new("/tmp/ca.pem")));
    }

    /// A URL that cannot be used says why, and its error holds no password.
    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for (url, says) in [
            (
                "postgres://ana:hunter2@h:notaport/d",
                "not a valid PostgreSQL URL",
            ),
            (
                "postgres://ana:hunter2@h/d?sslmode=verify-ca",
                "verify-full",
            ),
            (
                "postgres://ana:hunter2@h/d?nonsense=1",
                "not a valid PostgreSQL URL",
            ),
        ] {
            let err = PgLocation::parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
        assert_eq!(
            redact("postgres://ana:hunter2@h:5/d?x=1"),
            "postgres://ana@h:5/d"
        );
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
    }

    /// The password file is read as libpq reads it: first match wins, `*` matches anything, `\` escapes.
    #[test]
    fn password_file_lines_match_like_libpq() {
        let text = "# comment\n\
                    other:5432:*:ana:nope\n\
                    db.example:6543:sends:ana:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(text, "db.example", 6543, "sends", "ana").as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            pgpass_lookup(text, "db.example", 5432, "sends", "ana").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("h:1:d:u\n", "h", 1, "d", "u"), None);
    }
}
