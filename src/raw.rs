//! The raw documents as written in YAML: the source of the JSON Schema.
//!
//! Every field's doc comment becomes its description in `schemas/waform.schema.json`, which is
//! what editors show on hover. These types only describe the shape; meaning is checked when
//! they are validated into [`crate::model`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// Where a secret comes from: an environment variable or a file, never a literal.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct SecretSource {
    /// Name of the environment variable holding the secret.
    #[schemars(example = &"ALDEAMO_API_KEY")]
    pub env: Option<String>,
    /// Path of a file holding the secret (trailing newline ignored), relative to this YAML file.
    #[schemars(example = &"secrets/aldeamo.key")]
    pub file: Option<String>,
}

/// The BSP a sender goes through.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// Aldeamo (apitellitwa): one message per request, `ApiKey` + `UserId` headers.
    Aldeamo,
    /// Mayten (mayten.cloud): bulk HSM sends, bearer token, many destinations per request.
    Mayten,
}

/// Which of the provider's hosts to use.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentName {
    /// The provider's test host (Aldeamo's default; Mayten has none).
    Test,
    /// The provider's production host: real messages, `apply` asks for `--yes`.
    Production,
}

/// A provider account and number to send from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sender")]
pub struct RawSender {
    /// The document kind: `Sender`.
    #[schemars(extend("const" = "Sender"))]
    pub kind: String,
    /// Unique name among senders; campaigns refer to the sender by it.
    #[schemars(example = &"aldeamo-co", length(min = 1))]
    pub name: String,
    /// The BSP this account belongs to.
    pub provider: ProviderName,
    /// Aldeamo: `test` (default) or `production`. Mayten has one host, its production one: a Mayten sender is always `production`, and `test` is an error (try a campaign against `waform sandbox` instead).
    pub environment: Option<EnvironmentName>,
    /// Aldeamo: the business number sending the messages, digits with country code.
    #[schemars(example = &"573001112233")]
    pub from: Option<String>,
    /// Aldeamo: the API key (`ApiKey` header), from `{env: NAME}` or `{file: PATH}`.
    pub api_key: Option<SecretSource>,
    /// Aldeamo: the user id (`UserId` header), from `{env: NAME}` or `{file: PATH}`.
    pub user_id: Option<SecretSource>,
    /// Mayten: the bearer token, from `{env: NAME}` or `{file: PATH}`. Senders sharing one token have their destinations packed into the same requests.
    pub token: Option<SecretSource>,
    /// Mayten: the WhatsApp account id (`sourceId`).
    #[schemars(example = 5, range(min = 1))]
    pub source_id: Option<u64>,
    /// Mayten: destinations per request (default 500).
    #[schemars(example = 500, range(min = 1, max = 10000))]
    pub batch_size: Option<u64>,
    /// Pacing of sends, as `N/s`, `N/m` or `N/h` (at most 1000/s).
    #[schemars(example = &"20/s", regex(pattern = r"^[0-9]+(\.[0-9]+)?/(s|m|h)$"))]
    pub rate: Option<String>,
}

/// The language(s) a template is approved in.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Languages {
    /// One language code, as approved (`es`, `es_AR`, `en_US`).
    One(String),
    /// Several language codes; the first is the default.
    Many(Vec<String>),
}

/// The kind of header the template was approved with.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HeaderType {
    /// No header (or a static one).
    None,
    /// A text header, at most 60 characters and one `{{1}}`.
    Text,
    /// An image (JPEG or PNG) sent by link.
    Image,
    /// A video (MP4 or 3GPP) sent by link.
    Video,
    /// A PDF document sent by link.
    Document,
}

/// A template's header.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplateHeader {
    /// `none`, `text`, `image`, `video` or `document`.
    #[serde(rename = "type")]
    pub kind: HeaderType,
    /// For a text header: its approved text, with at most one `{{1}}`.
    #[schemars(example = &"Aviso {{1}}")]
    pub text: Option<String>,
}

/// The type of a body placeholder.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamTypeName {
    /// Plain text.
    Text,
    /// A money amount (`currency:` in the campaign).
    Currency,
    /// A date (`date_time:` in the campaign).
    DateTime,
}

/// The kind of a template button.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ButtonType {
    /// Opens a URL; a URL ending in `{{1}}` takes a suffix per recipient.
    Url,
    /// A quick reply; its payload can be set per recipient.
    QuickReply,
    /// Calls a phone number (no parameter).
    PhoneNumber,
    /// Copies a coupon code.
    CopyCode,
}

/// A button of the approved template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplateButton {
    /// `url`, `quick_reply`, `phone_number` or `copy_code`.
    #[serde(rename = "type")]
    pub kind: ButtonType,
    /// The button's label (at most 25 characters).
    #[schemars(example = &"Ver pedido", length(max = 25))]
    pub text: String,
    /// For a `url` button: the approved URL; `{{1}}` at the end makes it dynamic.
    #[schemars(example = &"https://shop.example.com/o/{{1}}")]
    pub url: Option<String>,
    /// For a `phone_number` button: the number it calls.
    pub phone: Option<String>,
}

/// Aldeamo's settings for a template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAldeamoTemplate {
    /// The WhatsApp Business account's template namespace.
    #[schemars(example = &"f29c496f_9a16_408b_bff7_379e57d1c8d5")]
    pub namespace: Option<String>,
    /// The template's name at Aldeamo, when it differs from `name`.
    pub name: Option<String>,
}

/// Mayten's settings for a template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMaytenTemplate {
    /// The HSM id Mayten gave the template (`hsmId`).
    #[schemars(example = 10, range(min = 1))]
    pub hsm_id: Option<u64>,
}

/// Per-provider settings of a template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplateProviders {
    /// Aldeamo: the namespace (required to send through Aldeamo).
    pub aldeamo: Option<RawAldeamoTemplate>,
    /// Mayten: the HSM id (required to send through Mayten).
    pub mayten: Option<RawMaytenTemplate>,
}

/// A template approved by WhatsApp, mirrored so that campaigns can be checked against it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Template")]
pub struct RawTemplate {
    /// The document kind: `Template`.
    #[schemars(extend("const" = "Template"))]
    pub kind: String,
    /// The template's name as approved: lowercase letters, digits and `_`.
    #[schemars(example = &"payment_reminder")]
    pub name: String,
    /// The language code it is approved in, or the list of them (`es`, `[es, en]`).
    pub language: Languages,
    /// The header it was approved with (default none).
    pub header: Option<RawTemplateHeader>,
    /// The approved body text, with placeholders `{{1}}`, `{{2}}`, ...
    #[schemars(example = &"Hola {{1}}, tu pedido {{2}} por {{3}} vence el {{4}}.")]
    pub body: String,
    /// The type of each body placeholder, in order (default: all `text`).
    pub params: Option<Vec<ParamTypeName>>,
    /// The approved footer (no variables; not sent).
    pub footer: Option<String>,
    /// The approved buttons, in order.
    pub buttons: Option<Vec<RawTemplateButton>>,
    /// Provider-specific ids: Aldeamo's namespace, Mayten's HSM id.
    pub providers: Option<RawTemplateProviders>,
}

/// Where a campaign's recipients come from: exactly one of `inline`, `csv`, `ndjson`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct RawRecipients {
    /// Recipients written in the YAML, each a mapping of fields.
    pub inline: Option<Vec<BTreeMap<String, serde_json::Value>>>,
    /// A CSV file with a header row (UTF-8, with or without BOM), relative to this YAML file.
    #[schemars(example = &"data/customers.csv")]
    pub csv: Option<String>,
    /// An NDJSON file, one JSON object per line, relative to this YAML file.
    #[schemars(example = &"data/customers.ndjson")]
    pub ndjson: Option<String>,
}

/// The header parameter sent with each message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct RawHeaderValue {
    /// For a text header: the value of its `{{1}}` (an expression).
    pub text: Option<String>,
    /// For an image header: the https link of the image (an expression).
    #[schemars(example = &"https://cdn.example.com/promo.png")]
    pub image: Option<String>,
    /// For a video header: the https link of the video (an expression).
    pub video: Option<String>,
    /// For a document header: the https link of the PDF (an expression).
    pub document: Option<String>,
    /// For a document header: the file name the recipient sees (an expression ending in `.pdf`).
    pub filename: Option<String>,
}

/// A currency parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCurrency {
    /// The amount as a decimal string (at most 3 decimals), usually an expression.
    #[schemars(example = &"{{ amount }}")]
    pub amount: String,
    /// The ISO 4217 code (`COP`, `ARS`, `MXN`, `USD`), usually an expression.
    #[schemars(example = &"{{ currency }}")]
    pub code: String,
    /// The text shown when WhatsApp does not localise (default: formatted from amount, code and language).
    pub fallback: Option<String>,
}

/// A date_time parameter with an explicit fallback.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDateTimeObject {
    /// An ISO 8601 date or date-time (`2026-11-21`, `2026-11-21T15:30`), usually an expression.
    pub value: String,
    /// The text the recipient reads (default: the date written out in the message's language).
    pub fallback: Option<String>,
}

/// A date_time parameter: an ISO 8601 date expression, or `{value, fallback}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawDateTime {
    /// An ISO 8601 date or date-time, usually an expression (`{{ due_date }}`).
    Value(String),
    /// A value with an explicit fallback.
    Object(RawDateTimeObject),
}

/// A `currency:` body parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCurrencyParam {
    /// A money amount.
    pub currency: RawCurrency,
}

/// A `date_time:` body parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDateTimeParam {
    /// A date.
    pub date_time: RawDateTime,
}

/// A `text:` body parameter (the same as writing the expression directly).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTextParam {
    /// The text, usually an expression.
    pub text: String,
}

/// A body parameter: a text expression, `{currency: ...}` or `{date_time: ...}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawBodyParam {
    /// A text parameter: a minijinja template such as `{{ first_name | title }}`.
    Text(String),
    /// A text parameter written as `{text: ...}`.
    TextObject(RawTextParam),
    /// A money amount.
    Currency(RawCurrencyParam),
    /// A date.
    DateTime(RawDateTimeParam),
}

/// A quick reply's payload.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPayloadButton {
    /// The payload returned when the recipient taps the button (an expression).
    #[schemars(example = &"pay-{{ order_id }}")]
    pub payload: String,
}

/// A URL button's suffix.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUrlButton {
    /// The suffix appended to the button's approved URL (an expression).
    pub url: String,
}

/// A button parameter, in the order of the template's buttons that take one.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawButtonParam {
    /// The URL suffix of a dynamic `url` button (an expression).
    Suffix(String),
    /// The URL suffix written as `{url: ...}`.
    Url(RawUrlButton),
    /// The payload of a `quick_reply` button.
    Payload(RawPayloadButton),
}

/// A campaign: a template (or a text), a sender, recipients and the parameters of each message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Campaign")]
pub struct RawCampaign {
    /// The document kind: `Campaign`.
    #[schemars(extend("const" = "Campaign"))]
    pub kind: String,
    /// Unique name among campaigns; the journal keys sends by it.
    #[schemars(example = &"reminders-2026-11", length(min = 1))]
    pub name: String,
    /// The name of the sender to send from.
    pub sender: String,
    /// The name of the template to send (or give `text` instead).
    pub template: Option<String>,
    /// Aldeamo only: a free-form text message instead of a template (an expression; only reaches people who wrote in the last 24 h).
    pub text: Option<String>,
    /// The language code to send (an expression; default: the template's first language).
    #[schemars(example = &"{{ lang }}")]
    pub language: Option<String>,
    /// Where the recipients come from.
    pub recipients: RawRecipients,
    /// The recipient's phone number (an expression; default `{{ phone }}`).
    #[schemars(example = &"{{ phone }}")]
    pub to: Option<String>,
    /// What makes a recipient unique in this campaign (an expression; default: the normalised number). Set it when one person may get several messages of the campaign, e.g. one per appointment: rows with the same key are one recipient, sent once.
    #[schemars(example = &"{{ phone }}-{{ appointment_id }}")]
    pub key: Option<String>,
    /// Only recipients for whom this expression is true are sent to.
    #[serde(rename = "where")]
    #[schemars(example = &"amount | float > 0")]
    pub where_: Option<String>,
    /// ISO 3166 region used for phone numbers written without country code (`CO`, `AR`, `MX`).
    #[schemars(example = &"CO", regex(pattern = r"^[A-Z]{2}$"))]
    pub default_country: Option<String>,
    /// The header parameter: `image`, `video`, `document` (+ `filename`) or `text`.
    pub header: Option<RawHeaderValue>,
    /// The body parameters, one per placeholder, in order.
    pub body: Option<Vec<RawBodyParam>>,
    /// The button parameters, one per template button that takes one, in order.
    pub buttons: Option<Vec<RawButtonParam>>,
    /// Constants available to every expression as `vars.NAME`.
    pub vars: Option<BTreeMap<String, serde_json::Value>>,
    /// Mayten: the destination's `trackingNumber` (an expression).
    #[schemars(example = &"{{ order_id }}")]
    pub tracking_number: Option<String>,
    /// Mayten: `internalParams`, not visible in the chat (expressions).
    pub internal_params: Option<Vec<String>>,
    /// Mayten: `chatParams`, visible to bots and agents (expressions).
    pub chat_params: Option<Vec<String>>,
}
