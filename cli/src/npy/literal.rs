//! The subset of Python literal syntax that `.npy` headers use: a dict of
//! strings, booleans, integers, tuples and lists (numpy writes the header with
//! `repr()` and reads it back with `ast.literal_eval`).

use std::fmt;

/// One parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string (`'<f8'`).
    Str(String),
    /// An integer (`3`, or Python 2's `3L`).
    Int(i128),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A tuple (`(3, 4)`, `(3,)`, `()`).
    Tuple(Vec<Literal>),
    /// A list (`[('x', '<f8')]`, used for structured dtypes).
    List(Vec<Literal>),
    /// A dict, its entries in the order written.
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an integer",
            Literal::Bool(_) => "a boolean",
            Literal::None => "None",
            Literal::Tuple(_) => "a tuple",
            Literal::List(_) => "a list",
            Literal::Dict(_) => "a dict",
        }
    }
}

/// Why a header is not a Python literal, with the byte offset where parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What was expected or found.
    pub message: String,
    /// Byte offset into the header text.
    pub offset: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {} of the header", self.message, self.offset)
    }
}

/// Nesting deeper than this is refused, so a corrupt header of a million `(`
/// cannot overflow the stack. Real headers nest at most a few levels.
const MAX_DEPTH: usize = 32;

/// Parses `text` as exactly one literal, allowing surrounding whitespace.
///
/// # Errors
///
/// A [`SyntaxError`] for anything outside the supported subset, trailing
/// text, or nesting deeper than 32 levels.
pub fn parse(text: &str) -> Result<Literal, SyntaxError> {
    let mut parser = Parser {
        text: text.as_bytes(),
        pos: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != parser.text.len() {
        return Err(parser.error("unexpected text after the header's dict"));
    }
    Ok(value)
}

/// A recursive-descent parser over the header's bytes.
struct Parser<'a> {
    /// The whole header.
    text: &'a [u8],
    /// The next byte to read.
    pos: usize,
}

impl Parser<'_> {
    /// A syntax error at the current position.
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            message: message.into(),
            offset: self.pos,
        }
    }

    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Advances past spaces, tabs and newlines (numpy pads headers with them).
    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Any literal; `depth` counts the enclosing containers.
    fn value(&mut self, depth: usize) -> Result<Literal, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("unexpected end")),
            Some(b'{') => self.dict(depth),
            Some(b'(') => self.sequence(b')', depth).map(Literal::Tuple),
            Some(b'[') => self.sequence(b']', depth).map(Literal::List),
            Some(quote @ (b'\'' | b'"')) => self.string(quote).map(Literal::Str),
            Some(b'-' | b'+' | b'0'..=b'9') => self.integer(),
            Some(b) if b.is_ascii_alphabetic() => self.word(),
            Some(b) => Err(self.error(format!("unexpected character {:?}", char::from(b)))),
        }
    }

    /// Consumes `byte` (after whitespace) or fails.
    fn expect(&mut self, byte: u8) -> Result<(), SyntaxError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected {:?}", char::from(byte))))
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `{key: value, ...}`, a trailing comma allowed.
    fn dict(&mut self, depth: usize) -> Result<Literal, SyntaxError> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            if self.eat(b'}') {
                return Ok(Literal::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            if !self.eat(b',') {
                self.expect(b'}')?;
                return Ok(Literal::Dict(entries));
            }
        }
    }

    /// A tuple or list; `(x)` without a comma is Python's parenthesised `x`,
    /// which never occurs in a header, so it is read as a one-element tuple.
    fn sequence(&mut self, close: u8, depth: usize) -> Result<Vec<Literal>, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value(depth + 1)?);
            if !self.eat(b',') {
                self.expect(close)?;
                return Ok(items);
            }
        }
    }

    /// A single- or double-quoted string with backslash escapes.
    fn string(&mut self, quote: u8) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                self.pos = start;
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b if b == quote => break,
                b'\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err(self.error("unterminated string"));
                    };
                    self.pos += 1;
                    out.push(match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'0' => 0,
                        other => other,
                    });
                }
                b'\n' => return Err(self.error("newline inside a string")),
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| SyntaxError {
            message: "a string is not valid UTF-8".into(),
            offset: start,
        })
    }

    /// A decimal integer with an optional sign.
    fn integer(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        // Python 2 wrote long integers with an `L` suffix.
        let end = self.pos;
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..end]).unwrap_or("");
        digits.parse().map(Literal::Int).map_err(|_| SyntaxError {
            message: format!("invalid integer {digits:?}"),
            offset: start,
        })
    }

    /// `True`, `False` or `None`.
    fn word(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        match &self.text[start..self.pos] {
            b"True" => Ok(Literal::Bool(true)),
            b"False" => Ok(Literal::Bool(false)),
            b"None" => Ok(Literal::None),
            word => Err(SyntaxError {
                message: format!("unexpected name {:?}", String::from_utf8_lossy(word)),
                offset: start,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_numpy_header() {
        let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n";
        let expected = Literal::Dict(vec![
            (Literal::Str("descr".into()), Literal::Str("<f8".into())),
            (Literal::Str("fortran_order".into()), Literal::Bool(false)),
            (
                Literal::Str("shape".into()),
                Literal::Tuple(vec![Literal::Int(3), Literal::Int(4)]),
            ),
        ]);
        assert_eq!(parse(text), Ok(expected));
    }

    #[test]
    fn parses_empty_and_singleton_tuples_and_python2_longs() {
        assert_eq!(parse("()"), Ok(Literal::Tuple(vec![])));
        assert_eq!(parse("(5L,)"), Ok(Literal::Tuple(vec![Literal::Int(5)])));
        assert_eq!(
            parse("[('a', \"<i4\")]"),
            Ok(Literal::List(vec![Literal::Tuple(vec![
                Literal::Str("a".into()),
                Literal::Str("<i4".into())
            ])]))
        );
    }

    #[test]
    fn refuses_malformed_text_without_panicking() {
        for text in [
            "",
            "{",
            "{'a' 1}",
            "{'a': 1,,}",
            "'abc",
            "'ab\\",
            "(1, 2",
            "{'a': foo}",
            "{'a': 1} x",
            "-",
            "99999999999999999999999999999999999999999999",
            "\u{0}",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
        let deep = "(".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().message, "nesting too deep");
    }
}
