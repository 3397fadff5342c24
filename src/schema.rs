//! The JSON Schema of waform's documents: generated from [`crate::raw`], checked in at
//! `schemas/waform.schema.json`, and run against every document with errors mapped back to
//! their line and column.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::diagnostics::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::load::{Document, Kind, NodeValue};
use crate::raw::{RawCampaign, RawSender, RawTemplate};

/// The schema as checked in, which is the one the validator runs.
pub const SCHEMA: &str = include_str!("../schemas/waform.schema.json");

/// The URL editors fetch the schema from.
pub const SCHEMA_ID: &str = "https://waform.dev/schemas/waform.schema.json";

/// Generate the schema from the raw types (what `schemas/waform.schema.json` must equal).
pub fn generate() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    generator.subschema_for::<RawSender>();
    generator.subschema_for::<RawTemplate>();
    generator.subschema_for::<RawCampaign>();
    let defs = generator.take_definitions(true);
    let branches: Vec<Value> = Kind::ALL
        .iter()
        .map(|kind| {
            json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
                "then": { "$ref": format!("#/$defs/{}", def_name(*kind)) }
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "waform document",
        "description": "A waform document: a Sender (provider account), a Template (approved WhatsApp template) or a Campaign (who gets which message).",
        "type": "object",
        "required": ["kind", "name"],
        "properties": {
            "kind": {
                "description": "What this document describes: `Sender`, `Template` or `Campaign`.",
                "enum": ["Sender", "Template", "Campaign"]
            }
        },
        "allOf": branches,
        "$defs": Value::Object(defs),
    })
}

/// The schema text as written to `schemas/waform.schema.json`.
pub fn generate_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).unwrap_or_default();
    text.push('\n');
    text
}

fn def_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sender => "RawSender",
        Kind::Template => "RawTemplate",
        Kind::Campaign => "RawCampaign",
    }
}

fn root() -> &'static Value {
    static ROOT: OnceLock<Value> = OnceLock::new();
    ROOT.get_or_init(|| serde_json::from_str(SCHEMA).unwrap_or(Value::Null))
}

fn validator(kind: Kind) -> Option<&'static Validator> {
    static VALIDATORS: OnceLock<Vec<Option<Validator>>> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        Kind::ALL
            .iter()
            .map(|kind| {
                let schema = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$ref": format!("#/$defs/{}", def_name(*kind)),
                    "$defs": root().get("$defs").cloned().unwrap_or(Value::Null),
                });
                jsonschema::validator_for(&schema).ok()
            })
            .collect()
    });
    validators.get(kind as usize).and_then(Option::as_ref)
}

/// Fields whose values are secrets: a scalar there is a literal secret.
pub const SECRET_FIELDS: [&str; 3] = ["api_key", "user_id", "token"];

/// Validate one document against the schema; push every problem, at its line and column.
/// Returns the document as JSON when it is valid.
pub fn validate(doc: &Document, diags: &mut Diagnostics) -> Option<Value> {
    let mut instance = doc.node.to_json();
    let mut ok = true;
    if doc.kind == Kind::Sender {
        for field in SECRET_FIELDS {
            let Some(node) = doc.node.get(field) else {
                continue;
            };
            if matches!(node.value, NodeValue::Map(_) | NodeValue::Null) {
                continue;
            }
            ok = false;
            diags.push(
                Diagnostic::new(
                    Code::LiteralSecret,
                    format!("`{field}` is written literally in YAML; secrets must not be kept in files under version control"),
                )
                .at(doc.span(node.pos))
                .with_span_label("literal secret")
                .with_help(format!(
                    "read it from the environment or a file: `{field}: {{ env: {} }}` or `{field}: {{ file: secrets/{field} }}`, and rotate the exposed value",
                    field.to_uppercase()
                )),
            );
            if let Value::Object(map) = &mut instance {
                map.remove(field);
            }
        }
    }
    let validator = validator(doc.kind)?;
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for error in validator.iter_errors(&instance) {
        for diagnostic in map_error(doc, &instance, &error) {
            let key = (diagnostic.code, diagnostic.span, diagnostic.message.clone());
            if seen.insert(key) {
                found.push(diagnostic);
            }
        }
    }
    let suggested: Vec<String> = found
        .iter()
        .filter(|d| d.code == Code::UnknownField)
        .filter_map(|d| {
            d.help
                .as_deref()?
                .strip_prefix("did you mean `")?
                .strip_suffix("`?")
                .map(str::to_owned)
        })
        .collect();
    for diagnostic in found {
        let covered = diagnostic.code == Code::MissingField
            && suggested.iter().any(|s| {
                diagnostic
                    .message
                    .ends_with(&format!("the required field `{s}`"))
            });
        if !covered {
            ok = false;
            diags.push(diagnostic);
        }
    }
    ok.then_some(instance)
}

fn kind_title(kind: Kind) -> &'static str {
    kind.as_str()
}

/// The object schemas that can apply at an instance pointer (following `$ref`, `anyOf`, `oneOf`).
fn schemas_at<'a>(kind: Kind, pointer: &str) -> Vec<&'a Value> {
    let defs = root().get("$defs");
    let resolve = |schema: &'a Value| -> Vec<&'a Value> {
        let mut out = Vec::new();
        let mut stack = vec![schema];
        while let Some(s) = stack.pop() {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                if let Some(name) = r.strip_prefix("#/$defs/")
                    && let Some(target) = defs.and_then(|d| d.get(name))
                {
                    stack.push(target);
                }
                continue;
            }
            let mut branched = false;
            for key in ["anyOf", "oneOf"] {
                if let Some(items) = s.get(key).and_then(Value::as_array) {
                    branched = true;
                    stack.extend(items.iter());
                }
            }
            if !branched {
                out.push(s);
            }
        }
        out
    };
    let Some(start) = defs.and_then(|d| d.get(def_name(kind))) else {
        return Vec::new();
    };
    let mut current = resolve(start);
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        let mut next = Vec::new();
        for schema in &current {
            if let Some(prop) = schema.get("properties").and_then(|p| p.get(&token)) {
                next.extend(resolve(prop));
            } else if token.parse::<usize>().is_ok() {
                if let Some(items) = schema.get("items") {
                    next.extend(resolve(items));
                }
            } else if let Some(additional) = schema.get("additionalProperties")
                && additional.is_object()
            {
                next.extend(resolve(additional));
            }
        }
        current = next;
    }
    current
}

fn property_names(kind: Kind, pointer: &str) -> Vec<String> {
    let mut names: Vec<String> = schemas_at(kind, pointer)
        .iter()
        .filter_map(|s| s.get("properties").and_then(Value::as_object))
        .flat_map(|p| p.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn example_at(kind: Kind, pointer: &str) -> Option<String> {
    let (parent, last) = pointer.rsplit_once('/')?;
    schemas_at(kind, parent).iter().find_map(|s| {
        let prop = s.get("properties")?.get(last)?;
        let example = prop.get("examples")?.as_array()?.first()?;
        Some(match example {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    })
}

fn where_is(kind: Kind, pointer: &str) -> String {
    if pointer.is_empty() {
        return kind_title(kind).to_owned();
    }
    let field = pointer
        .split('/')
        .skip(1)
        .map(|s| {
            if s.parse::<usize>().is_ok() {
                format!("[{s}]")
            } else {
                format!(".{s}")
            }
        })
        .collect::<String>();
    format!("`{}`", field.trim_start_matches('.'))
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn type_kind_name(kind: &TypeKind) -> String {
    let name = |t: &str| -> &'static str {
        match t {
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean",
            "array" => "a list",
            "object" => "a mapping",
            _ => "null",
        }
    };
    match kind {
        TypeKind::Single(t) => name(&t.to_string()).to_owned(),
        TypeKind::Multiple(set) => {
            let names: Vec<&str> = set
                .iter()
                .map(|t| t.to_string())
                .filter(|t| t != "null")
                .map(|t| name(&t))
                .collect();
            names.join(" or ")
        }
    }
}

fn map_error(doc: &Document, instance: &Value, error: &ValidationError<'_>) -> Vec<Diagnostic> {
    let pointer = error.instance_path().as_str().to_owned();
    let kind = doc.kind;
    let here = where_is(kind, &pointer);
    let found = instance.pointer(&pointer);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|key| {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let allowed = property_names(kind, &pointer);
                let owner = if pointer.is_empty() {
                    kind_title(kind).to_owned()
                } else {
                    here.clone()
                };
                let suggestion = did_you_mean(key, allowed.iter().map(String::as_str));
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the fields of {owner} are {}",
                        allowed
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let message = match suggestion {
                    Some(s) => format!("`{key}` is not a field of {owner}; did you mean `{s}`?"),
                    None => format!("`{key}` is not a field of {owner}"),
                };
                Diagnostic::new(Code::UnknownField, message)
                    .at(doc.key_span_at(&child))
                    .with_span_label("unknown field")
                    .with_help(help)
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            let owner = if pointer.is_empty() {
                kind_title(kind).to_owned()
            } else {
                here.clone()
            };
            let span = if pointer.is_empty() {
                doc.key_span_at("/kind")
            } else {
                doc.key_span_at(&pointer)
            };
            let example = example_at(kind, &format!("{pointer}/{property}"));
            vec![
                Diagnostic::new(
                    Code::MissingField,
                    format!("{owner} is missing the required field `{property}`"),
                )
                .at(span)
                .with_help(match example {
                    Some(e) => format!("add `{property}: {e}`"),
                    None => format!("add `{property}:`"),
                }),
            ]
        }
        ValidationErrorKind::Type { kind: expected } => {
            let found_name = found.map_or("nothing", json_type_name);
            let expected_name = type_kind_name(expected);
            let help = match (found, expected_name.as_str()) {
                (Some(Value::Number(_) | Value::Bool(_)), "a string") => {
                    "quote the value so that YAML reads it as text: \"...\"".to_owned()
                }
                _ => match example_at(kind, &pointer) {
                    Some(e) => format!("write it like `{e}`"),
                    None => format!("write {expected_name} here"),
                },
            };
            vec![
                Diagnostic::new(
                    Code::WrongType,
                    format!("{here} must be {expected_name}, found {found_name}"),
                )
                .at(doc.span_at(&pointer))
                .with_help(help),
            ]
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let found_text = found.and_then(Value::as_str).unwrap_or("this value");
            let list = options
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match did_you_mean(found_text, options.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("use one of {list}"),
            };
            vec![
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "`{found_text}` is not a valid value for {here}; expected one of {list}"
                    ),
                )
                .at(doc.span_at(&pointer))
                .with_help(help),
            ]
        }
        ValidationErrorKind::Constant { expected_value } => vec![
            Diagnostic::new(
                Code::InvalidValue,
                format!("{here} must be {expected_value}"),
            )
            .at(doc.span_at(&pointer)),
        ],
        ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MaxProperties { .. } => {
            let names = property_names(kind, &pointer);
            let list = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("{here} must have exactly one of {list}"),
                )
                .at(doc.key_span_at(&pointer))
                .with_help(format!("keep one of {list}")),
            ]
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            best_branch(doc, instance, &pointer, context)
        }
        other => {
            let (message, help) = match other {
                ValidationErrorKind::Pattern { .. } => (
                    format!("{here} does not have the expected form"),
                    example_at(kind, &pointer).map(|e| format!("write it like `{e}`")),
                ),
                ValidationErrorKind::Minimum { limit }
                | ValidationErrorKind::ExclusiveMinimum { limit } => {
                    (format!("{here} must be at least {limit}"), None)
                }
                ValidationErrorKind::Maximum { limit }
                | ValidationErrorKind::ExclusiveMaximum { limit } => {
                    (format!("{here} must be at most {limit}"), None)
                }
                ValidationErrorKind::MaxLength { limit } => (
                    format!("{here} must be at most {limit} characters long"),
                    None,
                ),
                ValidationErrorKind::MinLength { limit } => (
                    format!("{here} must be at least {limit} characters long"),
                    None,
                ),
                _ => (format!("{here} is not valid: {}", error.masked()), None),
            };
            vec![
                Diagnostic::new(Code::InvalidValue, message)
                    .at(doc.span_at(&pointer))
                    .with_help_opt(help),
            ]
        }
    }
}

/// For `anyOf`, report the branch the user most likely meant: the one whose errors are not
/// a type mismatch at the value itself, preferring the deepest errors.
fn best_branch(
    doc: &Document,
    instance: &Value,
    pointer: &str,
    context: &[Vec<ValidationError<'static>>],
) -> Vec<Diagnostic> {
    let is_shallow_type = |e: &ValidationError<'_>| {
        e.instance_path().as_str() == pointer
            && matches!(
                e.kind(),
                ValidationErrorKind::Type { .. } | ValidationErrorKind::AdditionalProperties { .. }
            )
    };
    let constants: Option<Vec<String>> = context
        .iter()
        .map(|branch| match branch.as_slice() {
            [e] if e.instance_path().as_str() == pointer => match e.kind() {
                ValidationErrorKind::Constant { expected_value } => {
                    expected_value.as_str().map(str::to_owned)
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(options) = constants.filter(|o| !o.is_empty()) {
        let here = where_is(doc.kind, pointer);
        let found = instance
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("this value");
        let list = options
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match did_you_mean(found, options.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use one of {list}"),
        };
        return vec![
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{found}` is not a valid value for {here}; expected one of {list}"),
            )
            .at(doc.span_at(pointer))
            .with_help(help),
        ];
    }
    let candidates: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|branch| !branch.iter().any(is_shallow_type))
        .collect();
    if let Some(branch) = candidates.iter().max_by_key(|branch| {
        branch
            .iter()
            .map(|e| e.instance_path().as_str().len())
            .max()
            .unwrap_or(0)
    }) {
        return branch
            .iter()
            .flat_map(|e| map_error(doc, instance, e))
            .collect();
    }
    let found = instance.pointer(pointer);
    let here = where_is(doc.kind, pointer);
    let (message, help) = match doc.node.pointer(pointer).map(|n| &n.value) {
        Some(NodeValue::Map(entries)) => {
            let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            let allowed = property_names(doc.kind, pointer);
            let unknown: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !allowed.iter().any(|a| a == k))
                .collect();
            match unknown.first() {
                Some(key) => {
                    let suggestion = did_you_mean(key, allowed.iter().map(String::as_str));
                    return vec![
                        Diagnostic::new(
                            Code::UnknownField,
                            match suggestion {
                                Some(s) => {
                                    format!("`{key}` is not a field of {here}; did you mean `{s}`?")
                                }
                                None => format!("`{key}` is not a field of {here}"),
                            },
                        )
                        .at(doc.key_span_at(&format!("{pointer}/{key}")))
                        .with_span_label("unknown field")
                        .with_help(format!(
                            "the fields allowed here are {}",
                            allowed
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    ];
                }
                None => (
                    format!("{here} does not match any allowed form"),
                    "check the field names and value types against the schema".to_owned(),
                ),
            }
        }
        _ => {
            let mut expected: Vec<String> = context
                .iter()
                .flat_map(|branch| branch.iter())
                .filter_map(|e| match e.kind() {
                    ValidationErrorKind::Type { kind } if e.instance_path().as_str() == pointer => {
                        Some(type_kind_name(kind))
                    }
                    _ => None,
                })
                .collect();
            expected.sort();
            expected.dedup();
            (
                format!(
                    "{here} must be {}, found {}",
                    expected.join(" or "),
                    found.map_or("nothing", json_type_name)
                ),
                "write a quoted expression such as \"{{ name }}\" or one of the mapping forms"
                    .to_owned(),
            )
        }
    };
    vec![
        Diagnostic::new(Code::WrongType, message)
            .at(doc.span_at(pointer))
            .with_help(help),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in schema is exactly what the raw types generate (run with
    /// `WAFORM_UPDATE_SCHEMA=1` to rewrite it).
    #[test]
    fn checked_in_schema_is_current() {
        let generated = generate_text();
        if std::env::var_os("WAFORM_UPDATE_SCHEMA").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/waform.schema.json"),
                &generated,
            )
            .unwrap();
        }
        assert!(
            SCHEMA == generated,
            "schemas/waform.schema.json is stale: run WAFORM_UPDATE_SCHEMA=1 cargo test"
        );
    }

    /// Every property in the schema has a description (editors show it on hover).
    #[test]
    fn every_property_is_described() {
        fn walk(value: &Value, path: &str, missing: &mut Vec<String>) {
            if path.ends_with("/if") {
                return;
            }
            if let Some(props) = value.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    if prop.get("description").is_none() {
                        missing.push(format!("{path}/{name}"));
                    }
                }
            }
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        walk(v, &format!("{path}/{k}"), missing);
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, &format!("{path}/{i}"), missing);
                    }
                }
                _ => {}
            }
        }
        let mut missing = Vec::new();
        walk(&generate(), "", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:?}");
    }
}
