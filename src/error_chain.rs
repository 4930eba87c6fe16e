//! An error and its causes on one line (`a: b: c`), for logs and for `main`'s last word. Our
//! error types display only their own level and name the cause as `source()`, so each cause is
//! printed exactly once.

use std::fmt;

/// Displays `e` followed by each of its sources, separated by `: `.
pub fn chain<'a>(e: &'a (dyn std::error::Error + 'static)) -> Chain<'a> {
    Chain(e)
}

pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prev = self.0.to_string();
        f.write_str(&prev)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            let text = e.to_string();
            // Some errors (libraries', and our decode errors) already end with their cause's
            // text: say it once.
            if !text.is_empty() && !prev.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            prev = text;
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn prints_every_cause_once() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e).to_string(), "outer: inner");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_text_is_not_repeated() {
        let e = Repeats(std::io::Error::other("inner"));
        assert_eq!(chain(&e).to_string(), "outer: inner");
    }
}
