//! The message Python's `json.loads` gives for a document it rejects
//! (`Expecting value: line 1 column 1 (char 0)`), found by scanning the
//! text the way its decoder does.

struct Scan {
    c: Vec<char>,
}

type R = Result<usize, (&'static str, usize)>;

impl Scan {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.c.len() && matches!(self.c[i], ' ' | '\t' | '\n' | '\r') {
            i += 1;
        }
        i
    }

    fn lit(&self, i: usize, word: &str) -> Option<usize> {
        let w: Vec<char> = word.chars().collect();
        (self.c.get(i..i + w.len()) == Some(&w[..])).then_some(i + w.len())
    }

    fn value(&self, i: usize) -> R {
        match self.c.get(i) {
            Some('{') => self.object(i + 1),
            Some('[') => self.array(i + 1),
            Some('"') => self.string(i + 1),
            Some(c) if c.is_ascii_digit() || *c == '-' => self.number(i),
            _ => ["null", "true", "false", "NaN", "Infinity", "-Infinity"]
                .iter()
                .find_map(|w| self.lit(i, w))
                .ok_or(("Expecting value", i)),
        }
    }

    fn number(&self, mut i: usize) -> R {
        let start = i;
        if self.c.get(i) == Some(&'-') {
            i += 1;
        }
        if let Some(j) = self.lit(i, "Infinity") {
            return Ok(j);
        }
        let digits = |mut i: usize| {
            while self.c.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let int_end = if self.c.get(i) == Some(&'0') {
            i + 1
        } else {
            digits(i)
        };
        if int_end == i {
            return Err(("Expecting value", start));
        }
        i = int_end;
        if self.c.get(i) == Some(&'.') && self.c.get(i + 1).is_some_and(char::is_ascii_digit) {
            i = digits(i + 1);
        }
        if matches!(self.c.get(i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(self.c.get(j), Some('+' | '-')) {
                j += 1;
            }
            if self.c.get(j).is_some_and(char::is_ascii_digit) {
                i = digits(j);
            }
        }
        Ok(i)
    }

    fn string(&self, mut i: usize) -> R {
        let start = i - 1;
        loop {
            match self.c.get(i) {
                None => return Err(("Unterminated string starting at", start)),
                Some('"') => return Ok(i + 1),
                Some('\\') => match self.c.get(i + 1) {
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => i += 2,
                    Some('u') => {
                        let hex = self.c.get(i + 2..i + 6);
                        if !hex.is_some_and(|h| h.iter().all(char::is_ascii_hexdigit)) {
                            return Err(("Invalid \\uXXXX escape", i + 1));
                        }
                        i += 6;
                    }
                    None => return Err(("Unterminated string starting at", start)),
                    Some(_) => return Err(("Invalid \\escape", i)),
                },
                Some(c) if (*c as u32) < 0x20 => return Err(("Invalid control character at", i)),
                Some(_) => i += 1,
            }
        }
    }

    fn object(&self, i: usize) -> R {
        let mut i = self.ws(i);
        if self.c.get(i) == Some(&'}') {
            return Ok(i + 1);
        }
        loop {
            if self.c.get(i) != Some(&'"') {
                return Err(("Expecting property name enclosed in double quotes", i));
            }
            i = self.ws(self.string(i + 1)?);
            if self.c.get(i) != Some(&':') {
                return Err(("Expecting ':' delimiter", i));
            }
            i = self.ws(i + 1);
            i = self.ws(self.value(i)?);
            match self.c.get(i) {
                Some('}') => return Ok(i + 1),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter", i)),
            }
        }
    }

    fn array(&self, i: usize) -> R {
        let mut i = self.ws(i);
        if self.c.get(i) == Some(&']') {
            return Ok(i + 1);
        }
        loop {
            i = self.ws(self.value(i)?);
            match self.c.get(i) {
                Some(']') => return Ok(i + 1),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter", i)),
            }
        }
    }
}

/// Python's `JSONDecodeError` text for `text`, if its decoder rejects it.
pub(crate) fn json_error(text: &str) -> Option<String> {
    let s = Scan {
        c: text.chars().collect(),
    };
    let start = s.ws(0);
    let res = s.value(start).and_then(|end| {
        let end = s.ws(end);
        if end == s.c.len() {
            Ok(end)
        } else {
            Err(("Extra data", end))
        }
    });
    let (msg, pos) = res.err()?;
    let before = &s.c[..pos];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let col = match before.iter().rposition(|c| *c == '\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    Some(format!("{msg}: line {line} column {col} (char {pos})"))
}

#[cfg(test)]
mod tests {
    use super::json_error;

    #[test]
    fn python_messages() {
        let cases = [
            ("x", "Expecting value: line 1 column 1 (char 0)"),
            ("{\"a\":1} x", "Extra data: line 1 column 9 (char 8)"),
            (
                "{a:1}",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                "{\"a\" 1}",
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            ("[1,2", "Expecting ',' delimiter: line 1 column 5 (char 4)"),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            ("", "Expecting value: line 1 column 1 (char 0)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
        ];
        for (text, want) in cases {
            assert_eq!(json_error(text).as_deref(), Some(want), "{text:?}");
        }
        assert_eq!(json_error("{\"a\": [1, 2.5e3, null]}"), None);
    }
}
