//! waform: a compiler for WhatsApp Business template campaigns.
//!
//! The pipeline: [`load`] YAML into spanned documents, check them against the [`schema`],
//! validate them into the typed [`model`], [`check`] them, stream [`recipients`], [`render`]
//! each into a [`message::Message`], and [`emit`] provider requests.

pub mod diagnostics;
pub mod message;
pub mod model;
pub mod load;
pub mod values;
