//! JSON input: newline-delimited or concatenated objects, one row each.
//!
//! `'auto'` matches each key to the column of the same name (`'auto ignorecase'` ignoring
//! case); a jsonpaths file (`{"jsonpaths": ["$.a", "$['b']", "$.c[0]"]}`) gives one path per
//! target column, in order. Strings load as their text, numbers and booleans as their JSON
//! spelling, objects and arrays as JSON text, and null or a missing key as NULL.

use std::borrow::Cow;

use serde_json::Value;

use crate::copy::files::FileStore;
use crate::copy::options::JsonMode;
use crate::copy::{InputField, RowSink};
use crate::error::{Error, Result};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Parses `$.a.b`, `$['a']["b"]`, `$.a[0]`.
pub fn parse_path(path: &str) -> Result<Vec<Step>> {
    let bad = || Error::InvalidParameter {
        message: format!("invalid JSONPath expression: \"{path}\""),
    };
    let p = path.trim();
    let mut rest = p.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(bad)?;
            let inner = r[..close].trim();
            if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
            {
                steps.push(Step::Key(q.to_string()));
            } else {
                steps.push(Step::Index(inner.parse().map_err(|_| bad())?));
            }
            rest = &r[close + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

fn follow<'v>(mut v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    for s in steps {
        v = match s {
            Step::Key(k) => v.get(k)?,
            Step::Index(i) => v.get(*i)?,
        };
    }
    Some(v)
}

/// A JSON value as a field's text; null is `None`.
fn field_text(v: &Value) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s.as_bytes())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { b"true" } else { b"false" })),
        other => Some(Cow::Owned(other.to_string().into_bytes())),
    }
}

/// The paths of a jsonpaths file.
fn read_paths(fs: &dyn FileStore, location: &str, width: usize) -> Result<Vec<Vec<Step>>> {
    let shown = fs.display(location);
    let bytes = fs.read(location)?;
    let bad = |why: String| Error::InvalidParameter {
        message: format!("invalid jsonpaths file \"{shown}\": {why}"),
    };
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let paths = doc
        .get("jsonpaths")
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("no \"jsonpaths\" array".into()))?;
    if paths.len() != width {
        return Err(bad(format!(
            "it has {} paths but the COPY loads {width} columns",
            paths.len()
        )));
    }
    paths
        .iter()
        .map(|p| {
            p.as_str()
                .ok_or_else(|| bad("a path is not a string".into()))
                .and_then(parse_path)
        })
        .collect()
}

/// How a COPY's JSON objects map to its target columns: a jsonpaths file's paths, or the
/// columns' names (`'auto'`, maybe ignoring case).
pub(crate) struct JsonColumns {
    paths: Option<Vec<Vec<Step>>>,
    names: Vec<String>,
    ignore_case: bool,
}

impl JsonColumns {
    /// Reads the jsonpaths file, if `mode` names one.
    pub(crate) fn new(mode: &JsonMode, fs: &dyn FileStore, sink: &RowSink<'_>) -> Result<Self> {
        let width = sink.plan.targets.len();
        Ok(JsonColumns {
            paths: match mode {
                JsonMode::Paths(p) => Some(read_paths(fs, p, width)?),
                JsonMode::Auto { .. } => None,
            },
            names: sink.plan.targets.iter().map(|t| t.name.clone()).collect(),
            ignore_case: matches!(mode, JsonMode::Auto { ignore_case: true }),
        })
    }
}

/// Loads every object of `data`.
pub(crate) fn load_json(
    data: &[u8],
    mode: &JsonMode,
    fs: &dyn FileStore,
    sink: &mut RowSink<'_>,
) -> Result<()> {
    let columns = JsonColumns::new(mode, fs, sink)?;
    load_json_window(data, true, 1, &columns, sink);
    Ok(())
}

/// How far [`load_json_window`] got in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonWindow {
    /// Bytes of the window read: the next window starts with the rest (an unfinished value).
    pub(crate) consumed: usize,
    /// The line the rest starts on.
    pub(crate) line: u64,
    /// Whether the input is read to its end (the end of the data, or a syntax error, after
    /// which the stream cannot resume).
    pub(crate) finished: bool,
    /// Whether a syntax error ended it (the rest of the input is lost).
    pub(crate) broken: bool,
}

/// Cuts a window of JSON input that starts on line `line` into pieces of at least
/// `piece_bytes` (the last may be shorter), each ending just after a newline outside any
/// string, object or array: where one top-level value ends and the next has not begun. Returns
/// each piece's range and the line it starts on.
///
/// The cut points follow strings (with their escapes) and brackets only, not the full
/// grammar; but up to the first syntax error they are where the parser's values end, and the
/// piece holding that error reports it as the parser would, which ends the input there.
pub(crate) fn split_values(
    data: &[u8],
    piece_bytes: usize,
    mut line: u64,
) -> Vec<(std::ops::Range<usize>, u64)> {
    let piece_bytes = piece_bytes.max(1);
    let mut pieces = Vec::new();
    let (mut start, mut start_line) = (0usize, line);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in data.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            // A raw newline inside a string is a syntax error; it still counts as a line.
            if b == b'\n' {
                line += 1;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                if depth == 0 && i + 1 - start >= piece_bytes && i + 1 < data.len() {
                    pieces.push((start..i + 1, start_line));
                    (start, start_line) = (i + 1, line);
                }
            }
            _ => {}
        }
    }
    pieces.push((start..data.len(), start_line));
    pieces
}

/// Loads the complete objects of a window of JSON input that starts on line `line`. Unless
/// `eof`, a value the window cuts off is left for the next window (with the bytes before it);
/// at `eof` it is a syntax error.
pub(crate) fn load_json_window(
    data: &[u8],
    eof: bool,
    mut line: u64,
    columns: &JsonColumns,
    sink: &mut RowSink<'_>,
) -> JsonWindow {
    let first_line = line;
    let mut stream = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let mut counted = 0usize;
    loop {
        if sink.over_limit() {
            return JsonWindow {
                consumed: data.len(),
                line,
                finished: true,
                broken: false,
            };
        }
        // The line a value starts on: count newlines up to the first non-blank byte.
        let mut start = stream.byte_offset();
        line += data[counted..start].iter().filter(|b| **b == b'\n').count() as u64;
        while start < data.len() && data[start].is_ascii_whitespace() {
            if data[start] == b'\n' {
                line += 1;
            }
            start += 1;
        }
        counted = start;
        let unfinished = JsonWindow {
            consumed: start,
            line,
            finished: false,
            broken: false,
        };
        let Some(next) = stream.next() else {
            return JsonWindow {
                consumed: data.len(),
                line,
                finished: eof,
                broken: false,
            };
        };
        let end = stream.byte_offset().max(start);
        let raw = &data[start..end.min(data.len())];
        let value = match next {
            Ok(v) => v,
            Err(e) if e.is_eof() && !eof => return unfinished,
            Err(e) => {
                // The stream cannot resume after a syntax error: the rest of the file is lost.
                // The parser counts lines from the start of this window: say where the
                // error is in the file.
                let text = e.to_string();
                let what = text
                    .rfind(" at line ")
                    .map_or(text.as_str(), |i| &text[..i]);
                let message = if e.line() == 0 {
                    format!("invalid JSON: {what}")
                } else {
                    let at = first_line + e.line() as u64 - 1;
                    format!("invalid JSON: {what} at line {at} column {}", e.column())
                };
                let cause = Error::BadCopyFileFormat { message };
                sink.reject(line, "", &data[start..], &[], cause);
                return JsonWindow {
                    consumed: data.len(),
                    line,
                    finished: true,
                    broken: true,
                };
            }
        };
        // A number, true, false or null that ends the window may go on in the next one.
        let delimited = matches!(value, Value::Object(_) | Value::Array(_) | Value::String(_));
        if !eof && !delimited && end >= data.len() {
            return unfinished;
        }
        let Value::Object(map) = &value else {
            let cause = Error::BadCopyFileFormat {
                message: "a JSON value is not an object".into(),
            };
            sink.reject(line, "", raw, &[], cause);
            continue;
        };
        let fields: Vec<InputField<'_>> = match &columns.paths {
            Some(paths) => paths
                .iter()
                .map(|p| (follow(&value, p).and_then(field_text), &[][..]))
                .collect(),
            None => columns
                .names
                .iter()
                .map(|n| {
                    let v = if columns.ignore_case {
                        map.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(n))
                            .map(|(_, v)| v)
                    } else {
                        map.get(n)
                    };
                    (v.and_then(field_text), &[][..])
                })
                .collect(),
        };
        sink.row(line, raw, &fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Dotted, bracketed and indexed paths, and malformed ones.
    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path("$.a['b c'][2]").unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2)
            ]
        );
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("$..a").is_err());
        let v: Value = serde_json::from_str(r#"{"a":{"b c":[1,2,{"x":true}]}}"#).unwrap();
        let steps = parse_path("$.a['b c'][2].x").unwrap();
        assert_eq!(follow(&v, &steps), Some(&Value::Bool(true)));
    }
}
