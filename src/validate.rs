//! Validation: raw documents (schema-checked) into the typed [`Project`], every problem pushed
//! into the sink.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::check;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::load::{Document, Kind};
use crate::model::{
    BodyExpr, ButtonExpr, Campaign, DEFAULT_BATCH_SIZE, Environment, Expr, HeaderExpr, ParamType,
    Project, Provider, Rate, RecipientSource, SecretRef, Sender, Target, Template, TemplateButton,
    TemplateHeader,
};
use crate::raw::{
    ButtonType, EnvironmentName, HeaderType, Languages, ParamTypeName, ProviderName, RawBodyParam,
    RawButtonParam, RawCampaign, RawDateTime, RawSender, RawTemplate, SecretSource,
};

/// WhatsApp's template language codes.
pub const LANGUAGES: &[&str] = &[
    "af", "sq", "ar", "ar_EG", "ar_AE", "ar_LB", "ar_MA", "ar_QA", "ar_SA", "az", "bn", "bg", "ca",
    "zh_CN", "zh_HK", "zh_TW", "hr", "cs", "da", "nl", "en", "en_GB", "en_US", "en_AU", "en_CA",
    "en_IN", "et", "fil", "fi", "fr", "fr_CA", "fr_BE", "ka", "de", "el", "gu", "ha", "he", "hi",
    "hu", "id", "ga", "it", "ja", "kn", "kk", "rw_RW", "ko", "ky_KG", "lo", "lv", "lt", "mk", "ms",
    "ml", "mr", "nb", "fa", "pl", "pt_BR", "pt_PT", "pa", "ro", "ru", "sr", "sk", "sl", "es",
    "es_AR", "es_ES", "es_MX", "es_CL", "es_CO", "es_PE", "es_VE", "sw", "sv", "ta", "te", "th",
    "tr", "uk", "ur", "uz", "vi", "zu",
];

/// Whether `code` is one of [`LANGUAGES`]: a binary search of a sorted copy, for the check
/// made on every recipient.
pub fn is_language(code: &str) -> bool {
    static SORTED: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
        let mut sorted: Vec<u64> = LANGUAGES.iter().filter_map(|c| packed(c)).collect();
        sorted.sort_unstable();
        sorted
    });
    packed(code).is_some_and(|key| SORTED.binary_search(&key).is_ok())
}

/// A code of at most 8 bytes as one integer (distinct codes give distinct integers, since
/// none contains a NUL byte); none for a longer code, which no language has.
fn packed(code: &str) -> Option<u64> {
    let bytes = code.as_bytes();
    if bytes.len() > 8 || bytes.contains(&0) {
        return None;
    }
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    Some(u64::from_be_bytes(word))
}

/// Highest pacing WhatsApp allows a number (messages per second).
pub const MAX_RATE: f64 = 1000.0;

/// Validate all documents into a project.
pub fn validate(docs: &[Document], diags: &mut Diagnostics) -> Project {
    let mut by_kind: HashMap<Kind, Vec<(&Document, serde_json::Value)>> = HashMap::new();
    let mut names: HashMap<(Kind, String), &Document> = HashMap::new();
    for doc in docs {
        let Some(json) = crate::schema::validate(doc, diags) else {
            continue;
        };
        if let Some(name) = doc.name() {
            if let Some(first) = names.get(&(doc.kind, name.to_owned())) {
                diags.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        format!("there is already a {} named `{name}`", doc.kind.as_str()),
                    )
                    .at(doc.span_at("/name"))
                    .with_label(first.span_at("/name"), "first defined here")
                    .with_help("names are unique per kind: rename one of them"),
                );
                continue;
            }
            names.insert((doc.kind, name.to_owned()), doc);
        }
        by_kind.entry(doc.kind).or_default().push((doc, json));
    }
    let mut project = Project::default();
    for (doc, json) in by_kind.remove(&Kind::Sender).unwrap_or_default() {
        if let Some(raw) = typed::<RawSender>(doc, json, diags)
            && let Some(sender) = sender(doc, raw, diags)
        {
            project.senders.push(Arc::new(sender));
        }
    }
    for (doc, json) in by_kind.remove(&Kind::Template).unwrap_or_default() {
        if let Some(raw) = typed::<RawTemplate>(doc, json, diags)
            && let Some(template) = template(doc, raw, diags)
        {
            project.templates.push(Arc::new(template));
        }
    }
    for (doc, json) in by_kind.remove(&Kind::Campaign).unwrap_or_default() {
        if let Some(raw) = typed::<RawCampaign>(doc, json, diags)
            && let Some(campaign) = campaign(doc, raw, &project, diags)
        {
            project.campaigns.push(campaign);
        }
    }
    project
}

fn typed<T: DeserializeOwned>(
    doc: &Document,
    json: serde_json::Value,
    diags: &mut Diagnostics,
) -> Option<T> {
    match serde_json::from_value(json) {
        Ok(value) => Some(value),
        Err(err) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("this {} is not valid: {err}", doc.kind.as_str()),
                )
                .at(doc.span(doc.node.pos)),
            );
            None
        }
    }
}

fn secret(doc: &Document, source: Option<SecretSource>) -> Option<SecretRef> {
    let source = source?;
    if let Some(env) = source.env {
        return Some(SecretRef::Env(env));
    }
    source.file.map(|file| SecretRef::File(resolve(doc, &file)))
}

/// Resolve a path written in a YAML file against that file's folder.
pub fn resolve(doc: &Document, path: &str) -> PathBuf {
    let dir = doc.path.parent().unwrap_or(Path::new("."));
    dir.join(path)
}

/// Parse `N/s`, `N/m`, `N/h` into messages per second.
pub fn parse_rate(text: &str) -> Option<Rate> {
    let (n, unit) = text.split_once('/')?;
    let n: f64 = n.trim().parse().ok()?;
    let per = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(Rate(n / per))
}

fn sender(doc: &Document, raw: RawSender, diags: &mut Diagnostics) -> Option<Sender> {
    let provider = match raw.provider {
        ProviderName::Aldeamo => Provider::Aldeamo,
        ProviderName::Mayten => Provider::Mayten,
    };
    let mut ok = true;
    type Present<'a> = &'a [(&'a str, bool)];
    type Required<'a> = &'a [(&'a str, bool, &'a str)];
    let (wrong, missing): (Present, Required) = match provider {
        Provider::Aldeamo => (
            &[
                ("token", raw.token.is_some()),
                ("source_id", raw.source_id.is_some()),
                ("batch_size", raw.batch_size.is_some()),
            ],
            &[
                ("from", raw.from.is_some(), "from: \"573001112233\""),
                (
                    "api_key",
                    raw.api_key.is_some(),
                    "api_key: { env: ALDEAMO_API_KEY }",
                ),
                (
                    "user_id",
                    raw.user_id.is_some(),
                    "user_id: { env: ALDEAMO_USER_ID }",
                ),
            ],
        ),
        Provider::Mayten => (
            &[
                ("from", raw.from.is_some()),
                ("api_key", raw.api_key.is_some()),
                ("user_id", raw.user_id.is_some()),
            ],
            &[
                ("source_id", raw.source_id.is_some(), "source_id: 5"),
                ("token", raw.token.is_some(), "token: { env: MAYTEN_TOKEN }"),
            ],
        ),
    };
    for (field, present) in wrong {
        if *present {
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::ProviderMismatch,
                    format!(
                        "`{field}` is not a setting of {} senders",
                        provider.as_str()
                    ),
                )
                .at(doc.key_span_at(&format!("/{field}")))
                .with_label(doc.span_at("/provider"), "the provider is set here")
                .with_help(format!(
                    "remove `{field}`, or check the sender's `provider`"
                )),
            );
        }
    }
    for (field, present, example) in missing {
        if !*present {
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::MissingField,
                    format!("a {} sender needs `{field}`", provider.as_str()),
                )
                .at(doc.key_span_at("/provider"))
                .with_help(format!("add `{example}`")),
            );
        }
    }
    let from = match raw.from {
        Some(from) => match crate::phone::normalize(&from, None) {
            Ok(phone) => Some(phone.digits),
            Err(err) => {
                ok = false;
                diags.push(
                    Diagnostic::new(
                        Code::InvalidPhone,
                        format!("the sender's `from` is not a valid number: {}", err.message),
                    )
                    .at(doc.span_at("/from"))
                    .with_help_opt(err.help),
                );
                None
            }
        },
        None => None,
    };
    let rate = match raw.rate.as_deref() {
        Some(text) => {
            match parse_rate(text) {
                Some(rate) if rate.0 <= MAX_RATE => Some(rate),
                Some(_) => {
                    ok = false;
                    diags.push(
                    Diagnostic::new(Code::InvalidRate, format!("`{text}` is above WhatsApp's ceiling of 1000 messages per second per number"))
                        .at(doc.span_at("/rate"))
                        .with_help("WhatsApp allows 80/s by default and 1000/s at most; use e.g. `80/s`"),
                );
                    None
                }
                None => {
                    ok = false;
                    diags.push(
                    Diagnostic::new(Code::InvalidRate, format!("`{text}` is not a rate"))
                        .at(doc.span_at("/rate"))
                        .with_help("write a positive number per second, minute or hour: `20/s`, `600/m`"),
                );
                    None
                }
            }
        }
        None => None,
    };
    // Mayten documents one host, its production one: a Mayten sender always sends for real.
    let environment = match (provider, raw.environment) {
        (_, Some(EnvironmentName::Production)) | (Provider::Mayten, None) => {
            Environment::Production
        }
        (Provider::Aldeamo, _) => Environment::Test,
        (Provider::Mayten, Some(EnvironmentName::Test)) => {
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::NoTestHost,
                    "Mayten documents no test host: every send of a Mayten sender is real",
                )
                .at(doc.span_at("/environment"))
                .with_label(doc.span_at("/provider"), "the provider is set here")
                .with_help(format!(
                    "remove `environment: test`, and try the campaign against the sandbox instead: run `waform sandbox`, then `waform apply --endpoint {}=http://127.0.0.1:8787`",
                    raw.name
                )),
            );
            Environment::Test
        }
    };
    let name: Arc<str> = raw.name.into();
    let sender = Sender {
        name,
        provider,
        environment,
        from,
        api_key: secret(doc, raw.api_key),
        user_id: secret(doc, raw.user_id),
        token: secret(doc, raw.token),
        source_id: raw.source_id,
        batch_size: raw.batch_size.map_or(DEFAULT_BATCH_SIZE, |b| b as usize),
        rate,
        span: doc.span_at("/name"),
    };
    ok.then_some(sender)
}

/// The numbers of the `{{n}}` placeholders in a template text, in order of appearance, with
/// their byte offsets.
pub fn placeholders(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        if let Ok(n) = after[..end].trim().parse::<usize>() {
            out.push((n, base + start));
        }
        base += start + 2 + end + 2;
        rest = &after[end + 2..];
    }
    out
}

fn template(doc: &Document, raw: RawTemplate, diags: &mut Diagnostics) -> Option<Template> {
    let mut ok = true;
    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= 512
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        ok = false;
        let suggestion: String = raw
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        diags.push(
            Diagnostic::new(
                Code::InvalidTemplateName,
                format!("`{}` is not a valid WhatsApp template name", raw.name),
            )
            .at(doc.span_at("/name"))
            .with_help(format!(
                "template names use lowercase letters, digits and `_` only (at most 512), e.g. `{suggestion}`"
            )),
        );
    }
    let languages = match raw.language {
        Languages::One(l) => vec![l],
        Languages::Many(l) => l,
    };
    if languages.is_empty() {
        ok = false;
        diags.push(
            Diagnostic::new(Code::InvalidLanguage, "the template lists no language")
                .at(doc.span_at("/language"))
                .with_help("write the code it is approved in, e.g. `language: es`"),
        );
    }
    for (i, language) in languages.iter().enumerate() {
        if !is_language(language) {
            ok = false;
            let pointer = if doc.node.pointer("/language/0").is_some() {
                format!("/language/{i}")
            } else {
                "/language".to_owned()
            };
            diags.push(check::language_unknown(language, doc.span_at(&pointer)));
        }
    }
    let found = placeholders(&raw.body);
    let count = found.len();
    for (i, (n, offset)) in found.iter().enumerate() {
        if *n != i + 1 {
            ok = false;
            let body_span = body_text_span(doc, "/body", *offset, &raw.body);
            diags.push(
                Diagnostic::new(
                    Code::InvalidTemplate,
                    format!(
                        "placeholder `{{{{{n}}}}}` is out of order: expected `{{{{{}}}}}`",
                        i + 1
                    ),
                )
                .at(body_span)
                .with_help(
                    "WhatsApp placeholders are numbered {{1}}, {{2}}, ... in order of appearance",
                ),
            );
            break;
        }
    }
    if raw.body.chars().count() > 1024 {
        ok = false;
        diags.push(
            Diagnostic::new(
                Code::InvalidTemplate,
                "the template body is longer than 1024 characters",
            )
            .at(doc.span_at("/body"))
            .with_help("WhatsApp template bodies hold at most 1024 characters"),
        );
    }
    let params: Vec<ParamType> = match raw.params {
        Some(list) => {
            if list.len() != count {
                ok = false;
                diags.push(
                    Diagnostic::new(
                        Code::InvalidTemplate,
                        format!(
                            "`params` lists {} types but the body has {count} placeholders",
                            list.len()
                        ),
                    )
                    .at(doc.span_at("/params"))
                    .with_label(doc.span_at("/body"), format!("{count} placeholders"))
                    .with_help("give one type per placeholder, in order"),
                );
            }
            list.into_iter()
                .map(|p| match p {
                    ParamTypeName::Text => ParamType::Text,
                    ParamTypeName::Currency => ParamType::Currency,
                    ParamTypeName::DateTime => ParamType::DateTime,
                })
                .collect()
        }
        None => vec![ParamType::Text; count],
    };
    let header = match raw.header {
        None => TemplateHeader::None,
        Some(h) => match h.kind {
            HeaderType::None => TemplateHeader::None,
            HeaderType::Image => TemplateHeader::Image,
            HeaderType::Video => TemplateHeader::Video,
            HeaderType::Document => TemplateHeader::Document,
            HeaderType::Text => {
                let text = h.text.unwrap_or_default();
                let variables = placeholders(&text).len();
                if text.is_empty() {
                    ok = false;
                    diags.push(
                        Diagnostic::new(Code::InvalidTemplate, "a text header needs its `text`")
                            .at(doc.key_span_at("/header"))
                            .with_help("add `text: \"Aviso {{1}}\"` to the header"),
                    );
                }
                if text.chars().count() > 60 || variables > 1 {
                    ok = false;
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidTemplate,
                            "a text header holds at most 60 characters and one variable",
                        )
                        .at(doc.span_at("/header/text"))
                        .with_help("shorten the header; move other variables to the body"),
                    );
                }
                TemplateHeader::Text { text, variables }
            }
        },
    };
    let raw_buttons = raw.buttons.unwrap_or_default();
    if raw_buttons.len() > 10 {
        ok = false;
        diags.push(
            Diagnostic::new(
                Code::InvalidTemplate,
                format!(
                    "{} buttons; WhatsApp templates have at most 10",
                    raw_buttons.len()
                ),
            )
            .at(doc.key_span_at("/buttons")),
        );
    }
    let mut buttons = Vec::new();
    for (i, b) in raw_buttons.into_iter().enumerate() {
        buttons.push(match b.kind {
            ButtonType::Url => {
                let url = b.url.unwrap_or_default();
                let vars = placeholders(&url);
                let variable = !vars.is_empty();
                if url.is_empty()
                    || (variable && (vars.len() > 1 || !url.trim_end().ends_with("}}")))
                {
                    ok = false;
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidTemplate,
                            "a URL button needs a `url`, with at most one `{{1}}` at its very end",
                        )
                        .at(doc.span_at(&format!("/buttons/{i}")))
                        .with_help("write e.g. `url: \"https://shop.example.com/o/{{1}}\"`"),
                    );
                }
                TemplateButton::Url { url, variable }
            }
            ButtonType::QuickReply => TemplateButton::QuickReply,
            ButtonType::PhoneNumber => TemplateButton::PhoneNumber,
            ButtonType::CopyCode => TemplateButton::CopyCode,
        });
    }
    let providers = raw.providers;
    let aldeamo = providers.as_ref().and_then(|p| p.aldeamo.as_ref());
    let name: Arc<str> = raw.name.into();
    let template = Template {
        aldeamo_namespace: aldeamo
            .and_then(|a| a.namespace.clone())
            .filter(|n| !n.trim().is_empty()),
        aldeamo_name: aldeamo
            .and_then(|a| a.name.clone())
            .map_or_else(|| name.clone(), Arc::from),
        mayten_hsm_id: providers
            .as_ref()
            .and_then(|p| p.mayten.as_ref())
            .and_then(|m| m.hsm_id),
        name,
        languages,
        header,
        body: raw.body,
        params,
        buttons,
        span: doc.span_at("/name"),
    };
    ok.then_some(template)
}

/// The span of a byte range inside a plain or quoted YAML string scalar, when it can be found.
fn body_text_span(doc: &Document, pointer: &str, offset: usize, value: &str) -> Span {
    let node_span = doc.span_at(pointer);
    let raw = doc.text.get(node_span.offset..).unwrap_or("");
    let needle = value.get(offset..).unwrap_or("");
    let needle = needle
        .get(..needle.find("}}").map_or(needle.len(), |i| i + 2))
        .unwrap_or(needle);
    match raw.find(needle) {
        Some(found) if !needle.is_empty() => {
            Span::in_source(doc.file, &doc.text, node_span.offset + found, needle.len())
        }
        _ => node_span,
    }
}

fn expr(doc: &Document, pointer: &str, source: String) -> Expr {
    Expr {
        span: doc.span_at(pointer),
        source,
    }
}

fn campaign(
    doc: &Document,
    raw: RawCampaign,
    project: &Project,
    diags: &mut Diagnostics,
) -> Option<Campaign> {
    let mut ok = true;
    let sender = project
        .senders
        .iter()
        .find(|s| *s.name == *raw.sender)
        .cloned();
    if sender.is_none() {
        ok = false;
        diags.push(unknown_reference(
            doc,
            "/sender",
            "sender",
            &raw.sender,
            project.senders.iter().map(|s| &*s.name),
        ));
    }
    let template = match &raw.template {
        Some(name) => {
            let found = project
                .templates
                .iter()
                .find(|t| *t.name == **name)
                .cloned();
            if found.is_none() {
                ok = false;
                diags.push(unknown_reference(
                    doc,
                    "/template",
                    "template",
                    name,
                    project.templates.iter().map(|t| &*t.name),
                ));
            }
            found
        }
        None => None,
    };
    match (&raw.template, &raw.text) {
        (Some(_), Some(_)) => {
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    "a campaign sends either a `template` or a `text`, not both",
                )
                .at(doc.key_span_at("/text"))
                .with_label(doc.key_span_at("/template"), "template given here")
                .with_help(
                    "remove `text` to send the template, or `template` to send a text message",
                ),
            );
        }
        (None, None) => {
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::MissingField,
                    "the campaign names no `template` (or `text`)",
                )
                .at(doc.key_span_at("/name"))
                .with_help("add `template: NAME` with the name of a Template document"),
            );
        }
        _ => {}
    }
    let recipients_span = doc.key_span_at("/recipients");
    let recipients = if let Some(inline) = raw.recipients.inline {
        RecipientSource::Inline(
            inline
                .into_iter()
                .enumerate()
                .map(|(i, map)| {
                    (
                        map.into_iter().collect(),
                        doc.span_at(&format!("/recipients/inline/{i}")),
                    )
                })
                .collect(),
        )
    } else if let Some(csv) = raw.recipients.csv.as_deref() {
        match data_path(doc, "/recipients/csv", csv, diags) {
            Some(path) => RecipientSource::Csv {
                shown: crate::load::display_path(&path),
                path,
            },
            None => {
                ok = false;
                RecipientSource::Inline(Vec::new())
            }
        }
    } else if let Some(ndjson) = raw.recipients.ndjson.as_deref() {
        match data_path(doc, "/recipients/ndjson", ndjson, diags) {
            Some(path) => RecipientSource::Ndjson {
                shown: crate::load::display_path(&path),
                path,
            },
            None => {
                ok = false;
                RecipientSource::Inline(Vec::new())
            }
        }
    } else {
        RecipientSource::Inline(Vec::new())
    };
    let header = raw.header.map(|h| {
        if let Some(t) = h.text {
            HeaderExpr::Text(expr(doc, "/header/text", t))
        } else if let Some(i) = h.image {
            HeaderExpr::Image(expr(doc, "/header/image", i))
        } else if let Some(v) = h.video {
            HeaderExpr::Video(expr(doc, "/header/video", v))
        } else {
            HeaderExpr::Document(
                expr(doc, "/header/document", h.document.unwrap_or_default()),
                h.filename.map(|f| expr(doc, "/header/filename", f)),
            )
        }
    });
    let body: Vec<BodyExpr> = raw
        .body
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("/body/{i}");
            match p {
                RawBodyParam::Text(t) => BodyExpr::Text(expr(doc, &at, t)),
                RawBodyParam::TextObject(t) => {
                    BodyExpr::Text(expr(doc, &format!("{at}/text"), t.text))
                }
                RawBodyParam::Currency(c) => BodyExpr::Currency {
                    amount: expr(doc, &format!("{at}/currency/amount"), c.currency.amount),
                    code: expr(doc, &format!("{at}/currency/code"), c.currency.code),
                    fallback: c
                        .currency
                        .fallback
                        .map(|f| expr(doc, &format!("{at}/currency/fallback"), f)),
                    span: doc.span_at(&at),
                },
                RawBodyParam::DateTime(d) => match d.date_time {
                    RawDateTime::Value(v) => BodyExpr::DateTime {
                        value: expr(doc, &format!("{at}/date_time"), v),
                        fallback: None,
                        span: doc.span_at(&at),
                    },
                    RawDateTime::Object(o) => BodyExpr::DateTime {
                        value: expr(doc, &format!("{at}/date_time/value"), o.value),
                        fallback: o
                            .fallback
                            .map(|f| expr(doc, &format!("{at}/date_time/fallback"), f)),
                        span: doc.span_at(&at),
                    },
                },
            }
        })
        .collect();
    let button_params: Vec<ButtonExpr> = raw
        .buttons
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, b)| match b {
            RawButtonParam::Suffix(s) => ButtonExpr::Url(expr(doc, &format!("/buttons/{i}"), s)),
            RawButtonParam::Url(u) => {
                ButtonExpr::Url(expr(doc, &format!("/buttons/{i}/url"), u.url))
            }
            RawButtonParam::Payload(p) => {
                ButtonExpr::Payload(expr(doc, &format!("/buttons/{i}/payload"), p.payload))
            }
        })
        .collect();
    let to = match raw.to {
        Some(to) => expr(doc, "/to", to),
        None => Expr {
            source: "{{ phone }}".to_owned(),
            span: doc.key_span_at("/recipients"),
        },
    };
    let language = raw.language.map(|l| expr(doc, "/language", l));
    let exprs = |list: Option<Vec<String>>, field: &str| -> Vec<Expr> {
        list.unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, s)| expr(doc, &format!("/{field}/{i}"), s))
            .collect()
    };
    let mut campaign = Campaign {
        target: Arc::new(Target {
            campaign: raw.name.into(),
            sender: sender.clone()?,
            template: template.clone(),
        }),
        span: doc.span_at("/name"),
        recipients,
        recipients_span,
        to,
        key: raw.key.map(|k| expr(doc, "/key", k)),
        where_: raw.where_.map(|w| expr(doc, "/where", w)),
        language,
        default_country: raw.default_country,
        text: raw.text.map(|t| expr(doc, "/text", t)),
        header,
        body,
        buttons: Vec::new(),
        vars: serde_json::Value::Object(raw.vars.unwrap_or_default().into_iter().collect()),
        tracking_number: raw
            .tracking_number
            .map(|t| expr(doc, "/tracking_number", t)),
        internal_params: exprs(raw.internal_params, "internal_params"),
        chat_params: exprs(raw.chat_params, "chat_params"),
    };
    ok &= check::campaign_fits(doc, &mut campaign, button_params, diags);
    if !ok {
        return None;
    }
    Some(campaign)
}

fn unknown_reference<'a>(
    doc: &Document,
    pointer: &str,
    what: &str,
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Diagnostic {
    let candidates: Vec<&str> = candidates.collect();
    let help = match did_you_mean(name, candidates.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if candidates.is_empty() => format!(
            "no {what} is defined in the files given; add a `kind: {}` document",
            capitalise(what)
        ),
        None => format!(
            "the {what}s defined are {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Diagnostic::new(Code::UnknownReference, format!("no {what} named `{name}`"))
        .at(doc.span_at(pointer))
        .with_help(help)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Whether `path`, with `.` and `..` resolved by name (the file may not exist), is inside `root`.
fn lexically_inside(path: &Path, root: &Path) -> bool {
    use std::path::Component;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut parts: Vec<Component> = Vec::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(parts.last(), Some(Component::Normal(_))) {
                    parts.pop();
                }
            }
            other => parts.push(other),
        }
    }
    let normal: PathBuf = parts.iter().collect();
    let mut dir = normal.clone();
    // The deepest existing ancestor decides (symlinked folders resolve to where they point).
    while !dir.exists() {
        if !dir.pop() {
            break;
        }
    }
    let rest = normal
        .strip_prefix(&dir)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let real = dir.canonicalize().unwrap_or(dir).join(rest);
    real.starts_with(root)
}

/// Resolve a data path and check that it stays inside the project folder.
fn data_path(
    doc: &Document,
    pointer: &str,
    path: &str,
    diags: &mut Diagnostics,
) -> Option<PathBuf> {
    let resolved = resolve(doc, path);
    let span = doc.span_at(pointer);
    let root = doc.root.canonicalize().unwrap_or_else(|_| doc.root.clone());
    let lexical = lexically_inside(&resolved, &root);
    match resolved.canonicalize().map_err(|e| (e, lexical)) {
        Ok(real) if real.starts_with(&root) => Some(resolved),
        Ok(_) | Err((_, false)) => {
            diags.push(
                Diagnostic::new(Code::DataError, format!("`{path}` is outside the project folder"))
                    .at(span)
                    .with_help(format!(
                        "data files must be inside `{}` (the folder waform was given); copy the file into the project",
                        crate::load::display_path(&doc.root)
                    )),
            );
            None
        }
        Err((err, true)) => {
            diags.push(
                Diagnostic::new(Code::DataError, format!("cannot open `{path}`: {err}"))
                    .at(span)
                    .with_help(format!(
                        "the path is resolved against the folder of this YAML file: `{}`",
                        crate::load::display_path(&resolved)
                    )),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Mayten sender is production with no `environment` or with `production`, and an
    /// error (`no-test-host`, nothing validated) with `test`; Aldeamo keeps test by default.
    #[test]
    fn mayten_senders_are_production() {
        let environment = |provider: &str, line: &str| {
            let dir = tempfile::tempdir().expect("tempdir");
            let fields = match provider {
                "mayten" => "source_id: 5\ntoken: { env: T }\n",
                _ => "from: \"573001112233\"\napi_key: { env: K }\nuser_id: { env: U }\n",
            };
            let yaml = format!("kind: Sender\nname: s\nprovider: {provider}\n{line}{fields}");
            std::fs::write(dir.path().join("s.yaml"), yaml).expect("write");
            let mut sources = crate::diagnostics::Sources::default();
            let mut diags = Diagnostics::new();
            let loaded =
                crate::compile::load(&[dir.path().to_path_buf()], &mut sources, &mut diags);
            let codes: Vec<Code> = diags.sorted().iter().map(|d| d.code).collect();
            let env = loaded.project.senders.first().map(|s| s.environment);
            (env, codes)
        };
        let production = (Some(Environment::Production), Vec::new());
        assert_eq!(environment("mayten", ""), production);
        assert_eq!(
            environment("mayten", "environment: production\n"),
            production
        );
        assert_eq!(
            environment("mayten", "environment: test\n"),
            (None, vec![Code::NoTestHost])
        );
        assert_eq!(
            environment("aldeamo", ""),
            (Some(Environment::Test), Vec::new())
        );
        assert_eq!(
            environment("aldeamo", "environment: production\n"),
            production
        );
    }

    /// The sorted lookup accepts exactly the listed language codes.
    #[test]
    fn is_language_matches_the_list() {
        for code in LANGUAGES {
            assert!(is_language(code), "{code}");
        }
        for code in [
            "",
            "EN",
            "es_XX",
            "xx",
            "en_us",
            "es ",
            "zz",
            "en\0",
            "es\0\0",
            "en_US_POSIX",
        ] {
            assert_eq!(is_language(code), LANGUAGES.contains(&code), "{code}");
        }
    }
}
