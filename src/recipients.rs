//! Recipients: streamed rows from inline YAML, CSV or NDJSON, each with where it came from.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use crate::diagnostics::{FileId, Span};

/// The column names of a CSV file, with their positions.
#[derive(Debug)]
pub struct Header {
    /// The names, in order.
    pub names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, usize>,
}

impl Header {
    /// A header from column names.
    pub fn new(names: Vec<String>) -> Header {
        let names: Vec<Arc<str>> = names.into_iter().map(|n| Arc::from(n.trim())).collect();
        let index = names
            .iter()
            .enumerate()
            .rev()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Header { names, index }
    }

    /// The position of a column (the first, when names repeat).
    pub fn position(&self, name: &str) -> Option<usize> {
        // Expressions look columns up for every row: comparing a few names is cheaper than
        // hashing.
        if self.names.len() <= 16 {
            return self.names.iter().position(|n| &**n == name);
        }
        self.index.get(name).copied()
    }
}

/// A CSV record's values: its text, checked as UTF-8 once as a whole, and where each field
/// ends in it.
#[derive(Debug, Clone)]
pub struct CsvValues {
    text: String,
    ends: Vec<usize>,
}

impl CsvValues {
    /// The values of `record`, or the 0-based index of its first field that is not UTF-8.
    pub fn from_record(record: &csv::ByteRecord) -> Result<CsvValues, usize> {
        let first_bad = || {
            record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .unwrap_or(0)
        };
        let Ok(text) = std::str::from_utf8(record.as_slice()) else {
            return Err(first_bad());
        };
        let mut ends = Vec::with_capacity(record.len());
        let mut end = 0;
        for field in record {
            end += field.len();
            // Valid as a whole, a row may still split a character between two fields.
            if !text.is_char_boundary(end) {
                return Err(first_bad());
            }
            ends.push(end);
        }
        Ok(CsvValues {
            text: text.to_owned(),
            ends,
        })
    }

    /// The value of field `i` (0-based).
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(j) => *self.ends.get(j)?,
            None => 0,
        };
        self.text.get(start..end)
    }
}

impl<'a> From<Vec<&'a str>> for CsvValues {
    fn from(values: Vec<&'a str>) -> CsvValues {
        let mut text = String::new();
        let mut ends = Vec::new();
        for value in values {
            text.push_str(value);
            ends.push(text.len());
        }
        CsvValues { text, ends }
    }
}

/// One recipient's fields, seen by expressions as variables (plus `vars`).
#[derive(Debug, Clone)]
pub enum Fields {
    /// A CSV record (its names are the header's, kept once per file rather than per row).
    Csv {
        /// The record's values.
        record: CsvValues,
    },
    /// A JSON object (inline YAML or NDJSON).
    Json(serde_json::Map<String, serde_json::Value>),
}

impl Fields {
    /// A field's value when it is a string (every CSV field is; empty past a short row's
    /// end), without making a template value of it: a CSV record's by `column` when given,
    /// else by name through `header`.
    pub fn str_value<'f>(
        &'f self,
        column: Option<usize>,
        name: &str,
        header: Option<&Header>,
    ) -> Option<&'f str> {
        match self {
            Fields::Csv { record } => {
                let column = match column {
                    Some(c) => c,
                    None => header?.position(name)?,
                };
                Some(record.get(column).unwrap_or(""))
            }
            Fields::Json(map) => map.get(name)?.as_str(),
        }
    }
}

/// A recipient row and its variables: the template engine's view of a recipient.
#[derive(Debug)]
pub struct RowContext {
    /// The fields.
    pub fields: Fields,
    /// The CSV header naming a record's fields.
    pub header: Option<Arc<Header>>,
    /// The campaign's `vars`.
    pub vars: Value,
}

impl RowContext {
    /// A field's value when it is a string, without making a template value of it.
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.fields.str_value(None, name, self.header.as_deref())
    }

    /// The names of the fields.
    fn names(&self) -> Vec<&str> {
        match (&self.fields, &self.header) {
            (Fields::Csv { .. }, Some(header)) => header.names.iter().map(|n| &**n).collect(),
            (Fields::Csv { .. }, None) => Vec::new(),
            (Fields::Json(map), _) => map.keys().map(String::as_str).collect(),
        }
    }
}

impl Object for RowContext {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        match &self.fields {
            Fields::Csv { .. } => match self.str_field(key) {
                Some(value) => Some(Value::from(value)),
                None if key == "vars" => Some(self.vars.clone()),
                None => None,
            },
            Fields::Json(map) => match map.get(key) {
                Some(v) => Some(Value::from(minijinja::value::Serde(v))),
                None if key == "vars" => Some(self.vars.clone()),
                None => None,
            },
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self.names().into_iter().map(Value::from).collect();
        keys.push(Value::from("vars"));
        Enumerator::Values(keys)
    }
}

/// Where a row came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// An inline mapping in the YAML.
    Inline {
        /// Its span.
        span: Span,
        /// Its 1-based position in the list.
        index: usize,
    },
    /// A line of a data file.
    Line {
        /// The data file.
        file: FileId,
        /// 1-based line.
        line: u64,
        /// Byte offset of the record's start.
        byte: u64,
    },
}

impl Origin {
    /// `data/customers.csv:12` or `inline recipient 3`, for reports.
    pub fn describe(&self, shown: &str) -> String {
        match self {
            Origin::Inline { index, .. } => format!("inline recipient {index}"),
            Origin::Line { line, .. } => {
                // Built for every message, so without the formatting machinery.
                let mut buffer = itoa::Buffer::new();
                let line = buffer.format(*line);
                let mut out = String::with_capacity(shown.len() + 1 + line.len());
                out.push_str(shown);
                out.push(':');
                out.push_str(line);
                out
            }
        }
    }

    /// The span of the whole row (the line's first character, or the inline mapping).
    pub fn span(&self) -> Span {
        match self {
            Origin::Inline { span, .. } => *span,
            Origin::Line {
                file, line, byte, ..
            } => Span {
                file: *file,
                line: *line as u32,
                column: 1,
                end_line: *line as u32,
                end_column: 2,
                offset: *byte as usize,
                len: 1,
            },
        }
    }

    /// The span of one field of the row: a CSV cell (read back from `path`, the data file on
    /// disk), an NDJSON key, or the inline mapping.
    pub fn field_span(&self, field: &str, header: Option<&Header>, path: &Path) -> Span {
        match self {
            Origin::Inline { span, .. } => *span,
            Origin::Line { file, line, byte } => {
                let found = read_line_at(path, *byte).and_then(|text| {
                    let (offset, len) = match header {
                        Some(header) => csv_cell(&text, header.position(field)?)?,
                        None => json_key(&text, field)?,
                    };
                    let column = text.get(..offset)?.chars().count() as u32 + 1;
                    let chars = text.get(offset..offset + len)?.chars().count() as u32;
                    Some((column, chars.max(1), offset, len))
                });
                match found {
                    Some((column, chars, offset, len)) => Span {
                        file: *file,
                        line: *line as u32,
                        column,
                        end_line: *line as u32,
                        end_column: column + chars,
                        offset: *byte as usize + offset,
                        len: len.max(1),
                    },
                    None => self.span(),
                }
            }
        }
    }
}

fn read_line_at(path: &Path, byte: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(byte)).ok()?;
    let mut reader = BufReader::new(file.take(1 << 20));
    let mut buf = Vec::new();
    reader.read_until(b'\n', &mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Byte offset and length of cell `index` in one CSV line (quotes respected).
fn csv_cell(line: &str, index: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut cell = 0;
    let mut start = 0;
    let mut in_quotes = false;
    let mut i = 0;
    while i <= bytes.len() {
        let b = bytes.get(i).copied();
        match b {
            Some(b'"') => in_quotes = !in_quotes,
            Some(b',') | None if !in_quotes => {
                if cell == index {
                    return Some((start, i - start));
                }
                cell += 1;
                start = i + 1;
            }
            None => return (cell == index).then_some((start, i - start)),
            _ => {}
        }
        i += 1;
    }
    None
}

fn json_key(line: &str, field: &str) -> Option<(usize, usize)> {
    let quoted = format!("\"{field}\"");
    let at = line.find(&quoted)?;
    let rest = &line[at + quoted.len()..];
    let colon = rest.find(':')?;
    let value_start = at + quoted.len() + colon + 1;
    let trimmed = line[value_start..].len() - line[value_start..].trim_start().len();
    Some((value_start + trimmed, 1))
}

/// A row with where it came from.
#[derive(Debug)]
pub struct Row {
    /// The fields.
    pub fields: Fields,
    /// Where it came from.
    pub origin: Origin,
}

/// A problem reading the data (the caller turns it into a diagnostic).
#[derive(Debug, Clone)]
pub struct DataProblem {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
    /// How to fix it.
    pub help: String,
}

/// A stream of rows.
pub enum Rows {
    /// Inline rows.
    Inline(
        std::vec::IntoIter<(serde_json::Map<String, serde_json::Value>, Span)>,
        usize,
    ),
    /// A CSV reader.
    Csv {
        /// The reader.
        reader: Box<csv::Reader<Box<dyn Read + Send>>>,
        /// The header.
        header: Arc<Header>,
        /// The file id for spans.
        file: FileId,
        /// The record buffer.
        record: csv::ByteRecord,
        /// Stop after a fatal error.
        done: bool,
    },
    /// An NDJSON reader.
    Ndjson {
        /// The lines.
        reader: Box<dyn BufRead + Send>,
        /// The file id for spans.
        file: FileId,
        /// Current line number.
        line: u64,
        /// Current byte offset.
        byte: u64,
        /// The line buffer.
        buf: Vec<u8>,
    },
}

/// Bytes read from a data file at a time.
const READ_BUFFER: usize = 1 << 16;

/// Open a CSV file: read its header row (a UTF-8 BOM is skipped).
pub fn open_csv(path: &PathBuf, file: FileId) -> Result<Rows, DataProblem> {
    let span = Span::file_start(file);
    let handle = File::open(path).map_err(|err| DataProblem {
        message: format!("cannot open `{}`: {err}", path.display()),
        span,
        help: "check the path in `recipients: { csv: ... }`".to_owned(),
    })?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, handle);
    let bom = reader
        .fill_buf()
        .map(|b| b.starts_with(b"\xEF\xBB\xBF"))
        .unwrap_or(false);
    if bom {
        reader.consume(3);
    }
    let boxed: Box<dyn Read + Send> = Box::new(reader);
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        // As large as the `BufReader`'s, whose reads then go straight into it, uncopied.
        .buffer_capacity(READ_BUFFER)
        .from_reader(boxed);
    let names = match csv_reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect::<Vec<_>>(),
        Err(err) => {
            return Err(DataProblem {
                message: format!("cannot read the header row: {}", csv_error_text(&err)),
                span,
                help: "the first line of the CSV must name its columns, e.g. `phone,first_name`; save the file as UTF-8".to_owned(),
            });
        }
    };
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(DataProblem {
            message: "the CSV file is empty or has no header row".to_owned(),
            span,
            help: "the first line of the CSV must name its columns, e.g. `phone,first_name`"
                .to_owned(),
        });
    }
    Ok(Rows::Csv {
        reader: Box::new(csv_reader),
        header: Arc::new(Header::new(names)),
        file,
        record: csv::ByteRecord::new(),
        done: false,
    })
}

/// Open an NDJSON file.
pub fn open_ndjson(path: &PathBuf, file: FileId) -> Result<Rows, DataProblem> {
    let span = Span::file_start(file);
    let handle = File::open(path).map_err(|err| DataProblem {
        message: format!("cannot open `{}`: {err}", path.display()),
        span,
        help: "check the path in `recipients: { ndjson: ... }`".to_owned(),
    })?;
    Ok(Rows::Ndjson {
        reader: Box::new(BufReader::with_capacity(READ_BUFFER, handle)),
        file,
        line: 0,
        byte: 0,
        buf: Vec::new(),
    })
}

/// What is wrong with a row or header whose field `field` (0-based) is not UTF-8.
fn not_utf8(field: usize) -> String {
    format!("field {} is not valid UTF-8", field + 1)
}

fn csv_error_text(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Utf8 { err, .. } => not_utf8(err.field()),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Io(err) => err.to_string(),
        _ => err.to_string(),
    }
}

impl Rows {
    /// The CSV header, if this is a CSV.
    pub fn header(&self) -> Option<Arc<Header>> {
        match self {
            Rows::Csv { header, .. } => Some(header.clone()),
            _ => None,
        }
    }

    /// The next row, or a problem with it (reading goes on after a bad row where it can).
    pub fn next_row(&mut self) -> Option<Result<Row, DataProblem>> {
        match self {
            Rows::Inline(iter, index) => {
                let (map, span) = iter.next()?;
                *index += 1;
                Some(Ok(Row {
                    fields: Fields::Json(map),
                    origin: Origin::Inline {
                        span,
                        index: *index,
                    },
                }))
            }
            Rows::Csv {
                reader,
                file,
                record,
                done,
                ..
            } => {
                if *done {
                    return None;
                }
                match reader.read_byte_record(record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let pos = record
                            .position()
                            .cloned()
                            .unwrap_or_else(csv::Position::new);
                        let values = match CsvValues::from_record(record) {
                            Ok(values) => values,
                            Err(field) => {
                                return Some(Err(DataProblem {
                                    message: format!("bad CSV row: {}", not_utf8(field)),
                                    span: line_span(*file, pos.line(), pos.byte()),
                                    help: "save the file as UTF-8".to_owned(),
                                }));
                            }
                        };
                        if record.as_slice().contains(&0) {
                            return Some(Err(DataProblem {
                                message: "the row contains a NUL byte".to_owned(),
                                span: line_span(*file, pos.line(), pos.byte()),
                                help: "remove the NUL characters: the file may be UTF-16 or binary; save it as UTF-8 CSV".to_owned(),
                            }));
                        }
                        Some(Ok(Row {
                            fields: Fields::Csv { record: values },
                            origin: Origin::Line {
                                file: *file,
                                line: pos.line(),
                                byte: pos.byte(),
                            },
                        }))
                    }
                    Err(err) => {
                        let pos = err.position().cloned().unwrap_or_else(csv::Position::new);
                        let fatal = matches!(err.kind(), csv::ErrorKind::Io(_));
                        *done = fatal;
                        Some(Err(DataProblem {
                            message: format!("bad CSV row: {}", csv_error_text(&err)),
                            span: line_span(*file, pos.line(), pos.byte()),
                            help: match err.kind() {
                                csv::ErrorKind::UnequalLengths { .. } => "every row needs as many fields as the header; quote fields that contain commas: \"Puebla, Pue.\"".to_owned(),
                                _ => "fix the CSV syntax on this line".to_owned(),
                            },
                        }))
                    }
                }
            }
            Rows::Ndjson {
                reader,
                file,
                line,
                byte,
                buf,
            } => {
                loop {
                    buf.clear();
                    let start = *byte;
                    match reader.read_until(b'\n', buf) {
                        Ok(0) => return None,
                        Ok(n) => {
                            *line += 1;
                            *byte += n as u64;
                        }
                        Err(err) => {
                            return Some(Err(DataProblem {
                                message: format!("cannot read: {err}"),
                                span: line_span(*file, *line + 1, start),
                                help: "check the file".to_owned(),
                            }));
                        }
                    }
                    let text = match std::str::from_utf8(buf) {
                        Ok(t) => t.trim(),
                        Err(_) => {
                            return Some(Err(DataProblem {
                                message: "the line is not valid UTF-8".to_owned(),
                                span: line_span(*file, *line, start),
                                help: "save the file as UTF-8".to_owned(),
                            }));
                        }
                    };
                    if text.is_empty() {
                        continue;
                    }
                    let origin = Origin::Line {
                        file: *file,
                        line: *line,
                        byte: start,
                    };
                    return Some(match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(map)) => Ok(Row { fields: Fields::Json(map), origin }),
                    Ok(_) => Err(DataProblem {
                        message: "the line is JSON but not an object".to_owned(),
                        span: line_span(*file, *line, start),
                        help: "each line must be one JSON object, e.g. {\"phone\": \"573001234567\"}".to_owned(),
                    }),
                    Err(err) => Err(DataProblem {
                        message: format!("the line is not valid JSON: {err}"),
                        span: Span {
                            file: *file,
                            line: *line as u32,
                            column: err.column().max(1) as u32,
                            end_line: *line as u32,
                            end_column: err.column().max(1) as u32 + 1,
                            offset: start as usize,
                            len: 1,
                        },
                        help: "each line must be one JSON object".to_owned(),
                    }),
                });
                }
            }
        }
    }
}

fn line_span(file: FileId, line: u64, byte: u64) -> Span {
    Span {
        file,
        line: line.max(1) as u32,
        column: 1,
        end_line: line.max(1) as u32,
        end_column: 2,
        offset: byte as usize,
        len: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// A row's values are the csv crate's own: the same strings field by field, and the same
    /// first field refused when a row is not UTF-8, a character split between two fields
    /// included.
    #[test]
    fn csv_values_match_string_records() {
        let pieces: [&[u8]; 9] = [
            b"",
            b"a",
            b"Jos\xc3\xa9",
            b"\xc3",
            b"\xa9",
            b"\xe2\x82\xac",
            b"\xff",
            b" 1,5 ",
            b"\xf0\x9f",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || xorshift(&mut state);
        for _ in 0..20_000 {
            let fields = 1 + (next() % 5) as usize;
            let mut record = csv::ByteRecord::new();
            for _ in 0..fields {
                let mut field = Vec::new();
                for _ in 0..next() % 3 {
                    field.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
                }
                record.push_field(&field);
            }
            let ours = CsvValues::from_record(&record);
            match csv::StringRecord::from_byte_record(record.clone()) {
                Ok(strings) => {
                    let ours = ours.expect("valid UTF-8");
                    for (i, value) in strings.iter().enumerate() {
                        assert_eq!(ours.get(i), Some(value));
                    }
                    assert_eq!(ours.get(strings.len()), None);
                }
                Err(err) => assert_eq!(ours.err(), Some(err.utf8_error().field())),
            }
        }
    }

    /// CSV cells are found with quotes respected.
    #[test]
    fn finds_csv_cells() {
        let line = r#"573001234567,"Puebla, Pue.",x"#;
        assert_eq!(csv_cell(line, 0), Some((0, 12)));
        assert_eq!(csv_cell(line, 1), Some((13, 14)));
        assert_eq!(csv_cell(line, 2), Some((28, 1)));
        assert_eq!(csv_cell(line, 3), None);
    }
}
