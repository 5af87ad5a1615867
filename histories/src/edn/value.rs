//! The EDN value tree the reader builds, and its conversions: to JSON (for `:value`), to
//! plain text (for `:f`, `:error`, `:node`), and back to EDN text.

use serde_json::Value;

/// A parsed EDN value. Tags are dropped while reading.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64` (its digits, with sign).
    BigInt(String),
    Float(f64),
    Str(String),
    Char(char),
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    List(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The text of a keyword (without `:`), symbol or string.
    pub(crate) fn as_name(&self) -> Option<&str> {
        match self {
            Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A plain-string rendering: names as their text, anything else as EDN.
    pub(crate) fn into_text(self) -> String {
        match self {
            Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => s,
            other => other.render(),
        }
    }

    /// What kind of value this is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) | Edn::BigInt(_) => "an integer",
            Edn::Float(_) => "a float",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::Vector(_) => "a vector",
            Edn::List(_) => "a list",
            Edn::Set(_) => "a set",
            Edn::Map(_) => "a map",
        }
    }

    /// Converts to JSON; see the module docs.
    pub(crate) fn into_json(self) -> Value {
        match self {
            Edn::Nil => Value::Null,
            Edn::Bool(b) => Value::Bool(b),
            Edn::Int(i) => Value::from(i),
            Edn::BigInt(digits) => match digits.parse::<u64>() {
                Ok(u) => Value::from(u),
                // Beyond 64 bits: a float keeps the magnitude (JSON has no big integers).
                Err(_) => float_json(digits.parse().unwrap_or(f64::NAN)),
            },
            Edn::Float(f) => float_json(f),
            Edn::Char(c) => Value::String(c.to_string()),
            Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::String(s),
            Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => {
                Value::Array(items.into_iter().map(Edn::into_json).collect())
            }
            Edn::Map(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into_text(), v.into_json()))
                    .collect(),
            ),
        }
    }

    /// EDN text for this value.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        fn seq(items: &[Edn], open: &str, close: char, out: &mut String) {
            out.push_str(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                item.render_into(out);
            }
            out.push(close);
        }
        match self {
            Edn::Nil => out.push_str("nil"),
            Edn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Edn::Int(i) => out.push_str(&i.to_string()),
            Edn::BigInt(d) => {
                out.push_str(d);
                out.push('N');
            }
            Edn::Float(f) if f.is_nan() => out.push_str("##NaN"),
            Edn::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "##Inf" } else { "##-Inf" })
            }
            Edn::Float(f) => out.push_str(&format!("{f:?}")),
            Edn::Str(s) => write_edn_string(s, out),
            Edn::Char(c) => match c {
                '\n' => out.push_str("\\newline"),
                ' ' => out.push_str("\\space"),
                '\t' => out.push_str("\\tab"),
                '\r' => out.push_str("\\return"),
                c => {
                    out.push('\\');
                    out.push(*c);
                }
            },
            Edn::Keyword(k) => {
                out.push(':');
                out.push_str(k);
            }
            Edn::Symbol(s) => out.push_str(s),
            Edn::Vector(items) => seq(items, "[", ']', out),
            Edn::List(items) => seq(items, "(", ')', out),
            Edn::Set(items) => seq(items, "#{", '}', out),
            Edn::Map(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.render_into(out);
                    out.push(' ');
                    v.render_into(out);
                }
                out.push('}');
            }
        }
    }
}

/// A float as JSON; non-finite floats (which JSON lacks) become null.
fn float_json(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Appends `s` as an EDN string literal.
pub(crate) fn write_edn_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
