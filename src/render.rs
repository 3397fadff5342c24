//! Rendering: a campaign's minijinja expressions, compiled once, evaluated per recipient.

use std::borrow::Cow;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::diagnostics::{Code, Diagnostic, Span};
use crate::model::{Campaign, Expr};
use crate::recipients::{Fields, Header, RowContext};

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
    /// For an expression that is exactly `{{ field | filter ... }}` with filters from a small
    /// set: the chain, evaluated without the template engine when the field's value is a string.
    chain: Option<Chain>,
    /// Its number among the campaign's chains, for [`Renderer::bind_columns`].
    slot: usize,
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

/// The longest filter chain evaluated natively; longer ones go to the engine, whose fuel
/// limit they could reach.
const MAX_STEPS: usize = 64;

/// `{{ field | step | step ... }}`, evaluated natively with the engine's semantics.
#[derive(Debug, Clone, PartialEq)]
struct Chain {
    field: String,
    steps: Vec<Step>,
}

/// One filter of a [`Chain`].
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Title,
    Upper,
    Lower,
    Capitalize,
    Trim,
    Replace(Pattern, String),
    Digits,
    Squish,
    Oneline,
}

/// What `replace` looks for.
#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Char(char),
    Str(String),
}

/// Names the template engine reads as constants or special variables, never as fields.
fn is_reserved(name: &str) -> bool {
    is_builtin(name) || matches!(name, "True" | "False" | "None" | "self")
}

/// A parser over an expression's source, for the few forms [`Chain`] accepts.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start_matches(char::is_whitespace);
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let first = self.rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (ident, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(ident)
    }

    /// A quoted string with only plain characters and the escapes `\\ \' \" \n \r \t`.
    fn string(&mut self) -> Option<String> {
        self.skip_ws();
        let mut chars = self.rest.char_indices();
        let (_, quote) = chars.next().filter(|(_, q)| matches!(q, '\'' | '"'))?;
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.push(match chars.next()?.1 {
                    '\\' => '\\',
                    '\'' => '\'',
                    '"' => '"',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    _ => return None,
                }),
                c if c == quote => {
                    self.rest = &self.rest[i + 1..];
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        None
    }

    /// `(string, string, ...)`, possibly empty.
    fn args(&mut self) -> Option<Vec<String>> {
        let mut args = Vec::new();
        if self.eat(')') {
            return Some(args);
        }
        loop {
            args.push(self.string()?);
            if self.eat(')') {
                return Some(args);
            }
            if !self.eat(',') {
                return None;
            }
        }
    }
}

/// The chain of an expression whose whole source is `{{ field | filter ... }}` with filters
/// the fast path implements (`{{ field }}` alone is a chain without steps).
fn parse_chain(source: &str) -> Option<Chain> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?;
    let mut cursor = Cursor { rest: inner };
    let field = cursor.ident()?;
    if is_reserved(field) {
        return None;
    }
    let mut steps = Vec::new();
    loop {
        cursor.skip_ws();
        if cursor.rest.is_empty() {
            break;
        }
        if !cursor.eat('|') || steps.len() == MAX_STEPS {
            return None;
        }
        let name = cursor.ident()?;
        let args = if cursor.eat('(') {
            cursor.args()?
        } else {
            Vec::new()
        };
        let step = match (name, args.as_slice()) {
            ("title", []) => Step::Title,
            ("upper", []) => Step::Upper,
            ("lower", []) => Step::Lower,
            ("capitalize", []) => Step::Capitalize,
            ("trim", []) => Step::Trim,
            ("digits", []) => Step::Digits,
            ("squish", []) => Step::Squish,
            ("oneline", []) => Step::Oneline,
            ("replace", [from, to]) => {
                let mut chars = from.chars();
                let pattern = match (chars.next(), chars.next()) {
                    (Some(c), None) => Pattern::Char(c),
                    _ => Pattern::Str(from.clone()),
                };
                Step::Replace(pattern, to.clone())
            }
            _ => return None,
        };
        steps.push(step);
    }
    Some(Chain {
        field: field.to_owned(),
        steps,
    })
}

impl Chain {
    /// The chain applied to the field's value: the value itself when no step changes it.
    fn apply<'v>(&self, value: &'v str) -> Cow<'v, str> {
        self.steps
            .iter()
            .fold(Cow::Borrowed(value), |s, step| step.apply(s))
    }
}

impl Step {
    fn apply<'a>(&self, s: Cow<'a, str>) -> Cow<'a, str> {
        match self {
            Step::Title => Cow::Owned(title(&s)),
            Step::Upper if s.is_ascii() => {
                if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    Cow::Owned(s.to_ascii_uppercase())
                } else {
                    s
                }
            }
            Step::Upper => Cow::Owned(s.to_uppercase()),
            Step::Lower if s.is_ascii() => {
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(s.to_ascii_lowercase())
                } else {
                    s
                }
            }
            Step::Lower => Cow::Owned(s.to_lowercase()),
            Step::Capitalize => Cow::Owned(capitalize(&s)),
            Step::Trim => match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
                Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
            },
            Step::Replace(Pattern::Char(from), to) => {
                if s.contains(*from) {
                    Cow::Owned(s.replace(*from, to))
                } else {
                    s
                }
            }
            Step::Replace(Pattern::Str(from), to) => {
                if s.contains(from.as_str()) {
                    Cow::Owned(s.replace(from.as_str(), to))
                } else {
                    s
                }
            }
            Step::Digits if s.bytes().all(|b| b.is_ascii_digit()) => s,
            Step::Digits => Cow::Owned(digits(&s)),
            Step::Squish if is_squished(&s) => s,
            Step::Squish => Cow::Owned(squish(&s)),
            Step::Oneline if !s.contains(is_line_break) => s,
            Step::Oneline => Cow::Owned(oneline(&s)),
        }
    }
}

/// minijinja's `title`: words start after whitespace or one of `-({[<`.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut capitalize = true;
    for c in s.chars() {
        if matches!(c, '-' | '(' | '{' | '[' | '<') || c.is_whitespace() {
            out.push(c);
            capitalize = true;
        } else if capitalize {
            if c.is_ascii() {
                out.push(c.to_ascii_uppercase());
            } else {
                out.extend(c.to_uppercase());
            }
            capitalize = false;
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// minijinja's `capitalize`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.as_str().to_lowercase();
            let mut out = String::with_capacity(rest.len() + first.len_utf8());
            out.extend(first.to_uppercase());
            out.push_str(&rest);
            out
        }
    }
}

/// The `digits` filter: the ASCII digits of a string.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The `squish` filter: runs of whitespace become one space, none at either end.
fn squish(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether [`squish`] leaves a string unchanged.
fn is_squished(s: &str) -> bool {
    let mut after_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if c != ' ' || after_space {
                return false;
            }
            after_space = true;
        } else {
            after_space = false;
        }
    }
    !s.ends_with(' ')
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}')
}

/// The `oneline` filter: each run of line breaks and tabs becomes one space.
fn oneline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_break = false;
    for c in s.chars() {
        if is_line_break(c) {
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
}

/// The campaign's compiled expressions.
pub struct Renderer {
    env: Environment<'static>,
    vars: Value,
    /// The CSV column each chain reads, by slot, once bound to the campaign's header.
    columns: Vec<Option<usize>>,
    /// The header of the campaign's CSV, once bound.
    header: Option<Arc<Header>>,
}

/// One recipient as its expressions see it. The fast paths read its fields directly; the
/// engine's value of it (a [`RowContext`]) is made only the first time an expression needs
/// the engine.
pub struct Scope<'r> {
    /// The recipient's fields and the renderer whose header and `vars` go with them; none for
    /// a scope made from a value.
    row: Option<(&'r Fields, &'r Renderer)>,
    value: std::cell::OnceCell<Value>,
}

impl Scope<'_> {
    /// A scope over an engine value made elsewhere (a [`RowContext`] or any map), for tests
    /// that render against hand-made values.
    #[cfg(test)]
    pub(crate) fn of_value(value: Value) -> Scope<'static> {
        Scope {
            row: None,
            value: value.into(),
        }
    }

    /// The engine's value of the recipient.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| match &self.row {
            Some((fields, renderer)) => Value::from_object(RowContext {
                fields: Fields::clone(fields),
                header: renderer.header.clone(),
                vars: renderer.vars.clone(),
            }),
            None => Value::UNDEFINED,
        })
    }

    /// A field's string value read without the engine (by `column` when bound); none when
    /// the engine must decide (a value that is not a string, an absent field).
    fn str_value(&self, column: Option<usize>, name: &str) -> Option<&str> {
        match &self.row {
            Some((fields, renderer)) => fields.str_value(column, name, renderer.header.as_deref()),
            None => {
                let row = self.value.get()?.downcast_object_ref::<RowContext>()?;
                row.fields.str_value(column, name, row.header.as_deref())
            }
        }
    }
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
    env.add_filter("digits", |s: String| digits(&s));
    env.add_filter("squish", |s: String| squish(&s));
    env.add_filter("oneline", |s: String| oneline(&s));
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
        let mut slots = 0;
        let mut compile = |env: &mut Environment<'static>,
                           name: String,
                           expr: &Expr,
                           diags: &mut crate::diagnostics::Diagnostics|
         -> Option<Compiled> {
            if crate::check::is_constant(&expr.source) {
                return Some(Compiled {
                    chain: None,
                    slot: 0,
                    name,
                    expr: expr.clone(),
                    fields: Vec::new(),
                    constant: Some(expr.source.clone()),
                });
            }
            match env.add_template_owned(name.clone(), expr.source.clone()) {
                Ok(()) => {
                    let fields = template_fields(env, &name);
                    slots += 1;
                    Some(Compiled {
                        chain: parse_chain(&expr.source),
                        slot: slots - 1,
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
        set.key = campaign
            .key
            .as_ref()
            .and_then(|e| compile(&mut env, "key".into(), e, diags));
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
                        chain: None,
                        slot: 0,
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
            columns: Vec::new(),
            header: None,
        };
        ok.then_some((renderer, set))
    }

    /// Note which column of `header` each chain of `set` reads, for rows of a CSV with that
    /// header: they are then read by position instead of by name.
    pub fn bind_columns(&mut self, set: &CompiledSet, header: &Arc<Header>) {
        self.header = Some(Arc::clone(header));
        for compiled in set.all() {
            if let Some(chain) = &compiled.chain {
                if self.columns.len() <= compiled.slot {
                    self.columns.resize(compiled.slot + 1, None);
                }
                self.columns[compiled.slot] = header.position(&chain.field);
            }
        }
    }

    /// The scope of one recipient.
    pub fn scope<'r>(&'r self, fields: &'r Fields) -> Scope<'r> {
        Scope {
            row: Some((fields, self)),
            value: std::cell::OnceCell::new(),
        }
    }

    /// Render one compiled expression.
    pub fn render(&self, compiled: &Compiled, ctx: &Scope<'_>) -> Result<String, RenderFailure> {
        self.render_cow(compiled, ctx).map(Cow::into_owned)
    }

    /// [`Renderer::render`], borrowing the result from the expression (a constant) or the
    /// recipient (a field no step changes) when it can: for values that are only parsed.
    pub fn render_cow<'s>(
        &self,
        compiled: &'s Compiled,
        ctx: &'s Scope<'_>,
    ) -> Result<Cow<'s, str>, RenderFailure> {
        if let Some(constant) = &compiled.constant {
            return Ok(Cow::Borrowed(constant));
        }
        if let Some(chain) = &compiled.chain {
            let column = self.columns.get(compiled.slot).copied().flatten();
            if let Some(value) = ctx.str_value(column, &chain.field) {
                return Ok(chain.apply(value));
            }
        }
        let value = ctx.value();
        let template = self
            .env
            .get_template(&compiled.name)
            .map_err(|e| failure(&e, compiled, value))?;
        template
            .render(value)
            .map(Cow::Owned)
            .map_err(|e| failure(&e, compiled, value))
    }

    /// Evaluate the `where` filter: true when the recipient is selected.
    pub fn selected(
        &self,
        filter: Option<&Compiled>,
        ctx: &Scope<'_>,
    ) -> Result<bool, RenderFailure> {
        match filter {
            None => Ok(true),
            Some(compiled) => self.render_cow(compiled, ctx).map(|s| s == "1"),
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
    /// `key`.
    pub key: Option<Compiled>,
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
        out.extend(self.key.iter());
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
    use crate::recipients::Header;
    use std::sync::Arc;

    fn chain(field: &str, steps: Vec<Step>) -> Option<Chain> {
        Some(Chain {
            field: field.to_owned(),
            steps,
        })
    }

    /// A plain field reference is a chain without steps; anything around it is not a chain.
    #[test]
    fn plain_references_are_chains_without_steps() {
        assert_eq!(parse_chain("{{ order_id }}"), chain("order_id", vec![]));
        assert_eq!(parse_chain("{{phone}}"), chain("phone", vec![]));
        assert_eq!(parse_chain("{{\n\t_x1 }}"), chain("_x1", vec![]));
        for source in [
            "pay-{{ id }}",
            "{{ id }}-x",
            "{{ id }}\n",
            " {{ id }}",
            "{{ vars }}",
            "{{ loop }}",
            "{{ True }}",
            "{{ none }}",
            "{{ self }}",
            "{{ a.b }}",
            "{{ a[0] }}",
            "{{ a() }}",
            "{{ 1a }}",
            "{{ }}",
            "{{}}",
            "{{ a }}{{ b }}",
            "{{ a }} {{ b }}",
            "{{- a }}",
            "{{ a -}}",
            "{{+ a }}",
            "{{ aé }}",
        ] {
            assert_eq!(parse_chain(source), None, "{source:?}");
        }
    }

    /// Every supported filter is recognised, with or without empty parentheses.
    #[test]
    fn supported_filters_are_recognised() {
        let all = "{{ a | title | upper() | lower | capitalize ( ) | trim() | digits | squish | oneline }}";
        let replaces = "{{a|replace('x','y')|replace( \"ab\" , '' )|replace('', \"-\")}}";
        let env = new_environment();
        env.template_from_str(all).unwrap();
        env.template_from_str(replaces).unwrap();
        assert_eq!(
            parse_chain(all),
            chain(
                "a",
                vec![
                    Step::Title,
                    Step::Upper,
                    Step::Lower,
                    Step::Capitalize,
                    Step::Trim,
                    Step::Digits,
                    Step::Squish,
                    Step::Oneline,
                ]
            )
        );
        assert_eq!(
            parse_chain(replaces),
            chain(
                "a",
                vec![
                    Step::Replace(Pattern::Char('x'), "y".into()),
                    Step::Replace(Pattern::Str("ab".into()), String::new()),
                    Step::Replace(Pattern::Str(String::new()), "-".into()),
                ]
            )
        );
    }

    /// String literals accept raw characters and the escapes `\\ \' \" \n \r \t`, and nothing
    /// else.
    #[test]
    fn replace_literals_accept_only_simple_escapes() {
        let replace = |from: &str, to: &str| {
            let mut chars = from.chars();
            let pattern = match (chars.next(), chars.next()) {
                (Some(c), None) => Pattern::Char(c),
                _ => Pattern::Str(from.into()),
            };
            chain("a", vec![Step::Replace(pattern, to.into())])
        };
        let cases = [
            (r"{{ a | replace('\r', ' ') }}", "\r", " "),
            (r#"{{ a | replace("\n", "\t") }}"#, "\n", "\t"),
            ("{{ a | replace('\r\n', '\u{2028}') }}", "\r\n", "\u{2028}"),
            (r"{{ a | replace('\\', '/') }}", "\\", "/"),
            (r#"{{ a | replace('\'', "\"") }}"#, "'", "\""),
            (r#"{{ a | replace("'", '"') }}"#, "'", "\""),
            (r#"{{ a | replace('\"', "\'") }}"#, "\"", "'"),
            (r"{{ a | replace('}}', '{{') }}", "}}", "{{"),
            (r"{{ a | replace('ß', 'ss') }}", "ß", "ss"),
        ];
        let env = new_environment();
        for (source, from, to) in cases {
            assert_eq!(parse_chain(source), replace(from, to), "{source:?}");
            env.template_from_str(source).unwrap();
        }
        for source in [
            r"{{ a | replace('\x41', 'b') }}",
            r"{{ a | replace('\u0041', 'b') }}",
            r"{{ a | replace('\101', 'b') }}",
            r"{{ a | replace('\/', 'b') }}",
            r"{{ a | replace('\b', 'b') }}",
            r"{{ a | replace('\f', 'b') }}",
            r"{{ a | replace('\q', 'b') }}",
            r"{{ a | replace('x\', 'b') }}",
            r"{{ a | replace('x, 'b') }}",
            r"{{ a | replace('x' 'y', 'b') }}",
        ] {
            assert_eq!(parse_chain(source), None, "{source:?}");
        }
    }

    /// Other filters, wrong arguments, operators, tests and attribute access go to the engine.
    #[test]
    fn other_expressions_are_not_chains() {
        for source in [
            "{{ a | replace('x') }}",
            "{{ a | replace('x', 'y', 2) }}",
            "{{ a | replace('x', 'y',) }}",
            "{{ a | replace('x', 1) }}",
            "{{ a | replace(from='x', to='y') }}",
            "{{ a | replace(x, 'y') }}",
            "{{ a | replace }}",
            "{{ a | truncate(3) }}",
            "{{ a | trim('x') }}",
            "{{ a | title(1) }}",
            "{{ a | upper('x') }}",
            "{{ a | default('x') }}",
            "{{ a | f.g }}",
            "{{ a | title. }}",
            "{{ a || title }}",
            "{{ a | }}",
            "{{ a title }}",
            "{{ vars.a }}",
            "{{ vars | title }}",
            "{{ a ~ b }}",
            "{{ a ~ 'x' }}",
            "{{ a + 1 }}",
            "{{ a is defined }}",
            "{{ a if b else c }}",
            "{{ a | title if b }}",
            "{{ not a }}",
            "{{ -a }}",
            "{{ (a) | title }}",
            "{{ 'a' | title }}",
            "{{ a | title -}}",
            "{{ a | title }}{{ b }}",
        ] {
            assert_eq!(parse_chain(source), None, "{source:?}");
        }
    }

    /// A chain longer than `MAX_STEPS` is left to the engine (and its fuel limit).
    #[test]
    fn long_chains_are_not_chains() {
        let source = |n: usize| format!("{{{{ a{} }}}}", " | upper".repeat(n));
        assert_eq!(
            parse_chain(&source(MAX_STEPS)).unwrap().steps.len(),
            MAX_STEPS
        );
        assert_eq!(parse_chain(&source(MAX_STEPS + 1)), None);
    }

    /// Chains compared with the engine: every filter alone, combinations, and escapes.
    const CHAINS: &[&str] = &[
        r"{{ a | replace('\r', ' ') | replace('\n', ' ') | replace('\t', ' ') | title }}",
        "{{ a | replace('\r', ' ') | replace('\n', ' ') | replace('\t', ' ') | title }}",
        "{{ a }}",
        "{{ a | title }}",
        "{{ a | upper }}",
        "{{ a | lower }}",
        "{{ a | capitalize }}",
        "{{ a | trim }}",
        "{{ a | trim() }}",
        "{{ a | digits }}",
        "{{ a | squish }}",
        "{{ a | oneline }}",
        "{{ a | replace('x', 'y') }}",
        "{{ a | replace('', '-') }}",
        "{{ a | replace('ab', '') }}",
        "{{ a | replace('ß', 'ss') }}",
        "{{ a | replace('  ', ' ') }}",
        r"{{ a | replace('\\', '/') }}",
        r#"{{ a | replace('\'', "\"") }}"#,
        "{{ a | squish | title }}",
        "{{ a | oneline | squish | capitalize }}",
        "{{ a | digits | replace('1', 'one') | upper }}",
        "{{ a | trim | lower | replace(' ', '_') }}",
        "{{ a | oneline | trim | title }}",
        "{{ a | title | squish | digits }}",
        "{{ a | upper | lower | capitalize }}",
        "{{ a | lower | oneline }}",
        "{{ a | capitalize | squish }}",
    ];

    fn inputs() -> Vec<String> {
        let mut inputs: Vec<String> = [
            "",
            "ß",
            "straße",
            "ǆ",
            "ǆemal ǅ Ǆ",
            "İstanbul",
            "ıi",
            "Σ",
            "ΟΔΥΣΣΕΥΣ",
            "ΑΣ ΑΣ.",
            "é",
            "josé  luis",
            "O'NEILL",
            "o'neill-smith (jr) [x] {y} <z>",
            "-(",
            "a\tb\rc\nd\r\ne",
            "\t\r\n",
            "line\u{2028}sep\u{2029}para",
            "  padded  ",
            "\u{a0}nbsp\u{3000}",
            "ﬁne ŉ",
            "+57 (300) 123-4567",
            "٣٤ ０１",
            "back\\slash \"quoted\" 'single'",
            "xx abab aab",
            "ALL CAPS",
            "mIxEd CaSe",
            "e\u{301}cole",
            "🎉 party",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let alphabet: Vec<char> =
            "aAbBxXzZ019 -(<{['._\\\"\t\r\n\u{2028}\u{2029}\u{a0}ßǆǅǄİıΣσςΑéÉ\u{301}ﬁŉ٣０🎉"
                .chars()
                .collect();
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for _ in 0..400 {
            let len = rng.usize(0..24);
            inputs.push(
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect(),
            );
        }
        inputs
    }

    /// A scope over JSON fields, without `vars`.
    fn json_scope(map: serde_json::Map<String, serde_json::Value>) -> Scope<'static> {
        Scope::of_value(Value::from_object(RowContext {
            fields: Fields::Json(map),
            header: None,
            vars: Value::UNDEFINED,
        }))
    }

    fn json_context(value: &str) -> Scope<'static> {
        let mut map = serde_json::Map::new();
        map.insert("a".into(), serde_json::Value::String(value.into()));
        json_scope(map)
    }

    fn csv_context(value: &str) -> Scope<'static> {
        let header = Arc::new(Header::new(vec!["z".into(), "a".into(), "a".into()]));
        let record = crate::recipients::CsvValues::from(vec!["other", value, "duplicate"]);
        Scope::of_value(Value::from_object(RowContext {
            fields: Fields::Csv { record },
            header: Some(header),
            vars: Value::UNDEFINED,
        }))
    }

    /// A renderer over `env` with no `vars`, its chains bound to `columns`.
    fn test_renderer(env: Environment<'static>, columns: Vec<Option<usize>>) -> Renderer {
        Renderer {
            env,
            vars: Value::UNDEFINED,
            columns,
            header: None,
        }
    }

    fn compiled(name: &str, source: &str, chain: Option<Chain>) -> Compiled {
        Compiled {
            name: name.into(),
            expr: Expr {
                source: source.into(),
                span: Span::file_start(crate::diagnostics::FileId(0)),
            },
            fields: vec!["a".into()],
            constant: None,
            chain,
            slot: 0,
        }
    }

    /// The chain alone gives exactly what the engine renders for the same template.
    #[test]
    fn chains_match_the_engine() {
        let env = new_environment();
        let inputs = inputs();
        for source in CHAINS {
            let chain = parse_chain(source).unwrap_or_else(|| panic!("{source:?}"));
            for input in &inputs {
                let expected = env.render_str(source, json_context(input).value()).unwrap();
                assert_eq!(chain.apply(input), expected, "{source:?} on {input:?}");
            }
        }
    }

    /// Through `Renderer::render`, with CSV and JSON rows, the fast path equals the engine path.
    #[test]
    fn renderer_fast_path_matches_the_engine() {
        let mut env = new_environment();
        for (i, source) in CHAINS.iter().enumerate() {
            env.add_template_owned(format!("t{i}"), (*source).to_owned())
                .unwrap();
        }
        let renderer = test_renderer(env, Vec::new());
        // The same chains with their field bound to its column (`a` is column 1 of the CSV
        // context): by position for CSV rows, by name for JSON ones.
        let bound = test_renderer(renderer.env.clone(), vec![Some(1)]);
        let inputs = inputs();
        for (i, source) in CHAINS.iter().enumerate() {
            let fast = compiled(&format!("t{i}"), source, parse_chain(source));
            let slow = compiled(&format!("t{i}"), source, None);
            for input in &inputs {
                for ctx in [json_context(input), csv_context(input)] {
                    let expected = renderer.render(&slow, &ctx).unwrap();
                    assert_eq!(
                        renderer.render(&fast, &ctx).unwrap(),
                        expected,
                        "{source:?} on {input:?}"
                    );
                    assert_eq!(bound.render(&fast, &ctx).unwrap(), expected);
                }
            }
        }
    }

    /// The fast path runs only for a string field of a recipient row; otherwise the engine does.
    #[test]
    fn fast_path_falls_back_to_the_engine() {
        let mut env = new_environment();
        env.add_template("sentinel", "engine").unwrap();
        let renderer = test_renderer(env, Vec::new());
        let fast = compiled(
            "sentinel",
            "{{ a | upper }}",
            parse_chain("{{ a | upper }}"),
        );
        assert_eq!(renderer.render(&fast, &json_context("x")).unwrap(), "X");
        assert_eq!(renderer.render(&fast, &csv_context("x")).unwrap(), "X");
        let number = {
            let mut map = serde_json::Map::new();
            map.insert("a".into(), serde_json::json!(12));
            json_scope(map)
        };
        assert_eq!(renderer.render(&fast, &number).unwrap(), "engine");
        let absent = json_scope(serde_json::Map::new());
        assert_eq!(renderer.render(&fast, &absent).unwrap(), "engine");
        let plain = Scope::of_value(minijinja::context! { a => "x" });
        assert_eq!(renderer.render(&fast, &plain).unwrap(), "engine");
    }

    /// A missing field still fails through the engine, naming the field.
    #[test]
    fn missing_fields_fail_as_before() {
        let mut env = new_environment();
        env.add_template("t", "{{ a | title }}").unwrap();
        let renderer = test_renderer(env, Vec::new());
        let fast = compiled("t", "{{ a | title }}", parse_chain("{{ a | title }}"));
        let absent = json_scope(serde_json::Map::new());
        let failure = renderer.render(&fast, &absent).unwrap_err();
        assert_eq!(failure.missing.as_deref(), Some("a"));
    }
}
