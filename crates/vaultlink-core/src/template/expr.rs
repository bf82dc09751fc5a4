//! ARM template expressions: a string `[...]` is an expression (`[[` at the start escapes a
//! literal `[`). The grammar: a literal (a string in single quotes with `''` for a quote, an
//! integer, `true`, `false`, `null`), or a function call `name(arg, ...)` (names may be namespaced: `ns.fn`), followed by
//! any number of member accesses `.name` and indexes `[expr]`.

use serde_json::Value;

use super::{TemplateError, invalid};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    Call { name: String, args: Vec<Expr> },
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

/// What a JSON string in a template is: an expression to evaluate, or a literal (with an escaped
/// leading `[[` turned into `[`).
pub enum Text<'a> {
    Expression(&'a str),
    Literal(std::borrow::Cow<'a, str>),
}

pub fn classify(s: &str) -> Text<'_> {
    if let Some(rest) = s.strip_prefix("[[") {
        return Text::Literal(format!("[{rest}").into());
    }
    match s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => Text::Expression(inner),
        None => Text::Literal(s.into()),
    }
}

/// The deepest nesting an expression may have (calls, members and indexes together): bounds the
/// parser's recursion on hostile input.
pub const MAX_DEPTH: usize = 64;

/// Parses the text between the brackets.
pub fn parse(text: &str) -> Result<Expr, TemplateError> {
    let mut p = Parser { s: text.as_bytes(), text, at: 0, depth: 0 };
    p.space();
    let e = p.expr()?;
    p.space();
    if p.at != p.s.len() {
        return Err(p.error("unexpected characters after the expression"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> TemplateError {
        invalid(format!(
            "The template language expression '{}' is not valid: {what} at position '{}'. Please see https://aka.ms/arm-functions for usage details.",
            self.text, self.at
        ))
    }

    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.space();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr, TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("the expression is nested too deeply"));
        }
        let mut e = self.primary()?;
        loop {
            if self.eat(b'.') {
                self.space();
                e = Expr::Member(Box::new(e), self.identifier(false)?);
            } else if self.eat(b'[') {
                let index = self.expr()?;
                if !self.eat(b']') {
                    return Err(self.error("expected ']'"));
                }
                e = Expr::Index(Box::new(e), Box::new(index));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, TemplateError> {
        self.space();
        match self.s.get(self.at) {
            Some(b'\'') => self.string(),
            Some(c) if c.is_ascii_digit() || *c == b'-' => self.integer(),
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let name = self.identifier(true)?;
                if !self.eat(b'(') {
                    return match name.as_str() {
                        "true" => Ok(Expr::Literal(Value::Bool(true))),
                        "false" => Ok(Expr::Literal(Value::Bool(false))),
                        "null" => Ok(Expr::Literal(Value::Null)),
                        _ => Err(self.error("expected '(' after a function name")),
                    };
                }
                let mut args = Vec::new();
                if !self.eat(b')') {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(b')') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or ')'"));
                        }
                    }
                }
                Ok(Expr::Call { name, args })
            }
            _ => Err(self.error("expected a literal or a function call")),
        }
    }

    /// A name; a function's may be namespaced (`ns.fn`), a member's has no `.`.
    fn identifier(&mut self, dotted: bool) -> Result<String, TemplateError> {
        let start = self.at;
        if !self.s.get(self.at).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
            return Err(self.error("expected a name"));
        }
        while self.s.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.') {
            // A '.' inside a name (a namespaced function) only when a name character follows.
            if self.s[self.at] == b'.' && !(dotted && self.s.get(self.at + 1).is_some_and(u8::is_ascii_alphabetic)) {
                break;
            }
            self.at += 1;
        }
        Ok(self.text[start..self.at].to_string())
    }

    fn string(&mut self) -> Result<Expr, TemplateError> {
        self.at += 1;
        let mut out = String::new();
        let mut from = self.at;
        loop {
            match self.s.get(self.at) {
                None => return Err(self.error("the string is not terminated")),
                Some(b'\'') if self.s.get(self.at + 1) == Some(&b'\'') => {
                    out.push_str(&self.text[from..=self.at]);
                    self.at += 2;
                    from = self.at;
                }
                Some(b'\'') => {
                    out.push_str(&self.text[from..self.at]);
                    self.at += 1;
                    return Ok(Expr::Literal(Value::String(out)));
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn integer(&mut self) -> Result<Expr, TemplateError> {
        let start = self.at;
        if self.s[self.at] == b'-' {
            self.at += 1;
        }
        while self.s.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.text[start..self.at]
            .parse::<i64>()
            .map(|n| Expr::Literal(Value::from(n)))
            .map_err(|_| self.error("the number is not a 64-bit integer"))
    }
}
