//! Splitting delimited text, CSV and fixed-width input into records of fields.
//!
//! Fields stay bytes here: UTF-8 is checked per field later, so that an invalid byte is
//! reported with its column (or replaced under ACCEPTINVCHARS).
//!
//! - Text (Redshift's default): fields end at the delimiter (`|`), records at `\n`. With
//!   ESCAPE a backslash makes the next byte literal (a delimiter, a newline, a backslash).
//!   With REMOVEQUOTES a field that starts with `"` runs to the next `"`, which are dropped.
//! - CSV: fields may be quoted; a doubled quote inside is one quote; quoted fields may hold
//!   delimiters and newlines; a record may end in `\r\n`.
//! - Fixed width: each line is cut into fields of the given widths in characters.
//!
//! Empty lines are skipped.

use std::borrow::Cow;

/// One field: its value and whether it was quoted. `raw` is the field as it stood in the file,
/// which is what NULL AS compares against.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub value: Cow<'a, [u8]>,
    pub raw: &'a [u8],
    pub quoted: bool,
}

/// One record: its fields, the line it starts on (1-based) and its bytes.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub line: u64,
    pub raw: &'a [u8],
    pub fields: Vec<Field<'a>>,
}

/// A record that cannot be split (an unterminated quote runs to the end of the file).
#[derive(Debug, Clone)]
pub struct SplitError<'a> {
    pub line: u64,
    pub raw: &'a [u8],
    pub message: String,
}

/// How to split.
#[derive(Debug, Clone)]
pub enum Layout {
    Text {
        delimiter: u8,
        escape: bool,
        remove_quotes: bool,
    },
    /// CSV: `escape` before a quote or itself inside quotes stands for that character
    /// (the quote itself by default: a doubled quote).
    Csv {
        delimiter: u8,
        quote: u8,
        escape: u8,
    },
    FixedWidth(Vec<usize>),
}

/// Records of `data`, one at a time.
pub struct Splitter<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    layout: Layout,
    /// PostgreSQL's text escapes (`\t`, `\n`, octal, hex) instead of Redshift's.
    pg_escapes: bool,
}

impl<'a> Splitter<'a> {
    pub fn new(data: &'a [u8], layout: Layout) -> Self {
        Splitter {
            data,
            pos: 0,
            line: 1,
            layout,
            pg_escapes: false,
        }
    }

    /// Reads backslash escapes as PostgreSQL's text format does: `\b \f \n \r \t \v`,
    /// `\ddd` octal and `\xhh` hex; any other escaped byte stands for itself.
    pub fn pg_escapes(mut self, on: bool) -> Self {
        self.pg_escapes = on;
        self
    }

    /// Numbers records from `line` (for a chunk that starts inside a file).
    pub fn starting_at_line(mut self, line: u64) -> Self {
        self.line = line;
        self
    }

    /// The byte offset and line number the next record starts at.
    pub fn position(&self) -> (usize, u64) {
        (self.pos, self.line)
    }

    /// Skips `n` lines (IGNOREHEADER), counting them.
    pub fn skip_lines(&mut self, n: u64) {
        for _ in 0..n {
            if self.pos >= self.data.len() {
                return;
            }
            match memchr(b'\n', &self.data[self.pos..]) {
                Some(i) => self.pos += i + 1,
                None => self.pos = self.data.len(),
            }
            self.line += 1;
        }
    }
}

/// One PostgreSQL text escape after its backslash: the byte it stands for and the bytes used.
fn pg_unescape(s: &[u8]) -> (u8, usize) {
    let octal = |b: u8| (b'0'..=b'7').contains(&b);
    match s[0] {
        b'b' => (0x08, 1),
        b'f' => (0x0c, 1),
        b'n' => (b'\n', 1),
        b'r' => (b'\r', 1),
        b't' => (b'\t', 1),
        b'v' => (0x0b, 1),
        b'x' if s.len() > 1 && s[1].is_ascii_hexdigit() => {
            let n = if s.len() > 2 && s[2].is_ascii_hexdigit() {
                2
            } else {
                1
            };
            let v = s[1..1 + n]
                .iter()
                .fold(0u32, |v, d| v * 16 + (*d as char).to_digit(16).unwrap_or(0));
            (v as u8, 1 + n)
        }
        d if octal(d) => {
            let mut n = 1;
            while n < 3 && n < s.len() && octal(s[n]) {
                n += 1;
            }
            let v = s[..n].iter().fold(0u32, |v, d| v * 8 + (d - b'0') as u32);
            ((v & 0xff) as u8, n)
        }
        other => (other, 1),
    }
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|x| *x == b)
}

impl<'a> Iterator for Splitter<'a> {
    type Item = Result<Record<'a>, SplitError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut fields = Vec::new();
        let (line, raw) = match self.next_into(&mut fields)? {
            Ok(at) => at,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(Record { line, raw, fields }))
    }
}

impl<'a> Splitter<'a> {
    /// The next record, its fields put in `fields` (emptied first, so that a caller reading
    /// many records keeps one vector): the line it starts on and its bytes.
    pub fn next_into(
        &mut self,
        fields: &mut Vec<Field<'a>>,
    ) -> Option<Result<(u64, &'a [u8]), SplitError<'a>>> {
        fields.clear();
        // Skip empty lines.
        while self.pos < self.data.len() && self.data[self.pos] == b'\n' {
            self.pos += 1;
            self.line += 1;
        }
        if self.pos >= self.data.len() {
            return None;
        }
        // The layout is lent out while the record is split (an empty one stands in, which
        // allocates nothing), so that fixed widths are not copied per record.
        let layout = std::mem::replace(&mut self.layout, Layout::FixedWidth(Vec::new()));
        let out = match &layout {
            &Layout::Text {
                delimiter,
                escape,
                remove_quotes,
            } => self.text(delimiter, escape, remove_quotes, fields),
            &Layout::Csv {
                delimiter,
                quote,
                escape,
            } => self.csv(delimiter, quote, escape, fields),
            Layout::FixedWidth(widths) => Ok(self.fixed(widths, fields)),
        };
        self.layout = layout;
        Some(out)
    }
}

impl<'a> Splitter<'a> {
    fn text(
        &mut self,
        delim: u8,
        escape: bool,
        remove_quotes: bool,
        fields: &mut Vec<Field<'a>>,
    ) -> Result<(u64, &'a [u8]), SplitError<'a>> {
        let data = self.data;
        let start = self.pos;
        let line = self.line;
        let mut i = start;
        loop {
            // One field from i.
            let fstart = i;
            let mut owned: Option<Vec<u8>> = None;
            let mut quoted = false;
            if remove_quotes && i < data.len() && data[i] == b'"' {
                quoted = true;
                owned = Some(Vec::new());
                i += 1;
                loop {
                    if i >= data.len() {
                        self.pos = data.len();
                        return Err(SplitError {
                            line,
                            raw: &data[start..],
                            message: "unterminated quoted field".into(),
                        });
                    }
                    let b = data[i];
                    if escape && b == b'\\' && i + 1 < data.len() {
                        if data[i + 1] == b'\n' {
                            self.line += 1;
                        }
                        owned.get_or_insert_with(Vec::new).push(data[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if b == b'"' {
                        break;
                    }
                    if b == b'\n' {
                        self.line += 1;
                    }
                    owned.get_or_insert_with(Vec::new).push(b);
                }
            }
            let mut end_record = false;
            while i < data.len() {
                let b = data[i];
                if escape && b == b'\\' && i + 1 < data.len() {
                    let buf = owned.get_or_insert_with(|| data[fstart..i].to_vec());
                    if data[i + 1] == b'\n' {
                        self.line += 1;
                    }
                    if self.pg_escapes {
                        let (byte, used) = pg_unescape(&data[i + 1..]);
                        buf.push(byte);
                        i += 1 + used;
                    } else {
                        buf.push(data[i + 1]);
                        i += 2;
                    }
                    continue;
                }
                if b == delim {
                    break;
                }
                if b == b'\n' {
                    end_record = true;
                    break;
                }
                if let Some(buf) = owned.as_mut() {
                    buf.push(b);
                }
                i += 1;
            }
            let raw = &data[fstart..i];
            fields.push(Field {
                value: match owned {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(raw),
                },
                raw,
                quoted,
            });
            if i >= data.len() || end_record {
                let rec_end = i;
                self.pos = (i + 1).min(data.len());
                if end_record {
                    self.line += 1;
                }
                return Ok((line, &data[start..rec_end]));
            }
            i += 1; // past the delimiter
        }
    }

    fn csv(
        &mut self,
        delim: u8,
        quote: u8,
        escape: u8,
        fields: &mut Vec<Field<'a>>,
    ) -> Result<(u64, &'a [u8]), SplitError<'a>> {
        let data = self.data;
        let start = self.pos;
        let line = self.line;
        let mut i = start;
        loop {
            let fstart = i;
            let mut quoted = false;
            let mut owned: Option<Vec<u8>> = None;
            if i < data.len() && data[i] == quote {
                quoted = true;
                let mut buf = Vec::new();
                i += 1;
                loop {
                    if i >= data.len() {
                        self.pos = data.len();
                        return Err(SplitError {
                            line,
                            raw: &data[start..],
                            message: "unterminated CSV quoted field".into(),
                        });
                    }
                    let b = data[i];
                    if b == escape
                        && escape != quote
                        && i + 1 < data.len()
                        && (data[i + 1] == quote || data[i + 1] == escape)
                    {
                        buf.push(data[i + 1]);
                        i += 2;
                        continue;
                    }
                    if b == quote {
                        if i + 1 < data.len() && data[i + 1] == quote {
                            buf.push(quote);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    if b == b'\n' {
                        self.line += 1;
                    }
                    buf.push(b);
                    i += 1;
                }
                owned = Some(buf);
            }
            let mut end_record = false;
            while i < data.len() {
                let b = data[i];
                if b == delim {
                    break;
                }
                if b == b'\n' {
                    end_record = true;
                    break;
                }
                if let Some(buf) = owned.as_mut() {
                    // Text after a closing quote is kept, as Redshift does.
                    buf.push(b);
                }
                i += 1;
            }
            let mut fend = i;
            if end_record && fend > fstart && data[fend - 1] == b'\r' {
                fend -= 1;
                if let Some(buf) = owned.as_mut() {
                    buf.pop();
                }
            }
            let raw = &data[fstart..fend];
            fields.push(Field {
                value: match owned {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(raw),
                },
                raw,
                quoted,
            });
            if i >= data.len() || end_record {
                self.pos = (i + 1).min(data.len());
                if end_record {
                    self.line += 1;
                }
                return Ok((line, &data[start..fend]));
            }
            i += 1;
        }
    }

    fn fixed(&mut self, widths: &[usize], fields: &mut Vec<Field<'a>>) -> (u64, &'a [u8]) {
        let data = self.data;
        let start = self.pos;
        let line = self.line;
        let end = match memchr(b'\n', &data[start..]) {
            Some(n) => start + n,
            None => data.len(),
        };
        self.pos = (end + 1).min(data.len());
        self.line += 1;
        let rec = &data[start..end];
        let mut at = 0usize;
        for w in widths {
            if at >= rec.len() {
                break;
            }
            // Advance `w` characters (UTF-8 lead bytes), or to the end.
            let mut chars = 0;
            let mut j = at;
            while j < rec.len() && chars < *w {
                j += 1;
                while j < rec.len() && (rec[j] & 0xC0) == 0x80 {
                    j += 1;
                }
                chars += 1;
            }
            let raw = &rec[at..j];
            fields.push(Field {
                value: Cow::Borrowed(raw),
                raw,
                quoted: false,
            });
            at = j;
        }
        if at < rec.len() {
            // More text than the widths cover: one more field, so the count check rejects it.
            let raw = &rec[at..];
            fields.push(Field {
                value: Cow::Borrowed(raw),
                raw,
                quoted: false,
            });
        }
        (line, rec)
    }
}

/// Cuts `data` into pieces of about `target` bytes that end at record boundaries, each with
/// the line it starts on (`first_line` for the first). A newline ends a record unless it is
/// inside CSV quotes (an odd number of quote characters before it), escaped by an odd run of
/// backslashes (text with ESCAPE), or possibly inside a REMOVEQUOTES field (never cut then).
pub fn chunks(
    data: &[u8],
    layout: &Layout,
    target: usize,
    first_line: u64,
) -> Vec<(std::ops::Range<usize>, u64)> {
    if matches!(
        layout,
        Layout::Text {
            remove_quotes: true,
            ..
        }
    ) || data.len() <= target
    {
        return vec![(0..data.len(), first_line)];
    }
    if matches!(
        layout,
        Layout::Text { escape: false, .. } | Layout::FixedWidth(_)
    ) {
        return plain_chunks(data, target, first_line);
    }
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut line = first_line;
    let mut in_quotes = false;
    let mut backslashes = 0usize;
    let mut lines_in_chunk = 0u64;
    let mut skip = false;
    for (i, &b) in data.iter().enumerate() {
        if std::mem::take(&mut skip) {
            continue;
        }
        match layout {
            Layout::Csv { quote, escape, .. }
                if in_quotes && csv_escapes(data, i, *quote, *escape) =>
            {
                skip = true;
                continue;
            }
            Layout::Csv { quote, .. } if b == *quote => in_quotes = !in_quotes,
            Layout::Text { escape: true, .. } if b == b'\\' => {
                backslashes += 1;
                continue;
            }
            _ => {}
        }
        let escaped = backslashes % 2 == 1;
        backslashes = 0;
        if b != b'\n' {
            continue;
        }
        lines_in_chunk += 1;
        if in_quotes || escaped || i + 1 - start < target {
            continue;
        }
        out.push((start..i + 1, line));
        line += lines_in_chunk;
        lines_in_chunk = 0;
        start = i + 1;
    }
    if start < data.len() || out.is_empty() {
        out.push((start..data.len(), line));
    }
    out
}

/// Whether the byte at `i`, inside CSV quotes, is an escape character (other than the quote)
/// before a quote or another escape: the two stand for the second.
fn csv_escapes(data: &[u8], i: usize, quote: u8, escape: u8) -> bool {
    escape != quote
        && data[i] == escape
        && data.get(i + 1).is_some_and(|n| *n == quote || *n == escape)
}

/// The end of the last complete record in `data` (just after its newline), or `None` when no
/// record ends in it, by the rules of [`chunks`]. REMOVEQUOTES input, which is never cut,
/// has none before its end.
pub fn last_record_end(data: &[u8], layout: &Layout) -> Option<usize> {
    match layout {
        Layout::Text {
            remove_quotes: true,
            ..
        } => None,
        Layout::Text { escape: false, .. } | Layout::FixedWidth(_) => {
            data.iter().rposition(|b| *b == b'\n').map(|i| i + 1)
        }
        Layout::Text { escape: true, .. } => {
            // A newline ends a record unless an odd run of backslashes comes before it, so
            // the last one is found from the end without reading the data before it.
            let mut end = data.len();
            while let Some(i) = data[..end].iter().rposition(|b| *b == b'\n') {
                let backslashes = data[..i].iter().rev().take_while(|b| **b == b'\\').count();
                if backslashes % 2 == 0 {
                    return Some(i + 1);
                }
                end = i;
            }
            None
        }
        &Layout::Csv { quote, escape, .. } => {
            let mut last = None;
            let mut in_quotes = false;
            let mut skip = false;
            for (i, &b) in data.iter().enumerate() {
                if std::mem::take(&mut skip) {
                    continue;
                }
                if in_quotes && csv_escapes(data, i, quote, escape) {
                    skip = true;
                } else if b == quote {
                    in_quotes = !in_quotes;
                } else if b == b'\n' && !in_quotes {
                    last = Some(i + 1);
                }
            }
            last
        }
    }
}

/// [`chunks`] of input in which every newline ends a record (text without ESCAPE, and
/// fixed-width input): each piece ends at the first newline `target` bytes or more after its
/// start, found without looking at the bytes before it; only its newlines are counted.
fn plain_chunks(data: &[u8], target: usize, first_line: u64) -> Vec<(std::ops::Range<usize>, u64)> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut line = first_line;
    while start + target <= data.len() {
        let from = start + target - 1;
        let Some(at) = memchr(b'\n', &data[from..]) else {
            break;
        };
        let end = from + at + 1;
        out.push((start..end, line));
        line += data[start..end].iter().filter(|b| **b == b'\n').count() as u64;
        start = end;
    }
    if start < data.len() || out.is_empty() {
        out.push((start..data.len(), line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: lines of varied lengths (some empty), with and without a final newline, cut at
    // several targets: the plain cut gives the pieces and lines of the byte-by-byte scan
    // (which, without backslashes in the data, ESCAPE does not change).
    #[test]
    fn plain_chunks_match_the_scan() {
        let mut data = Vec::new();
        for i in 0..2000u32 {
            data.extend(std::iter::repeat_n(b'x', (i * 7 % 53) as usize));
            data.push(b'\n');
        }
        let escaped = Layout::Text {
            delimiter: b'|',
            escape: true,
            remove_quotes: false,
        };
        let plain = Layout::Text {
            delimiter: b'|',
            escape: false,
            remove_quotes: false,
        };
        for end in [data.len(), data.len() - 1, 10, 0] {
            for target in [1, 2, 50, 1000, 4096, 1 << 20] {
                let d = &data[..end];
                assert_eq!(
                    chunks(d, &plain, target, 3),
                    chunks(d, &escaped, target, 3),
                    "end {end}, target {target}"
                );
            }
        }
    }

    fn split(data: &str, layout: Layout) -> Vec<(u64, Vec<String>)> {
        Splitter::new(data.as_bytes(), layout)
            .map(|r| {
                let r = r.unwrap();
                (
                    r.line,
                    r.fields
                        .iter()
                        .map(|f| String::from_utf8(f.value.to_vec()).unwrap())
                        .collect(),
                )
            })
            .collect()
    }

    fn text(escape: bool, remove_quotes: bool) -> Layout {
        Layout::Text {
            delimiter: b'|',
            escape,
            remove_quotes,
        }
    }

    // Plain pipe-delimited lines, an empty line, and a last line without a newline.
    #[test]
    fn text_splits_on_delimiters() {
        let got = split("1|a|\n\n2||x", text(false, false));
        assert_eq!(
            got,
            vec![
                (1, vec!["1".into(), "a".into(), "".into()]),
                (3, vec!["2".into(), "".into(), "x".into()]),
            ]
        );
    }

    // ESCAPE makes delimiters, newlines and backslashes literal; the next record's line counts
    // the escaped newline.
    #[test]
    fn text_escapes() {
        let got = split("a\\|b|c\\\nd\ne\\\\|f\n", text(true, false));
        assert_eq!(got[0], (1, vec!["a|b".into(), "c\nd".into()]));
        assert_eq!(got[1], (3, vec!["e\\".into(), "f".into()]));
    }

    // REMOVEQUOTES keeps delimiters inside quotes.
    #[test]
    fn text_remove_quotes() {
        let got = split("\"a|b\"|c\n", text(false, true));
        assert_eq!(got[0].1, vec!["a|b".to_string(), "c".to_string()]);
    }

    // CSV quoting, doubled quotes, embedded newlines and CRLF endings.
    #[test]
    fn csv_quotes() {
        let layout = Layout::Csv {
            delimiter: b',',
            quote: b'"',
            escape: b'"',
        };
        let got = split("1,\"a,\"\"b\"\"\r\nc\",x\r\n2,,\r\n", layout.clone());
        assert_eq!(
            got[0],
            (1, vec!["1".into(), "a,\"b\"\r\nc".into(), "x".into()])
        );
        assert_eq!(got[1], (3, vec!["2".into(), "".into(), "".into()]));
        let mut s = Splitter::new(b"1,\"open\n", layout);
        let e = s.next().unwrap().unwrap_err();
        assert_eq!(e.line, 1);
    }

    // Fixed widths in characters, with a multi-byte character and a long line.
    #[test]
    fn fixed_width() {
        let got = split("ab1é2\nxy345z\n", Layout::FixedWidth(vec![2, 1, 2]));
        assert_eq!(got[0].1, vec!["ab".to_string(), "1".into(), "é2".into()]);
        assert_eq!(got[1].1.len(), 4);
    }

    // Chunks end at record boundaries and carry their first line; parsing the chunks gives
    // the records of the whole input, with the same line numbers.
    #[test]
    fn chunks_keep_records_whole() {
        let layouts = [
            (
                Layout::Csv {
                    delimiter: b',',
                    quote: b'"',
                    escape: b'"',
                },
                "1,\"a\nb\"\n2,x\n\n3,\"\"\"\"\n",
            ),
            (text(true, false), "1|a\\\nb\n2|x\\\\\n3|y\n"),
            (text(false, false), "1|a\n2|b\n3|c\n4|d"),
        ];
        for (layout, data) in layouts {
            let whole = split(data, layout.clone());
            for target in 1..data.len() + 1 {
                let mut got = Vec::new();
                for (range, line) in chunks(data.as_bytes(), &layout, target, 1) {
                    let part = &data[range];
                    for r in Splitter::new(part.as_bytes(), layout.clone()).starting_at_line(line) {
                        let r = r.unwrap();
                        let f: Vec<String> = r
                            .fields
                            .iter()
                            .map(|f| String::from_utf8(f.value.to_vec()).unwrap())
                            .collect();
                        got.push((r.line, f));
                    }
                }
                assert_eq!(got, whole, "target {target} on {data:?}");
            }
        }
    }

    // The last complete record ends after the last newline that is not quoted or escaped;
    // every prefix of the input agrees with where `chunks` cuts records.
    #[test]
    fn last_record_ends_where_records_end() {
        let csv = Layout::Csv {
            delimiter: b',',
            quote: b'"',
            escape: b'"',
        };
        assert_eq!(last_record_end(b"1,\"a\nb", &csv), None);
        assert_eq!(last_record_end(b"0,x\n1,\"a\nb", &csv), Some(4));
        assert_eq!(last_record_end(b"1,\"a\nb\"\n2", &csv), Some(8));
        assert_eq!(last_record_end(b"1|a\\\nb", &text(true, false)), None);
        assert_eq!(last_record_end(b"1|a\\\\\nb", &text(true, false)), Some(6));
        assert_eq!(last_record_end(b"1|a\n2|b", &text(false, false)), Some(4));
        assert_eq!(last_record_end(b"\"a\n\"\n", &text(false, true)), None);
        // Every cut `chunks` makes in a prefix is at or before the prefix's last record
        // end, which is just after a newline.
        let data = "1,\"a\nb\"\n2,x\n\n3,\"\"\"\"\n4";
        for n in 0..=data.len() {
            let part = &data.as_bytes()[..n];
            let pieces = chunks(part, &csv, 1, 1);
            let last = last_record_end(part, &csv);
            let bound = last.unwrap_or(0);
            assert!(
                pieces[..pieces.len() - 1]
                    .iter()
                    .all(|(r, _)| r.end <= bound),
                "{part:?}"
            );
            assert!(last.is_none_or(|e| part[e - 1] == b'\n'), "{part:?}");
        }
    }

    // CSV with an escape character other than the quote: an escaped quote or escape is
    // that character and does not end the quotes (nor does an escaped quote before a
    // newline end the record); an escape before anything else is itself.
    #[test]
    fn csv_escape_character() {
        let layout = Layout::Csv {
            delimiter: b',',
            quote: b'"',
            escape: b'\\',
        };
        let data = "1,\"a\\\"b\\\\c\\d\"\n2,\"x\\\"\ny\"\n";
        let got = split(data, layout.clone());
        assert_eq!(got[0], (1, vec!["1".into(), "a\"b\\c\\d".into()]));
        assert_eq!(got[1], (2, vec!["2".into(), "x\"\ny".into()]));
        assert_eq!(last_record_end(&data.as_bytes()[..20], &layout), Some(14));
        for target in 1..data.len() + 1 {
            let ends: Vec<usize> = chunks(data.as_bytes(), &layout, target, 1)
                .iter()
                .map(|(r, _)| r.end)
                .collect();
            assert!(
                ends.iter().all(|e| [14, data.len()].contains(e)),
                "{ends:?}"
            );
        }
    }

    // PostgreSQL's escapes: named, octal and hex.
    #[test]
    fn postgres_escapes() {
        let s = Splitter::new(b"a\\tb\\101\\x42\\\\|c\\n\n", text(true, false)).pg_escapes(true);
        let r: Vec<_> = s.map(|r| r.unwrap()).collect();
        assert_eq!(r[0].fields[0].value.as_ref(), b"a\tbAB\\");
        assert_eq!(r[0].fields[1].value.as_ref(), b"c\n");
    }

    // IGNOREHEADER counts the skipped lines.
    #[test]
    fn header_lines_are_counted() {
        let mut s = Splitter::new(b"h1\nh2\nv\n", text(false, false));
        s.skip_lines(2);
        assert_eq!(s.next().unwrap().unwrap().line, 3);
    }
}
