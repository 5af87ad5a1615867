//! The soak as JUnit XML (`--junit FILE`), the format CI systems show as test results: one
//! `<testcase>` per seed; an invalid seed has a `<failure>` whose message is its anomaly,
//! an unknown one or one without a verdict an `<error>`; every seed's rerun line and run
//! folder are in its `<system-out>`.

use super::summary::Summary;
use checkers::Validity;
use std::fmt::Write as _;

/// `text` escaped for XML 1.0 text and attribute values: the five special characters as
/// entities, characters XML cannot hold at all (controls other than tab, newline and
/// carriage return; U+FFFE, U+FFFF) as U+FFFD, so any checker's explanation makes a file a
/// parser reads.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML of a soak's summary.
pub fn render(summary: &Summary) -> String {
    let n = summary.seeds.len();
    let failures = summary.count(Some(Validity::Invalid));
    let errors = n - failures - summary.count(Some(Validity::Valid));
    let time: f64 = summary.seeds.iter().map(|r| r.test_phase_s).sum();
    let suite = escape(&summary.test);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"squall soak\" tests=\"{n}\" failures=\"{failures}\" \
         errors=\"{errors}\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{suite}\" tests=\"{n}\" failures=\"{failures}\" \
         errors=\"{errors}\" skipped=\"0\" time=\"{time:.3}\">"
    );
    for r in &summary.seeds {
        let _ = writeln!(
            x,
            "    <testcase classname=\"squall.{suite}\" name=\"seed {}\" time=\"{:.3}\">",
            r.seed, r.test_phase_s
        );
        let anomaly = r
            .signatures
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        match r.verdict {
            Some(Validity::Valid) if !r.interrupted => {}
            Some(Validity::Invalid) => {
                let _ = writeln!(
                    x,
                    "      <failure message=\"{}\" type=\"invalid\">{}</failure>",
                    escape(&anomaly),
                    escape(&r.explanation)
                );
            }
            v => {
                let (kind, message) = match v {
                    Some(v) if !r.interrupted => (v.as_str(), r.explanation.clone()),
                    Some(_) => (
                        "interrupted",
                        "interrupted: only part of the test ran".into(),
                    ),
                    None => ("no verdict", r.explanation.clone()),
                };
                let _ = writeln!(
                    x,
                    "      <error message=\"{}\" type=\"{kind}\">{}</error>",
                    escape(&format!("{kind}: {message}")),
                    escape(&r.explanation)
                );
            }
        }
        let mut out = String::new();
        if !r.rerun.is_empty() {
            let _ = writeln!(out, "rerun with: {}", r.rerun);
        }
        if let Some(d) = &r.run_dir {
            let _ = writeln!(out, "run: {}", d.display());
        }
        if !out.is_empty() {
            let _ = writeln!(x, "      <system-out>{}</system-out>", escape(&out));
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::SeedRecord;
    use checkers::Validity;

    fn rec(seed: u64, v: Option<Validity>) -> SeedRecord {
        SeedRecord {
            verdict: v,
            ..SeedRecord::missing(seed)
        }
    }

    #[test]
    fn junit_parses_and_says_what_failed() {
        // The JUnit text through a real XML parser is in tests/soak.rs; here its shape.
        let mut bad = rec(2, Some(Validity::Invalid));
        bad.explanation = "linearizable: NOT linearizable <as> a \"cas-register\" & \u{1}".into();
        bad.rerun = "squall run --seed 2 --name 'a b'".into();
        let s = Summary::new(
            "t&t",
            vec![rec(1, Some(Validity::Valid)), bad, rec(3, None)],
            true,
        );
        let x = render(&s);
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("name=\"t&amp;t\""), "{x}");
        assert!(
            x.contains("&lt;as&gt; a &quot;cas-register&quot; &amp; \u{FFFD}"),
            "{x}"
        );
        assert!(
            x.contains("rerun with: squall run --seed 2 --name &apos;a b&apos;"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert_eq!(
            s.counts_line(),
            "3 seeds: 1 valid, 1 invalid, 0 unknown, 1 without a verdict"
        );
    }

    #[test]
    fn special_and_unwritable_characters_are_escaped() {
        assert_eq!(
            escape(r#"a<b & "c" 'd'> ok"#),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt; ok"
        );
        assert_eq!(escape("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
        assert_eq!(
            escape("bell\u{7} nul\0 \u{FFFF}"),
            "bell\u{FFFD} nul\u{FFFD} \u{FFFD}"
        );
        assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
    }
}
