//! COPY FROM STDIN on the wire: the client's CopyData as the engine's COPY sink takes it.
//!
//! Text and CSV data pass through untouched. PostgreSQL's binary COPY format is decoded here,
//! where the binary decoders of every type live ([`crate::params`], as for binary Bind
//! parameters): each tuple becomes one line of PostgreSQL's text format (tab-separated,
//! `\N` for NULL, backslash escapes), which the engine loads as a text COPY. Tuples are
//! decoded as their CopyData messages arrive; only the bytes of an incomplete tuple wait for
//! the next message.
//!
//! The binary format (PostgreSQL's `COPY` documentation, "Binary Format"), big-endian:
//!
//! ```text
//! +-------------------------+-----------+-------------------+-----------------+
//! | signature (11 bytes)    | flags i32 | ext. length i32   | extension bytes |
//! | "PGCOPY\n\xff\r\n\0"    | bit 16:   | (skipped)         |                 |
//! |                         | OIDs      |                   |                 |
//! +-------------------------+-----------+-------------------+-----------------+
//! then per tuple: field count i16, then per field: length i32 (-1 for NULL), value bytes
//! then the trailer: field count -1, after which nothing may follow
//! ```

use pgwire::api::Type;

use crate::params::binary_value_text;
use crate::sqlstate::{code, SqlError};
use crate::types::{oid, pg_type};

/// The binary format's signature.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// The header's flags bit saying each tuple carries an OID (not accepted, as in PostgreSQL
/// since 12).
const FLAG_WITH_OIDS: i32 = 1 << 16;

/// Where a binary COPY's decoding stands.
///
/// ```text
/// Header --(signature, flags, extension read)--> Tuples --(field count -1)--> Ended
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Header,
    Tuples,
    Ended,
}

/// Decodes a binary COPY's bytes, as they arrive, into text-format lines.
#[derive(Debug)]
pub struct BinaryCopyReader {
    /// The wire type of each column the client sends.
    types: Vec<Type>,
    stage: Stage,
    /// Bytes received but not decoded yet: at most the start of one tuple (or the header).
    pending: Vec<u8>,
}

fn bad_copy(message: impl Into<String>) -> SqlError {
    SqlError::error(code::BAD_COPY_FILE_FORMAT, message)
}

/// What decoding from the start of the pending bytes came to.
enum Step {
    /// The item was decoded; this many bytes were used.
    Done(usize),
    /// The trailer (a field count of -1) was read.
    Trailer,
    /// The pending bytes end inside the item.
    Incomplete,
}

impl BinaryCopyReader {
    /// A reader for tuples of columns of `types`.
    pub fn new(types: &[basalt_engine::SqlType]) -> Self {
        BinaryCopyReader {
            types: types.iter().map(|t| pg_type(*t)).collect(),
            stage: Stage::Header,
            pending: Vec::new(),
        }
    }

    /// Decodes what `chunk` (one CopyData message) completes, appending a text line per
    /// tuple to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), SqlError> {
        self.pending.extend_from_slice(chunk);
        let mut used = 0;
        let result = loop {
            let rest = &self.pending[used..];
            let step = match self.stage {
                Stage::Header => header(rest),
                Stage::Tuples => tuple(rest, &self.types, out),
                Stage::Ended if rest.is_empty() => break Ok(()),
                Stage::Ended => break Err(bad_copy("received copy data after EOF marker")),
            };
            match step {
                Ok(Step::Done(n)) => {
                    used += n;
                    if self.stage == Stage::Header {
                        self.stage = Stage::Tuples;
                    }
                }
                Ok(Step::Trailer) => {
                    used += 2;
                    self.stage = Stage::Ended;
                }
                Ok(Step::Incomplete) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..used);
        result
    }

    /// Checks the end of the data (the client's CopyDone): a header cut short or a tuple
    /// cut inside is an error; data that ends between tuples without the trailer is
    /// accepted, as PostgreSQL accepts it.
    pub fn finish(&self) -> Result<(), SqlError> {
        match self.stage {
            Stage::Header => Err(header_cut(&self.pending)),
            Stage::Tuples if self.pending.len() >= 2 => {
                Err(bad_copy("unexpected EOF in COPY data"))
            }
            Stage::Tuples | Stage::Ended => Ok(()),
        }
    }
}

/// The header at the start of `data`, checked as PostgreSQL's `ReceiveCopyBinaryHeader`
/// checks it.
fn header(data: &[u8]) -> Result<Step, SqlError> {
    let Some(signature) = data.get(..SIGNATURE.len()) else {
        return if SIGNATURE.starts_with(data) {
            Ok(Step::Incomplete)
        } else {
            Err(bad_copy("COPY file signature not recognized"))
        };
    };
    if signature != SIGNATURE {
        return Err(bad_copy("COPY file signature not recognized"));
    }
    let Some(flags) = be_i32(data, SIGNATURE.len()) else {
        return Ok(Step::Incomplete);
    };
    if flags & FLAG_WITH_OIDS != 0 {
        return Err(bad_copy("invalid COPY file header (WITH OIDS)"));
    }
    if (flags & !FLAG_WITH_OIDS) >> 16 != 0 {
        return Err(bad_copy("unrecognized critical flags in COPY file header"));
    }
    let Some(extension) = be_i32(data, SIGNATURE.len() + 4) else {
        return Ok(Step::Incomplete);
    };
    let Ok(extension) = usize::try_from(extension) else {
        return Err(bad_copy("invalid COPY file header (missing length)"));
    };
    let end = SIGNATURE.len() + 8 + extension;
    if data.len() < end {
        return Ok(Step::Incomplete);
    }
    Ok(Step::Done(end))
}

/// The error for data that ends inside the header.
fn header_cut(data: &[u8]) -> SqlError {
    match data.len() {
        n if n < SIGNATURE.len() => bad_copy("COPY file signature not recognized"),
        n if n < SIGNATURE.len() + 4 => bad_copy("invalid COPY file header (missing flags)"),
        n if n < SIGNATURE.len() + 8 => bad_copy("invalid COPY file header (missing length)"),
        _ => bad_copy("invalid COPY file header (wrong length)"),
    }
}

/// One tuple (or the trailer) at the start of `data`, written to `out` as a text line.
fn tuple(data: &[u8], types: &[Type], out: &mut Vec<u8>) -> Result<Step, SqlError> {
    let Some(count) = data.get(..2) else {
        return Ok(Step::Incomplete);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Step::Trailer);
    }
    if usize::try_from(count).ok() != Some(types.len()) {
        return Err(bad_copy(format!(
            "row field count is {count}, expected {}",
            types.len()
        )));
    }
    // Find the fields' extents first, so an incomplete tuple costs no decoding.
    let mut fields = Vec::with_capacity(types.len());
    let mut at = 2;
    for _ in types {
        let Some(length) = be_i32(data, at) else {
            return Ok(Step::Incomplete);
        };
        at += 4;
        if length == -1 {
            fields.push(None);
            continue;
        }
        let Ok(length) = usize::try_from(length) else {
            return Err(bad_copy("invalid field size"));
        };
        let Some(value) = data.get(at..at + length) else {
            return Ok(Step::Incomplete);
        };
        fields.push(Some(value));
        at += length;
    }
    let line_start = out.len();
    for (i, (field, ty)) in fields.into_iter().zip(types).enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match field {
            None => out.extend_from_slice(b"\\N"),
            Some(raw) => match field_text(ty, raw) {
                Ok(text) => escape_into(out, &text),
                Err(e) => {
                    out.truncate(line_start);
                    return Err(e);
                }
            },
        }
    }
    out.push(b'\n');
    Ok(Step::Done(at))
}

/// The text form of a field of type `ty`, with PostgreSQL's errors for a value of the wrong
/// size: too short is `insufficient data left in message` (the receive function ran out),
/// anything else that does not decode is `incorrect binary data format`.
fn field_text(ty: &Type, raw: &[u8]) -> Result<String, SqlError> {
    if fixed_size(ty).is_some_and(|size| raw.len() < size) {
        return Err(SqlError::protocol_violation(
            "insufficient data left in message",
        ));
    }
    binary_value_text(ty, raw, &|| {
        SqlError::error(
            code::INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format",
        )
    })
}

/// The size of a fixed-size type's binary value.
fn fixed_size(ty: &Type) -> Option<usize> {
    match ty.oid() {
        oid::BOOL => Some(1),
        oid::INT2 => Some(2),
        oid::INT4 | oid::FLOAT4 | oid::DATE => Some(4),
        oid::INT8 | oid::FLOAT8 | oid::TIME | oid::TIMESTAMP | oid::TIMESTAMPTZ => Some(8),
        oid::INTERVAL => Some(16),
        _ => None,
    }
}

/// Appends `text` as a field of PostgreSQL's text COPY format: backslash, newline, carriage
/// return and tab escaped, so no value can end the line or read as `\N`.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => out.push(b),
        }
    }
}

fn be_i32(data: &[u8], at: usize) -> Option<i32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_engine::SqlType;

    const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

    fn tuple_bytes(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
            }
        }
        out
    }

    fn read_all(types: &[SqlType], data: &[u8], piece: usize) -> Result<String, SqlError> {
        let mut reader = BinaryCopyReader::new(types);
        let mut out = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            reader.push(chunk, &mut out)?;
        }
        if data.is_empty() {
            reader.push(&[], &mut out)?;
        }
        reader.finish()?;
        Ok(String::from_utf8(out).unwrap())
    }

    // Two tuples of an INTEGER and a TEXT (one NULL, one text needing escapes), after a
    // header with a 3-byte extension, decoded whole and split at every possible size.
    #[test]
    fn tuples_become_text_lines_however_the_data_is_split() {
        let mut data = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\x03abc".to_vec();
        data.extend(tuple_bytes(&[Some(&7i32.to_be_bytes()), None]));
        data.extend(tuple_bytes(&[None, Some(b"a\tb\\c\nd")]));
        data.extend_from_slice(&(-1i16).to_be_bytes());
        let types = [SqlType::Integer, SqlType::Text];
        for piece in 1..=data.len() {
            assert_eq!(
                read_all(&types, &data, piece).unwrap(),
                "7\t\\N\n\\N\ta\\tb\\\\c\\nd\n",
                "split every {piece} bytes"
            );
        }
    }

    // Header faults, each with PostgreSQL's message and SQLSTATE 22P04.
    #[test]
    fn bad_headers_are_rejected() {
        let types = [SqlType::Integer];
        let message = |data: &[u8]| {
            let e = read_all(&types, data, 64).unwrap_err();
            assert_eq!(e.code, "22P04", "{data:?}");
            e.message
        };
        assert_eq!(message(b""), "COPY file signature not recognized");
        assert_eq!(message(b"PGCO"), "COPY file signature not recognized");
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\x01\0\0\0\0\0\0\0\0"),
            "COPY file signature not recognized"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\0"),
            "invalid COPY file header (missing flags)"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\x01\0\0\0\0\0\0"),
            "invalid COPY file header (WITH OIDS)"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\x02\0\0\0\0\0\0"),
            "unrecognized critical flags in COPY file header"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\0\0\0"),
            "invalid COPY file header (missing length)"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\0\0\0\xff\xff\xff\xff"),
            "invalid COPY file header (missing length)"
        );
        assert_eq!(
            message(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\x05ab"),
            "invalid COPY file header (wrong length)"
        );
    }

    // Tuple faults: a wrong field count, a negative length other than -1, data cut inside a
    // tuple, bytes after the trailer, and values of the wrong size for their type.
    #[test]
    fn bad_tuples_are_rejected() {
        let types = [SqlType::Integer, SqlType::Text];
        let error = |tail: &[u8]| {
            let mut data = HEADER.to_vec();
            data.extend_from_slice(tail);
            let e = read_all(&types, &data, 5).unwrap_err();
            (e.code, e.message)
        };
        let bad = |m: &str| ("22P04", m.to_owned());
        assert_eq!(
            error(&tuple_bytes(&[Some(b"\0\0\0\x01")])),
            bad("row field count is 1, expected 2")
        );
        assert_eq!(
            error(&[0, 2, 0xff, 0xff, 0xff, 0xfe]),
            bad("invalid field size")
        );
        assert_eq!(
            error(&[0, 2, 0, 0, 0, 4, 0]),
            bad("unexpected EOF in COPY data")
        );
        assert_eq!(
            error(&[0xff, 0xff, b'z']),
            bad("received copy data after EOF marker")
        );
        assert_eq!(
            error(&tuple_bytes(&[Some(b"\0\0\0\0\0"), None])),
            ("22P03", "incorrect binary data format".to_owned())
        );
        assert_eq!(
            error(&tuple_bytes(&[Some(b"\0\0"), None])),
            ("08P01", "insufficient data left in message".to_owned())
        );
        assert_eq!(error(&tuple_bytes(&[None, Some(b"\xff")])).0, "22021");
    }

    // Data that stops between tuples, without the trailer, or one byte into a tuple, ends
    // there (PostgreSQL reads a missing field count as the end).
    #[test]
    fn data_may_end_without_the_trailer() {
        let types = [SqlType::SmallInt];
        let mut data = HEADER.to_vec();
        data.extend(tuple_bytes(&[Some(&(-3i16).to_be_bytes())]));
        assert_eq!(read_all(&types, &data, 7).unwrap(), "-3\n");
        data.push(0);
        assert_eq!(read_all(&types, &data, 7).unwrap(), "-3\n");
    }
}
