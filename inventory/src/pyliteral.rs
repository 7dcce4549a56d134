//! The typing Ansible's INI plugin gives to `key=value` values: Python's
//! `ast.literal_eval`, falling back to the raw string when the text is not a
//! Python literal. Only what maps to JSON is produced: numbers, strings,
//! booleans, `None`, lists, tuples (as lists), dicts; sets and complex
//! numbers fall back to the string (see the crate docs for the gap).

use serde_json::{Map, Number, Value as Json};

/// `ast.literal_eval(text)` as JSON, or `None` when Python would raise
/// (the caller then keeps the text as a string).
pub fn literal_eval(text: &str) -> Option<Json> {
    let src = text.trim_start_matches([' ', '\t']);
    let toks = tokenize(src)?;
    let mut p = P { toks, i: 0 };
    let v = p.expr_list()?;
    if p.i != p.toks.len() {
        return None;
    }
    lit_to_json(v)
}

/// INI value typing: the literal when there is one, else the string.
pub fn ini_value(text: &str) -> Json {
    literal_eval(text).unwrap_or_else(|| Json::String(text.to_owned()))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(Json),
    Float(f64),
    Imag,
    Str(String),
    Bytes(String),
    Name(String),
    Op(char),
}

#[derive(Debug, Clone)]
enum Lit {
    Num(Json),
    Bool(bool),
    None,
    Str(String),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
    /// Anything valid in Python that is not JSON data (sets, complex).
    Other,
}

fn lit_to_json(l: Lit) -> Option<Json> {
    Some(match l {
        Lit::Num(n) => n,
        Lit::Bool(b) => Json::Bool(b),
        Lit::None => Json::Null,
        Lit::Str(s) => Json::String(s),
        Lit::List(items) => Json::Array(
            items
                .into_iter()
                .map(lit_to_json)
                .collect::<Option<Vec<_>>>()?,
        ),
        Lit::Dict(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Lit::Str(s) => s,
                    Lit::Num(n) => n.to_string(),
                    Lit::Bool(b) => if b { "True" } else { "False" }.into(),
                    Lit::None => "None".into(),
                    _ => return None,
                };
                m.insert(key, lit_to_json(v)?);
            }
            Json::Object(m)
        }
        Lit::Other => return None,
    })
}

struct P {
    toks: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Op(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `a` or `a, b, ...` (a bare tuple, eval mode).
    fn expr_list(&mut self) -> Option<Lit> {
        let first = self.expr()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.peek().is_some() && self.peek() != Some(&Tok::Op(')')) {
            items.push(self.expr()?);
            if !self.eat(',') {
                break;
            }
        }
        Some(Lit::List(items))
    }

    fn expr(&mut self) -> Option<Lit> {
        let left = self.unary()?;
        // Python only accepts `num +/- complex` here; we do not build
        // complex numbers, so any binary operator is not JSON data.
        if let Some(Tok::Op('+' | '-')) = self.peek() {
            self.i += 1;
            let right = self.unary()?;
            return match (left, right) {
                (Lit::Num(_) | Lit::Other, Lit::Other) => Some(Lit::Other),
                _ => None,
            };
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Lit> {
        if let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.i += 1;
            let operand = self.atom()?;
            return match operand {
                Lit::Num(n) if op == '+' => Some(Lit::Num(n)),
                Lit::Num(n) => negate(&n).map(Lit::Num),
                Lit::Bool(b) => Some(Lit::Num(Json::from(if op == '-' {
                    -i64::from(b)
                } else {
                    i64::from(b)
                }))),
                Lit::Other => Some(Lit::Other),
                _ => None,
            };
        }
        self.atom()
    }

    fn atom(&mut self) -> Option<Lit> {
        let t = self.peek()?.clone();
        self.i += 1;
        match t {
            Tok::Int(n) => Some(Lit::Num(n)),
            Tok::Float(f) => Some(Lit::Num(Json::Number(Number::from_f64(f)?))),
            Tok::Imag => Some(Lit::Other),
            Tok::Str(s) => {
                let mut s = s;
                // implicit concatenation of adjacent literals
                while let Some(Tok::Str(more)) = self.peek() {
                    s.push_str(more);
                    self.i += 1;
                }
                if matches!(self.peek(), Some(Tok::Bytes(_))) {
                    return None;
                }
                Some(Lit::Str(s))
            }
            Tok::Bytes(s) => {
                let mut s = s;
                while let Some(Tok::Bytes(more)) = self.peek() {
                    s.push_str(more);
                    self.i += 1;
                }
                if matches!(self.peek(), Some(Tok::Str(_))) {
                    return None;
                }
                Some(Lit::Str(s))
            }
            Tok::Name(n) => match n.as_str() {
                "True" => Some(Lit::Bool(true)),
                "False" => Some(Lit::Bool(false)),
                "None" => Some(Lit::None),
                "set" if self.peek() == Some(&Tok::Op('(')) => {
                    self.i += 1;
                    self.eat(')').then_some(Lit::Other)
                }
                _ => None,
            },
            Tok::Op('(') => {
                if self.eat(')') {
                    return Some(Lit::List(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(')') {
                    return Some(first);
                }
                if !self.eat(',') {
                    return None;
                }
                let mut items = vec![first];
                while !self.eat(')') {
                    items.push(self.expr()?);
                    if !self.eat(',') {
                        if !self.eat(')') {
                            return None;
                        }
                        break;
                    }
                }
                Some(Lit::List(items))
            }
            Tok::Op('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.expr()?);
                    if !self.eat(',') {
                        if !self.eat(']') {
                            return None;
                        }
                        break;
                    }
                }
                Some(Lit::List(items))
            }
            Tok::Op('{') => {
                if self.eat('}') {
                    return Some(Lit::Dict(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(':') {
                    let v = self.expr()?;
                    let mut entries = vec![(first, v)];
                    loop {
                        if self.eat('}') {
                            break;
                        }
                        if !self.eat(',') {
                            return None;
                        }
                        if self.eat('}') {
                            break;
                        }
                        let k = self.expr()?;
                        if !self.eat(':') {
                            return None;
                        }
                        entries.push((k, self.expr()?));
                    }
                    // unhashable keys raise TypeError in Python
                    if entries
                        .iter()
                        .any(|(k, _)| matches!(k, Lit::List(_) | Lit::Dict(_)))
                    {
                        return None;
                    }
                    // a later duplicate key replaces the value, keeping the place
                    Some(Lit::Dict(entries))
                } else {
                    // a set display
                    loop {
                        if self.eat('}') {
                            break;
                        }
                        if !self.eat(',') {
                            return None;
                        }
                        if self.eat('}') {
                            break;
                        }
                        self.expr()?;
                    }
                    Some(Lit::Other)
                }
            }
            _ => None,
        }
    }
}

fn negate(n: &Json) -> Option<Json> {
    if let Some(i) = n.as_i64() {
        return Some(match i.checked_neg() {
            Some(v) => Json::from(v),
            None => Json::Number(Number::from_f64(-(i as f64))?),
        });
    }
    if let Some(u) = n.as_u64() {
        if u == 1u64 << 63 {
            return Some(Json::from(i64::MIN));
        }
        return Number::from_f64(-(u as f64)).map(Json::Number);
    }
    Number::from_f64(-n.as_f64()?).map(Json::Number)
}

fn is_id_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_id_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn tokenize(src: &str) -> Option<Vec<Tok>> {
    let cs: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let mut depth = 0usize;
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' | '\x0c' => i += 1,
            '\n' | '\r' => {
                // a newline ends the expression unless inside brackets
                if depth == 0 {
                    let rest: String = cs[i..].iter().collect();
                    if rest
                        .lines()
                        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                    {
                        return Some(out);
                    }
                    return None;
                }
                i += 1;
            }
            '\\' if cs.get(i + 1) == Some(&'\n') => i += 2,
            '#' => {
                while i < cs.len() && cs[i] != '\n' {
                    i += 1;
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                out.push(Tok::Op(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                out.push(Tok::Op(c));
                i += 1;
            }
            ',' | ':' | '+' | '-' => {
                out.push(Tok::Op(c));
                i += 1;
            }
            '0'..='9' => {
                let (t, n) = number(&cs[i..])?;
                out.push(t);
                i += n;
            }
            '.' if cs.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let (t, n) = number(&cs[i..])?;
                out.push(t);
                i += n;
            }
            '\'' | '"' => {
                let (s, n) = string(&cs[i..], false, false)?;
                out.push(Tok::Str(s));
                i += n;
            }
            c if is_id_start(c) => {
                let start = i;
                while i < cs.len() && is_id_char(cs[i]) {
                    i += 1;
                }
                let word: String = cs[start..i].iter().collect();
                let lower = word.to_ascii_lowercase();
                if i < cs.len()
                    && (cs[i] == '\'' || cs[i] == '"')
                    && matches!(
                        lower.as_str(),
                        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
                    )
                {
                    if lower.contains('f') {
                        return None; // f-strings are not literals
                    }
                    let raw = lower.contains('r');
                    let bytes = lower.contains('b');
                    let (s, n) = string(&cs[i..], raw, bytes)?;
                    out.push(if bytes { Tok::Bytes(s) } else { Tok::Str(s) });
                    i += n;
                } else {
                    out.push(Tok::Name(word));
                }
            }
            _ => return None,
        }
    }
    (depth == 0).then_some(out)
}

/// A Python number token at the start of `cs`: (token, chars used).
fn number(cs: &[char]) -> Option<(Tok, usize)> {
    let digits = |cs: &[char], mut i: usize, ok: &dyn Fn(char) -> bool| -> Option<usize> {
        // digits with single underscores between them
        let start = i;
        while i < cs.len() {
            let underscore = cs[i] == '_' && i > start && cs.get(i + 1).is_some_and(|&c| ok(c));
            if ok(cs[i]) || underscore {
                i += 1;
            } else {
                break;
            }
        }
        (i > start).then_some(i)
    };
    let after = |i: usize| cs.get(i).is_some_and(|&c| is_id_char(c) || c == '.');
    if cs[0] == '0' && cs.len() > 1 && matches!(cs[1], 'x' | 'X' | 'o' | 'O' | 'b' | 'B') {
        let radix = match cs[1] {
            'x' | 'X' => 16,
            'o' | 'O' => 8,
            _ => 2,
        };
        let mut j = 2;
        if cs.get(j) == Some(&'_') {
            j += 1;
        }
        let end = digits(cs, j, &|c| c.is_digit(radix))?;
        if cs.get(end).is_some_and(|&c| is_id_char(c)) {
            return None;
        }
        let text: String = cs[j..end].iter().filter(|&&c| c != '_').collect();
        return Some((int_tok(&text, radix)?, end));
    }
    let int_end = if cs[0] == '.' {
        0
    } else {
        digits(cs, 0, &|c| c.is_ascii_digit())?
    };
    let mut i = int_end;
    let mut is_float = false;
    if cs.get(i) == Some(&'.') {
        is_float = true;
        i += 1;
        if cs.get(i).is_some_and(char::is_ascii_digit) {
            i = digits(cs, i, &|c| c.is_ascii_digit())?;
        }
    }
    if matches!(cs.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(cs.get(j), Some('+' | '-')) {
            j += 1;
        }
        if let Some(end) = digits(cs, j, &|c| c.is_ascii_digit()) {
            is_float = true;
            i = end;
        }
    }
    if matches!(cs.get(i), Some('j' | 'J')) {
        return Some((Tok::Imag, i + 1));
    }
    if after(i) {
        return None;
    }
    let text: String = cs[..i].iter().filter(|&&c| c != '_').collect();
    if is_float {
        let f: f64 = text.parse().ok()?;
        if !f.is_finite() {
            return None;
        }
        return Some((Tok::Float(f), i));
    }
    // decimal: no leading zeros except all zeros
    if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
        return None;
    }
    Some((int_tok(&text, 10)?, i))
}

fn int_tok(text: &str, radix: u32) -> Option<Tok> {
    if let Ok(v) = i64::from_str_radix(text, radix) {
        return Some(Tok::Int(Json::from(v)));
    }
    if let Ok(v) = u64::from_str_radix(text, radix) {
        return Some(Tok::Int(Json::from(v)));
    }
    // beyond 64 bits: approximate as a float (Python keeps the exact int)
    let mut f = 0f64;
    for c in text.chars() {
        f = f * f64::from(radix) + f64::from(c.to_digit(radix)?);
    }
    Number::from_f64(f).map(|n| Tok::Int(Json::Number(n)))
}

/// A quoted string at the start of `cs` (the opening quote): (text, chars used).
fn string(cs: &[char], raw: bool, bytes: bool) -> Option<(String, usize)> {
    let q = cs[0];
    let triple = cs.len() >= 3 && cs[1] == q && cs[2] == q;
    let mut i = if triple { 3 } else { 1 };
    let mut out = String::new();
    loop {
        let c = *cs.get(i)?;
        if triple {
            if c == q && cs.get(i + 1) == Some(&q) && cs.get(i + 2) == Some(&q) {
                return Some((out, i + 3));
            }
        } else if c == q {
            return Some((out, i + 1));
        } else if c == '\n' {
            return None;
        }
        if bytes && !c.is_ascii() {
            return None;
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let n = *cs.get(i + 1)?;
        if raw {
            out.push('\\');
            out.push(n);
            i += 2;
            continue;
        }
        i += 2;
        match n {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = n.to_digit(8)?;
                let mut k = 0;
                while k < 2 {
                    match cs.get(i).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            i += 1;
                            k += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v)?);
            }
            'x' => {
                let h: String = cs.get(i..i + 2)?.iter().collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                i += 2;
            }
            'u' | 'U' if !bytes => {
                let len = if n == 'u' { 4 } else { 8 };
                let h: String = cs.get(i..i + len)?.iter().collect();
                if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                i += len;
            }
            'N' if !bytes => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typing() {
        assert_eq!(literal_eval("1"), Some(json!(1)));
        assert_eq!(literal_eval("  -1"), Some(json!(-1)));
        assert_eq!(literal_eval("0x1f"), Some(json!(31)));
        assert_eq!(literal_eval("1_000"), Some(json!(1000)));
        assert_eq!(literal_eval("01"), None);
        assert_eq!(literal_eval("1.5"), Some(json!(1.5)));
        assert_eq!(literal_eval("1e3"), Some(json!(1000.0)));
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("None"), Some(Json::Null));
        assert_eq!(literal_eval("yes"), None);
        assert_eq!(literal_eval("'a' \"b\""), Some(json!("ab")));
        assert_eq!(literal_eval("[1, 'x', (2,)]"), Some(json!([1, "x", [2]])));
        assert_eq!(literal_eval("1, 2"), Some(json!([1, 2])));
        assert_eq!(literal_eval("{'a': 1}"), Some(json!({"a": 1})));
        assert_eq!(literal_eval("{k:1}"), None);
        assert_eq!(literal_eval("5 # c"), Some(json!(5)));
        assert_eq!(literal_eval("foo bar # c"), None);
        assert_eq!(literal_eval("1+2"), None);
        assert_eq!(literal_eval("'a\\nb'"), Some(json!("a\nb")));
        assert_eq!(literal_eval("r'a\\nb'"), Some(json!("a\\nb")));
        assert_eq!(literal_eval(""), None);
        assert_eq!(literal_eval("1.2.3"), None);
        assert_eq!(literal_eval("{1, 2}"), None);
    }
}
