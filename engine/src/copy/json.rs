//! JSON input: newline-delimited or concatenated objects, one row each.
//!
//! `'auto'` matches each key to the column of the same name (`'auto ignorecase'` ignoring
//! case); a jsonpaths file (`{"jsonpaths": ["$.a", "$['b']", "$.c[0]"]}`) gives one path per
//! target column, in order. Strings load as their text, numbers and booleans as their JSON
//! spelling, objects and arrays as JSON text, and null or a missing key as NULL.
//!
//! With `'auto'` an object is deserialized straight from the input, without a
//! `serde_json::Value`: its keys and string values borrow the input (an escaped string is the
//! one copy), each key is looked up once in a map from names to column slots, and numbers are
//! written into one buffer per object. Only a nested object or array becomes a `Value`, for
//! its JSON text. A jsonpaths file's paths walk a `Value` of the whole object.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
    /// The target columns' slots by name (ASCII-lowercased with `ignore_case`; two quoted
    /// names may then share a key).
    slots: HashMap<String, Vec<usize>>,
    width: usize,
    ignore_case: bool,
}

impl JsonColumns {
    /// Reads the jsonpaths file, if `mode` names one.
    pub(crate) fn new(mode: &JsonMode, fs: &dyn FileStore, sink: &RowSink<'_>) -> Result<Self> {
        let width = sink.plan.targets.len();
        let ignore_case = matches!(mode, JsonMode::Auto { ignore_case: true });
        let mut slots: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in sink.plan.targets.iter().enumerate() {
            let name = if ignore_case {
                t.name.to_ascii_lowercase()
            } else {
                t.name.clone()
            };
            slots.entry(name).or_default().push(i);
        }
        Ok(JsonColumns {
            paths: match mode {
                JsonMode::Paths(p) => Some(read_paths(fs, p, width)?),
                JsonMode::Auto { .. } => None,
            },
            slots,
            width,
            ignore_case,
        })
    }

    /// The slots of the columns `key` names (none for a key no column has).
    fn slots_of<'k>(&'k self, key: &str, lowered: &mut String) -> &'k [usize] {
        let found = if self.ignore_case && key.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered.clear();
            lowered.push_str(key);
            lowered.make_ascii_lowercase();
            self.slots.get(lowered.as_str())
        } else {
            self.slots.get(key)
        };
        found.map_or(&[], |v| v.as_slice())
    }
}

/// A top-level JSON value as `'auto'` reads it: an object's members in input order, or
/// another value (a row that is rejected).
enum TopValue<'de> {
    Object(Vec<(Cow<'de, str>, Member<'de>)>),
    /// Not an object; `delimited` when it ends with a closing bracket or quote (a number,
    /// `true`, `false` or `null` at the end of a window may go on in the next one).
    Other {
        delimited: bool,
    },
}

/// One member's value: what its field's text is made from.
enum Member<'de> {
    Null,
    Str(Cow<'de, str>),
    Bool(bool),
    Number(serde_json::Number),
    /// A nested object or array, as JSON text.
    Json(String),
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = TopValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            members.push((key, map.next_value::<Member<'de>>()?));
        }
        Ok(TopValue::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopValue::Other { delimited: true })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: true })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: false })
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: false })
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: false })
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: false })
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(TopValue::Other { delimited: false })
    }
}

impl<'de> Deserialize<'de> for TopValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

/// An object's key, borrowed from the input unless it holds an escape.
struct Key<'de>(Cow<'de, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(Member::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Member::Number(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Member::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        // JSON has no NaN or infinity, so the parser never gives one.
        Ok(serde_json::Number::from_f64(v).map_or(Member::Null, Member::Number))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Member::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Member::Json(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Member::Json(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor)
    }
}

/// Buffers one reader of a piece of JSON input reuses from object to object.
#[derive(Default)]
struct Scratch {
    /// The text of an object's numbers.
    numbers: Vec<u8>,
    /// A key being lowercased (`'auto ignorecase'`).
    lowered: String,
    /// The keys of the last object, in order, with the slots each named: objects of one
    /// input usually have their keys in the same order, so a key equal to the one at its
    /// position in the last object needs no lookup.
    shape: Vec<(String, Vec<usize>)>,
}

/// A top-level value as one of the two readers sees it.
trait JsonRow<'de>: Deserialize<'de> {
    /// Whether the value ends with a closing bracket or quote (see [`TopValue::Other`]).
    fn delimited(&self) -> bool;
    /// Hands the fields of the target columns to `sink` as the row on `line` (`raw` is
    /// its text); false when the value is not an object.
    fn load(
        &self,
        columns: &JsonColumns,
        scratch: &mut Scratch,
        sink: &mut RowSink<'_>,
        line: u64,
        raw: &[u8],
    ) -> bool;
}

impl<'de> JsonRow<'de> for Value {
    fn delimited(&self) -> bool {
        matches!(self, Value::Object(_) | Value::Array(_) | Value::String(_))
    }

    fn load(
        &self,
        columns: &JsonColumns,
        _: &mut Scratch,
        sink: &mut RowSink<'_>,
        line: u64,
        raw: &[u8],
    ) -> bool {
        if !self.is_object() {
            return false;
        }
        let paths = columns.paths.as_deref().unwrap_or_default();
        let fields: Vec<InputField<'_>> = paths
            .iter()
            .map(|p| (follow(self, p).and_then(field_text), &[][..]))
            .collect();
        sink.row(line, raw, &fields);
        true
    }
}

/// Where a target column's field comes from in a [`TopValue::Object`].
#[derive(Clone, Copy)]
enum Slot {
    Missing,
    Member(usize),
    /// A number's text in the object's number buffer.
    Number(usize, usize),
}

impl<'de> JsonRow<'de> for TopValue<'de> {
    fn delimited(&self) -> bool {
        match self {
            TopValue::Object(_) => true,
            TopValue::Other { delimited } => *delimited,
        }
    }

    fn load(
        &self,
        columns: &JsonColumns,
        scratch: &mut Scratch,
        sink: &mut RowSink<'_>,
        line: u64,
        raw: &[u8],
    ) -> bool {
        let TopValue::Object(members) = self else {
            return false;
        };
        let Scratch {
            numbers,
            lowered,
            shape,
        } = scratch;
        numbers.clear();
        let mut slots = vec![Slot::Missing; columns.width];
        // Each key is looked up once (or found at its place in the last object's keys); a
        // later duplicate key wins, as in a `Value`.
        for (m, (key, value)) in members.iter().enumerate() {
            if shape.get(m).is_none_or(|(k, _)| k.as_str() != key.as_ref()) {
                let found = columns.slots_of(key, lowered).to_vec();
                match shape.get_mut(m) {
                    Some(known) => *known = (key.to_string(), found),
                    None => shape.push((key.to_string(), found)),
                }
            }
            let targets = shape.get(m).map_or(&[][..], |(_, t)| t.as_slice());
            if targets.is_empty() {
                continue;
            }
            let slot = match value {
                Member::Number(n) => {
                    let start = numbers.len();
                    // Writing to a Vec cannot fail.
                    let _ = write!(numbers, "{n}");
                    Slot::Number(start, numbers.len())
                }
                _ => Slot::Member(m),
            };
            for &t in targets {
                slots[t] = slot;
            }
        }
        let numbers: &[u8] = numbers;
        let fields: Vec<InputField<'_>> = slots
            .iter()
            .map(|s| {
                let value = match *s {
                    Slot::Missing => None,
                    Slot::Number(a, b) => Some(Cow::Borrowed(&numbers[a..b])),
                    Slot::Member(m) => match &members[m].1 {
                        Member::Null => None,
                        Member::Str(s) => Some(Cow::Borrowed(s.as_bytes())),
                        Member::Bool(b) => {
                            Some(Cow::Borrowed(if *b { &b"true"[..] } else { &b"false"[..] }))
                        }
                        Member::Json(j) => Some(Cow::Borrowed(j.as_bytes())),
                        Member::Number(_) => None,
                    },
                };
                (value, &[][..])
            })
            .collect();
        sink.row(line, raw, &fields);
        true
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
/// `piece_bytes` (the last may be shorter), each ending just after a newline between two
/// top-level objects: a newline whose line ends with `}` and whose next non-blank byte is
/// `{`. Returns each piece's range and the line it starts on.
///
/// In valid JSON such a newline is never inside a string (a string holds no raw newline) nor
/// inside an object or array (two values there are separated by a comma), so only newlines are
/// looked at, found with a byte search from `piece_bytes` on. Input that is not valid JSON
/// may be cut elsewhere; the piece holding the error still reports it on its line, which ends
/// the input there.
pub(crate) fn split_values(
    data: &[u8],
    piece_bytes: usize,
    line: u64,
) -> Vec<(std::ops::Range<usize>, u64)> {
    let piece_bytes = piece_bytes.max(1);
    let blank = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    let mut pieces = Vec::new();
    let (mut start, mut start_line) = (0usize, line);
    let mut from = piece_bytes - 1;
    while from < data.len() {
        let Some(at) = data[from..].iter().position(|b| *b == b'\n') else {
            break;
        };
        let i = from + at;
        from = i + 1;
        let before = data[start..i].iter().rposition(|b| !blank(*b));
        let after = data[i + 1..].iter().position(|b| !blank(*b) && *b != b'\n');
        let ends = before.is_some_and(|p| data[start + p] == b'}')
            && after.is_some_and(|p| data[i + 1 + p] == b'{');
        if !ends {
            continue;
        }
        let lines = data[start..i + 1].iter().filter(|b| **b == b'\n').count() as u64;
        pieces.push((start..i + 1, start_line));
        (start, start_line) = (i + 1, start_line + lines);
        from = start + piece_bytes - 1;
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
    line: u64,
    columns: &JsonColumns,
    sink: &mut RowSink<'_>,
) -> JsonWindow {
    // Input that is valid UTF-8 throughout (checked at once) is read as a `str`, whose
    // strings need no check of their own; other input as bytes, where the string holding
    // the bad byte is the error.
    use serde_json::de::{SliceRead, StrRead};
    if columns.paths.is_some() {
        return load_values::<Value, _>(data, SliceRead::new(data), eof, line, columns, sink);
    }
    match std::str::from_utf8(data) {
        Ok(text) => {
            load_values::<TopValue<'_>, _>(data, StrRead::new(text), eof, line, columns, sink)
        }
        Err(_) => {
            load_values::<TopValue<'_>, _>(data, SliceRead::new(data), eof, line, columns, sink)
        }
    }
}

fn load_values<'de, T: JsonRow<'de>, R: serde_json::de::Read<'de>>(
    data: &'de [u8],
    read: R,
    eof: bool,
    mut line: u64,
    columns: &JsonColumns,
    sink: &mut RowSink<'_>,
) -> JsonWindow {
    let first_line = line;
    let mut stream = serde_json::Deserializer::new(read).into_iter::<T>();
    let mut counted = 0usize;
    let mut scratch = Scratch::default();
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
        if !eof && !value.delimited() && end >= data.len() {
            return unfinished;
        }
        if !value.load(columns, &mut scratch, sink, line, raw) {
            let cause = Error::BadCopyFileFormat {
                message: "a JSON value is not an object".into(),
            };
            sink.reject(line, "", raw, &[], cause);
        }
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
