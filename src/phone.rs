//! Recipient phone numbers: normalisation and validation.
//!
//! Both providers (Mayten `dstNumber`, Aldeamo `to`) want the E.164 digits of
//! the number without the leading `+` (see section 5 of the WhatsApp rules
//! reference and rules 30-31 of section 12). [`normalize`] turns what people
//! write in a spreadsheet into that form, validates it with the `phonenumber`
//! crate (a port of Google's libphonenumber metadata) and reports the quirks
//! it had to fix along the way as [`PhoneWarning`]s.

use std::borrow::Cow;
use std::fmt;

use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Database, Metadata};
use phonenumber::{PhoneNumber, Type};

/// Longest number E.164 allows, country code included.
const MAX_DIGITS: usize = 15;

/// Example used in help texts when no country is known.
const GENERIC_EXAMPLE: &str = "5493516723999 (Argentina) or 573003834590 (Colombia)";

/// Characters people put between digits that carry no meaning.
const SEPARATORS: [char; 4] = ['-', '(', ')', '.'];

/// A recipient number in provider form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Digits only, with country code, no `+` (what Mayten `dstNumber` and Aldeamo `to` get).
    pub digits: String,
    /// ISO 3166 region code the number belongs to (e.g. "AR"), when known.
    pub region: Option<&'static str>,
    /// Things worth telling the user (number was valid but rewritten, or is a landline).
    pub warnings: Vec<PhoneWarning>,
}

impl Phone {
    /// The canonical number as an integer, for cheap de-duplication (digits parsed as u64).
    ///
    /// Non-digit characters (which [`normalize`] never produces) are ignored
    /// and overflow wraps instead of panicking, so the result is only
    /// meaningful for numbers built by [`normalize`] (at most 15 digits, which
    /// always fit in a `u64`).
    pub fn key(&self) -> u64 {
        self.digits
            .bytes()
            .filter(u8::is_ascii_digit)
            .fold(0u64, |acc, b| {
                acc.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
            })
    }
}

/// Something [`normalize`] noticed about a number it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneWarning {
    /// A Mexican WhatsApp-id form `521XXXXXXXXXX` was rewritten to `52XXXXXXXXXX`.
    MexicanWhatsappId {
        /// The input as written (trimmed).
        from: String,
    },
    /// The number is a fixed line (rarely on WhatsApp).
    FixedLine,
    /// The number was written in a national or non-canonical form and rewritten (e.g. Argentine `15`).
    ///
    /// Plain country-code prefixing of a national number (`3003834590` with
    /// default region CO) and dropping the national trunk prefix (`0`) are
    /// not reported; anything else that changes the digits is.
    Rewritten {
        /// The input as written (trimmed).
        from: String,
    },
}

impl fmt::Display for PhoneWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneWarning::MexicanWhatsappId { from } => write!(
                f,
                "`{from}` is a Mexican WhatsApp id (521...); sending to the dialable form without the 1"
            ),
            PhoneWarning::FixedLine => write!(
                f,
                "this is a fixed-line number; landlines are rarely registered on WhatsApp"
            ),
            PhoneWarning::Rewritten { from } => {
                write!(f, "`{from}` was rewritten to the international form")
            }
        }
    }
}

/// Why a number was rejected, with an optional hint on how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneError {
    /// One-line description of the problem, quoting the input.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl PhoneError {
    fn new(message: String, help: impl Into<Option<String>>) -> Self {
        PhoneError {
            message,
            help: help.into(),
        }
    }
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PhoneError {}

/// Normalise `input`; `default_region` (ISO 3166 alpha-2, e.g. "CO") is used for numbers without a country code.
///
/// Steps (section 5.3 of the reference):
///
/// 1. Strip whitespace, `-`, `(`, `)` and `.`; keep a leading `+`; a leading
///    `00` means `+`. Letters, other characters, a misplaced `+`, an empty
///    input and more than 15 digits are errors.
/// 2. With `+` (or `00`) the number is international. Without it and without
///    `default_region`, the digits are read as an international number
///    (`5493516723999`, `573003834590`). Without it but with
///    `default_region`, they are read as a national number of that region
///    (which also accepts the region's own country code in front) and, if
///    that is not valid, as an international number. National comes first
///    because about 9% of valid Colombian mobiles (`3224203533`) are also
///    valid foreign international numbers (`+32 224 20 35 33`, Belgium).
/// 3. The Mexican WhatsApp-id form `+521` + 10 digits becomes `+52` + 10
///    digits before validation ([`PhoneWarning::MexicanWhatsappId`]).
/// 4. The number must be valid for its country and be a mobile or
///    fixed-line-or-mobile number; fixed lines are accepted with
///    [`PhoneWarning::FixedLine`], other types (toll-free, premium rate, ...)
///    are errors.
///
/// The result is the E.164 form without `+`; Argentine mobiles come out as
/// `549` + 10 digits whatever way they were written.
pub fn normalize(input: &str, default_region: Option<&str>) -> Result<Phone, PhoneError> {
    let shown = crate::values::trim(input);
    let mut buffer = [0; MAX_DIGITS + 2];
    let (international, digits) = clean(shown, &mut buffer)?;
    let region = default_region.map(parse_region).transpose()?;

    let (written, checked, mexican) = if international {
        read_international(digits, shown)?
    } else {
        read_digits_only(digits, region, shown)?
    };

    let mut warnings = Vec::new();
    if mexican {
        warnings.push(PhoneWarning::MexicanWhatsappId {
            from: shown.to_owned(),
        });
    }
    match checked.kind {
        Type::Mobile | Type::FixedLineOrMobile => {}
        Type::FixedLine => warnings.push(PhoneWarning::FixedLine),
        other => return Err(type_error(shown, other, &checked)),
    }

    if checked.e164.len() > MAX_DIGITS {
        return Err(too_long_error(shown, checked.e164.len()));
    }
    if checked.e164 != written {
        warnings.push(PhoneWarning::Rewritten {
            from: shown.to_owned(),
        });
    }

    Ok(Phone {
        region: checked.region(),
        digits: checked.e164,
        warnings,
    })
}

/// Read digits that followed a `+` (or `00`).
///
/// Returns the digits as written (after the Mexican mapping), the parsed
/// number and whether the Mexican mapping applied.
fn read_international<'a>(
    digits: &'a str,
    shown: &str,
) -> Result<(Cow<'a, str>, Checked, bool), PhoneError> {
    let (digits, mexican) = unmexican(digits);
    let checked = check_international(&digits).map_err(|e| e.into_error(shown, true))?;
    if !checked.is_valid() {
        return Err(invalid_error(shown, &checked));
    }
    Ok((digits, checked, mexican))
}

/// Read digits written without `+`; returns like [`read_international`].
///
/// With a default region the national reading comes first. libphonenumber's
/// national parse also accepts the region's own country code in front
/// (`573003834590` for CO, `5493516723999` for AR), so the international
/// reading is only a fallback for numbers of other countries. National first
/// matters: about 9% of valid Colombian mobiles (`3224203533`), 13% of Mexican
/// and 16% of Brazilian national numbers are *also* valid international
/// numbers of another country (`+32 224 20 35 33`, Belgium); reading those
/// internationally first would silently message a stranger.
///
/// Without a default region the digits can only be international.
fn read_digits_only<'a>(
    digits: &'a str,
    region: Option<Id>,
    shown: &str,
) -> Result<(Cow<'a, str>, Checked, bool), PhoneError> {
    let national = match region {
        Some(region) => match check_national(digits, region) {
            Ok(checked) if checked.is_valid() => {
                let written = national_as_international(digits, &checked);
                return Ok((Cow::Owned(written), checked, false));
            }
            other => Some(other),
        },
        None => None,
    };
    let (international_digits, mexican) = unmexican(digits);
    match (check_international(&international_digits), national) {
        (Ok(checked), _) if checked.is_valid() => Ok((international_digits, checked, mexican)),
        (international, Some(national)) => Err(both_invalid_error(
            shown,
            national,
            international.ok().as_ref(),
        )),
        (international, None) => Err(no_country_error(shown, international.ok().as_ref())),
    }
}

/// Step 1 of the recipe: strip separators, find the `+`, reject anything else.
///
/// Returns whether a `+`/`00` made the number international, and its digits: a
/// part of `shown` when it has nothing else, else copied into `buffer`.
fn clean<'a>(
    shown: &'a str,
    buffer: &'a mut [u8; MAX_DIGITS + 2],
) -> Result<(bool, &'a str), PhoneError> {
    let unsigned = shown.strip_prefix('+').unwrap_or(shown);
    let (plus, digits) = if unsigned.bytes().all(|b| b.is_ascii_digit()) {
        (unsigned.len() < shown.len(), unsigned)
    } else {
        let (plus, count) = read_digits(shown, buffer)?;
        match buffer.get(..count).map(std::str::from_utf8) {
            Some(Ok(digits)) => (plus, digits),
            // More digits than `buffer` holds are too many however the number starts.
            _ => {
                let skipped = if !plus && buffer.starts_with(b"00") {
                    2
                } else {
                    0
                };
                return Err(too_long_error(shown, count - skipped));
            }
        }
    };

    if digits.is_empty() {
        let message = if shown.is_empty() {
            "phone number is empty".to_owned()
        } else {
            format!("`{shown}` has no digits")
        };
        return Err(PhoneError::new(
            message,
            format!("write the number with its country code, e.g. {GENERIC_EXAMPLE}"),
        ));
    }

    let (international, digits) = match digits.strip_prefix("00") {
        Some(rest) if !plus => (true, rest),
        _ => (plus, digits),
    };
    if digits.len() > MAX_DIGITS {
        return Err(too_long_error(shown, digits.len()));
    }
    Ok((international, digits))
}

/// The general case of [`clean`]: copy the digits of `shown` into `buffer`, as
/// many as fit, and return whether a `+` came first and how many digits there are.
fn read_digits(shown: &str, buffer: &mut [u8]) -> Result<(bool, usize), PhoneError> {
    let mut count = 0;
    let mut plus = false;
    for c in shown.chars() {
        if c.is_ascii_digit() {
            if let Some(slot) = buffer.get_mut(count) {
                *slot = c as u8;
            }
            count += 1;
        } else if c == '+' {
            if plus || count > 0 {
                return Err(PhoneError::new(
                    format!("`{shown}` has a `+` that is not at the start"),
                    charset_help(),
                ));
            }
            plus = true;
        } else if c.is_whitespace() || SEPARATORS.contains(&c) {
            continue;
        } else if c.is_alphabetic() {
            return Err(PhoneError::new(
                format!("`{shown}` is not a phone number: it contains letters"),
                charset_help(),
            ));
        } else {
            return Err(PhoneError::new(
                format!("`{shown}` contains `{c}`, which is not allowed in a phone number"),
                charset_help(),
            ));
        }
    }
    Ok((plus, count))
}

fn charset_help() -> String {
    "use only digits, spaces, `-`, `(`, `)`, `.` and an optional leading `+`".to_owned()
}

/// Parse a default-region code ("co", " AR ") into a `phonenumber` id.
fn parse_region(region: &str) -> Result<Id, PhoneError> {
    let upper = region.trim().to_ascii_uppercase();
    let id = if upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase()) {
        upper.parse::<Id>().ok()
    } else {
        None
    };
    match id {
        Some(id) if db().by_id(id.as_ref()).is_some() => Ok(id),
        _ => Err(PhoneError::new(
            format!("unknown default country `{region}`"),
            "use an ISO 3166 alpha-2 code such as AR, CO or MX".to_owned(),
        )),
    }
}

/// Map the Mexican WhatsApp-id form `521` + 10 digits to `52` + 10 digits.
///
/// `+52 1...` with 11 national digits is never a valid number (the mobile `1`
/// was dropped in 2019), so the rewrite cannot turn a valid number into
/// another one.
fn unmexican(digits: &str) -> (Cow<'_, str>, bool) {
    match digits.strip_prefix("521") {
        Some(rest) if rest.len() == 10 => (Cow::Owned(format!("52{rest}")), true),
        _ => (Cow::Borrowed(digits), false),
    }
}

/// The default metadata database, with its `'static` lifetime spelled out.
fn db() -> &'static Database {
    &DATABASE
}

/// A parsed number, with region and type computed by [`check`].
struct Checked {
    /// Country calling code.
    code: u16,
    /// E.164 digits without `+`: the country code, then the national number.
    e164: String,
    /// Where the national significant number (leading zeros included) starts in `e164`.
    national_start: usize,
    /// Metadata of the region the number belongs to, if any matches.
    meta: Option<&'static Metadata>,
    /// Number type; `Unknown` means invalid.
    kind: Type,
}

impl Checked {
    /// A number of country `code` and national significant number `national`, not yet
    /// assigned a region and type.
    fn new(code: u16, national: &str) -> Self {
        let mut buffer = itoa::Buffer::new();
        let code_digits = buffer.format(code);
        let mut e164 = String::with_capacity(code_digits.len() + national.len());
        e164.push_str(code_digits);
        e164.push_str(national);
        Checked {
            code,
            e164,
            national_start: code_digits.len(),
            meta: None,
            kind: Type::Unknown,
        }
    }

    /// National significant number, leading zeros included.
    fn national(&self) -> &str {
        self.e164.get(self.national_start..).unwrap_or_default()
    }

    fn is_valid(&self) -> bool {
        self.meta.is_some() && self.kind != Type::Unknown
    }

    /// ISO region of the number; `None` for non-geographic codes ("001").
    fn region(&self) -> Option<&'static str> {
        self.meta.map(Metadata::id).filter(|id| *id != "001")
    }

    /// Region metadata for the country code even when the number matched no region.
    fn code_meta(&self) -> Option<&'static Metadata> {
        self.meta.or_else(|| main_meta(self.code))
    }
}

/// Why `phonenumber` could not parse the digits at all.
enum ParseFailure {
    /// No country code matches the leading digits.
    CountryCode,
    /// Too few digits for any number.
    TooShort,
    /// Too many digits for the country.
    TooLong,
}

impl ParseFailure {
    fn from_parse(error: phonenumber::ParseError) -> Self {
        match error {
            phonenumber::ParseError::InvalidCountryCode => ParseFailure::CountryCode,
            phonenumber::ParseError::TooLong => ParseFailure::TooLong,
            _ => ParseFailure::TooShort,
        }
    }

    fn into_error(self, shown: &str, international: bool) -> PhoneError {
        match self {
            ParseFailure::CountryCode if international => PhoneError::new(
                format!("`{shown}` does not start with a valid country code"),
                format!("write it with the country code, e.g. {GENERIC_EXAMPLE}"),
            ),
            ParseFailure::CountryCode => PhoneError::new(
                format!("`{shown}` is not a valid phone number"),
                format!("write it with the country code, e.g. {GENERIC_EXAMPLE}"),
            ),
            ParseFailure::TooShort => PhoneError::new(
                format!("`{shown}` is too short to be a phone number"),
                format!("write it with the country code, e.g. {GENERIC_EXAMPLE}"),
            ),
            ParseFailure::TooLong => PhoneError::new(
                format!("`{shown}` is too long to be a phone number"),
                "check for two numbers pasted together or a stray extension".to_owned(),
            ),
        }
    }
}

/// Parse `digits` (no `+`) as an international number.
fn check_international(digits: &str) -> Result<Checked, ParseFailure> {
    #[cfg(test)]
    if legacy::enabled() {
        return legacy::check_international(digits);
    }
    if let Some((code, national)) = fast::parse(digits, None) {
        return Ok(check_parsed(code, &national));
    }
    let mut plus = String::with_capacity(digits.len() + 1);
    plus.push('+');
    plus.push_str(digits);
    phonenumber::parse(None, &plus)
        .map(|n| check(&n))
        .map_err(ParseFailure::from_parse)
}

/// Parse `digits` as written in `region` (national form, or with the region's country code).
fn check_national(digits: &str, region: Id) -> Result<Checked, ParseFailure> {
    #[cfg(test)]
    if legacy::enabled() {
        return legacy::check_national(digits, region);
    }
    if let Some((code, national)) = fast::parse(digits, Some(region)) {
        return Ok(check_parsed(code, &national));
    }
    phonenumber::parse(Some(region), digits)
        .map(|n| check(&n))
        .map_err(ParseFailure::from_parse)
}

/// Find region and type of a parsed number.
///
/// `PhoneNumber::metadata`, `is_valid` and `number_type` in phonenumber 0.3.10
/// look the region up with the national number *without* its leading zeros,
/// which misclassifies Italian fixed lines (`+39 06...`) and Ivorian mobiles
/// (`+225 07...`) as `Unknown`; they also each redo the region search. This
/// does the search once, on the national number with its zeros, mirroring
/// libphonenumber's `getRegionCodeForNumber` and `getNumberType`.
fn check(number: &PhoneNumber) -> Checked {
    check_parsed(number.code().value(), &number.national().to_string())
}

/// [`check`] of a country code and national number (leading zeros included).
fn check_parsed(code: u16, national: &str) -> Checked {
    let mut checked = Checked::new(code, national);
    let region = region_meta(code, national);
    checked.kind = region.map_or(Type::Unknown, |r| r.number_type(national));
    checked.meta = region.map(|r| r.meta);
    checked
}

/// Main region metadata of a country code (e.g. US for 1).
fn main_meta(code: u16) -> Option<&'static Metadata> {
    let all = db().by_code(&code)?;
    all.iter()
        .find(|m| m.is_main_country_for_code())
        .or_else(|| all.first())
        .copied()
}

/// The region a national number belongs to, among those sharing `code`.
fn region_meta(code: u16, national: &str) -> Option<&'static fast::Region> {
    let table = fast::table(code)?;
    let regions = table.regions.as_ref()?;
    if regions.len() == 1 {
        // Also covers non-geographic codes (region "001", shared by several codes).
        return table.main.map(|i| &table.metas[i]);
    }
    regions.iter().flatten().find_map(|&i| {
        let region = &table.metas[i];
        let belongs = match &region.leading_digits {
            Some(pattern) => pattern.is_match(national),
            None => region.number_type(national) != Type::Unknown,
        };
        belongs.then_some(region)
    })
}

/// Metadata patterns compiled once, for the hot path of [`normalize`].
///
/// `phonenumber` evaluates every metadata pattern through a shared,
/// mutex-guarded LRU cache keyed (and SipHash-hashed) by the pattern text,
/// which costs more than the matching itself. Here each pattern is compiled
/// once with the same options (`ignore_whitespace`) and the lookup is an
/// index by country code. A pattern used as "`find` matches at offset 0" is
/// compiled as `^(?:pattern)` and used with `is_match`: a match starting at 0
/// exists exactly when the leftmost match starts at 0.
///
/// [`parse`] replays `phonenumber::parse` (0.3.10) for the inputs
/// [`normalize`] produces (ASCII digits) in the common cases and returns
/// `None` for anything else, which then goes through the crate itself.
mod fast {
    use std::borrow::Cow;
    use std::sync::OnceLock;

    use phonenumber::Type;
    use phonenumber::country::Id;
    use phonenumber::metadata::{Descriptor, Metadata};
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use regex::{CaptureLocations, Regex, RegexBuilder};
    use regex_automata::dfa::{Automaton, StartKind, dense};
    use regex_automata::nfa::thompson;
    use regex_automata::util::primitives::StateID;
    use regex_automata::util::start;
    use regex_automata::util::syntax;
    use regex_automata::{Anchored, Input, MatchKind};

    use super::db;

    /// Largest country calling code plus one.
    const CODES: usize = 1000;
    /// `phonenumber`'s `MIN_LENGTH_FOR_NSN`.
    const MIN_NSN: usize = 2;
    /// `phonenumber`'s `MAX_LENGTH_FOR_NSN`.
    const MAX_NSN: usize = 17;
    /// Types checked before fixed line and mobile, in libphonenumber's order.
    const SPECIAL: [Type; 8] = [
        Type::PremiumRate,
        Type::TollFree,
        Type::SharedCost,
        Type::Voip,
        Type::PersonalNumber,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ];

    /// Compile a metadata pattern as `phonenumber` does (`ignore_whitespace`).
    fn compile(pattern: &str) -> Pattern {
        Pattern::new(
            RegexBuilder::new(pattern)
                .ignore_whitespace(true)
                .build()
                .expect("phonenumber metadata pattern compiles"),
        )
    }

    /// The number the next [`Pattern`] gets.
    static NEXT_PATTERN: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        /// This thread's clones of the patterns' regexes, by pattern number.
        static CLONES: RefCell<Vec<Option<LocalRegex>>> = const { RefCell::new(Vec::new()) };
    }

    /// One thread's copy of a [`Pattern`]'s regex, with room for its capture positions.
    struct LocalRegex {
        regex: Regex,
        locations: Option<CaptureLocations>,
    }

    /// A compiled pattern, matched through this thread's own clone of its regex: a `Regex`
    /// shared by threads keeps one fast cache for the first thread that used it, and the
    /// others take a locked path on every match.
    pub(super) struct Pattern {
        regex: Regex,
        number: usize,
    }

    impl Pattern {
        fn new(regex: Regex) -> Pattern {
            Pattern {
                regex,
                number: NEXT_PATTERN.fetch_add(1, Ordering::Relaxed),
            }
        }

        fn with<R>(&self, f: impl FnOnce(&mut LocalRegex) -> R) -> R {
            CLONES.with(|clones| {
                let mut clones = clones.borrow_mut();
                if clones.len() <= self.number {
                    clones.resize_with(self.number + 1, || None);
                }
                f(clones[self.number].get_or_insert_with(|| LocalRegex {
                    regex: self.regex.clone(),
                    locations: None,
                }))
            })
        }

        pub(super) fn is_match(&self, text: &str) -> bool {
            self.with(|c| c.regex.is_match(text))
        }

        /// Where the leftmost match ends, and whether the first and the last group of
        /// `captures` take part in it (the last one is the whole match when the pattern has
        /// no groups); one search, no allocation.
        fn match_groups(&self, text: &str) -> Option<(usize, bool, bool)> {
            self.with(|c| {
                let locations = c
                    .locations
                    .get_or_insert_with(|| c.regex.capture_locations());
                let found = c.regex.captures_read(locations, text)?;
                let last = locations.len().saturating_sub(1);
                Some((
                    found.end(),
                    locations.get(1).is_some(),
                    locations.get(last).is_some(),
                ))
            })
        }

        fn replace<'t>(&self, text: &'t str, with: &str) -> Cow<'t, str> {
            self.with(|c| c.regex.replace(text, with))
        }
    }

    /// Compile a pattern anchored at the start of the text (see the module docs).
    fn compile_at_start(pattern: &str) -> Pattern {
        // The newline ends a `#` comment the pattern might end with.
        compile(&format!("^(?:{pattern}\n)"))
    }

    /// Largest DFA built for one descriptor pattern, in bytes; a larger one is matched by the
    /// regex engine instead.
    const DFA_LIMIT: usize = 1 << 20;

    /// The syntax of metadata patterns read as bytes (see [`build_dfa`]).
    fn byte_syntax() -> syntax::Config {
        syntax::Config::new()
            .ignore_whitespace(true)
            .unicode(false)
            .utf8(false)
    }

    /// Whether `pattern` has no assertions (`^`, `$`, `\b`, ...): then whether a path
    /// through it matches the empty string does not depend on the text around.
    fn has_no_assertions(pattern: &str) -> bool {
        thompson::Compiler::new()
            .syntax(byte_syntax())
            .configure(thompson::Config::new().utf8(false))
            .build(&format!("(?:{pattern}\n)"))
            .is_ok_and(|nfa| nfa.look_set_any().is_empty())
    }

    /// A DFA reading bytes (the patterns and the digits are ASCII) of `patterns` as
    /// `phonenumber` compiles them (`ignore_whitespace`), within [`DFA_LIMIT`], and its
    /// anchored start state.
    fn build_dfa(patterns: &[&str], kind: MatchKind) -> Option<(dense::DFA<Vec<u32>>, StateID)> {
        // The newline ends a `#` comment a pattern might end with.
        let patterns: Vec<String> = patterns.iter().map(|p| format!("(?:{p}\n)")).collect();
        let dfa = dense::Builder::new()
            .syntax(byte_syntax())
            .thompson(thompson::Config::new().utf8(false))
            .configure(
                dense::Config::new()
                    .match_kind(kind)
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(DFA_LIMIT))
                    .determinize_size_limit(Some(4 * DFA_LIMIT)),
            )
            .build_many(&patterns)
            .ok()?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .ok()?;
        Some((dfa, start))
    }

    /// A pattern that is only asked whether it matches at the start of the text: by a DFA
    /// (a table walk, no cache) when one builds within [`DFA_LIMIT`], else by the regex.
    enum StartMatcher {
        /// The DFA, its anchored start state, and the pattern for the regex should the DFA
        /// give up.
        Dfa(
            Box<dense::DFA<Vec<u32>>>,
            StateID,
            &'static str,
            OnceLock<Pattern>,
        ),
        Regex(Pattern),
    }

    impl StartMatcher {
        fn new(pattern: &'static str) -> StartMatcher {
            match build_dfa(&[pattern], MatchKind::LeftmostFirst) {
                Some((dfa, at)) => StartMatcher::Dfa(Box::new(dfa), at, pattern, OnceLock::new()),
                None => StartMatcher::Regex(compile_at_start(pattern)),
            }
        }

        /// The patterns are ASCII and so are the digits they are matched against: the DFA
        /// reads bytes, without Unicode classes, walked by hand from its anchored start
        /// state until it matches (a match state comes one byte after the match), dies or
        /// ends. Should it give up, or the text not be ASCII, the regex decides.
        fn is_match(&self, text: &str) -> bool {
            match self {
                StartMatcher::Dfa(dfa, start, pattern, regex) => {
                    match text.is_ascii().then(|| walk(dfa, *start, text.as_bytes())) {
                        Some(Some(found)) => found,
                        _ => regex
                            .get_or_init(|| compile_at_start(pattern))
                            .is_match(text),
                    }
                }
                StartMatcher::Regex(regex) => regex.is_match(text),
            }
        }
    }

    /// Whether `dfa`, from its anchored start state `start`, matches a prefix of `text`;
    /// none if it gives up.
    fn walk(dfa: &dense::DFA<Vec<u32>>, start: StateID, text: &[u8]) -> Option<bool> {
        let mut state = start;
        for &b in text {
            state = dfa.next_state(state, b);
            if dfa.is_special_state(state) {
                if dfa.is_match_state(state) {
                    return Some(true);
                }
                if dfa.is_dead_state(state) {
                    return Some(false);
                }
                if dfa.is_quit_state(state) {
                    return None;
                }
            }
        }
        state = dfa.next_eoi_state(state);
        if dfa.is_quit_state(state) {
            return None;
        }
        Some(dfa.is_match_state(state))
    }

    /// Which patterns of `dfa` (bit `i` for pattern `i`), from its anchored start state
    /// `start`, match a prefix of `text`; none if it gives up. `dfa` reports all matches
    /// ([`MatchKind::All`]).
    fn walk_all(dfa: &dense::DFA<Vec<u32>>, start: StateID, text: &[u8]) -> Option<u32> {
        let matched = |state: StateID| {
            (0..dfa.match_len(state))
                .map(|i| 1u32.checked_shl(dfa.match_pattern(state, i).as_u32()))
                .fold(0, |all, bit| all | bit.unwrap_or(0))
        };
        let mut found = 0;
        let mut state = start;
        for &b in text {
            state = dfa.next_state(state, b);
            if dfa.is_special_state(state) {
                if dfa.is_match_state(state) {
                    found |= matched(state);
                } else if dfa.is_dead_state(state) {
                    return Some(found);
                } else if dfa.is_quit_state(state) {
                    return None;
                }
            }
        }
        state = dfa.next_eoi_state(state);
        if dfa.is_quit_state(state) {
            return None;
        }
        if dfa.is_match_state(state) {
            found |= matched(state);
        }
        Some(found)
    }

    /// Longest national number [`TypeDfa`] answers for; longer ones go pattern by pattern.
    const TYPE_DFA_MAX_LEN: usize = 17;

    /// All type patterns of a region in one DFA, so that one walk tells which of them match:
    /// pattern 0 is the general one, then those of the [`SPECIAL`] types, fixed line and
    /// mobile that the region has, in that order.
    /// The descriptors a number's type is read from, in the order of a [`TypeDfa`]'s
    /// patterns: general, the special types, fixed line, mobile.
    fn type_descriptors(meta: &'static Metadata) -> impl Iterator<Item = &'static Descriptor> {
        let descriptors = meta.descriptors();
        std::iter::once(descriptors.general())
            .chain(SPECIAL.into_iter().filter_map(|kind| descriptors.get(kind)))
            .chain(descriptors.fixed_line())
            .chain(descriptors.mobile())
    }

    struct TypeDfa {
        dfa: dense::DFA<Vec<u32>>,
        start: StateID,
        /// By national number length: the patterns whose possible lengths allow it.
        allowed: [u32; TYPE_DFA_MAX_LEN + 1],
    }

    impl TypeDfa {
        fn new(descs: &[&'static Descriptor]) -> Option<TypeDfa> {
            if descs.len() > 32 {
                return None;
            }
            let patterns: Vec<&str> = descs.iter().map(|d| d.national_number().as_str()).collect();
            let (dfa, start) = build_dfa(&patterns, MatchKind::All)?;
            let mut allowed = [0; TYPE_DFA_MAX_LEN + 1];
            for (len, allowed) in (0u16..).zip(&mut allowed) {
                for (i, desc) in descs.iter().enumerate() {
                    let lengths = desc.possible_length();
                    if lengths.is_empty() || lengths.contains(&len) {
                        *allowed |= 1 << i;
                    }
                }
            }
            Some(TypeDfa {
                dfa,
                start,
                allowed,
            })
        }

        /// Which patterns match `national` as [`Desc::is_match`] would (bit `i` for
        /// pattern `i`); none when this cannot tell.
        fn matches(&self, national: &str) -> Option<u32> {
            let allowed = *self.allowed.get(national.len())?;
            if allowed & 1 == 0 {
                // The general pattern cannot match: nothing else matters.
                return Some(0);
            }
            if !national.is_ascii() {
                return None;
            }
            Some(walk_all(&self.dfa, self.start, national.as_bytes())? & allowed)
        }
    }

    /// A [`Descriptor`] with its pattern compiled.
    pub(super) struct Desc {
        pattern: StartMatcher,
        lengths: &'static [u16],
    }

    impl Desc {
        fn new(desc: &'static Descriptor) -> Self {
            Desc {
                pattern: StartMatcher::new(desc.national_number().as_str()),
                lengths: desc.possible_length(),
            }
        }

        /// Same as [`Descriptor::is_match`].
        pub(super) fn is_match(&self, national: &str) -> bool {
            (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
                && self.pattern.is_match(national)
        }
    }

    /// A region's `national_prefix_for_parsing`, anchored at the start: `phonenumber` uses
    /// only a match at the start of the number, and the leftmost match is that one when
    /// there is one, for `find`, `captures` and `replace` alike.
    struct PrefixForParsing {
        pattern: Pattern,
        /// The pattern as a leftmost-first DFA, which tells cheaply whether and where a
        /// match ends, when it builds.
        dfa: Option<dense::DFA<Vec<u32>>>,
        /// [`Pattern::match_groups`] of an empty match, when the pattern has no assertions:
        /// then an empty leftmost match of any text is the first of the pattern's paths that
        /// match the empty string, the one it takes on the empty text.
        empty: Option<(bool, bool)>,
    }

    impl PrefixForParsing {
        fn new(pattern: &'static str) -> Self {
            let compiled = compile_at_start(pattern);
            let empty = match compiled.match_groups("") {
                Some((0, first, last)) if has_no_assertions(pattern) => Some((first, last)),
                _ => None,
            };
            PrefixForParsing {
                pattern: compiled,
                dfa: build_dfa(&[pattern], MatchKind::LeftmostFirst).map(|(dfa, _)| dfa),
                empty,
            }
        }

        /// [`Pattern::match_groups`], without the regex when the DFA finds no match or an
        /// empty one (the common cases: no national prefix written).
        fn match_groups(&self, text: &str) -> Option<(usize, bool, bool)> {
            let input = Input::new(text).anchored(Anchored::Yes);
            let found = match &self.dfa {
                Some(dfa) if text.is_ascii() => dfa.try_search_fwd(&input).ok(),
                _ => None,
            };
            match (found, self.empty) {
                (Some(None), _) => None,
                (Some(Some(end)), Some((first, last))) if end.offset() == 0 => {
                    Some((0, first, last))
                }
                _ => self.pattern.match_groups(text),
            }
        }
    }

    /// The compiled patterns of one region's [`Metadata`].
    pub(super) struct Region {
        pub(super) meta: &'static Metadata,
        general: Desc,
        special: Vec<(Type, Desc)>,
        fixed_line: Option<Desc>,
        mobile: Option<Desc>,
        /// Fixed-line and mobile descriptors have the same pattern.
        same_fixed_mobile: bool,
        /// All of the above in one DFA, when it builds.
        types: Option<TypeDfa>,
        pub(super) leading_digits: Option<Pattern>,
        international_prefix: Option<Pattern>,
        national_prefix_for_parsing: Option<PrefixForParsing>,
    }

    impl Region {
        fn new(meta: &'static Metadata) -> Self {
            let descriptors = meta.descriptors();
            let same_fixed_mobile = match (descriptors.fixed_line(), descriptors.mobile()) {
                (Some(f), Some(m)) => f.national_number().as_str() == m.national_number().as_str(),
                _ => false,
            };
            let descs: Vec<&'static Descriptor> = type_descriptors(meta).collect();
            Region {
                meta,
                general: Desc::new(descriptors.general()),
                special: SPECIAL
                    .into_iter()
                    .filter_map(|kind| descriptors.get(kind).map(|d| (kind, Desc::new(d))))
                    .collect(),
                fixed_line: descriptors.fixed_line().map(Desc::new),
                mobile: descriptors.mobile().map(Desc::new),
                same_fixed_mobile,
                types: TypeDfa::new(&descs),
                leading_digits: meta.leading_digits().map(|p| compile_at_start(p.as_str())),
                international_prefix: meta
                    .international_prefix()
                    .map(|p| compile_at_start(p.as_str())),
                national_prefix_for_parsing: meta
                    .national_prefix_for_parsing()
                    .map(|p| PrefixForParsing::new(p.as_str())),
            }
        }

        /// Type of a national number in this region, libphonenumber's order of checks.
        pub(super) fn number_type(&self, national: &str) -> Type {
            match self.types.as_ref().and_then(|t| t.matches(national)) {
                Some(matched) => self.type_of(matched),
                None => self.number_type_by_pattern(national),
            }
        }

        /// [`Region::number_type`] from which patterns match, as [`TypeDfa::matches`] tells.
        fn type_of(&self, matched: u32) -> Type {
            if matched & 1 == 0 {
                return Type::Unknown;
            }
            // At most `SPECIAL.len()` (8) special patterns, from bit 1.
            let specials = (matched >> 1) & ((1 << self.special.len()) - 1);
            if let Some((kind, _)) = self.special.get(specials.trailing_zeros() as usize) {
                return *kind;
            }
            let mut rest = matched >> (1 + self.special.len());
            let fixed = self.fixed_line.is_some() && rest & 1 != 0;
            if self.fixed_line.is_some() {
                rest >>= 1;
            }
            let mobile = self.mobile.is_some() && rest & 1 != 0;
            if fixed {
                if self.same_fixed_mobile || mobile {
                    return Type::FixedLineOrMobile;
                }
                return Type::FixedLine;
            }
            if mobile {
                return Type::Mobile;
            }
            Type::Unknown
        }

        /// [`Region::number_type`], one pattern after the other.
        fn number_type_by_pattern(&self, national: &str) -> Type {
            if !self.general.is_match(national) {
                return Type::Unknown;
            }
            if let Some((kind, _)) = self.special.iter().find(|(_, d)| d.is_match(national)) {
                return *kind;
            }
            let matches = |d: &Option<Desc>| d.as_ref().is_some_and(|d| d.is_match(national));
            if matches(&self.fixed_line) {
                if self.same_fixed_mobile || matches(&self.mobile) {
                    return Type::FixedLineOrMobile;
                }
                return Type::FixedLine;
            }
            if matches(&self.mobile) {
                return Type::Mobile;
            }
            Type::Unknown
        }
    }

    /// Everything about one country calling code.
    pub(super) struct Table {
        /// `by_code(code)`, compiled, plus any region of `regions` not in it.
        pub(super) metas: Vec<Region>,
        /// `region(code)`: index in `metas` of each region's `by_id` metadata.
        pub(super) regions: Option<Vec<Option<usize>>>,
        /// Index in `metas` of [`super::main_meta`].
        pub(super) main: Option<usize>,
        /// Index in `metas` of the metadata `phonenumber::parse` picks for
        /// an international number of a single-region code; `None` when the
        /// code has several regions (or none), left to the crate.
        parse_meta: Option<usize>,
    }

    impl Table {
        fn new(code: u16) -> Self {
            let by_code = db().by_code(&code).unwrap_or_default();
            let mut metas: Vec<Region> = by_code.iter().map(|m| Region::new(m)).collect();
            let index = |meta: &'static Metadata, metas: &mut Vec<Region>| match metas
                .iter()
                .position(|r| std::ptr::eq(r.meta, meta))
            {
                Some(i) => i,
                None => {
                    metas.push(Region::new(meta));
                    metas.len() - 1
                }
            };
            let region_ids = db().region(&code);
            let regions = region_ids.as_ref().map(|ids| {
                ids.iter()
                    .map(|id| db().by_id(*id).map(|m| index(m, &mut metas)))
                    .collect()
            });
            let main = super::main_meta(code).map(|m| index(m, &mut metas));
            let parse_meta = match region_ids.as_deref() {
                Some(["001"]) => by_code.first().map(|m| index(m, &mut metas)),
                Some([id]) => id
                    .parse::<Id>()
                    .ok()
                    .and_then(|id| db().by_id(id.as_ref()))
                    .map(|m| index(m, &mut metas)),
                _ => None,
            };
            Table {
                metas,
                regions,
                main,
                parse_meta,
            }
        }

        /// The compiled patterns of `meta`, one of this code's regions.
        fn region(&self, meta: &Metadata) -> Option<&Region> {
            self.metas.iter().find(|r| std::ptr::eq(r.meta, meta))
        }
    }

    /// The table of a country calling code, built on first use.
    pub(super) fn table(code: u16) -> Option<&'static Table> {
        static TABLES: [OnceLock<Table>; CODES] = [const { OnceLock::new() }; CODES];
        TABLES
            .get(usize::from(code))
            .map(|t| t.get_or_init(|| Table::new(code)))
    }

    /// `phonenumber::parse` of ASCII `digits`, as an international number
    /// (`region` `None`, the digits follow a `+`) or as written in `region`.
    ///
    /// Returns the country code and the national number as
    /// `PhoneNumber::national().to_string()` would, or `None` when the
    /// input is outside the cases replayed here.
    pub(super) fn parse(digits: &str, region: Option<Id>) -> Option<(u16, Cow<'_, str>)> {
        if digits.len() < 3 || digits.len() > super::MAX_DIGITS {
            return None;
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match region {
            None => international(digits),
            Some(region) => national(digits, region),
        }
    }

    /// `+digits`: `Source::Plus`, country code read from the digits.
    fn international(digits: &str) -> Option<(u16, Cow<'_, str>)> {
        if digits.starts_with('0') {
            return None;
        }
        let (code, table, len) = (1..=3).find_map(|len| {
            let code: u16 = digits[..len].parse().ok()?;
            let table = table(code)?;
            (!table.metas.is_empty()).then_some((code, table, len))
        })?;
        let region = &table.metas[table.parse_meta?];
        finish(region, code, &digits[len..])
    }

    /// Digits in `region`: `Source::Default`, or `Source::Number` when they
    /// start with the region's country code and are not a national number.
    fn national(digits: &str, region: Id) -> Option<(u16, Cow<'_, str>)> {
        let meta = db().by_id(region.as_ref())?;
        let code = meta.country_code();
        let region = table(code)?.region(meta)?;
        if region
            .international_prefix
            .as_ref()
            .is_some_and(|idd| idd.is_match(digits))
        {
            return None;
        }
        let code_digits = code.to_string();
        let national = if digits.starts_with(&code_digits)
            && (!region.general.is_match(digits) || !length(meta, digits.len()).is_possible())
        {
            &digits[code_digits.len()..]
        } else {
            digits
        };
        finish(region, code, national)
    }

    /// The rest of `phonenumber::parse` once the country code is known.
    fn finish<'a>(region: &Region, code: u16, national: &'a str) -> Option<(u16, Cow<'a, str>)> {
        let mut potential = national_number(region, national)?;
        if let Some(prefix) = region.meta.national_prefix()
            && potential.starts_with(prefix)
        {
            potential = match potential {
                Cow::Borrowed(s) => Cow::Borrowed(&s[prefix.len()..]),
                Cow::Owned(s) => Cow::Owned(s[prefix.len()..].to_owned()),
            };
        }
        let national = if length(region.meta, potential.len()) == Length::TooShort {
            Cow::Borrowed(national)
        } else {
            potential
        };
        // `NationalNumber` parsing: digits, not all zeros, below 2^56.
        if national.len() < MIN_NSN || national.len() > MAX_NSN.min(16) {
            return None;
        }
        if !national.bytes().all(|b| b.is_ascii_digit()) || national.bytes().all(|b| b == b'0') {
            return None;
        }
        Some((code, national))
    }

    /// `phonenumber`'s `helper::national_number`: strip the national prefix
    /// (and carrier code) the way the region's metadata says.
    ///
    /// The pattern is anchored, so a match starts at 0: `phonenumber`'s check that the
    /// general pattern still matches from the match start is the `viable` check itself.
    fn national_number<'a>(region: &Region, national: &'a str) -> Option<Cow<'a, str>> {
        let Some(parsing) = &region.national_prefix_for_parsing else {
            return Some(Cow::Borrowed(match region.meta.national_prefix() {
                Some(prefix) => national.strip_prefix(prefix).unwrap_or(national),
                None => national,
            }));
        };
        let Some((end, first, last)) = parsing.match_groups(national) else {
            return Some(Cow::Borrowed(national));
        };
        match region.meta.national_prefix_transform_rule() {
            Some(transform) if last => {
                // `phonenumber` unwraps the first group here; leave that to it.
                if !first {
                    return None;
                }
                let transformed = parsing.pattern.replace(national, transform);
                let viable = region.general.is_match(national);
                if viable && !region.general.is_match(&transformed) {
                    return Some(Cow::Borrowed(national));
                }
                Some(Cow::Owned(transformed.into_owned()))
            }
            _ => Some(Cow::Borrowed(national.get(end..)?)),
        }
    }

    /// The outcomes of `phonenumber`'s `validator::length` that matter here.
    #[derive(PartialEq, Eq)]
    enum Length {
        TooShort,
        Possible,
        Other,
    }

    impl Length {
        fn is_possible(&self) -> bool {
            *self == Length::Possible
        }
    }

    /// `validator::length(meta, number, Type::Unknown)` for a national number of `len` digits.
    fn length(meta: &Metadata, len: usize) -> Length {
        let general = meta.descriptors().general();
        let local = general.possible_local_length();
        let possible = general.possible_length();
        let (Some(&minimum), Some(&maximum)) = (possible.first(), possible.last()) else {
            return Length::Other;
        };
        let len = len as u16;
        if local.contains(&len) || len == minimum {
            Length::Possible
        } else if len < minimum {
            Length::TooShort
        } else if len > maximum {
            Length::Other
        } else if possible.contains(&len) {
            Length::Possible
        } else {
            Length::Other
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::testing::xorshift;

        /// For every region, one walk of its [`TypeDfa`] gives the type its patterns give
        /// one by one, on its example numbers, their prefixes, one-digit changes and
        /// extensions, and random digits.
        #[test]
        fn type_dfa_matches_patterns() {
            let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
            let (mut regions, mut fallbacks, mut checks) = (0, 0, 0);
            for code in 1..CODES as u16 {
                let Some(table) = table(code) else { continue };
                for region in &table.metas {
                    regions += 1;
                    if region.types.is_none() {
                        fallbacks += 1;
                        continue;
                    }
                    let examples = type_descriptors(region.meta).filter_map(Descriptor::example);
                    let mut numbers: Vec<String> = Vec::new();
                    for example in examples {
                        for len in 0..=example.len() {
                            numbers.push(example[..len].to_owned());
                        }
                        for at in 0..=example.len() {
                            for digit in '0'..='9' {
                                let mut changed = example.to_owned();
                                if at < example.len() {
                                    changed.replace_range(at..=at, &digit.to_string());
                                } else {
                                    changed.push(digit);
                                }
                                numbers.push(changed);
                            }
                        }
                    }
                    numbers.extend((0..200).map(|_| random_digits(&mut state, 19)));
                    for number in &numbers {
                        assert_eq!(
                            region.number_type(number),
                            region.number_type_by_pattern(number),
                            "{number:?} in {}",
                            region.meta.id()
                        );
                        checks += 1;
                    }
                }
            }
            assert!(
                regions > 200 && fallbacks * 20 < regions,
                "{fallbacks} of {regions}"
            );
            assert!(checks > 100_000, "{checks} checks");
        }

        /// A string of fewer than `below` random digits.
        fn random_digits(state: &mut u64, below: u64) -> String {
            let len = xorshift(state) % below;
            (0..len)
                .map(|_| char::from(b'0' + (xorshift(state) % 10) as u8))
                .collect()
        }

        /// For every region, [`PrefixForParsing::match_groups`] (DFA first) answers as the
        /// regex does, on example numbers with and without the national prefix, their
        /// prefixes and random digits.
        #[test]
        fn prefix_for_parsing_matches_regex() {
            let mut state: u64 = 0x2545_F491_4F6C_DD1D;
            let mut checks = 0;
            for code in 1..CODES as u16 {
                let Some(table) = table(code) else { continue };
                for region in &table.metas {
                    let Some(parsing) = &region.national_prefix_for_parsing else {
                        continue;
                    };
                    let descriptors = region.meta.descriptors();
                    let prefix = region.meta.national_prefix().unwrap_or("0");
                    let mut numbers: Vec<String> = Vec::new();
                    for example in [descriptors.fixed_line(), descriptors.mobile()]
                        .into_iter()
                        .flatten()
                        .filter_map(Descriptor::example)
                    {
                        for written in [
                            example.to_owned(),
                            format!("{prefix}{example}"),
                            format!("{prefix}15{example}"),
                        ] {
                            for len in 0..=written.len() {
                                numbers.push(written[..len].to_owned());
                            }
                        }
                    }
                    numbers.extend((0..300).map(|_| random_digits(&mut state, 14)));
                    for number in &numbers {
                        assert_eq!(
                            parsing.match_groups(number),
                            parsing.pattern.match_groups(number),
                            "{number:?} in {}",
                            region.meta.id()
                        );
                        checks += 1;
                    }
                }
            }
            assert!(checks > 5_000, "{checks} checks");
        }
    }
}

/// The digits a national input would have if only the country code were added
/// and the trunk prefix dropped; differs from the output only when the number
/// was really rewritten (Argentine `15` -> `9`, carrier codes, ...).
fn national_as_international(digits: &str, checked: &Checked) -> String {
    let code = checked.code.to_string();
    // The default-region parse also accepts the region's country code in front.
    if digits.starts_with(&code) && digits.len() > checked.national().len() {
        return digits.to_owned();
    }
    let prefix = checked
        .code_meta()
        .and_then(Metadata::national_prefix)
        .unwrap_or("");
    let national = if prefix.is_empty() {
        digits
    } else {
        digits.strip_prefix(prefix).unwrap_or(digits)
    };
    format!("{code}{national}")
}

/// English name of a region for messages; falls back to the ISO code.
fn country_name(region: &str) -> Option<&'static str> {
    Some(match region {
        "AR" => "Argentina",
        "BO" => "Bolivia",
        "BR" => "Brazil",
        "CA" => "Canada",
        "CL" => "Chile",
        "CO" => "Colombia",
        "CR" => "Costa Rica",
        "CU" => "Cuba",
        "DE" => "Germany",
        "DO" => "the Dominican Republic",
        "EC" => "Ecuador",
        "ES" => "Spain",
        "FR" => "France",
        "GB" => "the United Kingdom",
        "GT" => "Guatemala",
        "HN" => "Honduras",
        "IT" => "Italy",
        "MX" => "Mexico",
        "NI" => "Nicaragua",
        "PA" => "Panama",
        "PE" => "Peru",
        "PR" => "Puerto Rico",
        "PT" => "Portugal",
        "PY" => "Paraguay",
        "SV" => "El Salvador",
        "US" => "the United States",
        "UY" => "Uruguay",
        "VE" => "Venezuela",
        _ => return None,
    })
}

/// "Argentina" or "country code +54 (AR)".
fn describe_country(code: u16, meta: Option<&'static Metadata>) -> String {
    let id = meta.map(Metadata::id).filter(|id| *id != "001");
    match id {
        Some(id) => match country_name(id) {
            Some(name) => name.to_owned(),
            None => format!("country code +{code} ({id})"),
        },
        None => format!("country code +{code}"),
    }
}

/// Help text with an example mobile number of the country, in provider form.
fn example_help(code: u16, meta: Option<&'static Metadata>) -> String {
    let example = meta
        .and_then(|m| {
            m.descriptors()
                .mobile()
                .or_else(|| m.descriptors().fixed_line())
        })
        .and_then(|d| d.example());
    let mut help = match example {
        Some(national) => format!("write it with the country code, e.g. {code}{national}"),
        None => format!("write it with the country code, e.g. {GENERIC_EXAMPLE}"),
    };
    if code == 54 {
        help.push_str(
            "; Argentine mobiles are 54 9 + area code + number, without the 0 and the 15",
        );
    }
    help
}

/// Parsed, but not a number that exists in its country.
fn invalid_error(shown: &str, checked: &Checked) -> PhoneError {
    let meta = checked.code_meta();
    PhoneError::new(
        format!(
            "`{shown}` is not a valid phone number for {}",
            describe_country(checked.code, meta)
        ),
        example_help(checked.code, meta),
    )
}

/// Whether the national part has a length the country uses for mobile or
/// fixed-line numbers, i.e. the digits were plausibly meant for that country.
fn plausible(checked: &Checked) -> bool {
    let Some(meta) = checked.code_meta() else {
        return false;
    };
    let Ok(len) = u16::try_from(checked.national().len()) else {
        return false;
    };
    let descriptors = meta.descriptors();
    [descriptors.mobile(), descriptors.fixed_line()]
        .into_iter()
        .flatten()
        .any(|d| {
            let lengths = d.possible_length();
            if lengths.is_empty() {
                descriptors.general().possible_length().contains(&len)
            } else {
                lengths.contains(&len)
            }
        })
}

/// Digits only, no default region, and not a valid international number.
fn no_country_error(shown: &str, international: Option<&Checked>) -> PhoneError {
    // Name the country only if the digits plausibly were meant for it;
    // otherwise the user most likely wrote a national number.
    match international.filter(|c| plausible(c)) {
        Some(checked) => invalid_error(shown, checked),
        None => PhoneError::new(
            format!("`{shown}` is not a valid phone number (no country code found)"),
            "write it with the country code, e.g. 5493516723999 or 573003834590, \
             or set a default country for numbers written without one"
                .to_owned(),
        ),
    }
}

/// Digits only, invalid both as a national number of the default region and
/// as an international number: report the reading the user more likely meant.
fn both_invalid_error(
    shown: &str,
    national: Result<Checked, ParseFailure>,
    international: Option<&Checked>,
) -> PhoneError {
    match national {
        Ok(checked) if plausible(&checked) => invalid_error(shown, &checked),
        national => match (international.filter(|c| plausible(c)), national) {
            (Some(checked), _) => invalid_error(shown, checked),
            (None, Ok(checked)) => invalid_error(shown, &checked),
            (None, Err(failure)) => failure.into_error(shown, false),
        },
    }
}

/// Valid, but a type WhatsApp users do not have (toll-free, premium, ...).
fn type_error(shown: &str, kind: Type, checked: &Checked) -> PhoneError {
    let what = match kind {
        Type::TollFree => "a toll-free number",
        Type::PremiumRate => "a premium-rate number",
        Type::SharedCost => "a shared-cost number",
        Type::Voip => "a VoIP number",
        Type::PersonalNumber => "a personal (forwarding) number",
        Type::Pager => "a pager number",
        Type::Uan => "a universal access number",
        Type::Emergency => "an emergency number",
        Type::Voicemail => "a voicemail number",
        Type::ShortCode => "a short code",
        Type::StandardRate => "a standard-rate service number",
        _ => "not a mobile number",
    };
    PhoneError::new(
        format!("`{shown}` is {what}, not a mobile number"),
        format!(
            "WhatsApp messages go to mobile numbers; {}",
            example_help(checked.code, checked.code_meta())
        ),
    )
}

fn too_long_error(shown: &str, digits: usize) -> PhoneError {
    PhoneError::new(
        format!(
            "`{shown}` has {digits} digits; a phone number has at most {MAX_DIGITS} including the country code"
        ),
        "check for two numbers pasted together or a stray extension".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    fn ok(input: &str, region: Option<&str>) -> Phone {
        match normalize(input, region) {
            Ok(phone) => phone,
            Err(e) => panic!("{input:?} ({region:?}) rejected: {e:?}"),
        }
    }

    fn err(input: &str, region: Option<&str>) -> PhoneError {
        match normalize(input, region) {
            Ok(phone) => panic!("{input:?} ({region:?}) accepted: {phone:?}"),
            Err(e) => e,
        }
    }

    /// Reference 5.4: `+5493516723999` is a valid Argentine mobile, kept as is.
    #[test]
    fn ar_mobile_international() {
        let p = ok("+5493516723999", None);
        assert_eq!(p.digits, "5493516723999");
        assert_eq!(p.region, Some("AR"));
        assert!(p.warnings.is_empty());
    }

    /// Reference 5.4: without the 9, `+543516723999` is an Argentine fixed line (warning, not error).
    #[test]
    fn ar_without_nine_is_fixed_line() {
        let p = ok("+543516723999", None);
        assert_eq!(p.digits, "543516723999");
        assert_eq!(p.warnings, vec![PhoneWarning::FixedLine]);
    }

    /// Reference 5.4: `+5493511234567` is in an unassigned range and is rejected naming Argentina.
    #[test]
    fn ar_unassigned_range_is_invalid() {
        let e = err("+54 9 351 123 4567", None);
        assert_eq!(
            e.message,
            "`+54 9 351 123 4567` is not a valid phone number for Argentina"
        );
        let help = e.help.unwrap_or_default();
        assert!(help.contains("country code, e.g. 549"), "{help}");
    }

    /// Reference 5.4: digits-only `5493516723999` works with no default region (international first).
    #[test]
    fn digits_only_without_region() {
        let p = ok("5493516723999", None);
        assert_eq!(p.digits, "5493516723999");
        assert_eq!(p.region, Some("AR"));
        assert!(p.warnings.is_empty());
    }

    /// Reference 5.4: `+54 11 15 5874 9895` has its `15` turned into the mobile `9`, with a Rewritten warning.
    #[test]
    fn ar_15_form_international() {
        let p = ok("+54 11 15 5874 9895", None);
        assert_eq!(p.digits, "5491158749895");
        assert_eq!(
            p.warnings,
            vec![PhoneWarning::Rewritten {
                from: "+54 11 15 5874 9895".into()
            }]
        );
    }

    /// Reference 5.4: national `0351 15 672-3999` with region AR becomes `5493516723999`.
    #[test]
    fn ar_15_form_national() {
        let p = ok("0351 15 672-3999", Some("AR"));
        assert_eq!(p.digits, "5493516723999");
        assert_eq!(p.region, Some("AR"));
        assert_eq!(
            p.warnings,
            vec![PhoneWarning::Rewritten {
                from: "0351 15 672-3999".into()
            }]
        );
    }

    /// Reference 5.4: the Mexican WhatsApp-id form `+5215541637145` is mapped to `525541637145` with a warning.
    #[test]
    fn mx_whatsapp_id_form() {
        let p = ok("+52 1 55 4163 7145", None);
        assert_eq!(p.digits, "525541637145");
        assert_eq!(p.region, Some("MX"));
        assert_eq!(
            p.warnings,
            vec![PhoneWarning::MexicanWhatsappId {
                from: "+52 1 55 4163 7145".into()
            }]
        );
    }

    /// The Mexican WhatsApp-id form is also recognised digits-only, without a region.
    #[test]
    fn mx_whatsapp_id_digits_only() {
        let p = ok("5215541637145", None);
        assert_eq!(p.digits, "525541637145");
        assert!(matches!(
            p.warnings.as_slice(),
            [PhoneWarning::MexicanWhatsappId { .. }]
        ));
    }

    /// Reference 5.4: `+525541637145` is FixedLineOrMobile and accepted silently.
    #[test]
    fn mx_dialable_form() {
        let p = ok("+525541637145", None);
        assert_eq!(p.digits, "525541637145");
        assert!(p.warnings.is_empty());
    }

    /// Reference 5.4: Colombian mobiles `+573003834590`, `+573137004535` are valid, also digits-only.
    #[test]
    fn co_mobile() {
        for (input, digits) in [
            ("+573003834590", "573003834590"),
            ("+57 313 700 4535", "573137004535"),
            ("573003834590", "573003834590"),
        ] {
            let p = ok(input, None);
            assert_eq!(p.digits, digits);
            assert_eq!(p.region, Some("CO"));
            assert!(p.warnings.is_empty(), "{input}: {:?}", p.warnings);
        }
    }

    /// Reference 5.4: the Brazilian 9-digit mobile `+5511987654321` is valid.
    #[test]
    fn br_mobile() {
        let p = ok("+55 (11) 98765-4321", None);
        assert_eq!(p.digits, "5511987654321");
        assert_eq!(p.region, Some("BR"));
    }

    /// Reference 5.4: the Brazilian 8-digit WhatsApp-id form `+559281723241` is rejected (no mapping yet).
    #[test]
    fn br_old_eight_digit_form_is_invalid() {
        let e = err("+559281723241", None);
        assert!(e.message.contains("for Brazil"), "{}", e.message);
    }

    /// A leading `00` is read as `+`.
    #[test]
    fn double_zero_prefix() {
        let p = ok("00 54 9 351 672-3999", None);
        assert_eq!(p.digits, "5493516723999");
        assert!(p.warnings.is_empty());
        let p = ok("0057 300 383 4590", Some("AR"));
        assert_eq!(p.digits, "573003834590");
    }

    /// A national number is completed with the default region's country code, silently.
    #[test]
    fn default_region_national_number() {
        let p = ok("300 383 4590", Some("CO"));
        assert_eq!(p.digits, "573003834590");
        assert_eq!(p.region, Some("CO"));
        assert!(p.warnings.is_empty());
        // Region codes are case-insensitive.
        assert_eq!(ok("(300) 383-4590", Some("co")).digits, "573003834590");
    }

    /// Dropping a national trunk prefix `0` is not reported as a rewrite.
    #[test]
    fn trunk_prefix_is_not_a_rewrite() {
        let p = ok("07400 123456", Some("GB"));
        assert_eq!(p.digits, "447400123456");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    /// With a default region, digits carrying the region's own country code are recognised.
    #[test]
    fn default_region_own_country_code() {
        let p = ok("573003834590", Some("CO"));
        assert_eq!(p.digits, "573003834590");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let p = ok("54 9 351 672 3999", Some("AR"));
        assert_eq!(p.digits, "5493516723999");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    /// A national number that is also a valid foreign international number follows the default region.
    #[test]
    fn default_region_wins_ambiguity() {
        let p = ok("3224203533", Some("CO"));
        assert_eq!(p.digits, "573224203533");
        assert_eq!(p.region, Some("CO"));
        // Without a default region the same digits can only be read as Belgian.
        assert_eq!(ok("3224203533", None).region, Some("BE"));
    }

    /// Invalid digits with a default region name the country the user more likely meant.
    #[test]
    fn default_region_invalid_names_likely_country() {
        let e = err("300 123", Some("CO"));
        assert!(!e.message.is_empty());
        let e = err("5493511234567", Some("CO"));
        assert!(e.message.ends_with("for Argentina"), "{}", e.message);
        let e = err("1234567890", Some("CO"));
        assert!(e.message.ends_with("for Colombia"), "{}", e.message);
    }

    /// With a default region, digits of another country (invalid nationally) are read internationally.
    #[test]
    fn default_region_prefers_valid_international() {
        let p = ok("5493516723999", Some("CO"));
        assert_eq!(p.digits, "5493516723999");
        assert_eq!(p.region, Some("AR"));
        assert!(p.warnings.is_empty());
    }

    /// Digits-only national numbers without a default region are rejected with a hint.
    #[test]
    fn national_without_region_is_rejected() {
        let e = err("3003834590", None);
        assert!(e.message.contains("no country code"), "{}", e.message);
        assert!(e.help.unwrap_or_default().contains("default country"));
    }

    /// Letters are rejected.
    #[test]
    fn letters() {
        let e = err("+54 9 351 ABC 3999", None);
        assert!(e.message.contains("contains letters"), "{}", e.message);
        let e = err("n/a", None);
        assert!(e.message.contains("letters"), "{}", e.message);
    }

    /// Other characters, and a `+` that is not leading, are rejected.
    #[test]
    fn bad_characters() {
        assert!(err("+54#9351", None).message.contains("`#`"));
        assert!(err("54+93516723999", None).message.contains("`+`"));
        assert!(err("++5493516723999", None).message.contains("`+`"));
    }

    /// Empty and separator-only inputs are rejected.
    #[test]
    fn empty() {
        assert_eq!(err("", None).message, "phone number is empty");
        assert_eq!(err("   ", Some("AR")).message, "phone number is empty");
        assert!(err(" - ( ) ", None).message.contains("no digits"));
        assert!(err("+", None).message.contains("no digits"));
    }

    /// More than 15 digits is rejected before parsing; 15 digits is left to validation.
    #[test]
    fn too_long() {
        let e = err("+54 9 351 672 3999 1234", None);
        assert!(e.message.contains("17 digits"), "{}", e.message);
        assert!(
            err("5493516723999123", Some("AR"))
                .message
                .contains("16 digits")
        );
        assert!(!err("549351672399912", None).message.contains("digits;"));
    }

    /// Too-short inputs and unknown country codes give errors, not panics.
    #[test]
    fn short_and_unknown_country_code() {
        assert!(!err("+1", None).message.is_empty());
        assert!(!err("+54", None).message.is_empty());
        assert!(err("+999 1234 5678", None).message.contains("country code"));
    }

    /// Fixed lines are accepted with a warning.
    #[test]
    fn fixed_line_warning() {
        let p = ok("601 601 2345", Some("CO"));
        assert_eq!(p.digits, "576016012345");
        assert_eq!(p.warnings, vec![PhoneWarning::FixedLine]);
        let p = ok("+49 30 123456", None);
        assert_eq!(p.region, Some("DE"));
        assert_eq!(p.warnings, vec![PhoneWarning::FixedLine]);
    }

    /// Numbers whose national part starts with 0 (Italian fixed lines) get a region and type.
    #[test]
    fn leading_zero_national_number() {
        let p = ok("+39 02 8699 1234", None);
        assert_eq!(p.digits, "390286991234");
        assert_eq!(p.region, Some("IT"));
        assert_eq!(p.warnings, vec![PhoneWarning::FixedLine]);
    }

    /// Ivorian mobiles (national part starts with 0) are recognised as mobiles.
    #[test]
    fn leading_zero_mobile() {
        let p = ok("+225 07 12 34 56 78", None);
        assert_eq!(p.digits, "2250712345678");
        assert_eq!(p.region, Some("CI"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    /// Toll-free numbers are rejected as not mobile.
    #[test]
    fn toll_free_is_rejected() {
        let e = err("+1 800 234 5678", None);
        assert!(e.message.contains("toll-free"), "{}", e.message);
        let e = err("+800 1234 5678", None);
        assert!(e.message.contains("toll-free"), "{}", e.message);
    }

    /// An unknown default region is an error.
    #[test]
    fn unknown_default_region() {
        let e = err("3003834590", Some("XX"));
        assert!(
            e.message.contains("unknown default country"),
            "{}",
            e.message
        );
        assert!(
            err("3003834590", Some("Colombia"))
                .message
                .contains("unknown")
        );
    }

    /// Equal numbers written differently share a key; the key is the digits as an integer.
    #[test]
    fn key_deduplicates() {
        let a = ok("+54 9 351 672-3999", None);
        let b = ok("0351 15 672-3999", Some("AR"));
        assert_eq!(a.key(), 5_493_516_723_999);
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), ok("+573003834590", None).key());
    }

    /// Arbitrary digit strings (xorshift, fixed seed), with and without `+`, never panic.
    #[test]
    fn random_inputs_do_not_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || xorshift(&mut state);
        let regions = [None, Some("AR"), Some("MX"), Some("CO"), Some("BR")];
        for i in 0..250 {
            let len = next() % 17;
            let mut s = String::from(if i % 2 == 0 { "+" } else { "" });
            for _ in 0..len {
                s.push(char::from(b'0' + (next() % 10) as u8));
            }
            let _ = normalize(&s, regions[i % regions.len()]);
        }
    }

    /// Numbers of many countries, valid and invalid, international and national.
    const DIFFERENTIAL: &[&str] = &[
        "+5493516723999",
        "+543516723999",
        "+54 9 351 123 4567",
        "+54 11 15 5874 9895",
        "0351 15 672-3999",
        "011 15 5874 9895",
        "15 5874 9895",
        "0351 672 3999",
        "9 11 5874 9895",
        "54 9 351 672 3999",
        "5493511234567",
        "+54 9 11 5874 9895",
        "+54 800 222 1234",
        "+54 810 122 3344",
        "+54 600 123 4567",
        "+52 1 55 4163 7145",
        "5215541637145",
        "+525541637145",
        "044 55 4163 7145",
        "045 55 4163 7145",
        "01 55 4163 7145",
        "55 4163 7145",
        "+52 800 123 4567",
        "+52 900 123 4567",
        "+52 33 1234 5678",
        "+52 81 8123 4567",
        "+52 1 81 8123 4567",
        "+52 998 123 4567",
        "+573003834590",
        "+57 313 700 4535",
        "573003834590",
        "3003834590",
        "3224203533",
        "300 123",
        "1234567890",
        "601 601 2345",
        "1 601 601 2345",
        "03 300 383 4590",
        "0 300 383 4590",
        "+57 601 601 2345",
        "+57 1 8000 123456",
        "+57 18000 123456",
        "+57 1 900 123 4567",
        "+57 3054 123456",
        "+55 (11) 98765-4321",
        "+559281723241",
        "(11) 98765-4321",
        "0 21 11 98765 4321",
        "011 98765 4321",
        "11 3456 7890",
        "+55 11 3456 7890",
        "+55 800 123 4567",
        "+55 92 98172 3241",
        "+55 4004 1234",
        "0 xx 11 98765 4321",
        "+1 202 555 0123",
        "+1 800 234 5678",
        "+1 201 555 0123",
        "(201) 555-0123",
        "1 201 555 0123",
        "011 54 9 351 672 3999",
        "+1 416 555 0199",
        "+1 809 234 5678",
        "+1 787 234 5678",
        "+1 876 234 5678",
        "+1 684 733 1234",
        "+1 340 642 1234",
        "+1 900 234 5678",
        "+1 555 123 4567",
        "+44 7400 123456",
        "07400 123456",
        "+44 20 7946 0958",
        "+44 800 123 4567",
        "+44 7624 123456",
        "+44 1624 123456",
        "+49 30 123456",
        "+49 1512 3456789",
        "+49 180 1234567",
        "+33 6 12 34 56 78",
        "+33 1 23 45 67 89",
        "+33 8 00 12 34 56",
        "+34 612 345 678",
        "+34 912 345 678",
        "+39 02 8699 1234",
        "+39 312 345 6789",
        "+39 06 6982",
        "+351 912 345 678",
        "+351 212 345 678",
        "+56 9 6123 4567",
        "+56 2 2123 4567",
        "+51 912 345 678",
        "+51 1 234 5678",
        "+593 99 123 4567",
        "+593 2 212 3456",
        "+58 412 1234567",
        "+58 212 1234567",
        "+598 94 231 234",
        "+598 2 123 4567",
        "+595 961 456789",
        "+591 71234567",
        "+591 2 2123456",
        "+506 8312 3456",
        "+506 2212 3456",
        "+507 6123 4567",
        "+502 5123 4567",
        "+504 9123 4567",
        "+503 7012 3456",
        "+505 8123 4567",
        "+53 5 1234567",
        "+91 98765 43210",
        "+86 131 2345 6789",
        "+81 90 1234 5678",
        "+7 912 345 67 89",
        "+7 701 123 4567",
        "+7 800 123 4567",
        "+61 412 345 678",
        "+64 21 123 4567",
        "03 331 6005",
        "+27 82 123 4567",
        "+234 802 123 4567",
        "+225 07 12 34 56 78",
        "+225 27 22 12 34 56",
        "+972 50 123 4567",
        "+971 50 123 4567",
        "+90 501 234 56 78",
        "+800 1234 5678",
        "+808 1234 5678",
        "+870 301 234 567",
        "+882 1234 5678",
        "+883 5100 1234 5678",
        "+979 1 2345 6789",
        "+999 1234 5678",
        "+262 692 12 34 56",
        "+590 690 00 12 34",
        "+599 9 518 1234",
        "+47 412 34 567",
        "+358 41 2345678",
        "+358 18 123456",
        "+44 1481 123456",
        "+212 650 123456",
        "+212 528 123456",
        "+380 50 123 4567",
        "+375 29 123 4567",
        "+43 664 123456",
        "+41 78 123 45 67",
        "+32 224 20 35 33",
        "+32 470 12 34 56",
        "+31 6 12345678",
        "+48 512 345 678",
        "+420 601 123 456",
        "+30 691 234 5678",
        "+20 100 123 4567",
        "+966 50 123 4567",
        "+98 912 345 6789",
        "+62 812 3456 789",
        "+63 917 123 4567",
        "+84 91 234 56 78",
        "+82 10 1234 5678",
        "+66 81 234 5678",
        "+60 12 345 6789",
        "+65 8123 4567",
        "+852 5123 4567",
        "+886 912 345 678",
        "+0 123 4567",
        "+01234567",
        "+1",
        "+54",
        "+12",
        "+123",
        "+1234",
        "12",
        "123",
        "911",
        "112",
        "0",
        "00",
        "000",
        "0000000",
        "00000000000",
        "+000000000",
        "1111111111",
        "9999999999999",
        "549351672399912",
        "5493516723999123",
        "00 54 9 351 672-3999",
        "0057 300 383 4590",
        "009 57 300 383 4590",
        "0000 57 300 383 4590",
        "00 00",
        "07 300 383 4590",
        "005 57 300 383 4590",
        "+57 00 300 383 4590",
        "+0057 3003834590",
        "(300) 383-4590",
        " 300.383.4590 ",
        "+54#9351",
        "n/a",
        "",
        "   ",
        " - ( ) ",
        "+",
        "54+93516723999",
        "++5493516723999",
        "+54 9 351 ABC 3999",
        "1 800 234 5678",
        "18002345678",
        "8002345678",
        "5511987654321",
        "011 5511987654321",
        "0 11 5874 9895",
        "549 11 15 5874 9895",
        "54 011 15 5874 9895",
        "52 1 55 4163 7145",
        "52 55 4163 7145",
        "57 300 383 4590",
        "57 1 300 383 4590",
        "55 11 98765 4321",
        "1 202 555 0123",
    ];

    /// Compare the fast path with the legacy one on one input.
    fn assert_same(input: &str, region: Option<&str>) {
        let fast = normalize(input, region);
        let slow = legacy::with(|| normalize(input, region));
        assert_eq!(fast, slow, "{input:?} with default region {region:?}");
    }

    /// The compiled-pattern fast path gives exactly the results of the
    /// `phonenumber`-only implementation, on fixed inputs of many countries
    /// (as written, without `+`, with `+`, one digit short), random digit
    /// strings and, when present, the 100,000 benchmark recipients.
    #[test]
    fn fast_path_matches_legacy() {
        let regions = [
            None,
            Some("CO"),
            Some("AR"),
            Some("MX"),
            Some("BR"),
            Some("US"),
        ];
        let mut count = 0;
        for input in DIFFERENTIAL {
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            let variants = [
                (*input).to_owned(),
                digits.clone(),
                format!("+{digits}"),
                digits[..digits.len().saturating_sub(1)].to_owned(),
            ];
            for variant in &variants {
                for region in regions {
                    assert_same(variant, region);
                    count += 1;
                }
            }
        }
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || xorshift(&mut state);
        for i in 0..3000 {
            let len = 2 + next() % 14;
            let mut s = String::from(if i % 3 == 0 { "+" } else { "" });
            for _ in 0..len {
                s.push(char::from(b'0' + (next() % 10) as u8));
            }
            assert_same(&s, regions[i % regions.len()]);
            count += 1;
        }
        // A large generated CSV (shared/bench/gen_recipients.py) can be compared too:
        // WAFORM_PHONE_DIFF_CSV=/path/recipients.csv cargo test --lib phone
        let extra = std::env::var("WAFORM_PHONE_DIFF_CSV").ok();
        if let Some(Ok(mut reader)) = extra.map(csv::Reader::from_path) {
            for record in reader.records() {
                let record = record.expect("readable recipients.csv");
                for region in [None, Some("CO")] {
                    assert_same(&record[0], region);
                    count += 1;
                }
            }
        }
        assert!(count > 5000, "{count} comparisons");
    }

    /// Time `normalize` on the benchmark recipients, fast and legacy paths:
    /// `WAFORM_PHONE_DIFF_CSV=recipients.csv cargo test --release --lib phone::tests::bench_normalize -- --ignored --nocapture`.
    #[test]
    #[ignore = "a benchmark, not a test: needs a generated recipients.csv"]
    fn bench_normalize() {
        let path =
            std::env::var("WAFORM_PHONE_DIFF_CSV").unwrap_or_else(|_| "recipients.csv".to_owned());
        let mut reader = csv::Reader::from_path(path).expect("recipients");
        let phones: Vec<String> = reader
            .records()
            .map(|r| r.expect("record")[0].to_owned())
            .collect();
        for region in [None, Some("CO")] {
            for legacy in [true, false] {
                let run = || {
                    let start = std::time::Instant::now();
                    let ok = phones
                        .iter()
                        .filter(|p| normalize(p, region).is_ok())
                        .count();
                    (start.elapsed(), ok)
                };
                let (elapsed, ok) = if legacy { legacy::with(run) } else { run() };
                eprintln!(
                    "{} region {region:?}: {:.2} us/number ({ok} of {} valid)",
                    if legacy { "legacy" } else { "fast  " },
                    elapsed.as_secs_f64() * 1e6 / phones.len() as f64,
                    phones.len()
                );
            }
        }
    }
}

/// The implementation before the compiled-pattern fast path, kept to prove
/// it gives the same results (`tests::fast_path_matches_legacy`).
#[cfg(test)]
mod legacy {
    use std::cell::Cell;

    use super::{Checked, ParseFailure, db};
    use phonenumber::country::Id;
    use phonenumber::metadata::Metadata;
    use phonenumber::{PhoneNumber, Type};

    thread_local! {
        static ENABLED: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether [`super::normalize`] uses this implementation on this thread.
    pub(super) fn enabled() -> bool {
        ENABLED.with(Cell::get)
    }

    /// Run `f` with [`super::normalize`] using this implementation.
    pub(super) fn with<T>(f: impl FnOnce() -> T) -> T {
        ENABLED.with(|e| e.set(true));
        let result = f();
        ENABLED.with(|e| e.set(false));
        result
    }

    /// Parse `digits` (no `+`) as an international number.
    pub(super) fn check_international(digits: &str) -> Result<Checked, ParseFailure> {
        let mut plus = String::with_capacity(digits.len() + 1);
        plus.push('+');
        plus.push_str(digits);
        phonenumber::parse(None, &plus)
            .map(|n| check(&n))
            .map_err(ParseFailure::from_parse)
    }

    /// Parse `digits` as written in `region` (national form, or with the region's country code).
    pub(super) fn check_national(digits: &str, region: Id) -> Result<Checked, ParseFailure> {
        phonenumber::parse(Some(region), digits)
            .map(|n| check(&n))
            .map_err(ParseFailure::from_parse)
    }

    /// Find region and type of a parsed number.
    ///
    /// `PhoneNumber::metadata`, `is_valid` and `number_type` in phonenumber 0.3.10
    /// look the region up with the national number *without* its leading zeros,
    /// which misclassifies Italian fixed lines (`+39 06...`) and Ivorian mobiles
    /// (`+225 07...`) as `Unknown`; they also each redo the region search. This
    /// does the search once, on the national number with its zeros, mirroring
    /// libphonenumber's `getRegionCodeForNumber` and `getNumberType`.
    fn check(number: &PhoneNumber) -> Checked {
        let code = number.code().value();
        let national = number.national().to_string();
        let mut checked = Checked::new(code, &national);
        checked.meta = region_meta(code, &national);
        checked.kind = checked
            .meta
            .map_or(Type::Unknown, |m| number_type(m, &national));
        checked
    }

    /// Main region metadata of a country code (e.g. US for 1).
    fn main_meta(code: u16) -> Option<&'static Metadata> {
        let all = db().by_code(&code)?;
        all.iter()
            .find(|m| m.is_main_country_for_code())
            .or_else(|| all.first())
            .copied()
    }

    /// The region a national number belongs to, among those sharing `code`.
    fn region_meta(code: u16, national: &str) -> Option<&'static Metadata> {
        let regions = db().region(&code)?;
        if regions.len() == 1 {
            // Also covers non-geographic codes (region "001", shared by several codes).
            return main_meta(code);
        }
        regions.into_iter().find_map(|region| {
            let meta = db().by_id(region)?;
            let belongs = match meta.leading_digits() {
                Some(pattern) => pattern.find(national).is_some_and(|m| m.start() == 0),
                None => number_type(meta, national) != Type::Unknown,
            };
            belongs.then_some(meta)
        })
    }

    /// Type of a national number in a region, libphonenumber's order of checks.
    fn number_type(meta: &Metadata, national: &str) -> Type {
        let descriptors = meta.descriptors();
        let matches = |kind: Type| descriptors.get(kind).is_some_and(|d| d.is_match(national));
        if !descriptors.general().is_match(national) {
            return Type::Unknown;
        }
        let special = [
            Type::PremiumRate,
            Type::TollFree,
            Type::SharedCost,
            Type::Voip,
            Type::PersonalNumber,
            Type::Pager,
            Type::Uan,
            Type::Voicemail,
        ];
        if let Some(kind) = special.into_iter().find(|kind| matches(*kind)) {
            return kind;
        }
        if matches(Type::FixedLine) {
            let same_pattern = match (descriptors.fixed_line(), descriptors.mobile()) {
                (Some(f), Some(m)) => f.national_number().as_str() == m.national_number().as_str(),
                _ => false,
            };
            if same_pattern || matches(Type::Mobile) {
                return Type::FixedLineOrMobile;
            }
            return Type::FixedLine;
        }
        if matches(Type::Mobile) {
            return Type::Mobile;
        }
        Type::Unknown
    }
}
