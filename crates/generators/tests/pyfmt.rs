//! The layout pass on any text: it never panics, keeps every character but spacing, and
//! gives the same result when run on its own output.

use lhp_generators::pyfmt::format_module;
use proptest::prelude::*;

/// The text without whitespace, quotes made alike, to compare what a layout may not
/// change (it may turn `'a'` into `"a"`).
fn ink(text: &str) -> String {
    text.replace("\\'", "'")
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\'' { '"' } else { c })
        .collect()
}

/// [`ink`] without brackets' trailing commas and parentheses, which a layout adds when
/// it splits a statement.
fn ink_of_code(text: &str) -> String {
    ink(text)
        .replace(",)", ")")
        .replace(",]", "]")
        .replace(",}", "}")
        .replace(['(', ')'], "")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_is_laid_out_without_panicking(text in "[a-z_ ().,=:\\[\\]{}\"'#@\\n\u{e9}\u{2014}\\\\]{0,300}") {
        let _ = format_module(&text);
    }

    #[test]
    fn text_without_strings_keeps_its_ink(text in "[a-z_ ().,=:\\[\\]{}#@\\n\u{e9}\u{2014}]{0,300}") {
        prop_assert_eq!(ink(&format_module(&text)), ink(&text));
    }

    #[test]
    fn long_calls_keep_their_ink_and_settle(
        names in proptest::collection::vec("[a-z]{1,12}", 1..12),
        indent in 0usize..3,
    ) {
        let args: Vec<String> = names.iter().map(|n| format!("{n}=\"{}\"", n.repeat(3))).collect();
        let line = format!(
            "{}df = spark.read.format(\"x\").option({}).load(f({}))\n",
            "    ".repeat(indent),
            args.join(", "),
            args.join(", ")
        );
        let text = if indent > 0 { format!("def f():\n{line}") } else { line };
        let once = format_module(&text);
        prop_assert_eq!(ink_of_code(&once), ink_of_code(&text));
        prop_assert_eq!(format_module(&once), once.clone());
        prop_assert!(once.lines().all(|l| l.chars().count() <= 88 || !l.contains(", ")), "{}", once);
    }
}
