//! The EDN reader proper: a byte cursor that turns text into [`Edn`] trees.
//!
//! Linear in the input. Recursion follows nesting only (each level of `[`, `(`, `{`, `#{`,
//! each `#_` discard and each tag counts), capped at [`MAX_DEPTH`], never the length of a
//! vector. Line numbers are counted lazily from byte offsets, and asked for in increasing
//! order (one per op), so they cost one pass over the text in total.

use super::value::Edn;
use crate::error::HistoryError;

/// How deeply EDN forms may nest before the reader gives up (a guard against stack
/// exhaustion on hostile input; real histories nest three or four deep).
pub const MAX_DEPTH: usize = 256;

/// Reads `text`'s op forms: the elements of one top-level vector or list, or the top-level
/// forms themselves. Calls `on_op` with each form and the 1-based line where it starts.
pub(crate) fn read_ops(
    text: &str,
    source_name: &str,
    mut on_op: impl FnMut(Edn, usize) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let mut r = Reader::new(text, source_name);
    loop {
        r.skip_ws(0)?;
        let Some(b) = r.peek() else { return Ok(()) };
        if b == b'[' || b == b'(' {
            let close = if b == b'[' { b']' } else { b')' };
            let open = r.pos;
            r.pos += 1;
            loop {
                r.skip_ws(1)?;
                match r.peek() {
                    None => return Err(r.unclosed(open)),
                    Some(c) if c == close => {
                        r.pos += 1;
                        break;
                    }
                    Some(_) => {
                        let start = r.pos;
                        let value = r.read_value(1)?;
                        on_op(value, r.line_at(start))?;
                    }
                }
            }
        } else {
            let start = r.pos;
            let value = r.read_value(0)?;
            on_op(value, r.line_at(start))?;
        }
    }
}

/// Reads `text` as exactly one EDN value (a field of a Jepsen log line), or says what is
/// wrong with it. Anything but whitespace after the value is an error.
pub(crate) fn read_single(text: &str) -> Result<Edn, String> {
    let mut r = Reader::new(text, "");
    let value = r.read_value(0).map_err(message_of)?;
    r.skip_ws(0).map_err(message_of)?;
    match r.peek() {
        None => Ok(value),
        Some(_) => Err("more than one value".into()),
    }
}

/// An error's message, without its file and line.
fn message_of(e: HistoryError) -> String {
    match e {
        HistoryError::Parse { message, .. } => message,
        other => other.to_string(),
    }
}

/// Whether `b` ends a token.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'\x0c'
            | b','
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'"'
            | b';'
    )
}

/// The reader's cursor over the text.
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    name: &'a str,
    /// Line counting is lazy: `line` is the 1-based line of byte offset `line_pos`.
    line_pos: usize,
    line: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, name: &'a str) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            name,
            line_pos: 0,
            line: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The 1-based line of byte offset `pos`. Amortised linear when asked in increasing
    /// order, which is how op starts are asked; errors may ask further back and recount.
    fn line_at(&mut self, pos: usize) -> usize {
        if pos < self.line_pos {
            self.line_pos = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.line_pos..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line_pos = pos;
        self.line
    }

    fn error_at(&mut self, pos: usize, message: impl Into<String>) -> HistoryError {
        let line = self.line_at(pos);
        HistoryError::parse(self.name, line, message)
    }

    /// The error for a collection opened at `open` and never closed.
    fn unclosed(&mut self, open: usize) -> HistoryError {
        let opener = self.bytes[open] as char;
        self.error_at(open, format!("'{opener}' is never closed"))
    }

    /// Skips whitespace, commas, `;` comments and `#_`-discarded forms.
    fn skip_ws(&mut self, depth: usize) -> Result<(), HistoryError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b',' => self.pos += 1,
                b';' => {
                    self.pos = match self.bytes[self.pos..].iter().position(|&c| c == b'\n') {
                        Some(n) => self.pos + n + 1,
                        None => self.bytes.len(),
                    }
                }
                b'#' if self.bytes.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.read_value(depth + 1)?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Reads one value (skipping leading whitespace).
    fn read_value(&mut self, depth: usize) -> Result<Edn, HistoryError> {
        if depth > MAX_DEPTH {
            return Err(self.error_at(self.pos, format!("nested deeper than {MAX_DEPTH}")));
        }
        self.skip_ws(depth)?;
        let start = self.pos;
        let Some(b) = self.peek() else {
            return Err(self.error_at(start, "unexpected end of input"));
        };
        match b {
            b'[' => Ok(Edn::Vector(self.read_seq(b']', depth)?)),
            b'(' => Ok(Edn::List(self.read_seq(b')', depth)?)),
            b'{' => self.read_map(depth),
            b'"' => Ok(Edn::Str(self.read_string()?)),
            b'\\' => self.read_char(),
            b':' => {
                self.pos += 1;
                let name = self.read_token();
                if name.is_empty() {
                    return Err(self.error_at(start, "empty keyword ':'"));
                }
                Ok(Edn::Keyword(name.to_owned()))
            }
            b'#' => self.read_dispatch(depth),
            b')' | b']' | b'}' => Err(self.error_at(start, format!("unexpected '{}'", b as char))),
            _ => {
                let token = self.read_token();
                if token.is_empty() {
                    // Only a delimiter can make an empty token, and all are handled above.
                    return Err(self.error_at(start, format!("unexpected '{}'", b as char)));
                }
                self.classify(token, start)
            }
        }
    }

    /// Reads the elements of a collection whose opener is at `self.pos`, through `close`.
    fn read_seq(&mut self, close: u8, depth: usize) -> Result<Vec<Edn>, HistoryError> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws(depth + 1)?;
            match self.peek() {
                None => return Err(self.unclosed(open)),
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.read_value(depth + 1)?),
            }
        }
    }

    fn read_map(&mut self, depth: usize) -> Result<Edn, HistoryError> {
        let open = self.pos;
        let items = self.read_seq(b'}', depth)?;
        if items.len() % 2 != 0 {
            return Err(self.error_at(open, "map literal with an odd number of forms"));
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            pairs.push((k, v));
        }
        Ok(Edn::Map(pairs))
    }

    /// `#{...}` sets, `##Inf`-style symbolic values, `#"..."` regexes, and tagged literals.
    fn read_dispatch(&mut self, depth: usize) -> Result<Edn, HistoryError> {
        let start = self.pos;
        match self.bytes.get(start + 1) {
            Some(b'{') => {
                self.pos += 1;
                Ok(Edn::Set(self.read_seq(b'}', depth)?))
            }
            Some(b'#') => {
                self.pos += 2;
                match self.read_token() {
                    "Inf" => Ok(Edn::Float(f64::INFINITY)),
                    "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
                    "NaN" => Ok(Edn::Float(f64::NAN)),
                    other => {
                        let message = format!("unknown symbolic value ##{other}");
                        Err(self.error_at(start, message))
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                Ok(Edn::Str(self.read_string()?))
            }
            _ => {
                self.pos += 1;
                if self.read_token().is_empty() {
                    return Err(self.error_at(start, "'#' without a tag"));
                }
                // A tagged literal: the tag is dropped, the value kept.
                self.read_value(depth + 1)
            }
        }
    }

    /// Reads up to the next delimiter.
    fn read_token(&mut self) -> &'a str {
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| is_delimiter(b))
            .unwrap_or(self.bytes.len() - start);
        self.pos += len;
        // Delimiters are ASCII, so both ends are on character boundaries.
        &self.text[start..self.pos]
    }

    /// A number, `nil`, `true`, `false`, or a symbol.
    fn classify(&mut self, token: &str, start: usize) -> Result<Edn, HistoryError> {
        let b = token.as_bytes();
        let numeric = b[0].is_ascii_digit()
            || (matches!(b[0], b'+' | b'-') && b.get(1).is_some_and(u8::is_ascii_digit));
        if !numeric {
            return Ok(match token {
                "nil" => Edn::Nil,
                "true" => Edn::Bool(true),
                "false" => Edn::Bool(false),
                _ => Edn::Symbol(token.to_owned()),
            });
        }
        let parsed = if let Some(digits) = token.strip_suffix('N') {
            parse_int(digits)
        } else if let Some(decimal) = token.strip_suffix('M') {
            decimal.parse().ok().map(Edn::Float)
        } else if let Some((n, d)) = token.split_once('/') {
            match (n.parse::<f64>(), d.parse::<f64>()) {
                (Ok(n), Ok(d)) if d != 0.0 => Some(Edn::Float(n / d)),
                _ => None,
            }
        } else if token.contains(['.', 'e', 'E']) {
            token.parse().ok().map(Edn::Float)
        } else {
            parse_int(token)
        };
        parsed.ok_or_else(|| self.error_at(start, format!("bad number {token}")))
    }

    /// Reads a string literal starting at the `"` at `self.pos`.
    fn read_string(&mut self) -> Result<String, HistoryError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.bytes[self.pos..];
            let Some(n) = rest.iter().position(|&b| b == b'"' || b == b'\\') else {
                return Err(self.error_at(open, "unterminated string"));
            };
            out.push_str(&self.text[self.pos..self.pos + n]);
            self.pos += n;
            if self.bytes[self.pos] == b'"' {
                self.pos += 1;
                return Ok(out);
            }
            let escape_at = self.pos;
            let Some(&e) = self.bytes.get(self.pos + 1) else {
                return Err(self.error_at(open, "unterminated string"));
            };
            self.pos += 2;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'u' => {
                    let c = self.read_unicode_escape(escape_at)?;
                    out.push(c);
                }
                other => {
                    let message = format!("unknown string escape \\{}", other as char);
                    return Err(self.error_at(escape_at, message));
                }
            }
        }
    }

    /// Reads the `XXXX` of a `\uXXXX` escape (and a low surrogate's, if this is a high one).
    fn read_unicode_escape(&mut self, escape_at: usize) -> Result<char, HistoryError> {
        let hex4 = |r: &mut Self| -> Option<u32> {
            let digits = r.text.get(r.pos..r.pos + 4)?;
            let v = u32::from_str_radix(digits, 16).ok()?;
            r.pos += 4;
            Some(v)
        };
        let Some(hi) = hex4(self) else {
            return Err(self.error_at(escape_at, "bad \\u escape"));
        };
        if (0xD800..0xDC00).contains(&hi) && self.bytes[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            match hex4(self) {
                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
                }
                _ => self.pos = save,
            }
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    /// Reads a character literal: `\c`, `\newline`, `\space`, `\tab`, `\uXXXX`, ...
    fn read_char(&mut self) -> Result<Edn, HistoryError> {
        let start = self.pos;
        self.pos += 1;
        let Some(first) = self.text[self.pos..].chars().next() else {
            return Err(self.error_at(start, "unexpected end of input after '\\'"));
        };
        self.pos += first.len_utf8();
        let rest = self.read_token();
        if rest.is_empty() {
            return Ok(Edn::Char(first));
        }
        let name = &self.text[start + 1..self.pos];
        let c = match name {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "return" => Some('\r'),
            "formfeed" => Some('\u{c}'),
            "backspace" => Some('\u{8}'),
            _ => match name.strip_prefix('u') {
                Some(hex) if hex.len() == 4 => {
                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                }
                _ => None,
            },
        };
        c.map(Edn::Char)
            .ok_or_else(|| self.error_at(start, format!("unknown character \\{name}")))
    }
}

/// An integer token (optional sign, digits): `i64` if it fits, else a big integer.
fn parse_int(token: &str) -> Option<Edn> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match token.parse::<i64>() {
        Ok(i) => Edn::Int(i),
        Err(_) => Edn::BigInt(token.strip_prefix('+').unwrap_or(token).to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edn::parse_edn;
    use serde_json::{json, Value};

    fn value_of(edn: &str) -> Value {
        read_one(&format!("{{:type :ok, :process 0, :f :x, :value {edn}}}")).value
    }

    fn read_one(text: &str) -> crate::Event {
        let history = parse_edn(text, "<input>").unwrap();
        assert_eq!(history.len(), 1, "{text}");
        history.into_iter().next().unwrap()
    }

    #[test]
    fn reads_values_as_json() {
        let cases = [
            ("nil", json!(null)),
            ("true", json!(true)),
            ("false", json!(false)),
            ("42", json!(42)),
            ("-7", json!(-7)),
            ("+7", json!(7)),
            ("12N", json!(12)),
            ("18446744073709551615N", json!(18446744073709551615u64)),
            ("1.5", json!(1.5)),
            ("-2.5e3", json!(-2500.0)),
            ("1.25M", json!(1.25)),
            ("1/4", json!(0.25)),
            ("##Inf", json!(null)),
            (":foo", json!("foo")),
            (":ns/foo", json!("ns/foo")),
            ("sym", json!("sym")),
            ("\"a\\\"b\\\\c\\n\\u00e9\"", json!("a\"b\\c\né")),
            ("\"\\ud83d\\ude00\"", json!("😀")),
            ("\\a", json!("a")),
            ("\\newline", json!("\n")),
            ("\\u0041", json!("A")),
            ("[1 nil [2 3]]", json!([1, null, [2, 3]])),
            ("(1, 2 ,3)", json!([1, 2, 3])),
            ("#{:a}", json!(["a"])),
            (
                "{:a 1, \"b\" [2], 3 :c, [4] 5}",
                json!({"a": 1, "b": [2], "3": "c", "[4]": 5}),
            ),
            (
                "[[:read :x nil] [:write :y 2]]",
                json!([["read", "x", null], ["write", "y", 2]]),
            ),
            (
                "#inst \"2024-01-01T00:00:00Z\"",
                json!("2024-01-01T00:00:00Z"),
            ),
            ("#my/tag [1 #_ 2 3]", json!([1, 3])),
            ("[1 ; comment ]\n 2]", json!([1, 2])),
            ("\"multi\nline\"", json!("multi\nline")),
            ("\"日本\"", json!("日本")),
        ];
        for (edn, want) in cases {
            assert_eq!(value_of(edn), want, "{edn}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        for prefix in ["[", "#_ ", "#tag ", "#{"] {
            let text = format!(
                "{{:type :ok :process 0 :f :x :value {}}}",
                prefix.repeat(100_000)
            );
            let err = parse_edn(&text, "h").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("h line 1: nested deeper than {MAX_DEPTH}"),
                "{prefix}"
            );
        }
    }

    #[test]
    fn reports_the_line_each_op_starts_on() {
        let text =
            "; comment\n[{:a 1}\n {:b\n  \"two\nlines\"}\n\n {:c 3} #_ {:d 4}\n {:e 5}]\n{:f 6}";
        let mut seen = Vec::new();
        read_ops(text, "h", |value, line| {
            let Edn::Map(pairs) = value else {
                panic!("not a map")
            };
            seen.push((pairs[0].0.as_name().unwrap().to_owned(), line));
            Ok(())
        })
        .unwrap();
        let want = [("a", 2), ("b", 3), ("c", 7), ("e", 8), ("f", 9)];
        let want: Vec<_> = want.iter().map(|&(k, l)| (k.to_owned(), l)).collect();
        assert_eq!(seen, want);
    }
}
