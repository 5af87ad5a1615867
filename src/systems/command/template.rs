//! Command templates: text with `{name}` placeholders; `{{` and `}}` are literal braces.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

impl Template {
    /// Parses `source`, accepting only the placeholders in `allowed`; the error says which
    /// placeholder is wrong and which ones the context offers.
    pub fn parse(source: &str, allowed: &[&str]) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        || name.is_empty()
                    {
                        return Err(format!(
                            "`{{{name}` is not a placeholder (write `{{{{` for a literal brace)"
                        ));
                    }
                    if !allowed.contains(&name.as_str()) {
                        return Err(format!(
                            "unknown placeholder {{{name}}} here (known: {})",
                            allowed.join(", ")
                        ));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(name));
                }
                '}' => return Err("a lone `}` (write `}}` for a literal brace)".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    /// The text with every placeholder replaced by its value in `vars` (a placeholder
    /// without one expands to nothing; [`Template::parse`] checked the names).
    pub fn expand(&self, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(vars.get(v).map(String::as_str).unwrap_or("")),
            }
        }
        out
    }

    /// The placeholders it uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v.as_str()),
            Piece::Text(_) => None,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_placeholders_and_literal_braces() {
        let t = Template::parse(
            "put squall-{key} {value} # {{json}} ${{X}}",
            &["key", "value"],
        )
        .unwrap();
        assert_eq!(
            t.expand(&vars(&[("key", "3"), ("value", "-7")])),
            "put squall-3 -7 # {json} ${X}"
        );
        assert_eq!(t.names().collect::<Vec<_>>(), ["key", "value"]);
        let peer = Template::parse("{node}=http://{addr}:2380", &["node", "addr"]).unwrap();
        assert_eq!(
            peer.expand(&vars(&[("node", "n1"), ("addr", "198.18.1.2")])),
            "n1=http://198.18.1.2:2380"
        );
    }

    #[test]
    fn rejects_unknown_and_malformed_placeholders() {
        let e = Template::parse("get {kee}", &["key"]).unwrap_err();
        assert_eq!(e, "unknown placeholder {kee} here (known: key)");
        assert!(Template::parse("a { b", &["key"]).is_err());
        assert!(Template::parse("a } b", &["key"]).is_err());
        assert!(Template::parse("a {} b", &["key"]).is_err());
    }
}
