//! A rendered message: one recipient's parameters, provider-neutral.

use std::sync::Arc;

use crate::model::Target;
use crate::values::DateTimeValue;

/// One recipient's message, rendered and checked, before it becomes a provider request.
#[derive(Debug, Clone)]
pub struct Message {
    /// The campaign, sender and template it belongs to.
    pub target: Arc<Target>,
    /// The recipient, digits-only international form.
    pub to: String,
    /// The recipient's key in its campaign: its campaign's `key:` rendered, or the number
    /// ([`Message::to`]) when the campaign has none. Duplicates are by key.
    pub key: String,
    /// Where the recipient came from (`data/customers.csv:12`), for reports.
    pub origin: String,
    /// What is sent.
    pub content: Content,
    /// Mayten: the destination's tracking number.
    pub tracking_number: Option<String>,
    /// Mayten: parameters not shown in the chat.
    pub internal_params: Vec<String>,
    /// Mayten: parameters visible to bots and agents.
    pub chat_params: Vec<String>,
    /// The provider JSON of this message ([`crate::emit::encode`]) when it was serialised
    /// ahead, on the thread that compiled it; otherwise the emitter serialises it.
    pub encoded: Option<String>,
}

impl Message {
    /// Empty the provider-neutral content (keeping its kind, text or template) and the Mayten
    /// parameter lists, for a message whose sink only needs its recipient and its
    /// [`Message::encoded`] JSON. Frees them on the thread that made them.
    pub fn strip(&mut self) {
        self.content = match self.content {
            Content::Text(_) => Content::Text(String::new()),
            Content::Template(_) => Content::Template(TemplateContent {
                language: String::new(),
                header: None,
                body: Vec::new(),
                buttons: Vec::new(),
            }),
        };
        self.internal_params = Vec::new();
        self.chat_params = Vec::new();
    }
}

/// The content of a message.
#[derive(Debug, Clone)]
pub enum Content {
    /// A free-form text (Aldeamo only).
    Text(String),
    /// A template message.
    Template(TemplateContent),
}

/// A template message's parameters.
#[derive(Debug, Clone)]
pub struct TemplateContent {
    /// The language code sent.
    pub language: String,
    /// The header parameter, when the template's header takes one.
    pub header: Option<HeaderParam>,
    /// The body parameters, in placeholder order.
    pub body: Vec<BodyParam>,
    /// Button parameters, for the buttons that take one.
    pub buttons: Vec<ButtonParam>,
}

/// A header parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderParam {
    /// Text for a text header's variable.
    Text(String),
    /// An image link.
    Image {
        /// The https link.
        link: String,
    },
    /// A video link.
    Video {
        /// The https link.
        link: String,
    },
    /// A document link with an optional file name.
    Document {
        /// The https link.
        link: String,
        /// The file name the recipient sees.
        filename: Option<String>,
    },
}

/// A body parameter.
#[derive(Debug, Clone)]
pub enum BodyParam {
    /// Plain text.
    Text(String),
    /// A money amount.
    Currency {
        /// What the recipient reads.
        fallback: String,
        /// ISO 4217 code.
        code: String,
        /// Amount × 1000.
        amount_1000: i64,
    },
    /// A date.
    DateTime {
        /// What the recipient reads.
        fallback: String,
        /// The parsed date, when the value was one; sent as components where the provider
        /// takes them.
        value: Option<DateTimeValue>,
    },
}

impl BodyParam {
    /// The text the recipient reads in place of the placeholder.
    pub fn display(&self) -> &str {
        match self {
            BodyParam::Text(text) => text,
            BodyParam::Currency { fallback, .. } | BodyParam::DateTime { fallback, .. } => fallback,
        }
    }
}

/// A button parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonParam {
    /// The button's position in the template (0-9).
    pub index: usize,
    /// What is sent.
    pub kind: ButtonParamKind,
}

/// What a button parameter carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonParamKind {
    /// The suffix appended to a URL button's approved URL.
    UrlSuffix(String),
    /// A quick reply's payload.
    Payload(String),
}
