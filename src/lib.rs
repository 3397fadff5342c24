//! waform: a compiler for WhatsApp Business template campaigns.
//!
//! The pipeline: [`load`] YAML into spanned documents, check them against the [`schema`],
//! validate them into the typed [`model`], [`check`] them, stream [`recipients`], [`render`]
//! each into a [`message::Message`], and [`emit`] provider requests; [`apply`] sends them,
//! recording each recipient in the delivery [`state`]. [`cli`] is the command line behind `main.rs`.
//!
//! Money is exact: WhatsApp's `amount_1000` comes from the decimal text, never through a float.
//!
//! ```
//! let amount = waform::values::parse_amount("19.99").unwrap();
//! assert_eq!(amount.amount_1000, 19_990);
//! assert!(waform::values::parse_amount("1.2345").is_err());
//! ```

pub mod apply;
pub mod check;
pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod docs;
pub mod emit;
pub mod init;
pub mod load;
pub mod message;
pub mod model;
pub mod output;
pub mod parallel;
pub mod phone;
pub mod raw;
pub mod recipients;
pub mod render;
pub mod report;
pub mod sandbox;
pub mod schema;
pub mod seen;
pub mod send;
pub mod state;
#[cfg(test)]
mod testing;
pub mod validate;
pub mod values;
mod words;
