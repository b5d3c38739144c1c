//! Errors as text for people: an error and its causes on one line.

use std::error::Error;

/// An error and its causes as one line: each cause is added after a colon,
/// unless the text before it already says it (most of abgleich's errors
/// name their cause in their own message, and keep it as `source()` too).
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut chain = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    describe_chain(chain)
}

/// [`describe`] for a chain given as an iterator (an `eyre::Report`'s).
pub fn describe_chain<'a>(chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut text = String::new();
    for cause in chain {
        let part = cause.to_string();
        if text.is_empty() {
            text = part;
        } else if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Telling(#[source] std::io::Error);

    #[test]
    fn causes_are_added_once() {
        let io = || std::io::Error::other("disk full");
        assert_eq!(describe(&Outer(io())), "outer: disk full");
        assert_eq!(describe(&Telling(io())), "outer: disk full");
    }
}
