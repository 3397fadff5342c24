//! Parsing and formatting of WhatsApp `currency` and `date_time` parameter values.
//!
//! Currency amounts are parsed as exact decimals into `amount_1000` (amount × 1000), never
//! through a float, and must fit WhatsApp's signed 32-bit field (rules 18-19 of
//! `reference/whatsapp-rules.md`). Dates are parsed from ISO 8601 and validated against the
//! Gregorian calendar (rule 22). Both get a pre-rendered, locale-aware fallback text, which is
//! what the recipient actually reads on Cloud API (rules 20-21, section 2.6).
//!
//! These functions run once per recipient: parsing never allocates on success, formatting
//! allocates only the returned `String`, and no input makes them panic.

use std::fmt;

/// The largest `amount_1000` WhatsApp accepts (`i32::MAX`): an amount of 2,147,483.647.
pub const MAX_AMOUNT_1000: i64 = i32::MAX as i64;

/// The smallest `amount_1000` that fits WhatsApp's field (`i32::MIN`): an amount of
/// -2,147,483.648.
pub const MIN_AMOUNT_1000: i64 = i32::MIN as i64;

/// How many characters of a rejected input are quoted back in an error message.
const QUOTE_LIMIT: usize = 40;

/// An exact money amount: `amount_1000` = amount × 1000 as WhatsApp wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    /// The amount × 1000, exact (`"19.99"` is `19990`).
    pub amount_1000: i64,
    /// How many decimals the user wrote, 0..=3 (`"19.90"` is 2); the fallback text shows at
    /// least this many.
    pub scale: u8,
}

/// Why a currency amount or a date could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What is wrong, quoting the offending value.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl ValueError {
    /// An error with a help line.
    fn with_help(message: String, help: impl Into<String>) -> Self {
        ValueError {
            message,
            help: Some(help.into()),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValueError {}

/// The input as quoted in an error message: cut after [`QUOTE_LIMIT`] characters so a huge
/// cell does not flood the diagnostics.
fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => {
            let mut out = String::with_capacity(cut + 3);
            out.push_str(s.get(..cut).unwrap_or(""));
            out.push('…');
            out
        }
        None => s.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Amounts
// ---------------------------------------------------------------------------------------------

/// `s.trim()`, settled by its two end bytes when both are ASCII and not whitespace, as the
/// values of a recipient mostly are.
pub fn trim(s: &str) -> &str {
    let solid = |b: Option<&u8>| b.is_some_and(|&b| (0x21..0x80).contains(&b));
    if solid(s.as_bytes().first()) && solid(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// [`trim`] of an owned value, keeping its allocation when there is nothing to trim.
pub fn trimmed(s: String) -> String {
    match trim(&s) {
        t if t.len() == s.len() => s,
        t => t.to_owned(),
    }
}

/// Parse a decimal string exactly (no float): `"1234.5"` → 1234500, `"100.99"` → 100990,
/// `"-3"` → -3000.
///
/// Accepts surrounding whitespace (trimmed), an optional leading `+` or `-`, one or more
/// digits, and optionally a `.` followed by one to three digits. Everything else is an
/// error with a help line: an empty value, a comma (`"12,50"`: use a dot as decimal
/// separator), thousands separators, currency symbols, exponent forms (`"1e3"`), more than 3
/// decimals (never rounded), and amounts whose `amount_1000` falls outside WhatsApp's signed
/// 32-bit range (above 2,147,483.647 or below -2,147,483.648).
///
/// Zero and negative amounts parse; WhatsApp refuses them, which the caller reports as a
/// warning (rule 19).
pub fn parse_amount(s: &str) -> Result<Amount, ValueError> {
    let t = trim(s);
    if t.is_empty() {
        return Err(ValueError::with_help(
            "the amount is empty".to_owned(),
            "give a number such as 1234.50",
        ));
    }
    let (negative, body) = match t.as_bytes().split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, t.as_bytes()),
    };

    let mut int: i64 = 0;
    let mut int_digits = 0usize;
    let mut overflow = false;
    let mut frac: i64 = 0;
    let mut frac_digits = 0usize;
    let mut dot = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                let digit = i64::from(c - b'0');
                if dot {
                    frac_digits += 1;
                    if frac_digits <= 3 {
                        frac = frac * 10 + digit;
                    }
                } else {
                    int_digits += 1;
                    if !overflow {
                        match int.checked_mul(10).and_then(|v| v.checked_add(digit)) {
                            Some(v) => int = v,
                            None => overflow = true,
                        }
                    }
                }
            }
            b'.' if !dot => dot = true,
            _ => return Err(not_a_number(t)),
        }
    }
    if int_digits == 0 || (dot && frac_digits == 0) {
        return Err(not_a_number(t));
    }
    if frac_digits > 3 {
        return Err(ValueError::with_help(
            format!(
                "`{}` has {frac_digits} decimals; WhatsApp amounts have at most 3",
                quote(t)
            ),
            "round the value in your data; waform never rounds amounts",
        ));
    }

    // frac_digits <= 3 here, so the scale fits and the shifted fraction is at most 999.
    let scale = frac_digits as u8;
    let frac_1000 = match frac_digits {
        0 => 0,
        1 => frac * 100,
        2 => frac * 10,
        _ => frac,
    };
    let magnitude = if overflow {
        None
    } else {
        int.checked_mul(1000).and_then(|v| v.checked_add(frac_1000))
    };
    let amount_1000 = magnitude.map(|m| if negative { -m } else { m });
    match amount_1000 {
        Some(v) if (MIN_AMOUNT_1000..=MAX_AMOUNT_1000).contains(&v) => Ok(Amount {
            amount_1000: v,
            scale,
        }),
        _ => Err(out_of_range(t, negative)),
    }
}

/// The error for a value that is not a plain decimal number, with a help line that names the
/// most likely mistake.
fn not_a_number(t: &str) -> ValueError {
    let has_digit = t.bytes().any(|c| c.is_ascii_digit());
    let numeric_with_e = has_digit
        && t.bytes().any(|c| c == b'e' || c == b'E')
        && t.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'e' | b'E' | b'.' | b'+' | b'-'));
    if numeric_with_e {
        return ValueError::with_help(
            format!(
                "`{}` uses exponent notation, which amounts do not accept",
                quote(t)
            ),
            "write the amount in full, e.g. 1500 instead of 1.5e3",
        );
    }
    let message = format!("`{}` is not a number", quote(t));
    let help = if t.contains(',') {
        "use a dot as decimal separator and no thousands separators (1234.50, not 1.234,50 or 1,234.50)"
    } else if t.chars().any(char::is_whitespace) {
        "remove the spaces: write the amount without thousands separators, e.g. 1234.50"
    } else if t.bytes().filter(|&c| c == b'.').count() > 1 {
        "write at most one dot, as decimal separator, and no thousands separators (1234.50, not 1.234.567)"
    } else if t
        .chars()
        .any(|c| c.is_alphabetic() || "$€£¥₹₩¢".contains(c))
    {
        "write only the number (e.g. 1234.50); the currency goes in `code`"
    } else if t.ends_with('.') {
        "write at least one digit after the dot, or drop the dot (1 or 1.0, not 1.)"
    } else if has_digit && t.contains('.') {
        "write a digit before the dot (0.50, not .50)"
    } else {
        "expected digits with an optional dot and up to 3 decimals, e.g. 1234.50"
    };
    ValueError::with_help(message, help)
}

/// The error for an amount whose `amount_1000` does not fit a signed 32-bit integer.
fn out_of_range(t: &str, negative: bool) -> ValueError {
    let message = if negative {
        format!(
            "`{}` is too small: WhatsApp sends the amount × 1000 (`amount_1000`) as a 32-bit \
             signed integer, at least -2,147,483,648, so the smallest amount is -2,147,483.648",
            quote(t)
        )
    } else {
        format!(
            "`{}` is too large: WhatsApp sends the amount × 1000 (`amount_1000`) as a 32-bit \
             signed integer, at most 2,147,483,647, so the largest amount is 2,147,483.647",
            quote(t)
        )
    };
    ValueError::with_help(
        message,
        "amounts this large (common in COP, CLP or ARS) cannot be sent as a currency \
         parameter; send them as a text parameter instead",
    )
}

/// Active ISO 4217 alphabetic codes (list one, as of 1 January 2026), sorted for binary
/// search.
///
/// Left out on purpose: `XXX` ("no currency") and `XTS` (reserved for testing), which are in
/// the ISO list but are always a mistake in a message to a customer; and withdrawn codes such
/// as `ANG` (replaced by `XCG` in 2025), `BGN` (Bulgaria adopted the euro in 2026), `HRK`,
/// `SLL`, `ZWL`, `CUC`, `VEF`, `MRO`, `STD`, `BYR`.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD",
    "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
    "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
    "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF",
    "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT",
    "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// Currencies whose ISO 4217 minor unit is 0 (no decimals), sorted.
const MINOR_UNITS_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];

/// Currencies whose ISO 4217 minor unit is 3, sorted.
const MINOR_UNITS_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Currencies whose ISO 4217 minor unit is 4 (units of account), sorted.
const MINOR_UNITS_4: &[&str] = &["CLF", "UYW"];

/// A three-byte code as an integer, big-endian, so that keys sort as the codes do; `None`
/// for any other length. Comparing keys is one integer compare instead of a `memcmp`.
const fn code_key(code: &[u8]) -> Option<u32> {
    match *code {
        [a, b, c] => Some(u32::from_be_bytes([0, a, b, c])),
        _ => None,
    }
}

/// The keys of a sorted table of three-letter codes, built at compile time (a code of another
/// length is a compile error).
const fn code_keys<const N: usize>(codes: &[&str]) -> [u32; N] {
    assert!(codes.len() == N);
    let mut keys = [0u32; N];
    let mut i = 0;
    while i < N {
        keys[i] = match code_key(codes[i].as_bytes()) {
            Some(key) => key,
            None => panic!("currency codes have three letters"),
        };
        i += 1;
    }
    keys
}

/// [`ISO_4217`] as [`code_key`]s, sorted as the codes are.
static ISO_4217_KEYS: [u32; ISO_4217.len()] = code_keys(ISO_4217);
/// [`MINOR_UNITS_0`] as [`code_key`]s.
static MINOR_UNITS_0_KEYS: [u32; MINOR_UNITS_0.len()] = code_keys(MINOR_UNITS_0);
/// [`MINOR_UNITS_3`] as [`code_key`]s.
static MINOR_UNITS_3_KEYS: [u32; MINOR_UNITS_3.len()] = code_keys(MINOR_UNITS_3);
/// [`MINOR_UNITS_4`] as [`code_key`]s.
static MINOR_UNITS_4_KEYS: [u32; MINOR_UNITS_4.len()] = code_keys(MINOR_UNITS_4);

/// True when `code` is an active ISO 4217 alphabetic code: exactly three uppercase ASCII
/// letters found in the official list.
///
/// Case matters (`"usd"` is false: WhatsApp wants the uppercase code). `XXX` ("no currency")
/// and `XTS` (testing) are rejected although ISO lists them; withdrawn codes (`HRK`, `BGN`,
/// `ANG`, ...) are rejected too.
pub fn is_currency_code(code: &str) -> bool {
    code_key(code.as_bytes()).is_some_and(|key| {
        code.bytes().all(|c| c.is_ascii_uppercase()) && ISO_4217_KEYS.binary_search(&key).is_ok()
    })
}

/// The ISO 4217 minor unit of `code` (decimals normally shown); 2 for anything not listed.
fn minor_units(code: &str) -> u8 {
    let Some(key) = code_key(code.as_bytes()) else {
        return 2;
    };
    if MINOR_UNITS_0_KEYS.binary_search(&key).is_ok() {
        0
    } else if MINOR_UNITS_3_KEYS.binary_search(&key).is_ok() {
        3
    } else if MINOR_UNITS_4_KEYS.binary_search(&key).is_ok() {
        4
    } else {
        2
    }
}

// ---------------------------------------------------------------------------------------------
// Locales
// ---------------------------------------------------------------------------------------------

/// The languages the fallbacks are written in; anything else reads as English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Es,
    Pt,
}

/// How numbers are written for a WhatsApp language code.
#[derive(Debug, Clone, Copy)]
struct Locale {
    lang: Lang,
    thousands: char,
    decimal: char,
}

/// The locale of a WhatsApp language code (`"es"`, `"es_AR"`, `"pt_BR"`, `"en_US"`): the
/// language is the part before `_` or `-`, compared case-insensitively.
///
/// Spanish and Portuguese write `.` for thousands and `,` for decimals, except Mexican and
/// Peruvian Spanish (`es_MX`, `es_PE`), which write numbers like English (`1,234.56`).
fn locale(language: &str) -> Locale {
    let (primary, region) = split_language(language);
    let lang = if primary.eq_ignore_ascii_case("es") {
        Lang::Es
    } else if primary.eq_ignore_ascii_case("pt") {
        Lang::Pt
    } else {
        Lang::En
    };
    let english_numbers = match lang {
        Lang::En => true,
        Lang::Es => region.eq_ignore_ascii_case("MX") || region.eq_ignore_ascii_case("PE"),
        Lang::Pt => false,
    };
    if english_numbers {
        Locale {
            lang,
            thousands: ',',
            decimal: '.',
        }
    } else {
        Locale {
            lang,
            thousands: '.',
            decimal: ',',
        }
    }
}

/// A language code's language and region, split at the first `_` or `-` (`"es_AR"` is
/// `("es", "AR")`, `"es"` is `("es", "")`). Searches bytes: both separators are ASCII.
fn split_language(language: &str) -> (&str, &str) {
    match language.bytes().position(|b| b == b'_' || b == b'-') {
        Some(at) => (
            language.get(..at).unwrap_or(""),
            language.get(at + 1..).unwrap_or(""),
        ),
        None => (language, ""),
    }
}

/// The symbol written before the amount, when the currency has a well-known one.
fn currency_symbol(code: &str, lang: Lang) -> Option<&'static str> {
    match code {
        "USD" if lang == Lang::En => Some("$"),
        "USD" => Some("US$"),
        "COP" | "ARS" | "MXN" | "CLP" | "UYU" => Some("$"),
        "EUR" => Some("€"),
        "BRL" => Some("R$"),
        "PEN" => Some("S/ "),
        _ => None,
    }
}

/// Append `value` in decimal with `sep` between groups of three digits.
fn push_grouped(out: &mut String, value: u64, sep: char) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    let head = match digits.len() % 3 {
        0 => 3,
        n => n,
    };
    let (first, mut rest) = digits.split_at(head.min(digits.len()));
    out.push_str(first);
    while let Some((group, tail)) = rest.split_at_checked(3) {
        out.push(sep);
        out.push_str(group);
        rest = tail;
    }
}

/// Append `value` in decimal, with leading zeros up to `width` digits, as
/// `format!("{value:0width$}")` does.
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// Append `value` as `format!("{value:0width$}")` does: a `-` first when negative, counted in
/// `width`, then the digits padded with zeros.
fn push_signed(out: &mut String, value: i32, width: usize) {
    if value < 0 {
        out.push('-');
        push_padded(
            out,
            u64::from(value.unsigned_abs()),
            width.saturating_sub(1),
        );
    } else {
        push_padded(out, u64::from(value.unsigned_abs()), width);
    }
}

/// The text the recipient reads when WhatsApp does not localise the amount.
///
/// The locale comes from `language`, a WhatsApp language code (`"es"`, `"es_AR"`, `"en_US"`,
/// `"pt_BR"`): Spanish and Portuguese write `1.234,56`, English and unknown languages
/// `1,234.56`; Mexican and Peruvian Spanish (`es_MX`, `es_PE`) write numbers like English, as
/// people there do.
///
/// The symbol goes before the number: `$` for USD in English and `US$` in Spanish and
/// Portuguese; `$` for COP, ARS, MXN, CLP and UYU; `€` for EUR; `R$` for BRL; `S/ ` for PEN;
/// any other code is written followed by a space (`GTQ 10.00`).
///
/// The number shows the currency's ISO 4217 minor units (2 for most, 0 for CLP or JPY, 3 for
/// KWD, BHD, OMR, JOD, TND, ...), or more when the user wrote more decimals; digits are never
/// dropped. Negative amounts start with `-` (`-$5.00`).
///
/// `currency_fallback(&Amount { amount_1000: 1_234_560, scale: 2 }, "USD", "en")` is
/// `"$1,234.56"`; COP 5,000,000 in `"es"` is `"$5.000.000,00"`.
pub fn currency_fallback(amount: &Amount, code: &str, language: &str) -> String {
    let loc = locale(language);
    let magnitude = amount.amount_1000.unsigned_abs();
    let units = magnitude / 1000;
    let thousandths = magnitude % 1000;
    // Decimals needed to show the exact value, whatever `scale` claims.
    let exact = if thousandths == 0 {
        0
    } else if thousandths.is_multiple_of(100) {
        1
    } else if thousandths.is_multiple_of(10) {
        2
    } else {
        3
    };
    let decimals = minor_units(code).max(amount.scale.min(3)).max(exact);

    let mut out = String::with_capacity(32);
    if amount.amount_1000 < 0 {
        out.push('-');
    }
    match currency_symbol(code, loc.lang) {
        Some(symbol) => out.push_str(symbol),
        None if code.is_empty() => {}
        None => {
            out.push_str(code);
            out.push(' ');
        }
    }
    push_grouped(&mut out, units, loc.thousands);
    if decimals > 0 {
        out.push(loc.decimal);
        let digits = [thousandths / 100, thousandths / 10 % 10, thousandths % 10];
        for k in 0..usize::from(decimals) {
            let d = digits.get(k).copied().unwrap_or(0);
            out.push(char::from(b'0' + d as u8));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// A parsed ISO 8601 date or date-time (proleptic Gregorian calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTimeValue {
    /// The year, 0000-9999 as written.
    pub year: i32,
    /// The month, 1-12.
    pub month: u8,
    /// The day of the month, 1-31 and valid for the month and year.
    pub day: u8,
    /// ISO weekday: Monday = 1 ... Sunday = 7, as WhatsApp's `day_of_week`.
    pub day_of_week: u8,
    /// Hour (0-23) and minute (0-59) as written, when a time was given.
    pub time: Option<(u8, u8)>,
}

/// English month names, January first.
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Spanish month names, January first.
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// Portuguese month names, January first.
const MONTHS_PT: [&str; 12] = [
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
];

/// True for Gregorian leap years.
fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1-12) of `year`; 0 for an invalid month.
fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// ISO weekday (Monday = 1 ... Sunday = 7) of a valid date.
fn iso_weekday(year: i32, month: u8, day: u8) -> u8 {
    // Days since 1970-01-01 (a Thursday), after Howard Hinnant's `days_from_civil`.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 0..=6 after rem_euclid, so the cast is lossless.
    ((days + 3).rem_euclid(7) + 1) as u8
}

/// A byte cursor over an ASCII date string; non-ASCII bytes simply fail every match.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Consume `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Consume exactly `n` digits (n <= 4) and return their value.
    fn digits(&mut self, n: usize) -> Option<u16> {
        let end = self.at.checked_add(n)?;
        let run = self.bytes.get(self.at..end)?;
        let mut value: u16 = 0;
        for &c in run {
            if !c.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(c - b'0');
        }
        self.at = end;
        Some(value)
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// The fields of a syntactically valid input, not yet checked against the calendar.
struct Fields {
    year: u16,
    month: u16,
    day: u16,
    time: Option<(u16, u16, u16)>,
    offset: Option<(u16, u16)>,
}

/// Read `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]][Z|±HH[:MM]|±HHMM]]`; `None` on any other form.
fn scan(t: &str) -> Option<Fields> {
    let mut c = Cursor {
        bytes: t.as_bytes(),
        at: 0,
    };
    let year = c.digits(4)?;
    c.eat(b'-').then_some(())?;
    let month = c.digits(2)?;
    c.eat(b'-').then_some(())?;
    let day = c.digits(2)?;
    let mut fields = Fields {
        year,
        month,
        day,
        time: None,
        offset: None,
    };
    if c.done() {
        return Some(fields);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.digits(2)?;
    c.eat(b':').then_some(())?;
    let minute = c.digits(2)?;
    let mut second = 0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            c.digits(1)?;
            while c.digits(1).is_some() {}
        }
    }
    fields.time = Some((hour, minute, second));
    if c.eat(b'Z') || c.eat(b'z') {
        fields.offset = Some((0, 0));
    } else if c.eat(b'+') || c.eat(b'-') {
        let oh = c.digits(2)?;
        let om = if c.eat(b':') {
            c.digits(2)?
        } else {
            c.digits(2).unwrap_or(0)
        };
        fields.offset = Some((oh, om));
    }
    c.done().then_some(fields)
}

/// The error for input that is not in an accepted ISO 8601 form.
fn not_a_date(t: &str) -> ValueError {
    let message = format!(
        "`{}` is not a date: expected an ISO 8601 date such as 2026-11-21 or 2026-11-21T15:30",
        quote(t)
    );
    let help = if t.contains('/') {
        "write the year first with dashes (2026-11-21); dates with slashes are ambiguous \
         (day/month or month/day)"
    } else if t.split(['-', 'T', 't', ' ']).any(|p| p.len() == 1) {
        "write month, day, hour and minute with two digits each, e.g. 2026-01-05T09:05"
    } else {
        "accepted forms: YYYY-MM-DD, YYYY-MM-DDTHH:MM and YYYY-MM-DDTHH:MM:SS (a space may \
         replace the T), optionally followed by Z or an offset such as -05:00"
    };
    ValueError::with_help(message, help)
}

/// Parse an ISO 8601 date or date-time.
///
/// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` and `YYYY-MM-DDTHH:MM:SS` (fractional seconds
/// allowed), with a space instead of the `T`, optionally followed by `Z` or an offset
/// (`+HH:MM`, `-HHMM`, `+HH`). The written local time is kept and the offset ignored:
/// the recipient reads the time the campaign author wrote. Surrounding whitespace is trimmed.
///
/// Validates month 1-12, the day against the month (leap years included), hour 0-23, minute
/// and second 0-59, and the offset. Errors say what was expected, e.g.
/// "`2026-02-30` is not a valid date: February 2026 has 28 days".
pub fn parse_date_time(s: &str) -> Result<DateTimeValue, ValueError> {
    let t = trim(s);
    if t.is_empty() {
        return Err(ValueError::with_help(
            "the date is empty".to_owned(),
            "give an ISO 8601 date such as 2026-11-21 or 2026-11-21T15:30",
        ));
    }
    let fields = scan(t).ok_or_else(|| not_a_date(t))?;
    let invalid_date = |why: String| {
        ValueError::with_help(
            format!("`{}` is not a valid date: {why}", quote(t)),
            "write the date as YYYY-MM-DD, e.g. 2026-11-21",
        )
    };
    let invalid_time = |why: &str| {
        ValueError::with_help(
            format!("`{}` is not a valid time: {why}", quote(t)),
            "write the time as HH:MM on a 24-hour clock, e.g. 2026-11-21T15:30",
        )
    };

    // Four digits always fit an i32 and two digits a u8; the fallbacks are unreachable.
    let year = i32::from(fields.year);
    let month = u8::try_from(fields.month).unwrap_or(0);
    let day = u8::try_from(fields.day).unwrap_or(0);
    if !(1..=12).contains(&month) {
        return Err(invalid_date(format!(
            "the month must be 01 to 12, not {:02}",
            fields.month
        )));
    }
    let month_days = days_in_month(year, month);
    if day == 0 {
        return Err(invalid_date("days of the month start at 01".to_owned()));
    }
    if day > month_days {
        let name = MONTHS_EN.get(usize::from(month) - 1).copied().unwrap_or("");
        return Err(invalid_date(format!(
            "{name} {year:04} has {month_days} days"
        )));
    }

    let time = match fields.time {
        None => None,
        Some((hour, minute, second)) => {
            if hour > 23 {
                return Err(invalid_time("the hour must be 00 to 23"));
            }
            if minute > 59 {
                return Err(invalid_time("the minute must be 00 to 59"));
            }
            if second > 59 {
                return Err(invalid_time("the second must be 00 to 59"));
            }
            let hour = u8::try_from(hour).unwrap_or(0);
            let minute = u8::try_from(minute).unwrap_or(0);
            Some((hour, minute))
        }
    };
    if let Some((oh, om)) = fields.offset
        && (oh > 23 || om > 59)
    {
        return Err(invalid_time(
            "the UTC offset must be Z or ±HH:MM with hours 00-23 and minutes 00-59",
        ));
    }

    Ok(DateTimeValue {
        year,
        month,
        day,
        day_of_week: iso_weekday(year, month, day),
        time,
    })
}

/// The human-readable text the recipient reads for a date.
///
/// By the language of `language` (a WhatsApp code such as `"es_AR"`; the part before `_`):
/// Spanish `"25 de febrero de 1977"`, Portuguese `"25 de fevereiro de 1977"`, English and
/// unknown languages `"February 25, 1977"`. A time, when given, is appended on a 24-hour
/// clock in Spanish and Portuguese (`", 15:33"`) and a 12-hour clock in English
/// (`", 3:33 PM"`).
pub fn date_fallback(value: &DateTimeValue, language: &str) -> String {
    let lang = locale(language).lang;
    let months = match lang {
        Lang::En => &MONTHS_EN,
        Lang::Es => &MONTHS_ES,
        Lang::Pt => &MONTHS_PT,
    };
    let month = usize::from(value.month)
        .checked_sub(1)
        .and_then(|i| months.get(i));
    // Built piece by piece, without the formatting machinery: this runs once per recipient.
    let mut out = String::with_capacity(40);
    match (lang, month) {
        (Lang::En, Some(name)) => {
            // "February 25, 1977"
            out.push_str(name);
            out.push(' ');
            push_padded(&mut out, u64::from(value.day), 1);
            out.push_str(", ");
            push_signed(&mut out, value.year, 1);
        }
        (Lang::Es | Lang::Pt, Some(name)) => {
            // "25 de febrero de 1977"
            push_padded(&mut out, u64::from(value.day), 1);
            out.push_str(" de ");
            out.push_str(name);
            out.push_str(" de ");
            push_signed(&mut out, value.year, 1);
        }
        // Only reachable for a hand-built value with a bad month: fall back to ISO.
        (_, None) => {
            push_signed(&mut out, value.year, 4);
            out.push('-');
            push_padded(&mut out, u64::from(value.month), 2);
            out.push('-');
            push_padded(&mut out, u64::from(value.day), 2);
        }
    }
    if let Some((hour, minute)) = value.time {
        out.push_str(", ");
        if lang == Lang::En {
            let h12 = match hour % 12 {
                0 => 12,
                h => h,
            };
            push_padded(&mut out, u64::from(h12), 1);
            out.push(':');
            push_padded(&mut out, u64::from(minute), 2);
            out.push_str(if hour < 12 { " AM" } else { " PM" });
        } else {
            push_padded(&mut out, u64::from(hour), 2);
            out.push(':');
            push_padded(&mut out, u64::from(minute), 2);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    /// Shorthand: the amount_1000 of a string that must parse.
    fn a1000(s: &str) -> i64 {
        parse_amount(s).expect(s).amount_1000
    }

    /// Shorthand: the error message of a string that must not parse as an amount.
    fn amount_err(s: &str) -> ValueError {
        parse_amount(s).expect_err(s)
    }

    /// Shorthand: the fallback of an amount string in a currency and language.
    fn money(s: &str, code: &str, language: &str) -> String {
        currency_fallback(&parse_amount(s).expect(s), code, language)
    }

    /// Shorthand: a date string that must parse.
    fn date(s: &str) -> DateTimeValue {
        parse_date_time(s).expect(s)
    }

    /// Shorthand: the error of a string that must not parse as a date.
    fn date_err(s: &str) -> ValueError {
        parse_date_time(s).expect_err(s)
    }

    /// The `push_grouped` before the digit writer was shared, for the comparison below.
    fn reference_push_grouped(out: &mut String, value: u64, sep: char) {
        let mut digits = [0u8; 20];
        let mut n = 0usize;
        let mut v = value;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let start = digits.len() - n;
        for (i, &d) in digits.iter().skip(start).enumerate() {
            if i > 0 && (n - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(char::from(d));
        }
    }

    /// `is_currency_code` as it was before the packed keys, for comparison.
    fn reference_is_currency_code(code: &str) -> bool {
        code.len() == 3
            && code.bytes().all(|c| c.is_ascii_uppercase())
            && ISO_4217.binary_search(&code).is_ok()
    }

    /// `minor_units` as it was before the packed keys, for comparison.
    fn reference_minor_units(code: &str) -> u8 {
        if MINOR_UNITS_0.binary_search(&code).is_ok() {
            0
        } else if MINOR_UNITS_3.binary_search(&code).is_ok() {
            3
        } else if MINOR_UNITS_4.binary_search(&code).is_ok() {
            4
        } else {
            2
        }
    }

    /// How `locale` split a language code when it searched for chars, for comparison.
    fn reference_split_language(language: &str) -> (&str, &str) {
        match language.find(['_', '-']) {
            Some(at) => (
                language.get(..at).unwrap_or(""),
                language.get(at + 1..).unwrap_or(""),
            ),
            None => (language, ""),
        }
    }

    /// The packed-key code lookups and `split_language` answer as the `&str` searches did.
    #[test]
    fn lookups_match_reference() {
        for keys in [
            &ISO_4217_KEYS[..],
            &MINOR_UNITS_0_KEYS[..],
            &MINOR_UNITS_3_KEYS[..],
            &MINOR_UNITS_4_KEYS[..],
        ] {
            assert!(keys.windows(2).all(|w| w[0] < w[1]));
        }
        let letters: Vec<char> = ('A'..='Z').chain(['a', 'z', '_', 'é', '0']).collect();
        let mut code = String::new();
        for &a in &letters {
            for &b in &letters {
                for &c in &letters {
                    code.clear();
                    code.extend([a, b, c]);
                    assert_eq!(
                        is_currency_code(&code),
                        reference_is_currency_code(&code),
                        "{code}"
                    );
                    assert_eq!(minor_units(&code), reference_minor_units(&code), "{code}");
                }
            }
        }
        for code in ["", "U", "US", "USDD", "CLPX", " CLP", "CLP ", "ÚSD", "€"] {
            assert_eq!(is_currency_code(code), reference_is_currency_code(code));
            assert_eq!(minor_units(code), reference_minor_units(code));
        }
        for language in [
            "", "es", "es_AR", "es-MX", "pt_BR", "pt-br", "_", "-", "_es", "é_MX", "ñ-x", "en__US",
        ] {
            assert_eq!(
                split_language(language),
                reference_split_language(language),
                "{language}"
            );
        }
    }

    /// `currency_fallback` as it was before the shared digit writer and the packed-key
    /// lookups, for comparison.
    fn reference_currency_fallback(amount: &Amount, code: &str, language: &str) -> String {
        let loc = locale(language);
        let magnitude = amount.amount_1000.unsigned_abs();
        let units = magnitude / 1000;
        let thousandths = magnitude % 1000;
        // Decimals needed to show the exact value, whatever `scale` claims.
        let exact = if thousandths == 0 {
            0
        } else if thousandths.is_multiple_of(100) {
            1
        } else if thousandths.is_multiple_of(10) {
            2
        } else {
            3
        };
        let decimals = reference_minor_units(code)
            .max(amount.scale.min(3))
            .max(exact);

        let mut out = String::with_capacity(32);
        if amount.amount_1000 < 0 {
            out.push('-');
        }
        match currency_symbol(code, loc.lang) {
            Some(symbol) => out.push_str(symbol),
            None if code.is_empty() => {}
            None => {
                out.push_str(code);
                out.push(' ');
            }
        }
        reference_push_grouped(&mut out, units, loc.thousands);
        if decimals > 0 {
            out.push(loc.decimal);
            let digits = [thousandths / 100, thousandths / 10 % 10, thousandths % 10];
            for k in 0..usize::from(decimals) {
                let d = digits.get(k).copied().unwrap_or(0);
                out.push(char::from(b'0' + d as u8));
            }
        }
        out
    }

    /// `date_fallback` as it was when it used `write!`, for comparison.
    fn reference_date_fallback(value: &DateTimeValue, language: &str) -> String {
        let lang = locale(language).lang;
        let months = match lang {
            Lang::En => &MONTHS_EN,
            Lang::Es => &MONTHS_ES,
            Lang::Pt => &MONTHS_PT,
        };
        let month = usize::from(value.month)
            .checked_sub(1)
            .and_then(|i| months.get(i));
        let mut out = String::with_capacity(40);
        // Writing to a String cannot fail; the results are ignored for that reason.
        match (lang, month) {
            (Lang::En, Some(name)) => {
                let _ = write!(out, "{name} {}, {}", value.day, value.year);
            }
            (Lang::Es | Lang::Pt, Some(name)) => {
                let _ = write!(out, "{} de {name} de {}", value.day, value.year);
            }
            // Only reachable for a hand-built value with a bad month: fall back to ISO.
            (_, None) => {
                let _ = write!(out, "{:04}-{:02}-{:02}", value.year, value.month, value.day);
            }
        }
        if let Some((hour, minute)) = value.time {
            if lang == Lang::En {
                let h12 = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                let half = if hour < 12 { "AM" } else { "PM" };
                let _ = write!(out, ", {h12}:{minute:02} {half}");
            } else {
                let _ = write!(out, ", {hour:02}:{minute:02}");
            }
        }
        out
    }

    /// `trim` and `trimmed` give what `str::trim` gives, at both ends and for every kind of
    /// whitespace, ASCII or not.
    #[test]
    fn trim_matches_str_trim() {
        let ends = [
            "", " ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{7f}", "\u{85}", "\u{a0}", "\u{2028}",
            "\u{3000}", "é", "!", "~", "a",
        ];
        for a in ends {
            for b in ends {
                for middle in ["", "x", " x ", "á b"] {
                    let s = format!("{a}{middle}{b}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                    assert_eq!(trimmed(s.clone()), s.trim(), "{s:?}");
                }
            }
        }
    }

    /// Currency and date fallbacks are byte-identical to the former code on edge values.
    #[test]
    fn fallbacks_match_reference() {
        let languages = ["es", "es_MX", "es_PE", "en_US", "pt_BR", "fr", "", "ES_ar"];
        let mut amounts: Vec<i64> = vec![
            0,
            1,
            5,
            -5,
            10,
            100,
            999,
            1000,
            1001,
            -1000,
            999_995,
            -999_995,
            999_999,
            1_000_000,
            1_234_560,
            1_000_000_000_000,
            MAX_AMOUNT_1000,
            MIN_AMOUNT_1000,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Spread over magnitudes: shift a random value right by a random amount.
            let v = (state >> (state % 63)) as i64;
            amounts.push(if state & 1 == 0 { v } else { -v });
        }
        let codes: Vec<&str> = ISO_4217.iter().copied().chain(["", "XXX"]).collect();
        for &amount_1000 in &amounts {
            for scale in [0u8, 3, 7] {
                let a = Amount { amount_1000, scale };
                for code in &codes {
                    for language in languages {
                        assert_eq!(
                            currency_fallback(&a, code, language),
                            reference_currency_fallback(&a, code, language),
                            "{a:?} {code} {language}"
                        );
                    }
                }
            }
        }
        // Parsed amounts too, as the compiler produces them.
        for s in [
            "0",
            "-0.5",
            "0.005",
            "19.99",
            "999.995",
            "1000",
            "1234.5",
            "2147483.647",
            "-2147483.648",
        ] {
            let a = parse_amount(s).expect(s);
            for code in [
                "USD", "COP", "EUR", "BRL", "PEN", "JPY", "KWD", "CLF", "GTQ",
            ] {
                for language in languages {
                    assert_eq!(
                        currency_fallback(&a, code, language),
                        reference_currency_fallback(&a, code, language),
                        "{s} {code} {language}"
                    );
                }
            }
        }
        let times = [
            None,
            Some((0, 0)),
            Some((0, 5)),
            Some((9, 7)),
            Some((11, 59)),
            Some((12, 0)),
            Some((13, 30)),
            Some((23, 59)),
            Some((200, 200)),
            Some((255, 255)),
        ];
        let years = [
            0,
            1,
            9,
            10,
            99,
            100,
            999,
            1000,
            1977,
            2026,
            9999,
            10_000,
            -1,
            -5,
            -999,
            -1000,
            i32::MAX,
            i32::MIN,
        ];
        for year in years {
            for month in 0..=14u8 {
                for day in [0u8, 1, 9, 10, 25, 31, 99, 255] {
                    for time in times {
                        let d = DateTimeValue {
                            year,
                            month,
                            day,
                            day_of_week: 1,
                            time,
                        };
                        for language in languages {
                            assert_eq!(
                                date_fallback(&d, language),
                                reference_date_fallback(&d, language),
                                "{d:?} {language}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Values that floats get wrong are exact: 0.1, 0.2, 0.3, 2.675, 19.99, 100.99, 1.005.
    #[test]
    fn amounts_are_exact() {
        assert_eq!(a1000("0.1") + a1000("0.2"), a1000("0.3"));
        assert_eq!(a1000("0.1"), 100);
        assert_eq!(a1000("2.675"), 2675);
        assert_eq!(a1000("19.99"), 19990);
        assert_eq!(a1000("100.99"), 100_990);
        assert_eq!(a1000("1.005"), 1005);
        assert_eq!(a1000("1234.5"), 1_234_500);
        assert_eq!(a1000("0.001"), 1);
    }

    /// Signs, leading zeros, whole numbers and surrounding spaces parse as expected.
    #[test]
    fn amount_signs_and_trimming() {
        assert_eq!(a1000("-3"), -3000);
        assert_eq!(a1000("+3"), 3000);
        assert_eq!(a1000("  42.50\t"), 42_500);
        assert_eq!(a1000("007"), 7000);
        assert_eq!(a1000("0"), 0);
        assert_eq!(a1000("-0"), 0);
        assert_eq!(a1000("-0.5"), -500);
    }

    /// The scale records the decimals the user wrote, trailing zeros included.
    #[test]
    fn amount_scale_is_what_was_written() {
        assert_eq!(parse_amount("5").unwrap().scale, 0);
        assert_eq!(parse_amount("5.0").unwrap().scale, 1);
        assert_eq!(parse_amount("5.50").unwrap().scale, 2);
        assert_eq!(parse_amount("5.500").unwrap().scale, 3);
    }

    /// Three decimals parse; four are an error naming the count, never rounded.
    #[test]
    fn three_decimals_ok_four_rejected() {
        assert_eq!(a1000("1.234"), 1234);
        let e = amount_err("1.2345");
        assert_eq!(
            e.message,
            "`1.2345` has 4 decimals; WhatsApp amounts have at most 3"
        );
        assert!(e.help.is_some());
        assert!(amount_err("1.0000").message.contains("4 decimals"));
    }

    /// 2,147,483.647 is the largest amount and -2,147,483.648 the smallest; one step beyond is
    /// an error that names the maximum and the 32-bit limit.
    #[test]
    fn int32_limit_boundary() {
        assert_eq!(a1000("2147483.647"), 2_147_483_647);
        assert_eq!(a1000("-2147483.648"), -2_147_483_648);
        let e = amount_err("2147483.648");
        assert!(e.message.contains("2,147,483.647"), "{}", e.message);
        assert!(e.message.contains("32-bit"), "{}", e.message);
        let e = amount_err("-2147483.649");
        assert!(e.message.contains("-2,147,483.648"), "{}", e.message);
        // COP 5,000,000 is a realistic amount that does not fit.
        assert!(amount_err("5000000").message.contains("too large"));
    }

    /// Digit strings far beyond i64 report the range error instead of overflowing.
    #[test]
    fn huge_amounts_do_not_overflow() {
        let e = amount_err("99999999999999999999999999999999.5");
        assert!(e.message.contains("too large"));
        let e = amount_err("-99999999999999999999999999999999");
        assert!(e.message.contains("too small"));
        // Leading zeros do not count towards the size.
        assert_eq!(a1000("0000000000000000000000000000001.5"), 1500);
    }

    /// A comma decimal separator is rejected with help to use a dot.
    #[test]
    fn comma_decimal_rejected_with_help() {
        let e = amount_err("12,50");
        assert_eq!(e.message, "`12,50` is not a number");
        assert!(
            e.help
                .unwrap()
                .starts_with("use a dot as decimal separator")
        );
        assert!(amount_err("1.234,50").help.unwrap().contains("dot"));
        assert!(amount_err("1,234.50").help.unwrap().contains("dot"));
    }

    /// Empty and blank values are an error.
    #[test]
    fn empty_amount_rejected() {
        assert_eq!(amount_err("").message, "the amount is empty");
        assert_eq!(amount_err("   ").message, "the amount is empty");
    }

    /// Exponent forms are rejected with their own message.
    #[test]
    fn exponent_rejected() {
        for s in ["1e3", "1.5E3", "2e-2", "1e+3"] {
            assert!(amount_err(s).message.contains("exponent notation"), "{s}");
        }
    }

    /// Other malformed amounts are errors with a relevant help line, and never panic.
    #[test]
    fn malformed_amounts_rejected() {
        for s in [
            "abc",
            "-",
            "+",
            ".",
            "1.",
            ".5",
            "1.2.3",
            "--1",
            "+-1",
            "1-",
            "$12",
            "12 USD",
            "1 234",
            "NaN",
            "inf",
            "١٢",
            "12\u{a0}5",
            "0x10",
            "1_000",
        ] {
            let e = amount_err(s);
            assert!(e.help.is_some(), "{s}");
        }
        assert!(amount_err("$12").help.unwrap().contains("`code`"));
        assert!(amount_err(".5").help.unwrap().contains("0.50"));
        assert!(amount_err("1.").help.unwrap().contains("after the dot"));
        assert!(amount_err("1 234").help.unwrap().contains("spaces"));
    }

    /// Long rejected inputs are quoted only in part.
    #[test]
    fn long_inputs_are_cut_in_messages() {
        let long = "x".repeat(10_000);
        let e = amount_err(&long);
        assert!(e.message.chars().count() < 80, "{}", e.message);
        assert!(e.message.contains('…'));
        let e = date_err(&"ñ".repeat(500));
        assert!(e.message.chars().count() < 200);
    }

    /// The currency list is sorted and unique, so binary search is valid.
    #[test]
    fn currency_tables_are_sorted() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
        assert!(MINOR_UNITS_0.windows(2).all(|w| w[0] < w[1]));
        assert!(MINOR_UNITS_3.windows(2).all(|w| w[0] < w[1]));
        assert!(MINOR_UNITS_4.windows(2).all(|w| w[0] < w[1]));
        for code in MINOR_UNITS_0
            .iter()
            .chain(MINOR_UNITS_3)
            .chain(MINOR_UNITS_4)
        {
            assert!(is_currency_code(code), "{code}");
        }
    }

    /// Active codes are accepted; lowercase, XXX/XTS, withdrawn and made-up codes are not.
    #[test]
    fn iso_currency_codes() {
        for code in [
            "USD", "COP", "ARS", "MXN", "CLP", "UYU", "EUR", "BRL", "PEN", "GTQ", "AED", "ZWG",
            "XCG", "VES", "VED", "SLE", "KWD", "XAU",
        ] {
            assert!(is_currency_code(code), "{code}");
        }
        for code in [
            "usd", "Usd", "XXX", "XTS", "ABC", "HRK", "ANG", "BGN", "VEF", "", "US", "USDD",
            " USD", "ÚSD",
        ] {
            assert!(!is_currency_code(code), "{code}");
        }
    }

    /// English fallbacks use "," thousands, "." decimals and "$" for USD.
    #[test]
    fn currency_fallback_english() {
        let a = Amount {
            amount_1000: 1_234_560,
            scale: 2,
        };
        assert_eq!(currency_fallback(&a, "USD", "en"), "$1,234.56");
        assert_eq!(currency_fallback(&a, "USD", "en_US"), "$1,234.56");
        assert_eq!(money("19.99", "USD", "en"), "$19.99");
        assert_eq!(money("1234567.5", "EUR", "en_GB"), "€1,234,567.50");
        assert_eq!(money("10", "GTQ", "en"), "GTQ 10.00");
        assert_eq!(money("999", "USD", "en"), "$999.00");
        assert_eq!(money("1000", "USD", "en"), "$1,000.00");
    }

    /// Spanish fallbacks use "." thousands and "," decimals; USD is "US$".
    #[test]
    fn currency_fallback_spanish() {
        // COP 5,000,000 overflows WhatsApp's field, but the fallback text is still right.
        let cop = Amount {
            amount_1000: 5_000_000_000,
            scale: 0,
        };
        assert_eq!(currency_fallback(&cop, "COP", "es"), "$5.000.000,00");
        assert_eq!(money("1234.56", "USD", "es"), "US$1.234,56");
        assert_eq!(money("1500.5", "ARS", "es_AR"), "$1.500,50");
        assert_eq!(money("15000", "CLP", "es_CL"), "$15.000");
        assert_eq!(money("250", "UYU", "es"), "$250,00");
        assert_eq!(money("99.9", "PEN", "es"), "S/ 99,90");
        assert_eq!(money("10", "GTQ", "es"), "GTQ 10,00");
        assert_eq!(money("1234.5", "EUR", "es_ES"), "€1.234,50");
    }

    /// Mexican and Peruvian Spanish write numbers the English way.
    #[test]
    fn currency_fallback_mexico_and_peru() {
        assert_eq!(money("1234.5", "MXN", "es_MX"), "$1,234.50");
        assert_eq!(money("1234.5", "PEN", "es_PE"), "S/ 1,234.50");
        assert_eq!(money("1234.5", "MXN", "es"), "$1.234,50");
    }

    /// Portuguese fallbacks use "." thousands, "," decimals, "R$" for BRL and "US$" for USD.
    #[test]
    fn currency_fallback_portuguese() {
        assert_eq!(money("1234.56", "BRL", "pt_BR"), "R$1.234,56");
        assert_eq!(money("20", "USD", "pt_BR"), "US$20,00");
        assert_eq!(money("0.5", "BRL", "pt"), "R$0,50");
    }

    /// Unknown languages fall back to English number formatting.
    #[test]
    fn currency_fallback_unknown_language() {
        assert_eq!(money("1234.56", "USD", "fr"), "$1,234.56");
        assert_eq!(money("1234.56", "BRL", ""), "R$1,234.56");
        assert_eq!(money("1234.56", "USD", "e"), "$1,234.56");
        assert_eq!(money("1234.56", "USD", "ES_ar"), "US$1.234,56");
    }

    /// Minor units follow ISO 4217, and the user's extra decimals are never dropped.
    #[test]
    fn currency_fallback_decimals() {
        assert_eq!(money("1500", "JPY", "en"), "JPY 1,500");
        assert_eq!(money("1.5", "KWD", "en"), "KWD 1.500");
        assert_eq!(money("1.5", "TND", "en"), "TND 1.500");
        assert_eq!(money("10.125", "USD", "en"), "$10.125");
        assert_eq!(money("10.120", "USD", "en"), "$10.120");
        assert_eq!(money("1500.5", "CLP", "es"), "$1.500,5");
        assert_eq!(money("1.5", "CLF", "es"), "CLF 1,5000");
        // A hand-built amount whose scale understates its digits still shows them all.
        let a = Amount {
            amount_1000: 1_500,
            scale: 0,
        };
        assert_eq!(currency_fallback(&a, "CLP", "es"), "$1,5");
    }

    /// Negative amounts get a leading "-", including the extreme i64 values.
    #[test]
    fn currency_fallback_negative_and_extremes() {
        assert_eq!(money("-5", "USD", "en"), "-$5.00");
        assert_eq!(money("-1234.5", "EUR", "es"), "-€1.234,50");
        assert_eq!(money("0", "USD", "en"), "$0.00");
        let min = Amount {
            amount_1000: i64::MIN,
            scale: 3,
        };
        assert_eq!(
            currency_fallback(&min, "USD", "en"),
            "-$9,223,372,036,854,775.808"
        );
        let odd = Amount {
            amount_1000: 1000,
            scale: 200,
        };
        assert_eq!(currency_fallback(&odd, "", "en"), "1.000");
    }

    /// Plain dates parse, with the ISO weekday; 1977-02-25 was a Friday (5).
    #[test]
    fn parses_plain_dates() {
        let d = date("1977-02-25");
        assert_eq!(
            d,
            DateTimeValue {
                year: 1977,
                month: 2,
                day: 25,
                day_of_week: 5,
                time: None
            }
        );
        assert_eq!(date("2026-11-21").day_of_week, 6);
        assert_eq!(date("2026-11-22").day_of_week, 7);
        assert_eq!(date("2026-11-23").day_of_week, 1);
        assert_eq!(date("1970-01-01").day_of_week, 4);
        assert_eq!(date("2000-01-01").day_of_week, 6);
        assert_eq!(date("0001-01-01").day_of_week, 1);
        assert_eq!(date(" 2026-11-21 ").day, 21);
    }

    /// Weekdays advance by one each day across month, year and leap boundaries.
    #[test]
    fn weekdays_are_consistent() {
        let mut expected = date("1899-12-31").day_of_week;
        for year in 1900..=2100 {
            for month in 1..=12u8 {
                for day in 1..=days_in_month(year, month) {
                    expected = expected % 7 + 1;
                    assert_eq!(
                        iso_weekday(year, month, day),
                        expected,
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }

    /// Leap days are valid only in leap years: 2028-02-29 and 2000-02-29 yes, 2026 and 1900 no.
    #[test]
    fn leap_days() {
        assert_eq!(date("2028-02-29").day, 29);
        assert_eq!(date("2000-02-29").day, 29);
        assert_eq!(
            date_err("2026-02-29").message,
            "`2026-02-29` is not a valid date: February 2026 has 28 days"
        );
        assert!(
            date_err("1900-02-29")
                .message
                .contains("February 1900 has 28 days")
        );
        assert_eq!(
            date_err("2026-02-30").message,
            "`2026-02-30` is not a valid date: February 2026 has 28 days"
        );
    }

    /// The time forms parse: T or space, seconds, fractions, Z and offsets (ignored).
    #[test]
    fn parses_times() {
        let expect = Some((15, 33));
        for s in [
            "1977-02-25T15:33",
            "1977-02-25 15:33",
            "1977-02-25t15:33",
            "1977-02-25T15:33:59",
            "1977-02-25T15:33:00.123",
            "1977-02-25T15:33:00,5",
            "1977-02-25T15:33Z",
            "1977-02-25T15:33:00Z",
            "1977-02-25T15:33+05:30",
            "1977-02-25T15:33:00-03:00",
            "1977-02-25T15:33-0300",
            "1977-02-25T15:33+02",
        ] {
            let d = date(s);
            assert_eq!(d.time, expect, "{s}");
            assert_eq!(
                (d.year, d.month, d.day, d.day_of_week),
                (1977, 2, 25, 5),
                "{s}"
            );
        }
        assert_eq!(date("2026-01-01T00:00").time, Some((0, 0)));
        assert_eq!(date("2026-12-31T23:59:59").time, Some((23, 59)));
    }

    /// Out-of-range months, days, hours, minutes, seconds and offsets say what was expected.
    #[test]
    fn rejects_out_of_range_fields() {
        assert!(
            date_err("2026-13-01")
                .message
                .contains("month must be 01 to 12")
        );
        assert!(
            date_err("2026-00-10")
                .message
                .contains("month must be 01 to 12")
        );
        assert!(date_err("2026-04-00").message.contains("start at 01"));
        assert!(
            date_err("2026-04-31")
                .message
                .contains("April 2026 has 30 days")
        );
        assert!(
            date_err("2026-01-32")
                .message
                .contains("January 2026 has 31 days")
        );
        assert!(
            date_err("2026-11-21T24:00")
                .message
                .contains("hour must be 00 to 23")
        );
        assert!(
            date_err("2026-11-21T12:60")
                .message
                .contains("minute must be 00 to 59")
        );
        assert!(date_err("2026-11-21T12:00:60").message.contains("second"));
        assert!(
            date_err("2026-11-21T12:00+24:00")
                .message
                .contains("offset")
        );
        assert!(
            date_err("2026-11-21T12:00+05:60")
                .message
                .contains("offset")
        );
    }

    /// Malformed dates get the "expected an ISO 8601 date" message, with specific help.
    #[test]
    fn rejects_malformed_dates() {
        for s in [
            "21/11/2026",
            "2026/11/21",
            "2026-1-5",
            "20261121",
            "2026-11",
            "2026-11-21T",
            "2026-11-21T15",
            "2026-11-21T15:3",
            "2026-11-21Z",
            "2026-11-21T15:30:00.",
            "2026-11-21T15:30+",
            "2026-11-21T15:30 extra",
            "2026-11-21  15:30",
            "+2026-11-21",
            "tomorrow",
            "２０２６-11-21",
            "2026-11-21T15:30+05:3",
        ] {
            let e = date_err(s);
            assert!(
                e.message
                    .contains("expected an ISO 8601 date such as 2026-11-21"),
                "{s}: {}",
                e.message
            );
            assert!(e.help.is_some(), "{s}");
        }
        assert!(date_err("21/11/2026").help.unwrap().contains("ambiguous"));
        assert!(date_err("2026-1-5").help.unwrap().contains("two digits"));
        assert_eq!(date_err("").message, "the date is empty");
        assert_eq!(date_err("  ").message, "the date is empty");
    }

    /// Date fallbacks in Spanish, Portuguese, English and an unknown language.
    #[test]
    fn date_fallbacks() {
        let d = date("1977-02-25");
        assert_eq!(date_fallback(&d, "es"), "25 de febrero de 1977");
        assert_eq!(date_fallback(&d, "es_AR"), "25 de febrero de 1977");
        assert_eq!(date_fallback(&d, "pt_BR"), "25 de fevereiro de 1977");
        assert_eq!(date_fallback(&d, "en"), "February 25, 1977");
        assert_eq!(date_fallback(&d, "en_US"), "February 25, 1977");
        assert_eq!(date_fallback(&d, "de"), "February 25, 1977");
        assert_eq!(
            date_fallback(&date("2026-03-01"), "pt"),
            "1 de março de 2026"
        );
    }

    /// With a time, Spanish and Portuguese use a 24-hour clock and English a 12-hour one.
    #[test]
    fn date_fallbacks_with_time() {
        let d = date("1977-02-25T15:33");
        assert_eq!(date_fallback(&d, "es"), "25 de febrero de 1977, 15:33");
        assert_eq!(date_fallback(&d, "pt_BR"), "25 de fevereiro de 1977, 15:33");
        assert_eq!(date_fallback(&d, "en"), "February 25, 1977, 3:33 PM");
        let midnight = date("2026-11-21T00:05");
        assert_eq!(
            date_fallback(&midnight, "en"),
            "November 21, 2026, 12:05 AM"
        );
        assert_eq!(
            date_fallback(&midnight, "es"),
            "21 de noviembre de 2026, 00:05"
        );
        let noon = date("2026-11-21T12:00");
        assert_eq!(date_fallback(&noon, "en"), "November 21, 2026, 12:00 PM");
        assert_eq!(
            date_fallback(&date("2026-11-21T09:07"), "es_MX"),
            "21 de noviembre de 2026, 09:07"
        );
    }

    /// A hand-built value with an impossible month formats without panicking.
    #[test]
    fn date_fallback_never_panics() {
        let bad = DateTimeValue {
            year: 2026,
            month: 0,
            day: 99,
            day_of_week: 0,
            time: Some((200, 200)),
        };
        assert!(date_fallback(&bad, "en").starts_with("2026-00-99"));
        assert!(date_fallback(&DateTimeValue { month: 13, ..bad }, "es").starts_with("2026-13-99"));
    }

    /// Every short input over a small alphabet parses or errors without panicking.
    #[test]
    fn no_panics_on_short_inputs() {
        let alphabet = ['0', '9', '-', '+', '.', ',', 'T', ':', 'Z', ' ', 'e', 'ñ'];
        let mut buf = String::new();
        let n = alphabet.len();
        for len in 0..=5u32 {
            for mut k in 0..n.pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[k % n]);
                    k /= n;
                }
                let _ = parse_amount(&buf);
                let _ = parse_date_time(&buf);
            }
        }
        // Long near-valid dates too.
        for s in [
            "2026-11-21T15:30:00.99999999999999999999",
            "9999-12-31T23:59:59+23:59",
        ] {
            let d = date(s);
            let _ = date_fallback(&d, "en");
        }
    }
}
