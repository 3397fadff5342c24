//! Aldeamo: one request per message (`provider-docs/aldeamo-bsp-api.txt`).
//!
//! - Text: `POST {base}/v1/apikey/text/bsp/send`,
//!   `{"from","to","type":"text","recipient_type":"individual","text":{"body"}}`.
//! - Template: `POST {base}/v1/apikey/template/bsp/send`,
//!   `{"from","to","type":"template","template":{"namespace","language":{"policy":"deterministic","code"},"name","components":[..]}}`
//!   with a header component (when the message has a header parameter), a body component
//!   (when it has body parameters) and one button component per button parameter.
//!
//! Optional fields are left out, never `null`; `components` is left out when empty. The
//! bodies are serialised from borrowing structs, in the key order of the document's examples.

use std::sync::Arc;

use serde::Serialize;

use super::{Auth, ByName, Recipient, Request, push_json_string};
use crate::message::{BodyParam, ButtonParamKind, Content, HeaderParam, Message, TemplateContent};
use crate::model::{Provider, Sender, Template};

/// Aldeamo's request builder: remembers each sender's two URLs.
#[derive(Debug, Default)]
pub(crate) struct AldeamoEmitter {
    urls: ByName<Urls>,
}

/// A sender's endpoints and credentials, built once.
#[derive(Debug)]
struct Urls {
    text: Arc<str>,
    template: Arc<str>,
    auth: Arc<Auth>,
}

impl AldeamoEmitter {
    /// Remember a sender's URLs under `base`.
    pub(crate) fn register(&mut self, sender: &Sender, base: &str) {
        self.urls.insert(
            Arc::clone(&sender.name),
            Urls {
                text: Arc::from(format!("{base}/v1/apikey/text/bsp/send")),
                template: Arc::from(format!("{base}/v1/apikey/template/bsp/send")),
                auth: Arc::new(Auth::Aldeamo {
                    api_key: sender.api_key.clone(),
                    user_id: sender.user_id.clone(),
                }),
            },
        );
    }

    /// Whether a sender was registered.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.urls.contains_key(name)
    }

    /// Emit the message's request. Skipped when the checker's guarantees do not hold (the
    /// sender has no `from`, a template message has no template, the sender is unknown).
    /// `encoded` is the message's body when it was serialised ahead ([`body`]); the recipient
    /// gets its digest, and the whole body as its JSON.
    pub(crate) fn push(
        &mut self,
        message: &Message,
        encoded: Option<String>,
        mut recipient: Recipient,
        out: &mut dyn FnMut(Request),
    ) {
        let sender = &message.target.sender;
        let (Some(_), Some(urls)) = (sender.from.as_deref(), self.urls.get(&*sender.name)) else {
            return;
        };
        let url = match &message.content {
            Content::Text(_) => &urls.text,
            Content::Template(_) => &urls.template,
        };
        let body = match encoded {
            Some(encoded) => encoded,
            None => match body(message) {
                Some(body) => body,
                None => return,
            },
        };
        super::seal(&mut recipient, &body, 0..body.len());
        out(Request {
            sender: Arc::clone(&sender.name),
            provider: Provider::Aldeamo,
            method: "POST",
            url: Arc::clone(url),
            body,
            recipients: vec![recipient],
            auth: Arc::clone(&urls.auth),
        });
    }
}

/// The request body of a message; none when the checker's guarantees do not hold (no `from`,
/// a template message without a template).
pub(crate) fn body(message: &Message) -> Option<String> {
    let from = message.target.sender.from.as_deref()?;
    match &message.content {
        Content::Text(text) => serde_json::to_string(&TextBody {
            from,
            to: &message.to,
            kind: "text",
            recipient_type: "individual",
            text: TextObject { body: text },
        })
        .ok(),
        Content::Template(content) => {
            let template = message.target.template.as_deref()?;
            let mut out = super::buffer(1024);
            write_template_body(&mut out, from, &message.to, template, content);
            Some(out)
        }
    }
}

thread_local! {
    /// The fixed parts of the last campaign's template bodies written on this thread.
    static FIXED: std::cell::RefCell<Option<FixedParts>> = const { std::cell::RefCell::new(None) };
}

/// The parts of a template body that every message of a campaign shares, escaped once:
/// around the recipient's number and the language code.
struct FixedParts {
    from: String,
    namespace: Option<String>,
    template: String,
    /// `{"from":..,"to":`
    opening: String,
    /// `,"type":"template","template":{"namespace":..,"language":{"policy":"deterministic","code":`
    language: String,
    /// `},"name":..`
    name: String,
}

impl FixedParts {
    fn new(from: &str, namespace: Option<&str>, template: &str) -> FixedParts {
        let mut opening = String::from("{\"from\":");
        push_json_string(&mut opening, from);
        opening.push_str(",\"to\":");
        let mut language = String::from(",\"type\":\"template\",\"template\":{");
        if let Some(namespace) = namespace {
            language.push_str("\"namespace\":");
            push_json_string(&mut language, namespace);
            language.push(',');
        }
        language.push_str("\"language\":{\"policy\":\"deterministic\",\"code\":");
        let mut name = String::from("},\"name\":");
        push_json_string(&mut name, template);
        FixedParts {
            from: from.to_owned(),
            namespace: namespace.map(str::to_owned),
            template: template.to_owned(),
            opening,
            language,
            name,
        }
    }

    fn is_for(&self, from: &str, namespace: Option<&str>, template: &str) -> bool {
        self.from == from && self.namespace.as_deref() == namespace && self.template == template
    }
}

/// A template message's body, written directly: byte for byte what serialising
/// [`TemplateBody`] gives (tested), several times faster, since it runs for every recipient.
fn write_template_body(
    out: &mut String,
    from: &str,
    to: &str,
    template: &Template,
    content: &TemplateContent,
) {
    let namespace = template.aldeamo_namespace.as_deref();
    FIXED.with_borrow_mut(|fixed| {
        let fixed = match fixed {
            Some(f) if f.is_for(from, namespace, &template.aldeamo_name) => f,
            slot => slot.insert(FixedParts::new(from, namespace, &template.aldeamo_name)),
        };
        out.push_str(&fixed.opening);
        push_json_string(out, to);
        out.push_str(&fixed.language);
        push_json_string(out, &content.language);
        out.push_str(&fixed.name);
    });
    if content.header.is_some() || !content.body.is_empty() || !content.buttons.is_empty() {
        out.push_str(",\"components\":[");
        let mut separator = "";
        if let Some(header) = &content.header {
            out.push_str("{\"type\":\"header\",\"parameters\":[");
            write_header_parameter(out, header);
            out.push_str("]}");
            separator = ",";
        }
        if !content.body.is_empty() {
            out.push_str(separator);
            out.push_str("{\"type\":\"body\",\"parameters\":[");
            for (i, param) in content.body.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_body_parameter(out, param);
            }
            out.push_str("]}");
            separator = ",";
        }
        for button in &content.buttons {
            out.push_str(separator);
            let (sub_type, kind, value) = match &button.kind {
                ButtonParamKind::UrlSuffix(text) => ("url", "text", text),
                ButtonParamKind::Payload(payload) => ("quick_reply", "payload", payload),
            };
            out.push_str("{\"type\":\"button\",\"sub_type\":\"");
            out.push_str(sub_type);
            out.push_str("\",\"index\":\"");
            out.push_str(itoa::Buffer::new().format(button.index));
            out.push_str("\",\"parameters\":[{\"type\":\"");
            out.push_str(kind);
            out.push_str("\",\"");
            out.push_str(kind);
            out.push_str("\":");
            push_json_string(out, value);
            out.push_str("}]}");
            separator = ",";
        }
        out.push(']');
    }
    out.push_str("}}");
}

fn write_header_parameter(out: &mut String, header: &HeaderParam) {
    let (kind, link) = match header {
        HeaderParam::Text(text) => {
            out.push_str("{\"type\":\"text\",\"text\":");
            push_json_string(out, text);
            out.push('}');
            return;
        }
        HeaderParam::Image { link } => ("image", link),
        HeaderParam::Video { link } => ("video", link),
        HeaderParam::Document { link, .. } => ("document", link),
    };
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    out.push_str("\",\"");
    out.push_str(kind);
    out.push_str("\":{\"link\":");
    push_json_string(out, link);
    if let HeaderParam::Document {
        filename: Some(filename),
        ..
    } = header
    {
        out.push_str(",\"filename\":");
        push_json_string(out, filename);
    }
    out.push_str("}}");
}

fn write_body_parameter(out: &mut String, param: &BodyParam) {
    match param {
        BodyParam::Text(text) => {
            out.push_str("{\"type\":\"text\",\"text\":");
            push_json_string(out, text);
            out.push('}');
        }
        BodyParam::Currency {
            fallback,
            code,
            amount_1000,
        } => {
            out.push_str("{\"type\":\"currency\",\"currency\":{\"fallback_value\":");
            push_json_string(out, fallback);
            out.push_str(",\"code\":");
            push_json_string(out, code);
            out.push_str(",\"amount_1000\":");
            out.push_str(itoa::Buffer::new().format(*amount_1000));
            out.push_str("}}");
        }
        BodyParam::DateTime { fallback, value } => {
            out.push_str("{\"type\":\"date_time\",\"date_time\":{\"fallback_value\":");
            push_json_string(out, fallback);
            if let Some(v) = value {
                let mut field = |name: &str, n: i64| {
                    out.push_str(",\"");
                    out.push_str(name);
                    out.push_str("\":");
                    out.push_str(itoa::Buffer::new().format(n));
                };
                field("year", i64::from(v.year));
                field("month", i64::from(v.month));
                field("day_of_month", i64::from(v.day));
                field("day_of_week", i64::from(v.day_of_week));
                if let Some((hour, minute)) = v.time {
                    field("hour", i64::from(hour));
                    field("minute", i64::from(minute));
                }
            }
            out.push_str("}}");
        }
    }
}

#[derive(Serialize)]
struct TextBody<'a> {
    from: &'a str,
    to: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    recipient_type: &'static str,
    text: TextObject<'a>,
}

#[derive(Serialize)]
struct TextObject<'a> {
    body: &'a str,
}

/// The template body as serde structs, in the key order of the document's examples: the
/// reference [`write_template_body`] is tested against.
#[cfg(test)]
mod shape {
    use std::borrow::Cow;

    use serde::Serialize;

    use crate::message::{BodyParam, ButtonParamKind, HeaderParam, TemplateContent};

    /// A template message's body as serde writes it.
    pub(super) fn serialise(
        from: &str,
        to: &str,
        template: &crate::model::Template,
        content: &TemplateContent,
    ) -> String {
        serde_json::to_string(&TemplateBody {
            from,
            to,
            kind: "template",
            template: TemplateObject {
                namespace: template.aldeamo_namespace.as_deref(),
                language: Language {
                    policy: "deterministic",
                    code: &content.language,
                },
                name: &template.aldeamo_name,
                components: components(content),
            },
        })
        .unwrap_or_default()
    }

    /// A template message's components: header, body, then one per button parameter.
    fn components(content: &TemplateContent) -> Vec<Component<'_>> {
        let mut components = Vec::with_capacity(2 + content.buttons.len());
        if let Some(header) = &content.header {
            components.push(Component::Header {
                parameters: [header_parameter(header)],
            });
        }
        if !content.body.is_empty() {
            components.push(Component::Body {
                parameters: content.body.iter().map(body_parameter).collect(),
            });
        }
        for button in &content.buttons {
            let (sub_type, parameter) = match &button.kind {
                ButtonParamKind::UrlSuffix(text) => ("url", ButtonParameter::Text { text }),
                ButtonParamKind::Payload(payload) => {
                    ("quick_reply", ButtonParameter::Payload { payload })
                }
            };
            components.push(Component::Button {
                sub_type,
                index: index(button.index),
                parameters: [parameter],
            });
        }
        components
    }

    fn header_parameter(header: &HeaderParam) -> HeaderParameter<'_> {
        match header {
            HeaderParam::Text(text) => HeaderParameter::Text { text },
            HeaderParam::Image { link } => HeaderParameter::Image {
                image: Link { link },
            },
            HeaderParam::Video { link } => HeaderParameter::Video {
                video: Link { link },
            },
            HeaderParam::Document { link, filename } => HeaderParameter::Document {
                document: Document {
                    link,
                    filename: filename.as_deref(),
                },
            },
        }
    }

    fn body_parameter(param: &BodyParam) -> BodyParameter<'_> {
        match param {
            BodyParam::Text(text) => BodyParameter::Text { text },
            BodyParam::Currency {
                fallback,
                code,
                amount_1000,
            } => BodyParameter::Currency {
                currency: Currency {
                    fallback_value: fallback,
                    code,
                    amount_1000: *amount_1000,
                },
            },
            BodyParam::DateTime { fallback, value } => BodyParameter::DateTime {
                date_time: DateTime {
                    fallback_value: fallback,
                    year: value.map(|v| v.year),
                    month: value.map(|v| v.month),
                    day_of_month: value.map(|v| v.day),
                    day_of_week: value.map(|v| v.day_of_week),
                    hour: value.and_then(|v| v.time).map(|(hour, _)| hour),
                    minute: value.and_then(|v| v.time).map(|(_, minute)| minute),
                },
            },
        }
    }

    /// A button's position as the string Aldeamo expects (`"0"`), without allocating for 0-9.
    pub(super) fn index(index: usize) -> Cow<'static, str> {
        const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        match DIGITS.get(index) {
            Some(digit) => Cow::Borrowed(digit),
            None => Cow::Owned(index.to_string()),
        }
    }

    #[derive(Serialize)]
    struct TemplateBody<'a> {
        from: &'a str,
        to: &'a str,
        #[serde(rename = "type")]
        kind: &'static str,
        template: TemplateObject<'a>,
    }

    #[derive(Serialize)]
    struct TemplateObject<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<&'a str>,
        language: Language<'a>,
        name: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        components: Vec<Component<'a>>,
    }

    #[derive(Serialize)]
    struct Language<'a> {
        policy: &'static str,
        code: &'a str,
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Component<'a> {
        Header {
            parameters: [HeaderParameter<'a>; 1],
        },
        Body {
            parameters: Vec<BodyParameter<'a>>,
        },
        Button {
            sub_type: &'static str,
            index: Cow<'static, str>,
            parameters: [ButtonParameter<'a>; 1],
        },
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum HeaderParameter<'a> {
        Text { text: &'a str },
        Image { image: Link<'a> },
        Video { video: Link<'a> },
        Document { document: Document<'a> },
    }

    #[derive(Serialize)]
    struct Link<'a> {
        link: &'a str,
    }

    #[derive(Serialize)]
    struct Document<'a> {
        link: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<&'a str>,
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum BodyParameter<'a> {
        Text { text: &'a str },
        Currency { currency: Currency<'a> },
        DateTime { date_time: DateTime<'a> },
    }

    #[derive(Serialize)]
    struct Currency<'a> {
        fallback_value: &'a str,
        code: &'a str,
        amount_1000: i64,
    }

    /// The date fields are present when the value parsed as a date; hour and minute when it
    /// had a time.
    #[derive(Serialize)]
    struct DateTime<'a> {
        fallback_value: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        year: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        month: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        day_of_month: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        day_of_week: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hour: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        minute: Option<u8>,
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum ButtonParameter<'a> {
        Text { text: &'a str },
        Payload { payload: &'a str },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::fixtures::{aldeamo_sender, emit_all, message, pretty, target, template};
    use super::super::{Auth, Endpoints, Recipient, Request};
    use crate::message::{
        BodyParam, ButtonParam, ButtonParamKind, Content, HeaderParam, Message, TemplateContent,
    };
    use crate::model::{
        Environment, ParamType, SecretRef, Sender, Template, TemplateButton, TemplateHeader,
    };
    use crate::values::DateTimeValue;

    fn one(sender: Sender, message: impl FnOnce(&Arc<Sender>) -> Message) -> Request {
        let sender = Arc::new(sender);
        let message = message(&sender);
        let mut requests = emit_all(&[sender], &Endpoints::new(), &[message]);
        assert_eq!(requests.len(), 1);
        requests.remove(0)
    }

    fn with_content(message: Message, content: TemplateContent) -> Message {
        Message {
            content: Content::Template(content),
            ..message
        }
    }

    fn payment_reminder() -> Arc<Template> {
        Arc::new(Template {
            header: TemplateHeader::Image,
            params: vec![
                ParamType::Text,
                ParamType::Text,
                ParamType::Currency,
                ParamType::DateTime,
            ],
            buttons: vec![
                TemplateButton::Url {
                    url: "https://shop.example.com/o/{{1}}".into(),
                    variable: true,
                },
                TemplateButton::QuickReply,
            ],
            aldeamo_name: "payment_reminder_v2".into(),
            ..template("payment_reminder", 4)
        })
    }

    /// A text message is the document's text request, compact and UTF-8 unescaped.
    #[test]
    fn text_message() {
        let request = one(aldeamo_sender("aldeamo-co"), |sender| Message {
            content: Content::Text("¡Hola José! \"Pedido\" listo".into()),
            ..message(&target("promo", sender, None), "573137000000", &[])
        });
        insta::assert_snapshot!(request.to_ndjson());
        assert_eq!(
            &*request.url,
            "https://apitellitwatest.aldeamo.com/v1/apikey/text/bsp/send"
        );
    }

    /// Image header, text/currency/date_time body, url and quick-reply buttons, in order.
    #[test]
    fn template_with_header_body_and_buttons() {
        let request = one(aldeamo_sender("aldeamo-co"), |sender| {
            let base = message(
                &target("reminders", sender, Some(&payment_reminder())),
                "573137000000",
                &[],
            );
            with_content(
                base,
                TemplateContent {
                    language: "es".into(),
                    header: Some(HeaderParam::Image {
                        link: "https://cdn.example.com/promo.png".into(),
                    }),
                    body: vec![
                        BodyParam::Text("José".into()),
                        BodyParam::Text("A-1001".into()),
                        BodyParam::Currency {
                            fallback: "$100.99".into(),
                            code: "USD".into(),
                            amount_1000: 100_990,
                        },
                        BodyParam::DateTime {
                            fallback: "February 25, 1977".into(),
                            value: Some(DateTimeValue {
                                year: 1977,
                                month: 2,
                                day: 25,
                                day_of_week: 5,
                                time: Some((15, 33)),
                            }),
                        },
                    ],
                    buttons: vec![
                        ButtonParam {
                            index: 0,
                            kind: ButtonParamKind::UrlSuffix("A-1001".into()),
                        },
                        ButtonParam {
                            index: 1,
                            kind: ButtonParamKind::Payload("pay-A-1001".into()),
                        },
                    ],
                },
            )
        });
        insta::assert_snapshot!(pretty(&request.to_ndjson()));
        assert_eq!(
            &*request.url,
            "https://apitellitwatest.aldeamo.com/v1/apikey/template/bsp/send"
        );
    }

    /// A document header keeps its filename; date_time fields follow what was parsed.
    #[test]
    fn document_header_with_filename() {
        let request = one(aldeamo_sender("aldeamo-co"), |sender| {
            let document = Arc::new(Template {
                header: TemplateHeader::Document,
                params: vec![ParamType::DateTime, ParamType::DateTime],
                ..template("invoice", 2)
            });
            with_content(
                message(
                    &target("invoices", sender, Some(&document)),
                    "5215512345678",
                    &[],
                ),
                TemplateContent {
                    language: "es_MX".into(),
                    header: Some(HeaderParam::Document {
                        link: "https://cdn.example.com/f/123.pdf".into(),
                        filename: Some("Factura 123.pdf".into()),
                    }),
                    body: vec![
                        BodyParam::DateTime {
                            fallback: "21/11/2026".into(),
                            value: Some(DateTimeValue {
                                year: 2026,
                                month: 11,
                                day: 21,
                                day_of_week: 6,
                                time: None,
                            }),
                        },
                        BodyParam::DateTime {
                            fallback: "fin de mes".into(),
                            value: None,
                        },
                    ],
                    buttons: Vec::new(),
                },
            )
        });
        insta::assert_snapshot!(pretty(&request.to_ndjson()));
    }

    /// Text, video and filename-less document headers take the document's parameter shapes.
    #[test]
    fn other_header_kinds() {
        let cases = [
            (
                HeaderParam::Text("Aviso".into()),
                r#"{"type":"header","parameters":[{"type":"text","text":"Aviso"}]}"#,
            ),
            (
                HeaderParam::Video {
                    link: "https://v.example.com/a.mp4".into(),
                },
                r#"{"type":"header","parameters":[{"type":"video","video":{"link":"https://v.example.com/a.mp4"}}]}"#,
            ),
            (
                HeaderParam::Document {
                    link: "https://d.example.com/a.pdf".into(),
                    filename: None,
                },
                r#"{"type":"header","parameters":[{"type":"document","document":{"link":"https://d.example.com/a.pdf"}}]}"#,
            ),
        ];
        for (header, component) in cases {
            let request = one(aldeamo_sender("a"), |sender| {
                let base = message(
                    &target("c", sender, Some(&Arc::new(template("t", 0)))),
                    "1",
                    &[],
                );
                with_content(
                    base,
                    TemplateContent {
                        language: "es".into(),
                        header: Some(header),
                        body: Vec::new(),
                        buttons: Vec::new(),
                    },
                )
            });
            assert!(
                request
                    .body
                    .ends_with(&format!(r#""components":[{component}]}}}}"#)),
                "{}",
                request.body
            );
        }
    }

    /// A message with no parameters has no `components` key and no `null` anywhere.
    #[test]
    fn no_parameters_no_components() {
        let request = one(aldeamo_sender("aldeamo-co"), |sender| {
            message(
                &target("welcome", sender, Some(&Arc::new(template("welcome", 0)))),
                "573137000000",
                &[],
            )
        });
        insta::assert_snapshot!(request.to_ndjson());
        assert!(!request.body.contains("components"));
        assert!(!request.body.contains("null"));
    }

    /// The document's CallToAction example, byte for byte, with recipient and auth refs.
    #[test]
    fn call_to_action_example_and_metadata() {
        let sender = Sender {
            from: Some("573188XXXXX".into()),
            environment: Environment::Production,
            ..aldeamo_sender("aldeamo-co")
        };
        let request = one(sender, |sender| {
            let t = Arc::new(Template {
                aldeamo_name: "botones_accion_urldinamica".into(),
                ..template("botones", 1)
            });
            let base = message(&target("cta", sender, Some(&t)), "573137XXXXXX", &[]);
            with_content(
                base,
                TemplateContent {
                    language: "es".into(),
                    header: None,
                    body: vec![BodyParam::Text("William".into())],
                    buttons: vec![ButtonParam {
                        index: 0,
                        kind: ButtonParamKind::UrlSuffix("sms".into()),
                    }],
                },
            )
        });
        let document = r#"{
"from":"573188XXXXX",
"to": "573137XXXXXX",
"type": "template",
"template": {
"namespace": "f29c496f_9a16_408b_bff7_379e57d1c8d5",
"language": {
"policy": "deterministic",
"code": "es"
},
"name": "botones_accion_urldinamica",
"components": [
{
"type": "body",
"parameters": [
{
"type": "text",
"text": "William"
}
]
},
{
"type": "button",
"sub_type": "url",
"index": "0",
"parameters": [
{
"type": "text",
"text": "sms"
}
]
}
]
}
}"#;
        let compact: String = document.split_whitespace().collect();
        assert_eq!(request.body, compact);
        assert_eq!(
            &*request.url,
            "https://apitellitwa.aldeamo.com/v1/apikey/template/bsp/send"
        );
        assert_eq!(&*request.sender, "aldeamo-co");
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.recipients,
            [Recipient {
                campaign: "cta".into(),
                to: "573137XXXXXX".into(),
                key: "573137XXXXXX".into(),
                tracking_number: None,
                digest: crate::emit::digest(&request.body),
                json: 0..request.body.len(),
            }]
        );
        assert_eq!(
            *request.auth,
            Auth::Aldeamo {
                api_key: Some(SecretRef::Env("ALDEAMO_API_KEY".into())),
                user_id: Some(SecretRef::Env("ALDEAMO_USER_ID".into())),
            }
        );
        assert!(!request.to_ndjson().contains("ALDEAMO_API_KEY"));
    }

    /// Button indexes above 9 are still sent as strings.
    #[test]
    fn button_index_is_a_string() {
        assert_eq!(super::shape::index(3), "3");
        assert_eq!(super::shape::index(12), "12");
    }

    /// Messages the checker would reject (no template, no `from`) are skipped, no panic.
    #[test]
    fn unsendable_messages_are_skipped() {
        let a = Arc::new(aldeamo_sender("a"));
        let no_from = Arc::new(Sender {
            from: None,
            ..aldeamo_sender("b")
        });
        let t = Arc::new(template("t", 0));
        let messages = [
            message(&target("c", &a, None), "1", &["x"]),
            message(&target("c", &no_from, Some(&t)), "2", &[]),
        ];
        assert!(emit_all(&[a, no_from], &Endpoints::new(), &messages).is_empty());
    }

    /// The hand-written template body equals the serde one for every kind of header, body
    /// parameter and button, with and without a namespace, and with strings that need escaping.
    #[test]
    fn written_body_matches_serde() {
        use crate::message::{
            BodyParam, ButtonParam, ButtonParamKind, HeaderParam, TemplateContent,
        };
        use crate::values::DateTimeValue;
        let texts = ["", "Ana", "a\"b\\c\nd\u{1}e ñ 😀 \u{2028}", "ORD-1"];
        let headers = [
            None,
            Some(HeaderParam::Text("Hola \"x\"".into())),
            Some(HeaderParam::Image {
                link: "https://x/a.png".into(),
            }),
            Some(HeaderParam::Video {
                link: "https://x/a.mp4".into(),
            }),
            Some(HeaderParam::Document {
                link: "https://x/a.pdf".into(),
                filename: None,
            }),
            Some(HeaderParam::Document {
                link: "https://x/a.pdf".into(),
                filename: Some("f\"1.pdf".into()),
            }),
        ];
        let date = |time| DateTimeValue {
            year: 2026,
            month: 11,
            day: 21,
            day_of_week: 6,
            time,
        };
        let params = [
            BodyParam::Text("uno".into()),
            BodyParam::Currency {
                fallback: "$1.234,56".into(),
                code: "COP".into(),
                amount_1000: -1_234_560,
            },
            BodyParam::Currency {
                fallback: "x".into(),
                code: "USD".into(),
                amount_1000: i64::MAX,
            },
            BodyParam::DateTime {
                fallback: "21/11/2026".into(),
                value: None,
            },
            BodyParam::DateTime {
                fallback: "21/11/2026".into(),
                value: Some(date(None)),
            },
            BodyParam::DateTime {
                fallback: "21/11/2026 09:05".into(),
                value: Some(date(Some((9, 5)))),
            },
        ];
        let mut cases = 0;
        for namespace in [None, Some("ns_1".to_owned())] {
            let mut t = template("payment_reminder", 2);
            t.aldeamo_namespace = namespace.clone();
            for (h, header) in headers.iter().enumerate() {
                for n in 0..=params.len() {
                    for buttons in 0..4usize {
                        let text = texts[(h + n + buttons) % texts.len()];
                        let content = TemplateContent {
                            language: if n % 2 == 0 {
                                "es".into()
                            } else {
                                "en_US".into()
                            },
                            header: header.clone(),
                            body: params.iter().skip(n % 3).take(n).cloned().collect(),
                            buttons: (0..buttons)
                                .map(|i| ButtonParam {
                                    index: i * 5,
                                    kind: if i % 2 == 0 {
                                        ButtonParamKind::UrlSuffix(text.into())
                                    } else {
                                        ButtonParamKind::Payload(format!("p{i}"))
                                    },
                                })
                                .collect(),
                        };
                        let mut written = String::new();
                        super::write_template_body(
                            &mut written,
                            "573001112233",
                            text,
                            &t,
                            &content,
                        );
                        let expected = super::shape::serialise("573001112233", text, &t, &content);
                        assert_eq!(written, expected);
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 2 * 6 * 7 * 4);
    }
}
