//! Rendering: a campaign's minijinja expressions, compiled once, evaluated per recipient.

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::diagnostics::{Code, Diagnostic, Span};
use crate::model::{Campaign, Expr};
use crate::recipients::{Fields, RowContext};

/// Instructions one expression may run for one recipient before it is stopped.
pub const FUEL: u64 = 50_000;

/// An expression compiled into the campaign's environment.
#[derive(Debug, Clone)]
pub struct Compiled {
    name: String,
    /// The expression as written.
    pub expr: Expr,
    /// The recipient fields it reads (empty for constants).
    pub fields: Vec<String>,
    constant: Option<String>,
    /// For an expression that is exactly `{{ field }}`: the field, read without the template
    /// engine when its value is a string (what the engine would print unchanged).
    direct: Option<String>,
}

/// The recipient fields a compiled template reads, sorted.
fn template_fields(env: &Environment<'static>, name: &str) -> Vec<String> {
    let mut fields: Vec<String> = env
        .get_template(name)
        .map(|t| {
            t.undeclared_variables(false)
                .into_iter()
                .filter(|f| !is_builtin(f))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// The field of an expression that is exactly `{{ name }}`.
fn direct_field(source: &str) -> Option<String> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let mut chars = inner.chars();
    let first = chars.next()?;
    let simple = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_builtin(inner);
    simple.then(|| inner.to_owned())
}

/// The campaign's compiled expressions.
pub struct Renderer {
    env: Environment<'static>,
    vars: Value,
}

/// An expression that failed for a recipient.
#[derive(Debug, Clone)]
pub struct RenderFailure {
    /// What went wrong.
    pub message: String,
    /// The field that was missing, if that was the problem.
    pub missing: Option<String>,
}

/// Names expressions may use that are not recipient fields.
fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "vars"
            | "range"
            | "dict"
            | "namespace"
            | "debug"
            | "loop"
            | "cycler"
            | "joiner"
            | "lipsum"
            | "true"
            | "false"
            | "none"
    )
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("digits", |s: String| -> String {
        s.chars().filter(char::is_ascii_digit).collect()
    });
    env.add_filter("squish", |s: String| -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    env.add_filter("oneline", |s: String| -> String {
        let mut out = String::with_capacity(s.len());
        let mut in_break = false;
        for c in s.chars() {
            if matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}') {
                if !in_break {
                    out.push(' ');
                }
                in_break = true;
            } else {
                out.push(c);
                in_break = false;
            }
        }
        out
    });
    env
}

/// Where an error inside an expression's text lands in the YAML.
fn inner_span(expr: &Expr, text: &str, err: &minijinja::Error) -> Span {
    let Some(range) = err.range() else {
        return expr.span;
    };
    let source = &expr.source;
    let raw = text.get(expr.span.offset..).unwrap_or("");
    let quote = raw.starts_with(['"', '\'']) as usize;
    let body = raw.get(quote..).unwrap_or("");
    if !body.starts_with(source.get(..range.start).unwrap_or("")) || source.contains('\n') {
        return expr.span;
    }
    let prefix = source.get(..range.start).unwrap_or("");
    let piece = source
        .get(range.start..range.end.min(source.len()))
        .unwrap_or("");
    expr.span.shifted(
        quote + prefix.len(),
        (quote + prefix.chars().count()) as u32,
        piece.len().max(1),
        piece.chars().count().max(1) as u32,
    )
}

impl Renderer {
    /// Compile every expression of a campaign; push syntax errors. `text` is the YAML file's
    /// text, to place errors inside expressions.
    pub fn new(
        campaign: &Campaign,
        text: &str,
        diags: &mut crate::diagnostics::Diagnostics,
    ) -> Option<(Renderer, CompiledSet)> {
        let mut env = new_environment();
        let mut ok = true;
        let mut set = CompiledSet::default();
        let mut compile = |env: &mut Environment<'static>,
                           name: String,
                           expr: &Expr,
                           diags: &mut crate::diagnostics::Diagnostics|
         -> Option<Compiled> {
            if crate::check::is_constant(&expr.source) {
                return Some(Compiled {
                    direct: None,
                    name,
                    expr: expr.clone(),
                    fields: Vec::new(),
                    constant: Some(expr.source.clone()),
                });
            }
            match env.add_template_owned(name.clone(), expr.source.clone()) {
                Ok(()) => {
                    let fields = template_fields(env, &name);
                    Some(Compiled {
                        direct: direct_field(&expr.source),
                        name,
                        expr: expr.clone(),
                        fields,
                        constant: None,
                    })
                }
                Err(err) => {
                    ok = false;
                    diags.push(
                        Diagnostic::new(Code::ExpressionSyntax, format!("this expression does not parse: {}", err.detail().unwrap_or("syntax error")))
                            .at(inner_span(expr, text, &err))
                            .with_help("expressions are minijinja templates: `{{ field }}`, `{{ field | title }}`, `{{ vars.name }}`"),
                    );
                    None
                }
            }
        };
        set.to = compile(&mut env, "to".into(), &campaign.to, diags);
        set.language = campaign
            .language
            .as_ref()
            .and_then(|e| compile(&mut env, "language".into(), e, diags));
        set.text = campaign
            .text
            .as_ref()
            .and_then(|e| compile(&mut env, "text".into(), e, diags));
        set.header = match &campaign.header {
            Some(h) => {
                use crate::model::HeaderExpr;
                let (e, f) = match h {
                    HeaderExpr::Text(e) | HeaderExpr::Image(e) | HeaderExpr::Video(e) => (e, None),
                    HeaderExpr::Document(e, f) => (e, f.as_ref()),
                };
                let main = compile(&mut env, "header".into(), e, diags);
                let file = f.and_then(|f| compile(&mut env, "header.filename".into(), f, diags));
                Some((main, file))
            }
            None => None,
        };
        for (i, param) in campaign.body.iter().enumerate() {
            use crate::model::BodyExpr;
            let entry = match param {
                BodyExpr::Text(e) => {
                    BodyCompiled::Text(compile(&mut env, format!("body.{i}"), e, diags))
                }
                BodyExpr::Currency {
                    amount,
                    code,
                    fallback,
                    ..
                } => BodyCompiled::Currency {
                    amount: compile(&mut env, format!("body.{i}.amount"), amount, diags),
                    code: compile(&mut env, format!("body.{i}.code"), code, diags),
                    fallback: fallback
                        .as_ref()
                        .and_then(|f| compile(&mut env, format!("body.{i}.fallback"), f, diags)),
                },
                BodyExpr::DateTime {
                    value, fallback, ..
                } => BodyCompiled::DateTime {
                    value: compile(&mut env, format!("body.{i}.value"), value, diags),
                    fallback: fallback
                        .as_ref()
                        .and_then(|f| compile(&mut env, format!("body.{i}.fallback"), f, diags)),
                },
            };
            set.body.push(entry);
        }
        for (index, button) in &campaign.buttons {
            use crate::model::ButtonExpr;
            let (e, payload) = match button {
                ButtonExpr::Url(e) => (e, false),
                ButtonExpr::Payload(e) => (e, true),
            };
            set.buttons.push((
                *index,
                payload,
                compile(&mut env, format!("button.{index}"), e, diags),
            ));
        }
        set.tracking_number = campaign
            .tracking_number
            .as_ref()
            .and_then(|e| compile(&mut env, "tracking".into(), e, diags));
        for (i, e) in campaign.internal_params.iter().enumerate() {
            set.internal_params
                .push(compile(&mut env, format!("internal.{i}"), e, diags));
        }
        for (i, e) in campaign.chat_params.iter().enumerate() {
            set.chat_params
                .push(compile(&mut env, format!("chat.{i}"), e, diags));
        }
        let mut filter = None;
        if let Some(expr) = &campaign.where_ {
            let source = expr.source.trim();
            let inner = source
                .strip_prefix("{{")
                .and_then(|s| s.strip_suffix("}}"))
                .unwrap_or(source)
                .trim();
            let wrapped = format!("{{% if ({inner}) %}}1{{% endif %}}");
            match env.add_template_owned("where", wrapped) {
                Ok(()) => {
                    let fields = template_fields(&env, "where");
                    filter = Some(Compiled {
                        direct: None,
                        name: "where".into(),
                        expr: expr.clone(),
                        fields,
                        constant: None,
                    });
                }
                Err(err) => {
                    ok = false;
                    diags.push(
                        Diagnostic::new(
                            Code::ExpressionSyntax,
                            format!(
                                "the `where` expression does not parse: {}",
                                err.detail().unwrap_or("syntax error")
                            ),
                        )
                        .at(expr.span)
                        .with_help("`where` is a minijinja expression, e.g. `amount | float > 0`"),
                    );
                }
            }
        }
        set.filter = filter;
        let renderer = Renderer {
            env,
            vars: Value::from(minijinja::value::Serde(&campaign.vars)),
        };
        ok.then_some((renderer, set))
    }

    /// The context of one recipient.
    pub fn context(&self, fields: Fields) -> Value {
        Value::from_object(RowContext {
            fields,
            vars: self.vars.clone(),
        })
    }

    /// Render one compiled expression.
    pub fn render(&self, compiled: &Compiled, ctx: &Value) -> Result<String, RenderFailure> {
        if let Some(constant) = &compiled.constant {
            return Ok(constant.clone());
        }
        if let Some(field) = &compiled.direct
            && let Ok(value) = ctx.get_attr(field)
            && let Some(text) = value.as_str()
        {
            return Ok(text.to_owned());
        }
        let template = self
            .env
            .get_template(&compiled.name)
            .map_err(|e| failure(&e, compiled, ctx))?;
        template.render(ctx).map_err(|e| failure(&e, compiled, ctx))
    }

    /// Evaluate the `where` filter: true when the recipient is selected.
    pub fn selected(&self, filter: Option<&Compiled>, ctx: &Value) -> Result<bool, RenderFailure> {
        match filter {
            None => Ok(true),
            Some(compiled) => self.render(compiled, ctx).map(|s| s == "1"),
        }
    }
}

fn describe(err: &minijinja::Error) -> String {
    match err.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            "the expression ran too long (it was stopped after its instruction budget)".to_owned()
        }
        _ => match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        },
    }
}

fn failure(err: &minijinja::Error, compiled: &Compiled, ctx: &Value) -> RenderFailure {
    let missing = if err.kind() == minijinja::ErrorKind::UndefinedError {
        compiled
            .fields
            .iter()
            .find(|f| ctx.get_attr(f).map(|v| v.is_undefined()).unwrap_or(true))
            .cloned()
    } else {
        None
    };
    RenderFailure {
        message: describe(err),
        missing,
    }
}

/// A body parameter's compiled expressions.
#[derive(Debug, Clone)]
pub enum BodyCompiled {
    /// Text.
    Text(Option<Compiled>),
    /// Currency.
    Currency {
        /// The amount.
        amount: Option<Compiled>,
        /// The code.
        code: Option<Compiled>,
        /// The fallback.
        fallback: Option<Compiled>,
    },
    /// Date.
    DateTime {
        /// The value.
        value: Option<Compiled>,
        /// The fallback.
        fallback: Option<Compiled>,
    },
}

/// All compiled expressions of a campaign.
#[derive(Debug, Clone, Default)]
pub struct CompiledSet {
    /// `to`.
    pub to: Option<Compiled>,
    /// `language`.
    pub language: Option<Compiled>,
    /// `text`.
    pub text: Option<Compiled>,
    /// Header value and document file name.
    pub header: Option<(Option<Compiled>, Option<Compiled>)>,
    /// Body parameters.
    pub body: Vec<BodyCompiled>,
    /// Button parameters: template index, is a payload, expression.
    pub buttons: Vec<(usize, bool, Option<Compiled>)>,
    /// Mayten tracking number.
    pub tracking_number: Option<Compiled>,
    /// Mayten internal params.
    pub internal_params: Vec<Option<Compiled>>,
    /// Mayten chat params.
    pub chat_params: Vec<Option<Compiled>>,
    /// The `where` filter.
    pub filter: Option<Compiled>,
}

impl CompiledSet {
    /// Every compiled expression, for static checks.
    pub fn all(&self) -> Vec<&Compiled> {
        let mut out: Vec<&Compiled> = Vec::new();
        out.extend(self.to.iter());
        out.extend(self.language.iter());
        out.extend(self.text.iter());
        if let Some((a, b)) = &self.header {
            out.extend(a.iter());
            out.extend(b.iter());
        }
        for b in &self.body {
            match b {
                BodyCompiled::Text(c) => out.extend(c.iter()),
                BodyCompiled::Currency {
                    amount,
                    code,
                    fallback,
                } => {
                    out.extend(amount.iter());
                    out.extend(code.iter());
                    out.extend(fallback.iter());
                }
                BodyCompiled::DateTime { value, fallback } => {
                    out.extend(value.iter());
                    out.extend(fallback.iter());
                }
            }
        }
        for (_, _, c) in &self.buttons {
            out.extend(c.iter());
        }
        out.extend(self.tracking_number.iter());
        out.extend(self.filter.iter());
        for c in self.internal_params.iter().chain(self.chat_params.iter()) {
            out.extend(c.iter());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only an expression that is exactly one field reference skips the template engine.
    #[test]
    fn direct_fields_are_plain_references() {
        assert_eq!(direct_field("{{ order_id }}").as_deref(), Some("order_id"));
        assert_eq!(direct_field("{{phone}}").as_deref(), Some("phone"));
        assert_eq!(direct_field("{{ name | title }}"), None);
        assert_eq!(direct_field("pay-{{ id }}"), None);
        assert_eq!(direct_field("{{ vars }}"), None);
        assert_eq!(direct_field("{{ a.b }}"), None);
    }
}
