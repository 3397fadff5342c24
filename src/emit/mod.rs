//! Emit: rendered [`Message`]s become provider HTTP [`Request`]s, one module per provider.
//!
//! - [`aldeamo`]: one request per message (`text` or `template`).
//! - [`mayten`]: destinations of senders sharing one credential are packed into bulk requests
//!   of at most `batch_size` destinations.
//!
//! The [`Emitter`] streams: it holds only the open Mayten batches, never the whole campaign.

pub mod aldeamo;
pub mod lanes;
pub mod mayten;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::message::Message;
use crate::model::{Environment, Provider, SecretRef, Sender};

/// Who a request carries, for journals and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The campaign the message belongs to.
    pub campaign: Arc<str>,
    /// The recipient's number, digits-only international form.
    pub to: String,
    /// The recipient's key in its campaign ([`Message::key`]): what identifies it in the
    /// journal. The number, unless the campaign has a `key:`.
    pub key: String,
    /// The destination's tracking number (Mayten), echoed back in the provider's response.
    pub tracking_number: Option<String>,
    /// A digest of the message as sent: [`digest`] of this recipient's provider JSON
    /// (Aldeamo's request body, Mayten's destination), so that a later run can tell whether
    /// the message changed.
    pub digest: u64,
    /// Where that provider JSON is in its request's body ([`Request::json_of`]).
    pub json: std::ops::Range<usize>,
}

/// The digest of a recipient's provider JSON ([`Recipient::digest`]): its xxh3-64 hash.
pub fn digest(json: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(json.as_bytes())
}

/// Fill in what a recipient's provider JSON tells about it: its digest, and where it is in
/// the request's body.
pub(crate) fn seal(recipient: &mut Recipient, json: &str, at: std::ops::Range<usize>) {
    recipient.digest = digest(json);
    recipient.json = at;
}

/// Which secrets a request is signed with (references only, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Aldeamo's `ApiKey` and `UserId` headers.
    Aldeamo {
        /// The `ApiKey` header's secret.
        api_key: Option<SecretRef>,
        /// The `UserId` header's secret.
        user_id: Option<SecretRef>,
    },
    /// `Authorization: Bearer <token>` (Mayten).
    Bearer {
        /// The token's secret.
        token: Option<SecretRef>,
    },
}

/// One HTTP request to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The sender's name; for a Mayten request carrying several senders, their names in order
    /// of first appearance joined with `,`.
    pub sender: Arc<str>,
    /// The provider the request goes to.
    pub provider: Provider,
    /// The HTTP method (`POST`).
    pub method: &'static str,
    /// The full URL.
    pub url: Arc<str>,
    /// The body: compact JSON, UTF-8 unescaped.
    pub body: String,
    /// The recipients the request carries, in body order.
    pub recipients: Vec<Recipient>,
    /// The secrets the request is signed with (shared by the sender's requests).
    pub auth: Arc<Auth>,
}

impl Request {
    /// The provider JSON of one of this request's recipients.
    pub fn json_of(&self, recipient: &Recipient) -> &str {
        self.body.get(recipient.json.clone()).unwrap_or_default()
    }

    /// The plan line: `{"sender":..,"method":..,"url":..,"body":<the body JSON embedded as an
    /// object, not a string>}`. It never holds a secret: those live in headers, which are
    /// left out.
    pub fn to_ndjson(&self) -> String {
        let mut line = self.ndjson_head(self.body.len() + 1);
        line.push_str(&self.body);
        line.push('}');
        line
    }

    /// The plan line up to its body, with room for `extra` more bytes.
    fn ndjson_head(&self, extra: usize) -> String {
        let mut head = String::with_capacity(
            self.sender.len() + self.url.len() + self.method.len() + 48 + extra,
        );
        head.push_str("{\"sender\":");
        push_json_string(&mut head, &self.sender);
        head.push_str(",\"method\":");
        push_json_string(&mut head, self.method);
        head.push_str(",\"url\":");
        push_json_string(&mut head, &self.url);
        head.push_str(",\"body\":");
        head
    }
}

/// Writes plan lines ([`Request::to_ndjson`] and a newline) without building them, keeping
/// the line's head (sender, method and URL) from one request to the next: a campaign's
/// requests share it.
#[derive(Debug, Default)]
pub struct NdjsonWriter {
    /// The sender, method and URL of the last request written, and its line's head.
    last: Option<(Arc<str>, &'static str, Arc<str>, String)>,
}

impl NdjsonWriter {
    /// Write `request`'s plan line and a newline to `out`.
    pub fn write(
        &mut self,
        request: &Request,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let head = match &mut self.last {
            Some((sender, method, url, head))
                if *method == request.method
                    && *sender == request.sender
                    && *url == request.url =>
            {
                head
            }
            last => {
                let entry = (
                    Arc::clone(&request.sender),
                    request.method,
                    Arc::clone(&request.url),
                    request.ndjson_head(0),
                );
                &mut last.insert(entry).3
            }
        };
        out.write_all(head.as_bytes())?;
        out.write_all(request.body.as_bytes())?;
        out.write_all(b"}\n")
    }
}

/// Append `s` as a JSON string literal, escaped exactly as `serde_json` does (quotes,
/// backslashes and control characters only; everything else stays UTF-8).
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(found) = next_escape(&bytes[start..]) {
        let i = start + found;
        let byte = bytes[i];
        out.push_str(&s[start..i]);
        let escape: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => "",
        };
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The index of the first byte JSON escapes (`"`, `\\` or a control character), eight bytes
/// at a time ([`crate::words::overlapping`]).
fn next_escape(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 8 {
        return bytes
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
    }
    crate::words::overlapping(bytes).find_map(|(at, word)| escape_in(word).map(|i| at + i))
}

/// The index of the first byte JSON escapes in an eight-byte `word`.
fn escape_in(word: u64) -> Option<usize> {
    use crate::words::{HIGH, ONES};
    // A byte's high bit is set where it is below 0x20, a quote or a backslash; borrows only
    // reach higher bytes, so the lowest set bit is always a true one.
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote =
        (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(word ^ (ONES * u64::from(b'"')));
    let backslash =
        (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(word ^ (ONES * u64::from(b'\\')));
    let found = (control | quote | backslash) & HIGH;
    (found != 0).then(|| (found.trailing_zeros() / 8) as usize)
}

thread_local! {
    /// Buffers that held a message's JSON, given back with [`recycle`] once written: the
    /// next messages encoded on this thread reuse them instead of allocating (a batch's
    /// messages are encoded, then usually written and freed, on one worker; a buffer freed
    /// on another worker joins that worker's pool, which is capped).
    static SPARE: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers kept per thread by [`recycle`]: two batches' worth.
const SPARES: usize = 2 * crate::parallel::BATCH;

/// The largest buffer [`recycle`] keeps (a message's JSON, not a Mayten request's).
const SPARE_CAPACITY: usize = 4096;

/// An empty buffer for a message's JSON, with room for `capacity` bytes: one given back on
/// this thread when there is one.
fn buffer(capacity: usize) -> String {
    let mut out = SPARE.with_borrow_mut(Vec::pop).unwrap_or_default();
    out.reserve(capacity);
    out
}

/// Give back a buffer that held a message's JSON ([`Message::encoded`], an Aldeamo
/// request's body) once it is no longer needed, for [`encode`] to reuse on this thread.
pub fn recycle(mut buffer: String) {
    if buffer.capacity() == 0 || buffer.capacity() > SPARE_CAPACITY {
        return;
    }
    buffer.clear();
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < SPARES {
            spare.push(buffer);
        }
    });
}

/// The provider JSON of one message (Aldeamo's request body, Mayten's destination), which
/// does not depend on the emitter's state: worth computing where the message is compiled and
/// storing in [`Message::encoded`].
pub fn encode(message: &Message) -> Option<String> {
    match message.target.sender.provider {
        Provider::Aldeamo => aldeamo::body(message),
        Provider::Mayten => mayten::destination_json(message),
    }
}

/// Base URLs per sender name that override the defaults (`--endpoint SENDER=URL`).
pub type Endpoints = BTreeMap<String, String>;

/// Default base URL of a sender: Aldeamo test `https://apitellitwatest.aldeamo.com`,
/// production `https://apitellitwa.aldeamo.com`; Mayten `https://mayten.cloud`.
pub fn default_base_url(sender: &Sender) -> &'static str {
    match (sender.provider, sender.environment) {
        (Provider::Aldeamo, Environment::Test) => "https://apitellitwatest.aldeamo.com",
        (Provider::Aldeamo, Environment::Production) => "https://apitellitwa.aldeamo.com",
        (Provider::Mayten, _) => "https://mayten.cloud",
    }
}

/// The base URL a sender's requests go to: its `--endpoint` override (without a trailing
/// `/`), else its default.
pub fn base_url<'a>(sender: &Sender, endpoints: &'a Endpoints) -> &'a str {
    match endpoints.get(&*sender.name) {
        Some(url) => url.trim_end_matches('/'),
        None => default_base_url(sender),
    }
}

/// Turns a stream of messages into requests, per provider.
///
/// Aldeamo requests come out of [`Emitter::push`] at once; Mayten destinations are packed
/// per credential and come out when a batch is full, the rest at [`Emitter::finish`].
#[derive(Debug)]
pub struct Emitter {
    endpoints: Endpoints,
    aldeamo: aldeamo::AldeamoEmitter,
    mayten: mayten::MaytenEmitter,
}

impl Emitter {
    /// An emitter for these senders; `endpoints` overrides their base URLs by sender name.
    ///
    /// The senders decide how Mayten destinations are grouped (by shared token) and each
    /// group's batch size. A message whose sender is not in the list is still emitted, its
    /// sender grouped on first sight.
    pub fn new(senders: &[Arc<Sender>], endpoints: &Endpoints) -> Emitter {
        let mut emitter = Emitter {
            endpoints: endpoints.clone(),
            aldeamo: aldeamo::AldeamoEmitter::default(),
            mayten: mayten::MaytenEmitter::default(),
        };
        for sender in senders {
            let base = base_url(sender, &emitter.endpoints);
            match sender.provider {
                Provider::Aldeamo => emitter.aldeamo.register(sender, base),
                Provider::Mayten => emitter.mayten.register(sender, base),
            }
        }
        emitter
    }

    /// Feed one message; calls `out` for every request that is complete.
    ///
    /// A message the checker would have rejected (no template for a template message, no
    /// `from`, no `source_id` or `hsm_id`, a text message to Mayten) is skipped, never a panic.
    pub fn push(&mut self, message: &Message, out: &mut dyn FnMut(Request)) {
        let recipient = Recipient {
            campaign: Arc::clone(&message.target.campaign),
            to: message.to.clone(),
            key: if message.key.is_empty() {
                message.to.clone()
            } else {
                message.key.clone()
            },
            tracking_number: message.tracking_number.clone(),
            digest: 0,
            json: 0..0,
        };
        self.push_encoded(message, message.encoded.clone(), recipient, out);
    }

    /// [`Emitter::push`] for a message that is no longer needed: its serialised JSON
    /// ([`Message::encoded`]) and its recipient are moved into the request instead of copied.
    pub fn push_owned(&mut self, mut message: Box<Message>, out: &mut dyn FnMut(Request)) {
        let Some(encoded) = message.encoded.take() else {
            // Serialised here, from the message's own fields.
            return self.push(&message, out);
        };
        let to = std::mem::take(&mut message.to);
        let key = match std::mem::take(&mut message.key) {
            key if key.is_empty() => to.clone(),
            key => key,
        };
        let recipient = Recipient {
            campaign: Arc::clone(&message.target.campaign),
            to,
            key,
            tracking_number: message.tracking_number.take(),
            digest: 0,
            json: 0..0,
        };
        self.push_encoded(&message, Some(encoded), recipient, out);
    }

    /// `message` with its `to`, key and tracking number possibly taken: they are read from
    /// `recipient`, whose digest (and body) the provider emitter fills in.
    fn push_encoded(
        &mut self,
        message: &Message,
        encoded: Option<String>,
        recipient: Recipient,
        out: &mut dyn FnMut(Request),
    ) {
        let sender = &message.target.sender;
        match sender.provider {
            Provider::Aldeamo => {
                if !self.aldeamo.knows(&sender.name) {
                    let base = base_url(sender, &self.endpoints);
                    self.aldeamo.register(sender, base);
                }
                self.aldeamo.push(message, encoded, recipient, out);
            }
            Provider::Mayten => {
                if !self.mayten.knows(&sender.name) {
                    let base = base_url(sender, &self.endpoints);
                    self.mayten.register(sender, base);
                }
                self.mayten
                    .push(message, encoded.as_deref(), recipient, out);
                if let Some(encoded) = encoded {
                    recycle(encoded);
                }
            }
        }
    }

    /// Flush the partial batches, in a deterministic order: Mayten groups in the order their
    /// first message arrived.
    pub fn finish(&mut self, out: &mut dyn FnMut(Request)) {
        self.mayten.finish(out);
    }

    /// Take over the open batches of `other`, an emitter for the same senders whose
    /// messages come after this one's, as if they had been pushed here. A batch of a group
    /// that already has one open here is flushed to `out` instead.
    pub fn adopt(&mut self, other: Emitter, out: &mut dyn FnMut(Request)) {
        self.mayten.adopt(other.mayten, out);
    }
}

/// A per-sender-name lookup, shared by the provider emitters: a project has few senders, and
/// comparing short names costs less than hashing them for every message.
type ByName<T> = BTreeMap<Arc<str>, T>;

#[cfg(test)]
pub(crate) mod fixtures {
    //! Builders for senders, templates and messages used by the emit tests.

    use std::sync::Arc;

    use crate::diagnostics::{FileId, Span};
    use crate::message::{BodyParam, Content, Message, TemplateContent};
    use crate::model::{
        DEFAULT_BATCH_SIZE, Environment, Provider, SecretRef, Sender, Target, Template,
        TemplateHeader,
    };

    /// An empty span.
    pub fn span() -> Span {
        Span::of_text(FileId(0), 0, 1, 1, "")
    }

    /// An Aldeamo test sender sending from 573001112233.
    pub fn aldeamo_sender(name: &str) -> Sender {
        Sender {
            name: name.into(),
            provider: Provider::Aldeamo,
            environment: Environment::Test,
            from: Some("573001112233".into()),
            api_key: Some(SecretRef::Env("ALDEAMO_API_KEY".into())),
            user_id: Some(SecretRef::Env("ALDEAMO_USER_ID".into())),
            token: None,
            source_id: None,
            batch_size: DEFAULT_BATCH_SIZE,
            rate: None,
            span: span(),
        }
    }

    /// A Mayten sender with a source id, a token env var (or none) and a batch size.
    pub fn mayten_sender(
        name: &str,
        source_id: u64,
        token: Option<&str>,
        batch_size: usize,
    ) -> Arc<Sender> {
        Arc::new(Sender {
            name: name.into(),
            provider: Provider::Mayten,
            environment: Environment::Production,
            from: None,
            api_key: None,
            user_id: None,
            token: token.map(|t| SecretRef::Env(t.into())),
            source_id: Some(source_id),
            batch_size,
            rate: None,
            span: span(),
        })
    }

    /// A template with text params, no header and no buttons.
    pub fn template(name: &str, params: usize) -> Template {
        Template {
            name: name.into(),
            languages: vec!["es".into()],
            header: TemplateHeader::None,
            body: String::new(),
            params: vec![crate::model::ParamType::Text; params],
            buttons: Vec::new(),
            aldeamo_namespace: Some("f29c496f_9a16_408b_bff7_379e57d1c8d5".into()),
            aldeamo_name: name.into(),
            mayten_hsm_id: None,
            span: span(),
        }
    }

    /// A Mayten template with this HSM id.
    pub fn hsm(name: &str, hsm_id: u64) -> Arc<Template> {
        Arc::new(Template {
            mayten_hsm_id: Some(hsm_id),
            ..template(name, 1)
        })
    }

    /// A target for a campaign.
    pub fn target(
        campaign: &str,
        sender: &Arc<Sender>,
        template: Option<&Arc<Template>>,
    ) -> Arc<Target> {
        Arc::new(Target {
            campaign: campaign.into(),
            sender: Arc::clone(sender),
            template: template.cloned(),
        })
    }

    /// A template message to `to` with text body params and nothing else.
    pub fn message(target: &Arc<Target>, to: &str, body: &[&str]) -> Message {
        Message {
            target: Arc::clone(target),
            to: to.into(),
            key: to.into(),
            origin: "inline".into(),
            content: Content::Template(TemplateContent {
                language: "es".into(),
                header: None,
                body: body.iter().map(|b| BodyParam::Text((*b).into())).collect(),
                buttons: Vec::new(),
            }),
            tracking_number: None,
            internal_params: Vec::new(),
            chat_params: Vec::new(),
            encoded: None,
        }
    }

    /// Push every message through a fresh emitter, finish it, and collect the requests.
    pub fn emit_all(
        senders: &[Arc<Sender>],
        endpoints: &super::Endpoints,
        messages: &[Message],
    ) -> Vec<super::Request> {
        let mut emitter = super::Emitter::new(senders, endpoints);
        let mut requests = Vec::new();
        for message in messages {
            emitter.push(message, &mut |r| requests.push(r));
        }
        emitter.finish(&mut |r| requests.push(r));
        requests
    }

    /// Re-indent compact JSON (as serde_json writes it) two spaces per level, keeping key
    /// order, so snapshots are readable and still exact.
    pub fn pretty(json: &str) -> String {
        let mut out = String::with_capacity(json.len() * 2);
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut chars = json.chars().peekable();
        let newline = |out: &mut String, depth: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        };
        while let Some(c) = chars.next() {
            if in_string {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
                continue;
            }
            match c {
                '"' => {
                    in_string = true;
                    out.push(c);
                }
                '{' | '[' => {
                    out.push(c);
                    if matches!(chars.peek(), Some('}' | ']')) {
                        if let Some(close) = chars.next() {
                            out.push(close);
                        }
                    } else {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                    out.push(c);
                }
                ',' => {
                    out.push(c);
                    newline(&mut out, depth);
                }
                ':' => out.push_str(": "),
                _ => out.push(c),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::fixtures::{aldeamo_sender, emit_all, hsm, mayten_sender, message, target};
    use super::*;

    /// A buffer given back is handed out again, empty, on the same thread; one too large to
    /// be a message's JSON is not kept, nor more than [`SPARES`].
    #[test]
    fn buffers_are_recycled() {
        std::thread::spawn(|| {
            let mut used = buffer(100);
            used.push_str("{\"to\":\"573001112233\"}");
            let address = used.as_ptr();
            recycle(used);
            let again = buffer(10);
            assert_eq!((again.as_ptr(), again.len()), (address, 0));
            recycle(String::with_capacity(SPARE_CAPACITY + 1));
            assert_eq!(SPARE.with_borrow(Vec::len), 0);
            for _ in 0..SPARES + 5 {
                recycle(String::with_capacity(16));
            }
            assert_eq!(SPARE.with_borrow(Vec::len), SPARES);
        })
        .join()
        .expect("the test thread");
    }

    /// The default hosts are the ones the provider documents name, per environment.
    #[test]
    fn default_base_urls_follow_provider_and_environment() {
        let test = aldeamo_sender("a");
        let production = Sender {
            environment: Environment::Production,
            ..aldeamo_sender("a")
        };
        assert_eq!(
            default_base_url(&test),
            "https://apitellitwatest.aldeamo.com"
        );
        assert_eq!(
            default_base_url(&production),
            "https://apitellitwa.aldeamo.com"
        );
        assert_eq!(
            default_base_url(&mayten_sender("m", 5, None, 10)),
            "https://mayten.cloud"
        );
    }

    /// An `--endpoint` override replaces the base URL (trailing `/` dropped) of that sender only.
    #[test]
    fn endpoint_override_applies_per_sender() {
        let a = Arc::new(aldeamo_sender("a"));
        let b = Arc::new(aldeamo_sender("b"));
        let m = mayten_sender("m", 5, Some("T"), 10);
        let endpoints = Endpoints::from([
            ("a".to_string(), "http://127.0.0.1:8080/".to_string()),
            ("m".to_string(), "http://127.0.0.1:9090".to_string()),
        ]);
        let t = Arc::new(super::fixtures::template("t", 0));
        let messages = [
            message(&target("c", &a, Some(&t)), "1", &[]),
            message(&target("c", &b, Some(&t)), "2", &[]),
            message(&target("c", &m, Some(&hsm("h", 10))), "3", &[]),
        ];
        let urls: Vec<String> = emit_all(&[a, b, m], &endpoints, &messages)
            .into_iter()
            .map(|r| r.url.to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:8080/v1/apikey/template/bsp/send",
                "https://apitellitwatest.aldeamo.com/v1/apikey/template/bsp/send",
                "http://127.0.0.1:9090/api/Integration/MessageWpp",
            ]
        );
    }

    /// A sender missing from `Emitter::new`'s list is still emitted, with its endpoint override.
    #[test]
    fn unregistered_senders_are_emitted() {
        let a = Arc::new(aldeamo_sender("a"));
        let m = mayten_sender("m", 5, Some("T"), 10);
        let endpoints = Endpoints::from([("m".to_string(), "http://mock".to_string())]);
        let t = Arc::new(super::fixtures::template("t", 0));
        let messages = [
            message(&target("c", &a, Some(&t)), "1", &[]),
            message(&target("c", &m, Some(&hsm("h", 10))), "2", &[]),
        ];
        let requests = emit_all(&[], &endpoints, &messages);
        assert_eq!(requests.len(), 2);
        assert_eq!(&*requests[1].url, "http://mock/api/Integration/MessageWpp");
    }

    /// The plan line escapes its strings exactly as serde_json does, UTF-8 left unescaped.
    #[test]
    fn plan_line_strings_escape_like_serde_json() {
        let tricky = "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{1f}j\u{7f}k ñ € 😀 \u{2028}";
        let mut ours = String::new();
        push_json_string(&mut ours, tricky);
        assert_eq!(ours, serde_json::to_string(tricky).unwrap_or_default());
        let request = Request {
            sender: tricky.into(),
            provider: Provider::Mayten,
            method: "POST",
            url: "https://x/\"y\"".into(),
            body: "{\"k\":[1,2]}".into(),
            recipients: Vec::new(),
            auth: Auth::Bearer { token: None }.into(),
        };
        let line: serde_json::Value =
            serde_json::from_str(&request.to_ndjson()).unwrap_or_default();
        assert_eq!(
            line,
            serde_json::json!({
                "sender": tricky, "method": "POST", "url": "https://x/\"y\"", "body": {"k": [1, 2]}
            })
        );
        let mut written = Vec::new();
        NdjsonWriter::default()
            .write(&request, &mut written)
            .unwrap_or_default();
        assert_eq!(written, format!("{}\n", request.to_ndjson()).into_bytes());
    }

    /// The writer that keeps the line's head gives each request's own line, also when the
    /// sender, the method or the URL changes from one request to the next.
    #[test]
    fn ndjson_writer_writes_each_requests_line() {
        let request = |sender: &str, method: &'static str, url: &str, body: &str| Request {
            sender: sender.into(),
            provider: Provider::Aldeamo,
            method,
            url: url.into(),
            body: body.into(),
            recipients: Vec::new(),
            auth: Auth::Bearer { token: None }.into(),
        };
        let requests = [
            request("a", "POST", "https://x/1", "{\"n\":1}"),
            request("a", "POST", "https://x/1", "{\"n\":2}"),
            request("b\"", "POST", "https://x/1", "{\"n\":3}"),
            request("b\"", "POST", "https://x/2", "{\"n\":4}"),
            request("b\"", "PUT", "https://x/2", "{\"n\":5}"),
            request("a", "POST", "https://x/1", "{\"n\":6}"),
        ];
        let mut writer = NdjsonWriter::default();
        let (mut kept, mut each) = (Vec::new(), Vec::new());
        for r in &requests {
            writer.write(r, &mut kept).unwrap_or_default();
            each.extend_from_slice(format!("{}\n", r.to_ndjson()).as_bytes());
        }
        assert_eq!(
            String::from_utf8_lossy(&kept),
            String::from_utf8_lossy(&each)
        );
        assert_eq!(each.iter().filter(|&&b| b == b'\n').count(), requests.len());
    }

    /// The word-at-a-time escape scan gives serde_json's bytes on strings mixing escapes,
    /// multi-byte characters and clean runs at every offset of the eight-byte words.
    #[test]
    fn json_strings_match_serde_on_random_text() {
        let pieces = [
            "a", "ab", "abcdefgh", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}",
            "\u{1f}", " ", "\u{7f}", "ñ", "€", "😀", "\u{2028}", "/", "!", "~", "_",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 24) {
                let pick = (seed.rotate_left(k as u32 * 5) % pieces.len() as u64) as usize;
                text.push_str(pieces[pick]);
            }
            let mut ours = String::new();
            push_json_string(&mut ours, &text);
            assert_eq!(
                ours,
                serde_json::to_string(&text).unwrap_or_default(),
                "{text:?}"
            );
        }
    }

    /// Three messages (an Aldeamo one, then two Mayten ones that share a request), the first
    /// two with `param` as their body parameter.
    fn three(param: &str) -> Vec<Message> {
        let a = Arc::new(aldeamo_sender("a"));
        let m = mayten_sender("m", 5, Some("T"), 10);
        let t = Arc::new(super::fixtures::template("t", 1));
        let h = hsm("h", 10);
        vec![
            message(&target("c", &a, Some(&t)), "573001112233", &[param]),
            message(&target("d", &m, Some(&h)), "5493510000001", &[param]),
            message(&target("d", &m, Some(&h)), "5493510000002", &["fixed"]),
        ]
    }

    /// [`three`], emitted; with each message's provider JSON as [`encode`] gives it.
    fn digested(param: &str) -> (Vec<Request>, Vec<String>) {
        let messages = three(param);
        let json = messages.iter().filter_map(encode).collect();
        (emit_all(&[], &Endpoints::new(), &messages), json)
    }

    /// A recipient's digest is `digest` of its provider JSON: an Aldeamo request's body, a
    /// Mayten destination's JSON (not the whole request's); it changes when a parameter of
    /// that message changes, and only for that message.
    #[test]
    fn recipient_digest_is_of_its_provider_json() {
        let (requests, json) = digested("Ana");
        assert_eq!(requests.len(), 2);
        assert_eq!(json.len(), 3);
        assert_eq!(requests[0].body, json[0]);
        let aldeamo = &requests[0].recipients[0];
        assert_eq!(aldeamo.digest, digest(&requests[0].body));
        let mayten: Vec<u64> = requests[1].recipients.iter().map(|r| r.digest).collect();
        assert_eq!(mayten, [digest(&json[1]), digest(&json[2])]);
        assert!(requests[1].body.contains(&json[1]));
        assert_ne!(mayten[0], digest(&requests[1].body));
        let placed: Vec<&str> = requests
            .iter()
            .flat_map(|r| r.recipients.iter().map(|x| r.json_of(x)))
            .collect();
        assert_eq!(
            placed, json,
            "each recipient knows where its JSON is in the body"
        );
        let (changed, _) = digested("Bea");
        assert_ne!(changed[0].recipients[0].digest, aldeamo.digest);
        assert_ne!(changed[1].recipients[0].digest, mayten[0]);
        assert_eq!(changed[1].recipients[1].digest, mayten[1]);
    }

    /// A message serialised ahead and pushed owned gives its recipient the same digest and
    /// the same place of its JSON as one the emitter serialises.
    #[test]
    fn owned_and_borrowed_messages_place_their_json_alike() {
        let (plain, json) = digested("Ana");
        let messages = three("Ana");
        let mut emitter = Emitter::new(&[], &Endpoints::new());
        let mut requests = Vec::new();
        for message in &messages {
            let ahead = Message {
                encoded: encode(message),
                ..message.clone()
            };
            emitter.push_owned(Box::new(ahead), &mut |r| requests.push(r));
        }
        emitter.finish(&mut |r| requests.push(r));
        let seen = |rs: &[Request]| -> Vec<(u64, String)> {
            rs.iter()
                .flat_map(|r| {
                    r.recipients
                        .iter()
                        .map(|x| (x.digest, r.json_of(x).to_owned()))
                })
                .collect()
        };
        assert_eq!(seen(&requests), seen(&plain));
        assert_eq!(
            seen(&requests)
                .into_iter()
                .map(|(_, j)| j)
                .collect::<Vec<_>>(),
            json
        );
    }

    /// Messages serialised ahead ([`encode`]) give the same requests as messages serialised by
    /// the emitter, also once their content is stripped.
    #[test]
    fn encoded_messages_emit_the_same_requests() {
        let a = Arc::new(aldeamo_sender("a"));
        let m = mayten_sender("m", 5, Some("T"), 2);
        let t = Arc::new(super::fixtures::template("t", 2));
        let messages: Vec<Message> = (0..5)
            .flat_map(|i| {
                [
                    message(
                        &target("c", &a, Some(&t)),
                        &format!("57300000000{i}"),
                        &["x", "ñ\"y"],
                    ),
                    message(
                        &target("d", &m, Some(&hsm("h", 10))),
                        &format!("5493510000{i}"),
                        &["z"],
                    ),
                ]
            })
            .collect();
        let encoded: Vec<Message> = messages
            .iter()
            .map(|m| Message {
                encoded: encode(m),
                ..m.clone()
            })
            .collect();
        assert!(encoded.iter().all(|m| m.encoded.is_some()));
        let stripped: Vec<Message> = encoded
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.strip();
                m
            })
            .collect();
        let plain = emit_all(&[], &Endpoints::new(), &messages);
        let ahead = emit_all(&[], &Endpoints::new(), &encoded);
        assert_eq!(plain.len(), 8);
        assert_eq!(plain, ahead);
        assert_eq!(emit_all(&[], &Endpoints::new(), &stripped), plain);
        for messages in [messages, encoded, stripped] {
            let mut emitter = Emitter::new(&[], &Endpoints::new());
            let mut owned = Vec::new();
            for message in messages {
                emitter.push_owned(Box::new(message), &mut |r| owned.push(r));
            }
            emitter.finish(&mut |r| owned.push(r));
            assert_eq!(owned, plain);
        }
    }
}
