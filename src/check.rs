//! The offline rules of WhatsApp and the providers: the campaign against its template and
//! provider (once), and every rendered value (per recipient).

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Span};
use crate::load::Document;
use crate::model::{
    ButtonExpr, Campaign, HeaderExpr, ParamType, Provider, TemplateButton, TemplateHeader,
};

/// Check a campaign against its template and provider; assign its button parameters to the
/// template's buttons. Returns false when it cannot be compiled.
pub fn campaign_fits(
    doc: &Document,
    campaign: &mut Campaign,
    button_params: Vec<ButtonExpr>,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    let target = campaign.target.clone();
    let sender = &target.sender;
    let provider = sender.provider;
    let mut push = |d: Diagnostic, diags: &mut Diagnostics| {
        ok = false;
        diags.push(d);
    };
    match provider {
        Provider::Mayten => {
            if campaign.text.is_some() {
                push(
                    Diagnostic::new(Code::ProviderMismatch, "Mayten cannot send a text message: it sends approved templates (HSM) only")
                        .at(doc.key_span_at("/text"))
                        .with_label(sender.span, "this sender is a Mayten account")
                        .with_help("send a template through Mayten, or use an Aldeamo sender for text messages"),
                    diags,
                );
            }
        }
        Provider::Aldeamo => {
            for field in ["tracking_number", "internal_params", "chat_params"] {
                if doc.node.get(field).is_some() {
                    push(
                        Diagnostic::new(
                            Code::ProviderMismatch,
                            format!("`{field}` is a Mayten field; Aldeamo has no such parameter"),
                        )
                        .at(doc.key_span_at(&format!("/{field}")))
                        .with_label(sender.span, "this sender is an Aldeamo account")
                        .with_help(format!("remove `{field}`, or send through a Mayten sender")),
                        diags,
                    );
                }
            }
        }
    }
    if let Some(text) = &campaign.text {
        for field in ["header", "body", "buttons", "language"] {
            if doc.node.get(field).is_some() {
                push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("a text campaign has no `{field}`"),
                    )
                    .at(doc.key_span_at(&format!("/{field}")))
                    .with_label(text.span, "the campaign sends this text")
                    .with_help(format!(
                        "remove `{field}`, or send a template instead of `text`"
                    )),
                    diags,
                );
            }
        }
        return ok;
    }
    let Some(template) = target.template.clone() else {
        return false;
    };
    let template_label = template.span;
    match provider {
        Provider::Aldeamo if template.aldeamo_namespace.is_none() => push(
            Diagnostic::new(
                Code::MissingProviderConfig,
                format!(
                    "template `{}` has no Aldeamo namespace, which Aldeamo requires",
                    template.name
                ),
            )
            .at(doc.span_at("/template"))
            .with_label(template_label, "template defined here")
            .with_help(
                "add `providers: { aldeamo: { namespace: YOUR_NAMESPACE } }` to the template",
            ),
            diags,
        ),
        Provider::Mayten if template.mayten_hsm_id.is_none() => push(
            Diagnostic::new(
                Code::MissingProviderConfig,
                format!(
                    "template `{}` has no Mayten `hsm_id`, which Mayten requires",
                    template.name
                ),
            )
            .at(doc.span_at("/template"))
            .with_label(template_label, "template defined here")
            .with_help("add `providers: { mayten: { hsm_id: N } }` to the template"),
            diags,
        ),
        _ => {}
    }
    if let Some(language) = &campaign.language
        && !language.source.contains("{{")
        && !language.source.contains("{%")
    {
        let code = language.source.trim();
        if !crate::validate::is_language(code) {
            push(language_unknown(code, language.span), diags);
        } else if !template.languages.iter().any(|l| l == code) {
            push(
                    Diagnostic::new(
                        Code::InvalidLanguage,
                        format!("template `{}` is not approved in `{code}`", template.name),
                    )
                    .at(language.span)
                    .with_label(template_label, format!("approved in {}", template.languages.join(", ")))
                    .with_help("WhatsApp matches the language exactly (`es` is not `es_AR`): use one the template is approved in"),
                    diags,
                );
        }
    }
    // Body parameters: count and types.
    let expected = template.params.len();
    let given = campaign.body.len();
    if given != expected {
        let span = if doc.node.get("body").is_some() {
            doc.key_span_at("/body")
        } else {
            doc.key_span_at("/template")
        };
        push(
            Diagnostic::new(
                Code::ParamCount,
                format!(
                    "template `{}` has {expected} body placeholder{}, but the campaign gives {given} body parameter{}",
                    template.name,
                    plural(expected),
                    plural(given)
                ),
            )
            .at(span)
            .with_span_label(format!("{given} given"))
            .with_label(template_label, format!("body: {}", truncate(&template.body, 60)))
            .with_help("give exactly one parameter per placeholder, in order: WhatsApp rejects the message otherwise (error 132000)"),
            diags,
        );
    }
    for (i, (param, want)) in campaign.body.iter().zip(template.params.iter()).enumerate() {
        let have = param.param_type();
        if have != *want {
            let how = match want {
                ParamType::Text => "\"{{ field }}\"".to_owned(),
                ParamType::Currency => {
                    "currency: { amount: \"{{ amount }}\", code: \"{{ currency }}\" }".to_owned()
                }
                ParamType::DateTime => "date_time: \"{{ date }}\"".to_owned(),
            };
            push(
                Diagnostic::new(
                    Code::ParamType,
                    format!(
                        "body parameter {} is {} but the template declares {{{{{}}}}} as {}",
                        i + 1,
                        have.as_str(),
                        i + 1,
                        want.as_str()
                    ),
                )
                .at(param.span())
                .with_label(template_label, "template defined here")
                .with_help(format!("write it as `{how}`")),
                diags,
            );
        }
    }
    if provider == Provider::Mayten {
        for field in ["header", "buttons"] {
            if doc.node.get(field).is_some() {
                push(
                    Diagnostic::new(
                        Code::ProviderMismatch,
                        format!("Mayten takes only the body parameters (`hsmParams`); `{field}` would not be sent"),
                    )
                    .at(doc.key_span_at(&format!("/{field}")))
                    .with_label(sender.span, "this sender is a Mayten account")
                    .with_help(format!("remove `{field}`: Mayten fills the template's header and buttons as approved")),
                    diags,
                );
            }
        }
        return ok;
    }
    // Header.
    let header_span = doc.key_span_at("/header");
    match (&template.header, &campaign.header) {
        (TemplateHeader::Image, Some(HeaderExpr::Image(_)))
        | (TemplateHeader::Video, Some(HeaderExpr::Video(_)))
        | (TemplateHeader::Document, Some(HeaderExpr::Document(..)))
        | (TemplateHeader::None, None) => {}
        (TemplateHeader::Text { variables: 1, .. }, Some(HeaderExpr::Text(_))) => {}
        (TemplateHeader::Text { variables: 0, .. }, None) => {}
        (wanted, given) => {
            let needs = match wanted {
                TemplateHeader::None | TemplateHeader::Text { variables: 0, .. } => None,
                TemplateHeader::Text { .. } => Some("header: { text: \"{{ field }}\" }"),
                TemplateHeader::Image => Some("header: { image: \"https://...\" }"),
                TemplateHeader::Video => Some("header: { video: \"https://...\" }"),
                TemplateHeader::Document => Some("header: { document: \"https://...pdf\" }"),
            };
            let message = match (needs, given) {
                (Some(_), None) => format!(
                    "template `{}` has {} header, but the campaign gives no header parameter",
                    template.name,
                    article(wanted.kind())
                ),
                (None, Some(_)) => {
                    format!("template `{}` takes no header parameter", template.name)
                }
                _ => format!(
                    "template `{}` has {} header, but the campaign gives {}",
                    template.name,
                    article(wanted.kind()),
                    header_kind(given)
                ),
            };
            let span = if given.is_some() {
                header_span
            } else {
                doc.key_span_at("/template")
            };
            push(
                Diagnostic::new(Code::HeaderMismatch, message)
                    .at(span)
                    .with_label(template_label, "template defined here")
                    .with_help(match needs {
                        Some(example) => format!("write `{example}`: WhatsApp rejects a header that does not match the template (error 132012)"),
                        None => "remove `header` from the campaign".to_owned(),
                    }),
                diags,
            );
        }
    }
    // Buttons: assign parameters in order to the template buttons that take one.
    let mut params = button_params.into_iter().enumerate().peekable();
    let mut assigned = Vec::new();
    for (index, button) in template.buttons.iter().enumerate() {
        match button {
            TemplateButton::Url { variable: true, .. } => match params.peek() {
                Some((_, ButtonExpr::Url(_))) => {
                    if let Some((_, param)) = params.next() {
                        assigned.push((index, param));
                    }
                }
                other => {
                    let span = match other {
                        Some((i, _)) => doc.span_at(&format!("/buttons/{i}")),
                        None => doc.node.get("buttons").map_or_else(
                            || doc.key_span_at("/template"),
                            |_| doc.key_span_at("/buttons"),
                        ),
                    };
                    push(
                        Diagnostic::new(
                            Code::ButtonMismatch,
                            format!("button {index} of template `{}` is a dynamic URL and needs its suffix", template.name),
                        )
                        .at(span)
                        .with_label(template_label, "template defined here")
                        .with_help("give the URL suffix as a string in `buttons`, in the order of the template's buttons"),
                        diags,
                    );
                    if matches!(other, Some((_, ButtonExpr::Payload(_)))) {
                        params.next();
                    }
                }
            },
            TemplateButton::QuickReply => {
                if let Some((_, ButtonExpr::Payload(_))) = params.peek()
                    && let Some((_, param)) = params.next()
                {
                    assigned.push((index, param));
                }
            }
            _ => {}
        }
    }
    for (i, param) in params {
        let what = match param {
            ButtonExpr::Url(_) => "a URL suffix",
            ButtonExpr::Payload(_) => "a quick-reply payload",
        };
        let kinds: Vec<String> = template
            .buttons
            .iter()
            .enumerate()
            .map(|(n, b)| format!("{n}: {}", b.kind()))
            .collect();
        push(
            Diagnostic::new(
                Code::ButtonMismatch,
                format!("button parameter {} is {what}, but no remaining button of template `{}` takes one", i + 1, template.name),
            )
            .at(doc.span_at(&format!("/buttons/{i}")))
            .with_label(template_label, "template defined here")
            .with_help(if kinds.is_empty() {
                "the template has no buttons: remove `buttons`".to_owned()
            } else {
                format!(
                    "the template's buttons are [{}]; URL suffixes are strings, payloads are `{{ payload: ... }}`, in button order",
                    kinds.join(", ")
                )
            }),
            diags,
        );
    }
    campaign.buttons = assigned;
    ok
}

fn header_kind(header: &Option<HeaderExpr>) -> &'static str {
    match header {
        None => "none",
        Some(HeaderExpr::Text(_)) => "a text",
        Some(HeaderExpr::Image(_)) => "an image",
        Some(HeaderExpr::Video(_)) => "a video",
        Some(HeaderExpr::Document(..)) => "a document",
    }
}

fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// The diagnostic for an unknown language code.
pub fn language_unknown(code: &str, span: Span) -> Diagnostic {
    let suggestion =
        crate::diagnostics::did_you_mean(code, crate::validate::LANGUAGES.iter().copied());
    Diagnostic::new(
        Code::InvalidLanguage,
        format!("`{code}` is not a WhatsApp language code"),
    )
    .at(span)
    .with_help(match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => "use a code such as `es`, `es_AR`, `pt_BR`, `en_US`".to_owned(),
    })
}

/// Where a text value is used, for limits and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextUse {
    /// The header's variable (60 characters).
    Header,
    /// A body parameter (1024 characters).
    Body,
    /// A URL button's suffix.
    UrlSuffix,
    /// A quick reply's payload (256 characters, warning).
    Payload,
    /// A Mayten internal or chat parameter.
    MaytenExtra,
}

/// One problem with a rendered text value (to be placed by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextProblem {
    /// The code.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Check a rendered text parameter against WhatsApp's rules.
///
/// Runs several times per recipient: a value that passes every rule is recognised in one
/// pass over its bytes and returns an empty `Vec` without allocating; any other value goes
/// through the rule-by-rule checks, which write the messages.
pub fn check_text(value: &str, usage: TextUse, provider: Provider) -> Vec<TextProblem> {
    if is_clean(value, usage) {
        return Vec::new();
    }
    check_text_rules(value, usage, provider)
}

/// True when `value` certainly passes every rule of [`check_text`] for `usage`, judged in
/// one pass over the bytes.
///
/// Conservative: it may answer false for a value that passes (the full checks then find
/// nothing), never true for one that fails. It refuses control characters (bytes below
/// 0x20, DEL, the C1 controls `C2 80..=9F`), U+2028 and U+2029, five consecutive spaces and
/// values over the length limit; it requires a character that is certainly not whitespace
/// (unless empty values are allowed, for [`TextUse::MaytenExtra`]); for a URL suffix it
/// also refuses spaces, `://` and any non-ASCII character (some are Unicode whitespace).
fn is_clean(value: &str, usage: TextUse) -> bool {
    let bytes = value.as_bytes();
    // The same limits as in `check_text_rules`; the tests hold both at every boundary.
    let limit = match usage {
        TextUse::Header => 60,
        TextUse::Body => 1024,
        TextUse::UrlSuffix => 2000,
        TextUse::Payload => 256,
        TextUse::MaytenExtra => usize::MAX,
    };
    let url = usage == TextUse::UrlSuffix;
    if !url && let Some(solid) = plain_ascii(bytes) {
        return (solid || usage == TextUse::MaytenExtra) && bytes.len() <= limit;
    }
    // Whether a character that is not whitespace has been seen (`trim()` would keep it).
    let mut solid = usage == TextUse::MaytenExtra;
    let mut spaces = 0u32;
    // UTF-8 continuation bytes (`10xx_xxxx`): every other byte starts a character.
    let mut continuation = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0x21..=0x7E => {
                if url && b == b':' && bytes.get(i + 1..i + 3) == Some(b"//") {
                    return false;
                }
                spaces = 0;
                solid = true;
            }
            b' ' => {
                spaces += 1;
                if spaces == 5 || url {
                    return false;
                }
            }
            // Tab, line breaks and the other C0 controls, and DEL.
            0x00..=0x1F | 0x7F => return false,
            // A continuation byte: part of the character before.
            0x80..=0xBF => continuation += 1,
            // Any non-ASCII character may be Unicode whitespace, which a URL suffix refuses.
            _ if url => return false,
            // U+0080..=U+009F are the C1 controls (U+0085 among them); U+00A0 is a space.
            0xC2 => {
                match bytes.get(i + 1) {
                    Some(0x80..=0x9F) => return false,
                    Some(0xA0) => {}
                    _ => solid = true,
                }
                spaces = 0;
            }
            // U+2028 and U+2029 are refused; U+2000..=U+200A, U+202F and U+205F are
            // whitespace, so nothing starting with E2 counts as solid.
            0xE2 => {
                if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9))
                {
                    return false;
                }
                spaces = 0;
            }
            // U+1680 (E1) and U+3000 (E3) are whitespace: not solid either.
            0xE1 | 0xE3 => {
                spaces = 0;
            }
            // Every other leading byte starts a character that is neither whitespace nor a
            // control (valid UTF-8 has no C0, C1 or F5..=FF).
            _ => {
                spaces = 0;
                solid = true;
            }
        }
    }
    let chars = bytes.len() - continuation;
    solid && chars <= limit
}

/// For `bytes` of eight or more that are printable ASCII (spaces included), whether one is not
/// a space; none for anything else (shorter, non-ASCII, a control character), and none when
/// one of the eight-byte words holds two spaces in a row, which a run of five spaces always
/// does: the byte loop of [`is_clean`] judges those. Eight bytes at a time, the last eight
/// overlapping the word before when the length is not a multiple of eight.
fn plain_ascii(bytes: &[u8]) -> Option<bool> {
    use crate::words::{HIGH, ONES};
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    /// The high bit of every byte of an ASCII `word` equal to `byte`, exactly.
    fn equal(word: u64, byte: u8) -> u64 {
        let x = word ^ (ONES * u64::from(byte));
        !((x + LOW7) | x | LOW7)
    }
    if bytes.len() < 8 {
        return None;
    }
    let mut solid = false;
    for (_, word) in crate::words::overlapping(bytes) {
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
        if word & HIGH != 0 || below_space != 0 || equal(word, 0x7f) != 0 {
            return None;
        }
        let spaces = equal(word, b' ');
        if spaces & (spaces >> 8) != 0 {
            return None;
        }
        solid |= spaces != HIGH;
    }
    Some(solid)
}

/// The rule-by-rule checks behind [`check_text`]: the reference for every value, and the
/// path that writes the messages.
fn check_text_rules(value: &str, usage: TextUse, provider: Provider) -> Vec<TextProblem> {
    let mut problems = Vec::new();
    if value.trim().is_empty() && usage != TextUse::MaytenExtra {
        problems.push(TextProblem {
            code: Code::EmptyParam,
            message: "the parameter is empty".to_owned(),
            help: "WhatsApp rejects empty parameters (error 100); fill the field, filter the row out with `where`, or give a default: `{{ field | default('-') }}`".to_owned(),
        });
        return problems;
    }
    let has_newline = value.contains(['\n', '\r']);
    let has_tab = value.contains('\t');
    if has_newline || has_tab {
        let what = if has_newline { "a line break" } else { "a tab" };
        let extra = if provider == Provider::Mayten && has_newline {
            " (Mayten would silently delete it and answer \"OK, with line break\")"
        } else {
            ""
        };
        problems.push(TextProblem {
            code: Code::ParamWhitespace,
            message: format!("the parameter contains {what}{extra}"),
            help: "WhatsApp rejects parameters with new-line or tab characters (error 132018); replace them: `{{ field | replace('\\n', ' ') }}`".to_owned(),
        });
    } else if value.contains("     ") {
        problems.push(TextProblem {
            code: Code::ParamWhitespace,
            message: "the parameter contains five or more consecutive spaces".to_owned(),
            help: "WhatsApp allows at most four consecutive spaces (error 132018)".to_owned(),
        });
    }
    if value.chars().any(|c| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || matches!(c, '\u{2028}' | '\u{2029}')
    }) {
        problems.push(TextProblem {
            code: Code::ParamControlChar,
            message: "the parameter contains a control or line-separator character".to_owned(),
            help: "remove invisible control characters from the data; WhatsApp treats separators like line breaks".to_owned(),
        });
    }
    let len = value.chars().count();
    let (limit, code) = match usage {
        TextUse::Header => (60, Code::ParamTooLong),
        TextUse::Body => (1024, Code::ParamTooLong),
        TextUse::UrlSuffix => (2000, Code::ParamTooLong),
        TextUse::Payload => (256, Code::PayloadTooLong),
        TextUse::MaytenExtra => (usize::MAX, Code::ParamTooLong),
    };
    if len > limit {
        problems.push(TextProblem {
            code,
            message: format!("the parameter is {len} characters long; the limit is {limit}"),
            help: format!("shorten it, e.g. `{{{{ field | truncate({limit}) }}}}`"),
        });
    }
    if usage == TextUse::UrlSuffix {
        if value.contains("://") {
            problems.push(TextProblem {
                code: Code::InvalidUrlSuffix,
                message: format!("the URL suffix `{}` is a whole URL", truncate(value, 60)),
                help: "a URL button's parameter is appended to the approved URL: give only the part after it (e.g. the order id)".to_owned(),
            });
        } else if value.contains(char::is_whitespace) {
            problems.push(TextProblem {
                code: Code::InvalidUrlSuffix,
                message: "the URL suffix contains whitespace".to_owned(),
                help: "percent-encode it: `{{ field | urlencode }}`".to_owned(),
            });
        }
    }
    problems
}

/// Check a media link for the header kind; returns problems (errors and warnings).
pub fn check_media_link(link: &str, kind: &TemplateHeader) -> Vec<TextProblem> {
    let mut problems = Vec::new();
    let lower = link.trim().to_ascii_lowercase();
    let is_https = lower.starts_with("https://");
    let is_http = lower.starts_with("http://");
    if !is_https && !is_http || lower.len() <= "https://".len() {
        problems.push(TextProblem {
            code: Code::InvalidMediaLink,
            message: format!("`{}` is not an absolute https link", truncate(link, 80)),
            help: "WhatsApp fetches header media from a public https URL, e.g. `https://cdn.example.com/promo.png`".to_owned(),
        });
        return problems;
    }
    if is_http {
        problems.push(TextProblem {
            code: Code::MediaLinkRisk,
            message: "the media link uses plain http".to_owned(),
            help: "use https: some fetches over http fail (error 131053)".to_owned(),
        });
    }
    let path = lower.split(['?', '#']).next().unwrap_or("");
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.contains('/'));
    let allowed: &[&str] = match kind {
        TemplateHeader::Image => &["jpg", "jpeg", "png"],
        TemplateHeader::Video => &["mp4", "3gp", "3gpp"],
        TemplateHeader::Document => &["pdf"],
        _ => &[],
    };
    if let Some(ext) = ext
        && !allowed.is_empty()
        && !allowed.contains(&ext)
    {
        problems.push(TextProblem {
            code: Code::InvalidMediaLink,
            message: format!("a `.{ext}` file cannot be a {} header", kind.kind()),
            help: format!("{} headers accept {}", kind.kind(), allowed.join(", ")),
        });
    }
    if [
        "x-amz-signature",
        "x-goog-signature",
        "token=",
        "sig=",
        "expires=",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        problems.push(TextProblem {
            code: Code::MediaLinkRisk,
            message: "the media link looks signed and short-lived".to_owned(),
            help: "WhatsApp may fetch the media later than you send; a link that expires fails with error 132018".to_owned(),
        });
    }
    problems
}

/// Whether a campaign's body parameter expressions are the same for every recipient.
pub fn is_constant(source: &str) -> bool {
    !source.contains("{{") && !source.contains("{%")
}

/// Placeholders replaced by the rendered parameters: what the recipient reads.
pub fn fill_body(body: &str, params: &[&str]) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                match after[..end].trim().parse::<usize>() {
                    Ok(n) if n >= 1 && n <= params.len() => out.push_str(params[n - 1]),
                    _ => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length in characters of [`fill_body`]`(body, params)` for one body and a fixed number
/// of parameters, worked out once, without building the text: the characters of the text
/// around the placeholders, and which parameters fill them.
///
/// Walks `body` as `fill_body` does: literal text counts its characters, a placeholder
/// `{{n}}` with `n` in `1..=params` counts those of parameter `n`, and any other `{{...}}`
/// (or an unterminated `{{`) counts as written.
#[derive(Debug, Clone)]
pub struct BodyChars {
    fixed: usize,
    /// The parameter (0-based) of each placeholder, in order.
    slots: Vec<usize>,
}

impl BodyChars {
    /// The shape of `body` filled with `params` parameters.
    pub fn new(body: &str, params: usize) -> BodyChars {
        let mut fixed = 0;
        let mut slots = Vec::new();
        let mut rest = body;
        while let Some(start) = find_pair(rest, b'{') {
            let (literal, open) = rest.split_at(start);
            fixed += literal.chars().count();
            let after = open.get(2..).unwrap_or("");
            match find_pair(after, b'}') {
                Some(end) => {
                    let (inner, close) = after.split_at(end);
                    match inner.trim().parse::<usize>() {
                        Ok(n) if n >= 1 && n <= params => slots.push(n - 1),
                        _ => fixed += 4 + inner.chars().count(),
                    }
                    rest = close.get(2..).unwrap_or("");
                }
                None => {
                    fixed += open.chars().count();
                    rest = "";
                }
            }
        }
        BodyChars {
            fixed: fixed + rest.chars().count(),
            slots,
        }
    }

    /// The characters of the body with `params` in place when they are more than `limit`.
    /// Counting bytes first settles most bodies: a text has no more characters than bytes.
    pub fn over<'a>(&self, limit: usize, params: impl Fn(usize) -> &'a str) -> Option<usize> {
        let bytes = self.fixed + self.slots.iter().map(|&i| params(i).len()).sum::<usize>();
        if bytes <= limit {
            return None;
        }
        Some(self.count(params)).filter(|&count| count > limit)
    }

    /// The characters of the body with `params` in place (parameter `i`, 0-based, as many as
    /// given to [`BodyChars::new`]).
    pub fn count<'a>(&self, params: impl Fn(usize) -> &'a str) -> usize {
        self.fixed
            + self
                .slots
                .iter()
                .map(|&i| char_count(params(i)))
                .sum::<usize>()
    }
}

/// The characters of `s`: its length when it is ASCII (checked a word at a time), which
/// parameters mostly are.
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// The byte offset of the first `cc` (two ASCII bytes `c`) in `s`: `s.find("{{")` without
/// building a substring searcher.
fn find_pair(s: &str, c: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes.get(from..)?.iter().position(|&b| b == c) {
        let at = from + at;
        if bytes.get(at + 1) == Some(&c) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// Newlines, tabs and five spaces are refused; four spaces are fine.
    #[test]
    fn whitespace_rules() {
        assert_eq!(
            check_text("a\nb", TextUse::Body, Provider::Aldeamo)[0].code,
            Code::ParamWhitespace
        );
        assert_eq!(
            check_text("a\tb", TextUse::Body, Provider::Aldeamo)[0].code,
            Code::ParamWhitespace
        );
        assert_eq!(
            check_text("a     b", TextUse::Body, Provider::Aldeamo)[0].code,
            Code::ParamWhitespace
        );
        assert!(check_text("a    b", TextUse::Body, Provider::Aldeamo).is_empty());
        assert!(
            check_text("a\nb", TextUse::Body, Provider::Mayten)[0]
                .message
                .contains("Mayten")
        );
    }

    /// Header parameters are limited to 60 characters, body ones to 1024.
    #[test]
    fn length_limits() {
        assert_eq!(
            check_text(&"x".repeat(61), TextUse::Header, Provider::Aldeamo)[0].code,
            Code::ParamTooLong
        );
        assert!(check_text(&"x".repeat(60), TextUse::Header, Provider::Aldeamo).is_empty());
        assert_eq!(
            check_text(&"x".repeat(1025), TextUse::Body, Provider::Aldeamo)[0].code,
            Code::ParamTooLong
        );
    }

    /// Placeholders are replaced by their parameters.
    #[test]
    fn fills_body() {
        assert_eq!(
            fill_body("Hola {{1}}, {{ 2 }}.", &["Ana", "x"]),
            "Hola Ana, x."
        );
    }

    /// Every use and provider, for the comparisons below.
    const USES: [TextUse; 5] = [
        TextUse::Header,
        TextUse::Body,
        TextUse::UrlSuffix,
        TextUse::Payload,
        TextUse::MaytenExtra,
    ];

    /// Both providers.
    const PROVIDERS: [Provider; 2] = [Provider::Aldeamo, Provider::Mayten];

    /// Assert that `check_text` (fast path, then the rules) equals the rule-by-rule reference
    /// for `value` in every use and provider; returns how many of those the fast path took.
    fn assert_same_as_rules(value: &str) -> usize {
        let mut fast = 0;
        for usage in USES {
            for provider in PROVIDERS {
                let reference = check_text_rules(value, usage, provider);
                if is_clean(value, usage) {
                    fast += 1;
                    assert!(
                        reference.is_empty(),
                        "fast path accepted {value:?} for {usage:?}: {reference:?}"
                    );
                }
                assert_eq!(
                    check_text(value, usage, provider),
                    reference,
                    "{value:?} {usage:?} {provider:?}"
                );
            }
        }
        fast
    }

    /// The fast path of `check_text` agrees with the rules at each rule's boundary.
    #[test]
    fn check_text_fast_path_edge_cases() {
        let mut cases: Vec<String> = [
            "",
            " ",
            "    ",
            "     ",
            "a    b",
            "a     b",
            "    a    ",
            "a\tb",
            "a\nb",
            "a\rb",
            "\t",
            "\n",
            "\x7f",
            "a\x7fb",
            "a\x00b",
            "a\x0bb",
            "a\x0cb",
            "a\x1fb",
            "\u{85}",
            "a\u{85}b",
            "a\u{80}b",
            "a\u{9f}b",
            "\u{a0}",
            "a\u{a0}b",
            "\u{a1}",
            "a\u{2028}b",
            "a\u{2029}b",
            "\u{2028}",
            "\u{2027}",
            "\u{202a}",
            "\u{2000}",
            "\u{200a}",
            "\u{200b}",
            "\u{202f}",
            "\u{205f}",
            "\u{1680}",
            "\u{3000}",
            "\u{3001}",
            " \u{3000} ",
            "a://b",
            "://",
            "a:/b",
            "a:b//",
            "a:",
            "a:/",
            "a b",
            "ab",
            "Ana",
            "José",
            "ß",
            "日本",
            "😀",
            "ñ ",
            "order-123?x=1&y=2",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for limit in [60usize, 256, 1024, 2000] {
            for n in [limit - 1, limit, limit + 1] {
                cases.push("x".repeat(n));
                cases.push("é".repeat(n));
                cases.push("日".repeat(n));
                cases.push("😀".repeat(n));
                cases.push(format!("{}é", "a".repeat(n - 1)));
                cases.push(format!("{}😀", "a b".repeat(n / 3)));
            }
        }
        let mut fast = 0;
        for case in &cases {
            fast += assert_same_as_rules(case);
        }
        assert!(fast > 100, "the fast path was taken only {fast} times");
        // Clean values take the fast path.
        assert!(is_clean("Ana", TextUse::Header));
        assert!(is_clean("José    Pérez", TextUse::Body));
        assert!(is_clean(&"é".repeat(60), TextUse::Header));
        assert!(!is_clean(&"é".repeat(61), TextUse::Header));
        assert!(is_clean("order-123", TextUse::UrlSuffix));
        assert!(is_clean("", TextUse::MaytenExtra));
    }

    /// The fast path of `check_text` agrees with the rules on 4000 pseudo-random strings.
    #[test]
    fn check_text_fast_path_random() {
        const ALPHABET: [char; 16] = [
            'a', 'Z', '0', ' ', ' ', '\t', '\r', '\n', 'é', 'ß', '\u{85}', '\u{a0}', '\u{2028}',
            ':', '/', '\u{7f}',
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut fast = 0;
        let mut value = String::new();
        for round in 0..4000 {
            value.clear();
            let len = (xorshift(&mut state) % if round % 10 == 0 { 300 } else { 70 }) as usize;
            // Half the strings lean on letters, so that many are clean.
            let letters = round % 2 == 0;
            for _ in 0..len {
                let r = xorshift(&mut state);
                let c = if letters && !r.is_multiple_of(8) {
                    ALPHABET[(r >> 8) as usize % 3]
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                };
                value.push(c);
            }
            fast += assert_same_as_rules(&value);
        }
        assert!(fast > 1000, "the fast path was taken only {fast} times");
    }

    /// The word-at-a-time path for ASCII values agrees with the rules on ASCII strings of every
    /// length around the word size, spaces, runs of spaces and controls at every offset.
    #[test]
    fn check_text_ascii_words_random() {
        const ALPHABET: [char; 8] = ['a', 'Z', '~', ' ', ' ', '\u{7f}', '\u{1f}', '\t'];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (mut words, mut value) = (0, String::new());
        for round in 0..6000 {
            value.clear();
            let len = (xorshift(&mut state) % 40) as usize;
            for _ in 0..len {
                let r = xorshift(&mut state);
                let pick = if round % 3 == 0 { r % 8 } else { r % 4 };
                value.push(ALPHABET[pick as usize]);
            }
            words += usize::from(plain_ascii(value.as_bytes()).is_some());
            assert_same_as_rules(&value);
        }
        assert!(words > 500, "the word path was taken only {words} times");
    }

    /// `BodyChars` counts the characters of `fill_body`, placeholders or not, and `over` says
    /// when there are more than a limit, whether bytes settle it or characters must.
    #[test]
    fn body_chars_match_fill_body() {
        let filled_body_chars =
            |body: &str, p: &[&str]| BodyChars::new(body, p.len()).count(|i| p[i]);
        let bodies = [
            "",
            "Hola",
            "Hola {{1}}, tu pedido {{ 2 }} llega el {{3}}.",
            "{{1}}{{2}}{{1}}",
            "Fuera de rango: {{9}} y {{0}}",
            "Sin cerrar {{1",
            "Sin cerrar {{",
            "{{x}} y {{ }} y {{}}",
            "{{{1}}}",
            "}}{{1}}{{",
            "a{b{{1}}c}d",
            "{{+1}} {{01}} {{1 }}",
            "ñandú {{ 1 }} 😀 {{2}}",
            "{{1}}",
        ];
        let params: [&[&str]; 5] = [
            &[],
            &["Ana"],
            &["José Pérez", "A-123", "25 de febrero de 1977"],
            &["", "😀😀", "日本語"],
            &["{{2}}", "x"],
        ];
        for body in bodies {
            for p in params {
                assert_eq!(
                    filled_body_chars(body, p),
                    fill_body(body, p).chars().count(),
                    "{body:?} {p:?}"
                );
                let chars = fill_body(body, p).chars().count();
                for limit in [
                    chars.saturating_sub(1),
                    chars,
                    chars + 1,
                    fill_body(body, p).len(),
                ] {
                    assert_eq!(
                        BodyChars::new(body, p.len()).over(limit, |i| p[i]),
                        (chars > limit).then_some(chars),
                        "{body:?} {p:?} over {limit}"
                    );
                }
            }
        }
        // Pseudo-random bodies over braces, digits, spaces and multi-byte letters.
        const ALPHABET: [char; 9] = ['{', '{', '}', '}', '1', '2', '9', ' ', 'é'];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut body = String::new();
        for _ in 0..3000 {
            body.clear();
            for _ in 0..xorshift(&mut state) % 24 {
                body.push(ALPHABET[(xorshift(&mut state) >> 8) as usize % ALPHABET.len()]);
            }
            for p in params {
                assert_eq!(
                    filled_body_chars(&body, p),
                    fill_body(&body, p).chars().count(),
                    "{body:?} {p:?}"
                );
            }
        }
    }

    /// Media links must be https and of the header's file type.
    #[test]
    fn media_links() {
        assert!(check_media_link("https://x.com/a.png", &TemplateHeader::Image).is_empty());
        assert_eq!(
            check_media_link("ftp://x", &TemplateHeader::Image)[0].code,
            Code::InvalidMediaLink
        );
        assert_eq!(
            check_media_link("https://x.com/a.pdf", &TemplateHeader::Image)[0].code,
            Code::InvalidMediaLink
        );
        assert_eq!(
            check_media_link("http://x.com/a.png", &TemplateHeader::Image)[0].code,
            Code::MediaLinkRisk
        );
    }
}
