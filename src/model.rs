//! The typed model: what the raw YAML documents mean once validated.

use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostics::Span;

/// The BSP a sender goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Aldeamo: one message per request.
    Aldeamo,
    /// Mayten: many destinations per request.
    Mayten,
}

impl Provider {
    /// The name used in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aldeamo => "aldeamo",
            Provider::Mayten => "mayten",
        }
    }
}

/// Which of the provider's hosts a sender uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The provider's test host.
    Test,
    /// The provider's production host: real messages.
    Production,
}

/// Where a secret comes from; never its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file, resolved against the file that names it.
    File(PathBuf),
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// Messages per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

/// A provider account and number to send from.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The sender's name.
    pub name: Arc<str>,
    /// The provider.
    pub provider: Provider,
    /// Test or production host.
    pub environment: Environment,
    /// Aldeamo: the business number, digits only.
    pub from: Option<String>,
    /// Aldeamo: the `ApiKey` header's secret.
    pub api_key: Option<SecretRef>,
    /// Aldeamo: the `UserId` header's secret.
    pub user_id: Option<SecretRef>,
    /// Mayten: the bearer token's secret.
    pub token: Option<SecretRef>,
    /// Mayten: the WhatsApp account id (`sourceId`).
    pub source_id: Option<u64>,
    /// Mayten: destinations per request.
    pub batch_size: usize,
    /// Optional pacing.
    pub rate: Option<Rate>,
    /// Where the sender is defined.
    pub span: Span,
}

/// The default number of Mayten destinations per request.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// The kind of a body placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// Plain text.
    Text,
    /// A money amount.
    Currency,
    /// A date or date-time.
    DateTime,
}

impl ParamType {
    /// The name used in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Text => "text",
            ParamType::Currency => "currency",
            ParamType::DateTime => "date_time",
        }
    }
}

/// The kind of header a template was approved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateHeader {
    /// No header, or a static one with no variable.
    None,
    /// A text header; `variables` is 0 or 1.
    Text {
        /// The approved header text.
        text: String,
        /// How many `{{n}}` it has.
        variables: usize,
    },
    /// An image header.
    Image,
    /// A video header.
    Video,
    /// A document (PDF) header.
    Document,
}

impl TemplateHeader {
    /// The name used in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            TemplateHeader::None => "none",
            TemplateHeader::Text { .. } => "text",
            TemplateHeader::Image => "image",
            TemplateHeader::Video => "video",
            TemplateHeader::Document => "document",
        }
    }
}

/// A button of the approved template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateButton {
    /// A URL button; `variable` when its URL ends in `{{1}}`.
    Url {
        /// The approved URL.
        url: String,
        /// Whether it takes a suffix at send time.
        variable: bool,
    },
    /// A quick reply; its payload may be set at send time.
    QuickReply,
    /// A phone-number button (no parameter).
    PhoneNumber,
    /// A copy-code button (a coupon at send time).
    CopyCode,
}

impl TemplateButton {
    /// The name used in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            TemplateButton::Url { .. } => "url",
            TemplateButton::QuickReply => "quick_reply",
            TemplateButton::PhoneNumber => "phone_number",
            TemplateButton::CopyCode => "copy_code",
        }
    }
}

/// A template approved by WhatsApp.
#[derive(Debug, Clone)]
pub struct Template {
    /// The template's name in waform.
    pub name: Arc<str>,
    /// The languages it is approved in.
    pub languages: Vec<String>,
    /// Its header.
    pub header: TemplateHeader,
    /// Its body text with `{{n}}` placeholders.
    pub body: String,
    /// The type of each body placeholder.
    pub params: Vec<ParamType>,
    /// Its buttons, in order.
    pub buttons: Vec<TemplateButton>,
    /// Aldeamo's namespace, when configured.
    pub aldeamo_namespace: Option<String>,
    /// The name Aldeamo knows the template by (defaults to `name`).
    pub aldeamo_name: Arc<str>,
    /// Mayten's HSM id, when configured.
    pub mayten_hsm_id: Option<u64>,
    /// Where the template is defined.
    pub span: Span,
}

/// Everything a rendered message needs to know about its campaign to become a request.
#[derive(Debug, Clone)]
pub struct Target {
    /// The campaign's name.
    pub campaign: Arc<str>,
    /// The sender.
    pub sender: Arc<Sender>,
    /// The template, absent for a text campaign.
    pub template: Option<Arc<Template>>,
}

/// A minijinja template written in YAML, with where it was written.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The template text.
    pub source: String,
    /// Where it is in the YAML.
    pub span: Span,
}

/// Where a campaign's recipients come from.
#[derive(Debug, Clone)]
pub enum RecipientSource {
    /// Mappings written in the YAML, each with its span.
    Inline(Vec<(serde_json::Map<String, serde_json::Value>, Span)>),
    /// A CSV file: its resolved path and the path as shown to the user.
    Csv {
        /// The file on disk.
        path: PathBuf,
        /// The path as the user sees it.
        shown: String,
    },
    /// An NDJSON file.
    Ndjson {
        /// The file on disk.
        path: PathBuf,
        /// The path as the user sees it.
        shown: String,
    },
}

/// A header parameter's expressions.
#[derive(Debug, Clone)]
pub enum HeaderExpr {
    /// The text header's variable.
    Text(Expr),
    /// An image link.
    Image(Expr),
    /// A video link.
    Video(Expr),
    /// A document link and optional file name.
    Document(Expr, Option<Expr>),
}

/// A body parameter's expressions.
#[derive(Debug, Clone)]
pub enum BodyExpr {
    /// Text.
    Text(Expr),
    /// A currency amount, code and optional fallback.
    Currency {
        /// The amount.
        amount: Expr,
        /// The ISO 4217 code.
        code: Expr,
        /// The text shown, if given.
        fallback: Option<Expr>,
        /// The whole parameter.
        span: Span,
    },
    /// A date and optional fallback.
    DateTime {
        /// The ISO 8601 value.
        value: Expr,
        /// The text shown, if given.
        fallback: Option<Expr>,
        /// The whole parameter.
        span: Span,
    },
}

impl BodyExpr {
    /// The parameter's type.
    pub fn param_type(&self) -> ParamType {
        match self {
            BodyExpr::Text(_) => ParamType::Text,
            BodyExpr::Currency { .. } => ParamType::Currency,
            BodyExpr::DateTime { .. } => ParamType::DateTime,
        }
    }

    /// Where the parameter is written.
    pub fn span(&self) -> Span {
        match self {
            BodyExpr::Text(e) => e.span,
            BodyExpr::Currency { span, .. } | BodyExpr::DateTime { span, .. } => *span,
        }
    }
}

/// A button parameter's expression.
#[derive(Debug, Clone)]
pub enum ButtonExpr {
    /// A URL suffix.
    Url(Expr),
    /// A quick-reply payload.
    Payload(Expr),
}

/// A campaign, validated.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// Its campaign, sender and template.
    pub target: Arc<Target>,
    /// Where the campaign is defined.
    pub span: Span,
    /// Where recipients come from.
    pub recipients: RecipientSource,
    /// Where the `recipients:` field is.
    pub recipients_span: Span,
    /// The recipient's number.
    pub to: Expr,
    /// What identifies a recipient of the campaign, when not its number.
    pub key: Option<Expr>,
    /// The filter.
    pub where_: Option<Expr>,
    /// The language to send.
    pub language: Option<Expr>,
    /// Region for national numbers.
    pub default_country: Option<String>,
    /// The text of a text campaign.
    pub text: Option<Expr>,
    /// The header parameter.
    pub header: Option<HeaderExpr>,
    /// The body parameters.
    pub body: Vec<BodyExpr>,
    /// The button parameters, paired with the template button index they fill.
    pub buttons: Vec<(usize, ButtonExpr)>,
    /// Constants.
    pub vars: serde_json::Value,
    /// Mayten tracking number.
    pub tracking_number: Option<Expr>,
    /// Mayten internal params.
    pub internal_params: Vec<Expr>,
    /// Mayten chat params.
    pub chat_params: Vec<Expr>,
}

/// Everything the compiler knows after validation.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The senders, in file order.
    pub senders: Vec<Arc<Sender>>,
    /// The templates, in file order.
    pub templates: Vec<Arc<Template>>,
    /// The campaigns that validated, in file order.
    pub campaigns: Vec<Campaign>,
}
