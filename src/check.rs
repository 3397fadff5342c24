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
        if !crate::validate::LANGUAGES.contains(&code) {
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
pub fn check_text(value: &str, usage: TextUse, provider: Provider) -> Vec<TextProblem> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
