//! The first error Python's `json.loads` reports for a text, worded as
//! CPython 3.11's decoder words it. Ansible tries JSON before YAML and
//! quotes that error when both fail, so rustle needs the same text.

const WS: [char; 4] = [' ', '\t', '\n', '\r'];

struct Scan<'a> {
    s: &'a [char],
}

/// `(message, char index)` of a decoding failure.
type Fail = (&'static str, usize);

impl Scan<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.s.len() && WS.contains(&self.s[i]) {
            i += 1;
        }
        i
    }

    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn starts(&self, i: usize, lit: &str) -> bool {
        lit.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// `scan_once`: a value at `i`; its end, or where it failed.
    fn value(&self, i: usize) -> Result<usize, Fail> {
        match self.at(i) {
            Some('"') => self.string(i + 1),
            Some('{') => self.object(i + 1),
            Some('[') => self.array(i + 1),
            Some('n') if self.starts(i, "null") => Ok(i + 4),
            Some('t') if self.starts(i, "true") => Ok(i + 4),
            Some('f') if self.starts(i, "false") => Ok(i + 5),
            Some('N') if self.starts(i, "NaN") => Ok(i + 3),
            Some('I') if self.starts(i, "Infinity") => Ok(i + 8),
            Some('-') if self.starts(i, "-Infinity") => Ok(i + 9),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(i),
            _ => Err(("Expecting value", i)),
        }
    }

    fn number(&self, i: usize) -> Result<usize, Fail> {
        let digit = |k: usize| self.at(k).is_some_and(|c| c.is_ascii_digit());
        let mut k = i;
        if self.at(k) == Some('-') {
            k += 1;
        }
        if self.at(k) == Some('0') {
            k += 1;
        } else if digit(k) {
            while digit(k) {
                k += 1;
            }
        } else {
            return Err(("Expecting value", i));
        }
        if self.at(k) == Some('.') && digit(k + 1) {
            k += 1;
            while digit(k) {
                k += 1;
            }
        }
        if matches!(self.at(k), Some('e' | 'E')) {
            let mut e = k + 1;
            if matches!(self.at(e), Some('+' | '-')) {
                e += 1;
            }
            if digit(e) {
                while digit(e) {
                    e += 1;
                }
                k = e;
            }
        }
        Ok(k)
    }

    /// A string whose opening quote is at `begin - 1`.
    fn string(&self, begin: usize) -> Result<usize, Fail> {
        let mut i = begin;
        loop {
            match self.at(i) {
                None => return Err(("Unterminated string starting at", begin - 1)),
                Some('"') => return Ok(i + 1),
                Some('\\') => match self.at(i + 1) {
                    None => return Err(("Unterminated string starting at", begin - 1)),
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => i += 2,
                    Some('u') => {
                        let ok = (i + 2..i + 6)
                            .all(|k| self.at(k).is_some_and(|c| c.is_ascii_hexdigit()));
                        if !ok {
                            return Err(("Invalid \\uXXXX escape", i + 1));
                        }
                        i += 6;
                    }
                    Some(_) => return Err(("Invalid \\escape", i)),
                },
                Some(c) if (c as u32) < 0x20 => return Err(("Invalid control character at", i)),
                Some(_) => i += 1,
            }
        }
    }

    fn object(&self, start: usize) -> Result<usize, Fail> {
        let mut i = self.ws(start);
        if self.at(i) == Some('}') {
            return Ok(i + 1);
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(("Expecting property name enclosed in double quotes", i));
            }
            i = self.ws(self.string(i + 1)?);
            if self.at(i) != Some(':') {
                return Err(("Expecting ':' delimiter", i));
            }
            i = self.ws(i + 1);
            i = self.ws(self.value(i)?);
            match self.at(i) {
                Some('}') => return Ok(i + 1),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter", i)),
            }
        }
    }

    fn array(&self, start: usize) -> Result<usize, Fail> {
        let mut i = self.ws(start);
        if self.at(i) == Some(']') {
            return Ok(i + 1);
        }
        loop {
            i = self.ws(self.value(i)?);
            match self.at(i) {
                Some(']') => return Ok(i + 1),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter", i)),
            }
        }
    }
}

/// `str(JSONDecodeError)` for `text`, or `None` when it is valid JSON.
pub fn json_error(text: &str) -> Option<String> {
    let s: Vec<char> = text.chars().collect();
    if s.first() == Some(&'\u{feff}') {
        return Some(
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)".into(),
        );
    }
    let scan = Scan { s: &s };
    let start = scan.ws(0);
    let (msg, pos) = match scan.value(start) {
        Ok(end) => {
            let end = scan.ws(end);
            if end == s.len() {
                return None;
            }
            ("Extra data", end)
        }
        Err(f) => f,
    };
    let line = s[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    let col = match s[..pos].iter().rposition(|&c| c == '\n') {
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
        assert_eq!(
            json_error("- a").as_deref(),
            Some("Expecting value: line 1 column 1 (char 0)")
        );
        assert_eq!(
            json_error("{bad json").as_deref(),
            Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)")
        );
        assert_eq!(
            json_error("[web]\nh").as_deref(),
            Some("Expecting value: line 1 column 2 (char 1)")
        );
        assert_eq!(
            json_error("{\"a\": 1} x").as_deref(),
            Some("Extra data: line 1 column 10 (char 9)")
        );
        assert_eq!(json_error(" {\"a\": [1, 2.5e3, null]}\n"), None);
    }
}
