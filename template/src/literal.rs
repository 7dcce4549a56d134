//! Python `ast.literal_eval` (with Ansible's JSON names `true`/`false`/`null`)
//! producing template values.

use minijinja::value::Value;

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

/// Evaluates a Python literal; `None` when it is not one.
pub(crate) fn literal_eval(src: &str) -> Option<Value> {
    let mut p = P {
        s: src.as_bytes(),
        src,
        i: 0,
    };
    let v = p.expr(0)?;
    p.ws();
    if p.i == p.s.len() {
        Some(v)
    } else {
        None
    }
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.i += 1,
                b'\\' if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                b'#' => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expr(&mut self, depth: usize) -> Option<Value> {
        if depth > 200 {
            return None;
        }
        match self.peek()? {
            b'[' => {
                self.i += 1;
                let items = self.items(b']', depth)?;
                Some(Value::from(items.0))
            }
            b'(' => {
                self.i += 1;
                let (items, trailing_comma) = self.items(b')', depth)?;
                if items.len() == 1 && !trailing_comma {
                    Some(items.into_iter().next().unwrap_or_default())
                } else {
                    Some(Value::from(items))
                }
            }
            b'{' => {
                self.i += 1;
                let mut pairs: Vec<(Value, Value)> = Vec::new();
                loop {
                    if self.peek()? == b'}' {
                        self.i += 1;
                        break;
                    }
                    let k = self.expr(depth + 1)?;
                    if self.peek()? != b':' {
                        return None; // a set
                    }
                    self.i += 1;
                    let v = self.expr(depth + 1)?;
                    if matches!(
                        k.kind(),
                        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map
                    ) {
                        return None; // unhashable
                    }
                    if let Some(pos) = pairs.iter().position(|(pk, _)| *pk == k) {
                        pairs[pos].1 = v;
                    } else {
                        pairs.push((k, v));
                    }
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                Some(Value::from_pairs(pairs))
            }
            b'-' | b'+' => {
                let neg = self.s[self.i] == b'-';
                self.i += 1;
                let v = self.expr(depth + 1)?;
                if !v.is_number() {
                    return None;
                }
                if neg {
                    if let Ok(i) = i64::try_from(v.clone()) {
                        Some(Value::from(-(i as i128)))
                    } else {
                        let f = f64::try_from(v).ok()?;
                        Some(Value::from(-f))
                    }
                } else {
                    Some(v)
                }
            }
            b'\'' | b'"' => self.strings(),
            c if c.is_ascii_digit() || c == b'.' => self.number(),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
                {
                    self.i += 1;
                }
                let word = &self.src[start..self.i];
                if self.i < self.s.len() && matches!(self.s[self.i], b'\'' | b'"') {
                    let lw = word.to_ascii_lowercase();
                    if ["u", "r", "b", "br", "rb"].contains(&lw.as_str()) {
                        self.i = start;
                        return self.strings();
                    }
                }
                match word {
                    "True" | "true" => Some(Value::from(true)),
                    "False" | "false" => Some(Value::from(false)),
                    "None" | "null" => Some(Value::from(())),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn items(&mut self, close: u8, depth: usize) -> Option<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut trailing = false;
        loop {
            if self.peek()? == close {
                self.i += 1;
                return Some((items, trailing));
            }
            items.push(self.expr(depth + 1)?);
            trailing = false;
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    trailing = true;
                }
                c if c == close => {
                    self.i += 1;
                    return Some((items, trailing));
                }
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric()
                || self.s[self.i] == b'_'
                || self.s[self.i] == b'.'
                || ((self.s[self.i] == b'-' || self.s[self.i] == b'+')
                    && matches!(self.s[self.i - 1], b'e' | b'E')
                    && !self.src[start..self.i].starts_with("0x")))
        {
            self.i += 1;
        }
        let text: String = self.src[start..self.i].replace('_', "");
        let lower = text.to_ascii_lowercase();
        if lower.ends_with('j') {
            return None;
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(d) = lower.strip_prefix(prefix) {
                return i128::from_str_radix(d, radix).ok().map(Value::from);
            }
        }
        if lower.contains(['.', 'e']) {
            return lower.parse::<f64>().ok().map(Value::from);
        }
        if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
            return None;
        }
        lower.parse::<i128>().ok().map(Value::from)
    }

    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        while let Some(c) = self.peek() {
            let start = self.i;
            let mut raw = false;
            if c.is_ascii_alphabetic() {
                while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
                    if matches!(self.s[self.i], b'r' | b'R') {
                        raw = true;
                    }
                    self.i += 1;
                }
                if self.i - start > 2
                    || self.i >= self.s.len()
                    || !matches!(self.s[self.i], b'\'' | b'"')
                {
                    self.i = start;
                    break;
                }
            } else if c != b'\'' && c != b'"' {
                break;
            }
            let q = self.s[self.i];
            let triple = self.s[self.i..].starts_with(&[q, q, q]);
            self.i += if triple { 3 } else { 1 };
            let body_start = self.i;
            loop {
                if self.i >= self.s.len() {
                    return None;
                }
                let b = self.s[self.i];
                if b == b'\\' {
                    self.i += 2;
                    continue;
                }
                if b == b'\n' && !triple {
                    return None;
                }
                if b == q && (!triple || self.s[self.i..].starts_with(&[q, q, q])) {
                    break;
                }
                self.i += 1;
            }
            let body = self.src.get(body_start..self.i)?;
            self.i += if triple { 3 } else { 1 };
            if raw {
                out.push_str(body);
            } else {
                unescape(body, &mut out)?;
            }
            any = true;
        }
        if any {
            Some(Value::from(out))
        } else {
            None
        }
    }
}

fn unescape(body: &str, out: &mut String) -> Option<()> {
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
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
                let mut n = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek() {
                        Some(d @ '0'..='7') => {
                            n = n * 8 + d.to_digit(8)?;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(n)?);
            }
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut n = 0u32;
                for _ in 0..len {
                    n = n * 16 + chars.next()?.to_digit(16)?;
                }
                out.push(char::from_u32(n)?);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod t {
    use super::*;
    #[test]
    fn basics() {
        let ps = |v: Value| crate::pyrepr::py_str(&v);
        assert_eq!(
            literal_eval("[1, 'a']").map(ps).as_deref(),
            Some("[1, 'a']")
        );
        assert!(literal_eval("[foo]").is_none());
        assert_eq!(literal_eval("True"), Some(Value::from(true)));
        assert_eq!(
            literal_eval("{'a': [1, -2.5, None]}").map(ps).as_deref(),
            Some("{'a': [1, -2.5, None]}")
        );
        assert!(literal_eval("{1, 2}").is_none());
        assert_eq!(literal_eval("['a' 'b']").map(ps).as_deref(), Some("['ab']"));
    }
}
