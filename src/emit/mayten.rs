//! Mayten: bulk HSM requests (`provider-docs/mayten-hsm-integration.txt`).
//!
//! `POST {base}/api/Integration/MessageWpp` with
//! `{"messages":[{"sourceId","hsmId","destinations":[{"trackingNumber"?,"dstNumber","hsmParams","internalParams"?,"chatParams"?}]}]}`.
//!
//! Destinations of senders that share one credential (the same `token`; a sender without a
//! token is a group of its own) and one base URL are packed into the same request, as the
//! document's "Success Bulk Multiple Accounts" example: consecutive destinations with the same
//! `(sourceId, hsmId)` share a `messages` entry, a change opens a new entry. A request is
//! complete at the group's batch size (the smallest `batch_size` of its senders).
//!
//! Only the open batches are held, each as the JSON text written so far: a destination is
//! serialised straight from the borrowed message when it arrives.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use super::{Auth, ByName, Recipient, Request, push_json_string};
use crate::message::{BodyParam, Content, Message};
use crate::model::{Provider, SecretRef, Sender};

/// Mayten's request builder: the groups of senders and their open batches.
#[derive(Debug, Default)]
pub(crate) struct MaytenEmitter {
    /// Sender name → index into `groups`.
    by_sender: ByName<usize>,
    /// Group key → index into `groups`.
    by_key: HashMap<GroupKey, usize>,
    groups: Vec<Group>,
    /// Group indexes in the order their first message arrived (the `finish` order).
    seen: Vec<usize>,
}

/// What decides that two senders share requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    /// Senders with this token, sending to this base URL.
    Token(SecretRef, String),
    /// A sender without a token: alone.
    Alone(Arc<str>),
}

/// Senders sharing requests.
#[derive(Debug)]
struct Group {
    url: Arc<str>,
    auth: Arc<Auth>,
    batch_size: usize,
    seen: bool,
    open: Option<Batch>,
    /// The length of the last request's body: the next one starts with that much room.
    last_body: usize,
}

impl MaytenEmitter {
    /// Put a sender into its group (by token and base URL), lowering the group's batch size
    /// to the sender's when smaller.
    pub(crate) fn register(&mut self, sender: &Sender, base: &str) {
        let key = match &sender.token {
            Some(token) => GroupKey::Token(token.clone(), base.to_string()),
            None => GroupKey::Alone(Arc::clone(&sender.name)),
        };
        let batch_size = sender.batch_size.max(1);
        let index = match self.by_key.get(&key) {
            Some(&index) => {
                let group = &mut self.groups[index];
                group.batch_size = group.batch_size.min(batch_size);
                index
            }
            None => {
                self.groups.push(Group {
                    url: Arc::from(format!("{base}/api/Integration/MessageWpp")),
                    auth: Arc::new(Auth::Bearer {
                        token: sender.token.clone(),
                    }),
                    batch_size,
                    seen: false,
                    open: None,
                    last_body: 0,
                });
                let index = self.groups.len() - 1;
                self.by_key.insert(key, index);
                index
            }
        };
        self.by_sender.insert(Arc::clone(&sender.name), index);
    }

    /// Whether a sender was registered.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.by_sender.contains_key(name)
    }

    /// Add the message's destination to its group's open batch; emit the batch when full.
    ///
    /// The checker guarantees a Mayten message is a template message with an `hsm_id` and a
    /// sender with a `source_id`; a message without them is skipped.
    /// `encoded` is the destination's JSON when it was serialised ahead
    /// ([`destination_json`]); the recipient gets its digest and where its JSON is in the
    /// request's body.
    pub(crate) fn push(
        &mut self,
        message: &Message,
        encoded: Option<&str>,
        mut recipient: Recipient,
        out: &mut dyn FnMut(Request),
    ) {
        let target = &message.target;
        if !matches!(message.content, Content::Template(_)) {
            return;
        }
        let (Some(source_id), Some(hsm_id)) = (
            target.sender.source_id,
            target.template.as_ref().and_then(|t| t.mayten_hsm_id),
        ) else {
            return;
        };
        let Some(&index) = self.by_sender.get(&*target.sender.name) else {
            return;
        };
        let group = &mut self.groups[index];
        if !group.seen {
            group.seen = true;
            self.seen.push(index);
        }
        let serialised;
        let json = match encoded {
            Some(json) => json,
            None => match destination_json(message) {
                Some(json) => {
                    serialised = json;
                    &serialised
                }
                None => return,
            },
        };
        let room = group.last_body;
        let batch = group.open.get_or_insert_with(|| Batch::new(room));
        let at = batch.push((source_id, hsm_id), json);
        super::seal(&mut recipient, json, at);
        batch.note(message, recipient);
        if batch.recipients.len() >= group.batch_size
            && let Some(request) = group.flush()
        {
            out(request);
        }
    }

    /// Take over `other`'s open batches (see [`super::Emitter::adopt`]), its groups arriving
    /// now in the order they arrived there.
    pub(crate) fn adopt(&mut self, mut other: MaytenEmitter, out: &mut dyn FnMut(Request)) {
        let keys: HashMap<usize, GroupKey> = other.by_key.drain().map(|(k, i)| (i, k)).collect();
        for index in std::mem::take(&mut other.seen) {
            let open = other.groups[index].open.take();
            let Some(&here) = keys.get(&index).and_then(|key| self.by_key.get(key)) else {
                // A group unknown here: its batch goes out as it is.
                other.groups[index].open = open;
                if let Some(request) = other.groups[index].flush() {
                    out(request);
                }
                continue;
            };
            let group = &mut self.groups[here];
            if open.is_some()
                && let Some(request) = group.flush()
            {
                out(request);
            }
            group.open = open.or(group.open.take());
            if !group.seen {
                group.seen = true;
                self.seen.push(here);
            }
        }
    }

    /// Emit every open batch, groups in the order their first message arrived.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(Request)) {
        for &index in &self.seen {
            if let Some(request) = self.groups[index].flush() {
                out(request);
            }
        }
    }
}

impl Group {
    /// Close the open batch into a request, if it holds any destination.
    fn flush(&mut self) -> Option<Request> {
        let batch = self.open.take()?;
        if batch.recipients.is_empty() {
            return None;
        }
        let (sender, body, recipients) = batch.close();
        self.last_body = body.len();
        Some(Request {
            sender: Arc::from(sender),
            provider: Provider::Mayten,
            method: "POST",
            url: Arc::clone(&self.url),
            body,
            recipients,
            auth: Arc::clone(&self.auth),
        })
    }
}

/// An open request: its body so far, and who it carries.
#[derive(Debug)]
struct Batch {
    /// `{"messages":[` and the entries written so far, the last one still open.
    body: String,
    /// The open entry's `(sourceId, hsmId)`.
    current: Option<(u64, u64)>,
    /// Sender names in order of first appearance.
    senders: Vec<Arc<str>>,
    recipients: Vec<Recipient>,
}

impl Batch {
    /// An empty batch whose body has room for `room` bytes.
    fn new(room: usize) -> Batch {
        let mut body = String::with_capacity(room);
        body.push_str("{\"messages\":[");
        Batch {
            body,
            current: None,
            senders: Vec::new(),
            recipients: Vec::new(),
        }
    }

    /// Append a destination's JSON, opening a new `messages` entry when `(sourceId, hsmId)`
    /// changes.
    /// Write a destination's JSON; returns where it is in the body.
    fn push(&mut self, ids: (u64, u64), json: &str) -> std::ops::Range<usize> {
        match self.current {
            Some(current) if current == ids => self.body.push(','),
            current => {
                if current.is_some() {
                    self.body.push_str("]},");
                }
                // Writing into a String cannot fail.
                let _ = write!(
                    self.body,
                    "{{\"sourceId\":{},\"hsmId\":{},\"destinations\":[",
                    ids.0, ids.1
                );
            }
        }
        let start = self.body.len();
        self.body.push_str(json);
        self.current = Some(ids);
        start..self.body.len()
    }

    /// Record who the destination just written is for.
    fn note(&mut self, message: &Message, recipient: Recipient) {
        let name = &message.target.sender.name;
        if !self.senders.iter().any(|s| s == name) {
            self.senders.push(Arc::clone(name));
        }
        self.recipients.push(recipient);
    }

    /// The request's sender names joined with `,`, its finished body and its recipients.
    fn close(self) -> (String, String, Vec<Recipient>) {
        let mut body = self.body;
        if self.current.is_some() {
            body.push_str("]}");
        }
        body.push_str("]}");
        (self.senders.join(","), body, self.recipients)
    }
}

/// A message's entry of `destinations`, as JSON; none for a message Mayten cannot take (a
/// text message). Written by hand, field by field as [`shape::Destination`] serialises it.
pub(crate) fn destination_json(message: &Message) -> Option<String> {
    let Content::Template(content) = &message.content else {
        return None;
    };
    let mut out = super::buffer(256);
    out.push('{');
    if let Some(tracking) = &message.tracking_number {
        out.push_str("\"trackingNumber\":");
        push_json_string(&mut out, tracking);
        out.push(',');
    }
    out.push_str("\"dstNumber\":");
    push_json_string(&mut out, &message.to);
    out.push_str(",\"hsmParams\":");
    push_strings(&mut out, content.body.iter().map(BodyParam::display));
    if !message.internal_params.is_empty() {
        out.push_str(",\"internalParams\":");
        push_strings(&mut out, message.internal_params.iter().map(String::as_str));
    }
    if !message.chat_params.is_empty() {
        out.push_str(",\"chatParams\":");
        push_strings(&mut out, message.chat_params.iter().map(String::as_str));
    }
    out.push('}');
    Some(out)
}

/// Append a JSON array of strings.
fn push_strings<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(out, item);
    }
    out.push(']');
}

/// The destination as serde structs: the shape the hand-written JSON is tested against.
#[cfg(test)]
mod shape {
    use serde::{Serialize, Serializer};

    use crate::message::{BodyParam, Message, TemplateContent};

    pub(super) fn destination<'a>(
        message: &'a Message,
        content: &'a TemplateContent,
    ) -> Destination<'a> {
        Destination {
            tracking_number: message.tracking_number.as_deref(),
            dst_number: &message.to,
            hsm_params: HsmParams(&content.body),
            internal_params: &message.internal_params,
            chat_params: &message.chat_params,
        }
    }

    /// One entry of `destinations`.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Destination<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        tracking_number: Option<&'a str>,
        dst_number: &'a str,
        hsm_params: HsmParams<'a>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        internal_params: &'a [String],
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        chat_params: &'a [String],
    }

    /// The body parameters as the strings the recipient reads (currency and date_time as
    /// their fallback text).
    pub(super) struct HsmParams<'a>(&'a [BodyParam]);

    impl Serialize for HsmParams<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(BodyParam::display))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::super::fixtures::{emit_all, hsm, mayten_sender, message, pretty, target};
    use super::super::{Auth, Emitter, Endpoints, Recipient, Request};
    use crate::message::{BodyParam, Content, Message, TemplateContent};
    use crate::model::{SecretRef, Sender, Target, Template};
    use crate::values::DateTimeValue;

    /// The hand-written destination JSON is byte for byte what the serde shape gives, with and
    /// without tracking number, internal and chat params, over strings that need escaping.
    #[test]
    fn written_destination_matches_serde() {
        let t = target(
            "c",
            &mayten_sender("m", 5, Some("T"), 10),
            Some(&hsm("h", 10)),
        );
        let texts = ["", "Ana", "ñ\"q\\\n\t\u{1}", "😀 x"];
        let mut checked = 0;
        for tracking in [None, Some("ORD-1"), Some("\"t\"")] {
            for internal in [vec![], vec!["i".to_owned(), "\u{7}".to_owned()]] {
                for chat in [vec![], vec!["client".to_owned()]] {
                    for text in texts {
                        let mut m = message(&t, "5493516723999", &[text, "x"]);
                        m.tracking_number = tracking.map(str::to_owned);
                        m.internal_params = internal.clone();
                        m.chat_params = chat.clone();
                        let Content::Template(content) = &m.content else {
                            panic!("a template message");
                        };
                        let expected =
                            serde_json::to_string(&super::shape::destination(&m, content))
                                .unwrap_or_default();
                        assert_eq!(super::destination_json(&m).as_deref(), Some(&*expected));
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 48);
    }

    fn body(request: &Request) -> Value {
        serde_json::from_str(&request.body).unwrap()
    }

    /// `(sourceId, hsmId)` of each `messages` entry and its destinations' numbers.
    fn layout(request: &Request) -> Vec<(u64, u64, Vec<String>)> {
        body(request)["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["sourceId"].as_u64().unwrap(),
                    m["hsmId"].as_u64().unwrap(),
                    m["destinations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d["dstNumber"].as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect()
    }

    fn numbered(target: &Arc<Target>, n: usize) -> Vec<Message> {
        (0..n)
            .map(|i| message(target, &format!("54935100000{i:02}"), &["x"]))
            .collect()
    }

    /// Two accounts on one token make the document's "Success Bulk Multiple Accounts" body.
    #[test]
    fn bulk_multiple_accounts_example() {
        let a = mayten_sender("mayten-5", 5, Some("MAYTEN_TOKEN"), 500);
        let b = mayten_sender("mayten-6", 6, Some("MAYTEN_TOKEN"), 500);
        let ta = target("campaign-a", &a, Some(&hsm("hsm-10", 10)));
        let tb = target("campaign-b", &b, Some(&hsm("hsm-11", 11)));
        let destination = |t: &Arc<Target>, tracking: &str, dst: &str, param: &str| Message {
            tracking_number: Some(tracking.into()),
            internal_params: vec!["111111111".into()],
            chat_params: vec!["client".into()],
            ..message(t, dst, &[param])
        };
        let messages = [
            destination(&ta, "645564456", "5493516723999", "13"),
            destination(&ta, "564548", "5493516724000", "14"),
            destination(&tb, "645564457", "5493516724001", "15"),
            destination(&tb, "564549", "5493516724002", "16"),
        ];
        let requests = emit_all(&[a, b], &Endpoints::new(), &messages);
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        let dest = |tracking: &str, dst: &str, param: &str| {
            json!({
                "trackingNumber": tracking, "dstNumber": dst, "hsmParams": [param],
                "internalParams": ["111111111"], "chatParams": ["client"]
            })
        };
        let document = json!({
            "messages": [
                {
                    "sourceId": 5,
                    "hsmId": 10,
                    "destinations": [
                        dest("645564456", "5493516723999", "13"),
                        dest("564548", "5493516724000", "14"),
                    ]
                },
                {
                    "sourceId": 6,
                    "hsmId": 11,
                    "destinations": [
                        dest("645564457", "5493516724001", "15"),
                        dest("564549", "5493516724002", "16"),
                    ]
                }
            ]
        });
        assert_eq!(body(request), document);
        assert_eq!(
            &*request.url,
            "https://mayten.cloud/api/Integration/MessageWpp"
        );
        assert_eq!(&*request.sender, "mayten-5,mayten-6");
        assert_eq!(request.method, "POST");
        assert_eq!(
            *request.auth,
            Auth::Bearer {
                token: Some(SecretRef::Env("MAYTEN_TOKEN".into()))
            }
        );
        let tracking: Vec<_> = request
            .recipients
            .iter()
            .map(|r| (&*r.campaign, r.tracking_number.as_deref()))
            .collect();
        assert_eq!(
            tracking,
            [
                ("campaign-a", Some("645564456")),
                ("campaign-a", Some("564548")),
                ("campaign-b", Some("645564457")),
                ("campaign-b", Some("564549")),
            ]
        );
        insta::assert_snapshot!(pretty(&request.to_ndjson()));
    }

    /// Five destinations at batch size 2 make requests of 2, 2 and 1, full ones from `push`.
    #[test]
    fn splits_at_batch_size() {
        let m = mayten_sender("m", 5, Some("T"), 2);
        let t = target("c", &m, Some(&hsm("h", 10)));
        let mut emitter = Emitter::new(&[m], &Endpoints::new());
        let mut sizes = Vec::new();
        for (i, message) in numbered(&t, 5).iter().enumerate() {
            let mut pushed = 0;
            emitter.push(message, &mut |r| {
                pushed += 1;
                sizes.push(r.recipients.len());
            });
            assert_eq!(pushed, usize::from(i % 2 == 1), "after message {i}");
        }
        emitter.finish(&mut |r| sizes.push(r.recipients.len()));
        assert_eq!(sizes, [2, 2, 1]);
        let mut after = 0;
        emitter.finish(&mut |_| after += 1);
        assert_eq!(after, 0, "finish leaves nothing open");
    }

    /// Recipients and destinations line up, and a split never loses or repeats one.
    #[test]
    fn split_keeps_every_destination_once_in_order() {
        let m = mayten_sender("m", 5, Some("T"), 2);
        let t = target("c", &m, Some(&hsm("h", 10)));
        let messages = numbered(&t, 5);
        let requests = emit_all(&[m], &Endpoints::new(), &messages);
        let mut sent = Vec::new();
        for request in &requests {
            let numbers: Vec<String> = layout(request).into_iter().flat_map(|e| e.2).collect();
            let recipients: Vec<String> = request.recipients.iter().map(|r| r.to.clone()).collect();
            assert_eq!(numbers, recipients);
            sent.extend(numbers);
        }
        let expected: Vec<String> = messages.iter().map(|m| m.to.clone()).collect();
        assert_eq!(sent, expected);
    }

    /// Senders with different tokens never share a request.
    #[test]
    fn different_tokens_make_different_requests() {
        let a = mayten_sender("a", 5, Some("TOKEN_A"), 500);
        let b = mayten_sender("b", 6, Some("TOKEN_B"), 500);
        let h = hsm("h", 10);
        let messages = [
            message(&target("c", &a, Some(&h)), "1", &["x"]),
            message(&target("c", &b, Some(&h)), "2", &["x"]),
            message(&target("c", &a, Some(&h)), "3", &["x"]),
        ];
        let requests = emit_all(&[a, b], &Endpoints::new(), &messages);
        let summary: Vec<_> = requests
            .iter()
            .map(|r| (&*r.sender, layout(r), (*r.auth).clone()))
            .collect();
        let bearer = |t: &str| Auth::Bearer {
            token: Some(SecretRef::Env(t.into())),
        };
        assert_eq!(
            summary,
            [
                (
                    "a",
                    vec![(5, 10, vec!["1".into(), "3".into()])],
                    bearer("TOKEN_A")
                ),
                ("b", vec![(6, 10, vec!["2".into()])], bearer("TOKEN_B")),
            ]
        );
    }

    /// Senders without a token are each their own group, even with the same account.
    #[test]
    fn senders_without_token_are_alone() {
        let a = mayten_sender("a", 5, None, 500);
        let b = mayten_sender("b", 5, None, 500);
        let h = hsm("h", 10);
        let messages = [
            message(&target("c", &a, Some(&h)), "1", &["x"]),
            message(&target("c", &b, Some(&h)), "2", &["x"]),
        ];
        let requests = emit_all(&[a, b], &Endpoints::new(), &messages);
        let senders: Vec<_> = requests.iter().map(|r| &*r.sender).collect();
        assert_eq!(senders, ["a", "b"]);
        assert_eq!(*requests[0].auth, Auth::Bearer { token: None });
    }

    /// Going back to an earlier `(sourceId, hsmId)` after another opens a new `messages` entry.
    #[test]
    fn change_back_opens_new_entry() {
        let a = mayten_sender("a", 5, Some("T"), 500);
        let b = mayten_sender("b", 6, Some("T"), 500);
        let ta = target("c", &a, Some(&hsm("h10", 10)));
        let ta11 = target("c", &a, Some(&hsm("h11", 11)));
        let tb = target("c", &b, Some(&hsm("h10", 10)));
        let messages = [
            message(&ta, "1", &["x"]),
            message(&ta, "2", &["x"]),
            message(&tb, "3", &["x"]),
            message(&ta, "4", &["x"]),
            message(&ta11, "5", &["x"]),
        ];
        let requests = emit_all(&[a, b], &Endpoints::new(), &messages);
        assert_eq!(requests.len(), 1);
        assert_eq!(
            layout(&requests[0]),
            [
                (5, 10, vec!["1".into(), "2".into()]),
                (6, 10, vec!["3".into()]),
                (5, 10, vec!["4".into()]),
                (5, 11, vec!["5".into()]),
            ]
        );
        assert_eq!(&*requests[0].sender, "a,b");
    }

    /// A group's batch size is the smallest of its senders', whatever sender fills it.
    #[test]
    fn group_batch_size_is_the_smallest() {
        let a = mayten_sender("a", 5, Some("T"), 500);
        let b = mayten_sender("b", 6, Some("T"), 3);
        let ta = target("c", &a, Some(&hsm("h", 10)));
        let requests = emit_all(&[a, b], &Endpoints::new(), &numbered(&ta, 7));
        let sizes: Vec<_> = requests.iter().map(|r| r.recipients.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
    }

    /// `finish` flushes groups in the order their first message arrived, not sender order.
    #[test]
    fn finish_order_is_first_seen() {
        let a = mayten_sender("a", 5, Some("TA"), 500);
        let b = mayten_sender("b", 6, Some("TB"), 500);
        let c = mayten_sender("c", 7, Some("TC"), 500);
        let h = hsm("h", 10);
        let messages = [
            message(&target("x", &c, Some(&h)), "1", &["x"]),
            message(&target("x", &a, Some(&h)), "2", &["x"]),
            message(&target("x", &c, Some(&h)), "3", &["x"]),
        ];
        let requests = emit_all(&[a, b, c], &Endpoints::new(), &messages);
        let senders: Vec<_> = requests.iter().map(|r| &*r.sender).collect();
        assert_eq!(senders, ["c", "a"]);
    }

    /// Empty optional fields are left out; currency/date_time go as their fallback text.
    #[test]
    fn optional_fields_and_display_params() {
        let m = mayten_sender("m", 5, Some("T"), 500);
        let t = target("c", &m, Some(&hsm("h", 10)));
        let message = Message {
            content: Content::Template(TemplateContent {
                language: "es".into(),
                header: None,
                body: vec![
                    BodyParam::Text("José".into()),
                    BodyParam::Currency {
                        fallback: "$1.234,56".into(),
                        code: "ARS".into(),
                        amount_1000: 1_234_560,
                    },
                    BodyParam::DateTime {
                        fallback: "25/02/1977".into(),
                        value: Some(DateTimeValue {
                            year: 1977,
                            month: 2,
                            day: 25,
                            day_of_week: 5,
                            time: None,
                        }),
                    },
                ],
                buttons: Vec::new(),
            }),
            ..message(&t, "5493516723999", &[])
        };
        let requests = emit_all(&[m], &Endpoints::new(), &[message]);
        assert_eq!(
            requests[0].body,
            r#"{"messages":[{"sourceId":5,"hsmId":10,"destinations":[{"dstNumber":"5493516723999","hsmParams":["José","$1.234,56","25/02/1977"]}]}]}"#
        );
    }

    /// The plan line embeds the body as a JSON object, not a string, and holds no secret.
    #[test]
    fn to_ndjson_embeds_body_as_object() {
        let m = mayten_sender("m", 5, Some("SECRET_TOKEN_VAR"), 500);
        let t = target("c", &m, Some(&hsm("h", 10)));
        let requests = emit_all(&[m], &Endpoints::new(), &[message(&t, "1", &["x"])]);
        let line = requests[0].to_ndjson();
        assert!(!line.contains('\n'));
        assert!(!line.contains("SECRET_TOKEN_VAR"));
        let line: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            line,
            json!({
                "sender": "m",
                "method": "POST",
                "url": "https://mayten.cloud/api/Integration/MessageWpp",
                "body": {"messages": [{"sourceId": 5, "hsmId": 10,
                    "destinations": [{"dstNumber": "1", "hsmParams": ["x"]}]}]}
            })
        );
        assert!(line["body"].is_object());
    }

    /// Same token but different `--endpoint` base URLs cannot share a request.
    #[test]
    fn same_token_different_endpoint_splits() {
        let a = mayten_sender("a", 5, Some("T"), 500);
        let b = mayten_sender("b", 6, Some("T"), 500);
        let h = hsm("h", 10);
        let endpoints = Endpoints::from([("b".to_string(), "http://mock".to_string())]);
        let messages = [
            message(&target("c", &a, Some(&h)), "1", &["x"]),
            message(&target("c", &b, Some(&h)), "2", &["x"]),
        ];
        let urls: Vec<String> = emit_all(&[a, b], &endpoints, &messages)
            .into_iter()
            .map(|r| r.url.to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "https://mayten.cloud/api/Integration/MessageWpp",
                "http://mock/api/Integration/MessageWpp",
            ]
        );
    }

    /// Messages the checker would reject are skipped, no panic, the batch left intact.
    #[test]
    fn unsendable_messages_are_skipped() {
        let m = mayten_sender("m", 5, Some("T"), 500);
        let no_source = Arc::new(Sender {
            source_id: None,
            ..(*mayten_sender("n", 5, Some("T"), 500)).clone()
        });
        let no_hsm = Arc::new(Template {
            mayten_hsm_id: None,
            ..(*hsm("h", 10)).clone()
        });
        let good = target("c", &m, Some(&hsm("h", 10)));
        let messages = [
            message(&target("c", &m, None), "1", &["x"]),
            message(&target("c", &m, Some(&no_hsm)), "2", &["x"]),
            message(&target("c", &no_source, Some(&hsm("h", 10))), "3", &["x"]),
            Message {
                content: Content::Text("hola".into()),
                ..message(&good, "4", &[])
            },
            message(&good, "5", &["x"]),
        ];
        let requests = emit_all(&[m, no_source], &Endpoints::new(), &messages);
        assert_eq!(requests.len(), 1);
        assert_eq!(layout(&requests[0]), [(5, 10, vec!["5".into()])]);
        assert_eq!(
            requests[0].json_of(&requests[0].recipients[0]),
            r#"{"dstNumber":"5","hsmParams":["x"]}"#
        );
        assert_eq!(
            requests[0].recipients,
            [Recipient {
                campaign: "c".into(),
                to: "5".into(),
                key: "5".into(),
                tracking_number: None,
                digest: crate::emit::digest(r#"{"dstNumber":"5","hsmParams":["x"]}"#),
                json: requests[0].recipients[0].json.clone(),
            }]
        );
    }
}
