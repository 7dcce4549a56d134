//! A small Jinja2 lexer used to pre-process template sources the way Ansible
//! does before handing them to the engine: backslashes in string literals of
//! `{{ }}` are doubled (Ansible's `_escape_backslashes`), and Python's `%`
//! string-formatting operator is rewritten into a function call.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ws(String),
    Name(String),
    Num(String),
    Str(String),
    Op(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Ws(s) | Tok::Name(s) | Tok::Num(s) | Tok::Str(s) | Tok::Op(s) => s,
        }
    }
    fn is_op(&self, o: &str) -> bool {
        matches!(self, Tok::Op(s) if s == o)
    }
}

#[derive(Debug)]
pub(crate) enum Seg {
    Text(String),
    Var {
        open: String,
        toks: Vec<Tok>,
        close: String,
    },
    Block {
        open: String,
        toks: Vec<Tok>,
        close: String,
    },
    Verbatim(String),
}

pub(crate) fn is_possibly_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

const KEYWORDS: &[&str] = &["and", "or", "not", "in", "is", "if", "else"];

/// Lexes expression tokens starting at `pos` until the closing delimiter
/// (`}}` or `%}`, optionally preceded by `-`/`+`) at bracket depth 0.
/// Returns tokens, close delimiter and the position after it.
fn lex_expr(src: &str, mut pos: usize, end: &str) -> Option<(Vec<Tok>, String, usize)> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut depth: i32 = 0;
    while pos < b.len() {
        let rest = &src[pos..];
        if depth <= 0 {
            // `-}}` / `+}}` are whitespace control, always part of the close
            let skip = usize::from(rest.starts_with('-') || rest.starts_with('+'));
            if rest[skip..].starts_with(end) {
                let close = rest[..skip + end.len()].to_string();
                let after = pos + close.len();
                return Some((toks, close, after));
            }
        }
        let c = b[pos];
        if c.is_ascii_whitespace() {
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_whitespace() {
                pos += 1;
            }
            toks.push(Tok::Ws(src[start..pos].to_string()));
        } else if c == b'\'' || c == b'"' {
            let start = pos;
            pos += 1;
            while pos < b.len() && b[pos] != c {
                if b[pos] == b'\\' {
                    pos += 1;
                }
                pos += 1;
            }
            if pos >= b.len() {
                return None;
            }
            pos += 1;
            toks.push(Tok::Str(src[start..pos].to_string()));
        } else if c.is_ascii_digit() {
            let start = pos;
            while pos < b.len()
                && (b[pos].is_ascii_alphanumeric() || b[pos] == b'_' || b[pos] == b'.')
            {
                // `1.foo` is unusual; stop before a `.` followed by non-digit
                if b[pos] == b'.' && !(pos + 1 < b.len() && b[pos + 1].is_ascii_digit()) {
                    break;
                }
                pos += 1;
            }
            toks.push(Tok::Num(src[start..pos].to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = pos;
            while pos < b.len()
                && (b[pos].is_ascii_alphanumeric() || b[pos] == b'_' || b[pos] >= 0x80)
            {
                pos += 1;
            }
            toks.push(Tok::Name(src[start..pos].to_string()));
        } else {
            let two = rest.get(..2).unwrap_or("");
            let op = if ["**", "//", "==", "!=", "<=", ">="].contains(&two) {
                two.to_string()
            } else {
                let ch = rest.chars().next()?;
                ch.to_string()
            };
            match op.as_str() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth -= 1,
                _ => {}
            }
            pos += op.len();
            toks.push(Tok::Op(op));
        }
    }
    None
}

/// Splits a template source into segments; `None` when it cannot be lexed
/// (the engine then reports the syntax error itself).
pub(crate) fn lex(src: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    let mut pos = 0;
    let mut text_start = 0;
    let b = src.as_bytes();
    while pos + 1 < b.len() {
        if b[pos] != b'{' || !matches!(b[pos + 1], b'{' | b'%' | b'#') {
            pos += 1;
            continue;
        }
        if text_start < pos {
            segs.push(Seg::Text(src[text_start..pos].to_string()));
        }
        let kind = b[pos + 1];
        let mut open_end = pos + 2;
        if open_end < b.len() && matches!(b[open_end], b'-' | b'+') {
            open_end += 1;
        }
        let open = src[pos..open_end].to_string();
        match kind {
            b'#' => {
                let end = src[open_end..].find("#}")? + open_end + 2;
                segs.push(Seg::Verbatim(src[pos..end].to_string()));
                pos = end;
            }
            b'{' => {
                let (toks, close, after) = lex_expr(src, open_end, "}}")?;
                segs.push(Seg::Var { open, toks, close });
                pos = after;
            }
            _ => {
                let (toks, close, after) = lex_expr(src, open_end, "%}")?;
                let words: Vec<&str> = toks
                    .iter()
                    .filter(|t| !matches!(t, Tok::Ws(_)))
                    .map(|t| t.text())
                    .collect();
                if words == ["raw"] {
                    // verbatim up to and including the endraw tag
                    let rest = &src[after..];
                    let mut search = 0;
                    let end = loop {
                        let i = rest[search..].find("{%")? + search;
                        let mut j = i + 2;
                        let rb = rest.as_bytes();
                        if j < rb.len() && matches!(rb[j], b'-' | b'+') {
                            j += 1;
                        }
                        let tail = rest[j..].trim_start();
                        if let Some(t) = tail.strip_prefix("endraw") {
                            let t2 = t.trim_start();
                            let t3 = t2
                                .strip_prefix('-')
                                .or_else(|| t2.strip_prefix('+'))
                                .unwrap_or(t2);
                            if let Some(t4) = t3.strip_prefix("%}") {
                                break after + (rest.len() - t4.len());
                            }
                        }
                        search = i + 2;
                    };
                    segs.push(Seg::Verbatim(src[pos..end].to_string()));
                    pos = end;
                } else {
                    segs.push(Seg::Block { open, toks, close });
                    pos = after;
                }
            }
        }
        text_start = pos;
    }
    if text_start < src.len() {
        segs.push(Seg::Text(src[text_start..].to_string()));
    }
    Some(segs)
}

fn join_toks(toks: &[Tok]) -> String {
    toks.iter().map(Tok::text).collect()
}

pub(crate) fn unparse(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Text(t) | Seg::Verbatim(t) => out.push_str(t),
            Seg::Var { open, toks, close } | Seg::Block { open, toks, close } => {
                out.push_str(open);
                out.push_str(&join_toks(toks));
                out.push_str(close);
            }
        }
    }
    out
}

/// Applies Ansible's source transformations. Returns the source unchanged
/// when nothing applies or it does not lex.
#[cfg(test)]
pub(crate) fn preprocess(src: &str) -> String {
    preprocess_opts(src, true)
}

pub(crate) fn preprocess_opts(src: &str, escape_backslashes: bool) -> String {
    let escape = escape_backslashes && src.contains('\\') && src.contains("{{");
    let has_mod = has_percent_operator(src);
    let has_fqcn = src.contains("ansible.builtin.") || src.contains("ansible.legacy.");
    if !escape && !has_mod && !has_fqcn {
        return src.to_string();
    }
    let Some(mut segs) = lex(src) else {
        return src.to_string();
    };
    let mut changed = false;
    for seg in segs.iter_mut() {
        match seg {
            Seg::Var { toks, .. } => {
                if has_fqcn && strip_fqcn(toks) {
                    changed = true;
                }
                if escape {
                    for t in toks.iter_mut() {
                        if let Tok::Str(s) = t {
                            if s.contains('\\') {
                                *s = s.replace('\\', "\\\\");
                                changed = true;
                            }
                        }
                    }
                }
                if has_mod && rewrite_mod(toks) {
                    changed = true;
                }
            }
            Seg::Block { toks, .. } => {
                changed |= has_fqcn && strip_fqcn(toks);
                changed |= has_mod && rewrite_mod(toks);
            }
            _ => {}
        }
    }
    if changed {
        unparse(&segs)
    } else {
        src.to_string()
    }
}

/// Whether `src` has a `%` that is not part of a `{%`/`%}` delimiter.
fn has_percent_operator(src: &str) -> bool {
    let b = src.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        *c == b'%'
            && !(i > 0 && b[i - 1] == b'{')
            && b.get(i + 1) != Some(&b'}')
            && !(i > 0 && matches!(b[i - 1], b'-' | b'+') && i > 1 && b[i - 2] == b'{')
    })
}

/// Preprocesses a bare expression (conditionals): `%` rewrite only.
pub(crate) fn preprocess_expr(expr: &str) -> String {
    if !expr.contains('%') {
        return expr.to_string();
    }
    let wrapped = format!("{{{{ {expr} }}}}");
    match lex(&wrapped) {
        Some(mut segs) if segs.len() == 1 => {
            if let Seg::Var { toks, .. } = &mut segs[0] {
                rewrite_mod(toks);
                return join_toks(toks).trim().to_string();
            }
            expr.to_string()
        }
        _ => expr.to_string(),
    }
}

/// If the source (minus one trailing newline) is exactly one `{{ expr }}`,
/// the expression text.
pub(crate) fn single_expression(src: &str) -> Option<String> {
    let s = src.strip_suffix('\n').unwrap_or(src);
    if !s.starts_with("{{") || !s.ends_with("}}") {
        return None;
    }
    let segs = lex(s)?;
    match segs.as_slice() {
        [Seg::Var { toks, .. }] => Some(join_toks(toks)),
        _ => None,
    }
}

fn prev_nw(toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = i;
    while j > 0 {
        j -= 1;
        if !matches!(toks[j], Tok::Ws(_)) {
            return Some(j);
        }
    }
    None
}

fn next_nw(toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < toks.len() {
        if !matches!(toks[j], Tok::Ws(_)) {
            return Some(j);
        }
        j += 1;
    }
    None
}

fn is_open(t: &Tok) -> bool {
    t.is_op("(") || t.is_op("[") || t.is_op("{")
}

fn is_close(t: &Tok) -> bool {
    t.is_op(")") || t.is_op("]") || t.is_op("}")
}

fn match_back(toks: &[Tok], close: usize) -> Option<usize> {
    let mut depth = 0;
    let mut j = close + 1;
    while j > 0 {
        j -= 1;
        if is_close(&toks[j]) {
            depth += 1;
        } else if is_open(&toks[j]) {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

fn match_fwd(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, t) in toks.iter().enumerate().skip(open) {
        if is_open(t) {
            depth += 1;
        } else if is_close(t) {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

fn is_operand_name(t: &Tok) -> bool {
    matches!(t, Tok::Name(n) if !KEYWORDS.contains(&n.as_str()))
}

fn chain_back(toks: &[Tok], mut j: usize) -> Option<usize> {
    loop {
        let t = &toks[j];
        let atom_start = if is_close(t) {
            match_back(toks, j)?
        } else if matches!(t, Tok::Str(_)) {
            let mut s = j;
            while let Some(p) = prev_nw(toks, s) {
                if matches!(toks[p], Tok::Str(_)) {
                    s = p;
                } else {
                    break;
                }
            }
            s
        } else if is_operand_name(t) || matches!(t, Tok::Num(_)) {
            j
        } else {
            return None;
        };
        let Some(p) = prev_nw(toks, atom_start) else {
            return Some(atom_start);
        };
        let pt = &toks[p];
        if pt.is_op(".") || pt.is_op("|") {
            j = prev_nw(toks, p)?;
            continue;
        }
        if (toks[atom_start].is_op("(") || toks[atom_start].is_op("["))
            && (is_operand_name(pt) || is_close(pt) || matches!(pt, Tok::Str(_)))
        {
            j = p;
            continue;
        }
        return Some(atom_start);
    }
}

fn scan_left(toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = prev_nw(toks, i)?;
    loop {
        let mut start = chain_back(toks, j)?;
        if let Some(p) = prev_nw(toks, start) {
            let pt = &toks[p];
            if pt.is_op("*") || pt.is_op("/") || pt.is_op("//") {
                j = prev_nw(toks, p)?;
                continue;
            }
            if pt.is_op("-") || pt.is_op("+") {
                let unary = match prev_nw(toks, p) {
                    None => true,
                    Some(q) => {
                        let qt = &toks[q];
                        (matches!(qt, Tok::Op(_)) && !is_close(qt))
                            || matches!(qt, Tok::Name(n) if KEYWORDS.contains(&n.as_str()))
                    }
                };
                if unary {
                    start = p;
                }
            }
        }
        return Some(start);
    }
}

fn chain_fwd(toks: &[Tok], j: usize) -> Option<usize> {
    let t = &toks[j];
    let mut end = if is_open(t) {
        match_fwd(toks, j)?
    } else if matches!(t, Tok::Str(_)) {
        let mut e = j;
        while let Some(n) = next_nw(toks, e) {
            if matches!(toks[n], Tok::Str(_)) {
                e = n;
            } else {
                break;
            }
        }
        e
    } else if is_operand_name(t) || matches!(t, Tok::Num(_)) {
        j
    } else {
        return None;
    };
    while let Some(n) = next_nw(toks, end) {
        let nt = &toks[n];
        if nt.is_op(".") {
            end = next_nw(toks, n)?;
        } else if nt.is_op("(") || nt.is_op("[") {
            end = match_fwd(toks, n)?;
        } else if nt.is_op("|") {
            end = next_nw(toks, n)?;
            if let Some(m) = next_nw(toks, end) {
                if toks[m].is_op("(") {
                    end = match_fwd(toks, m)?;
                }
            }
        } else {
            break;
        }
    }
    Some(end)
}

fn scan_right(toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = next_nw(toks, i)?;
    if toks[j].is_op("-") || toks[j].is_op("+") {
        j = next_nw(toks, j)?;
    }
    let mut end = chain_fwd(toks, j)?;
    while let Some(n) = next_nw(toks, end) {
        if toks[n].is_op("**") {
            let k = next_nw(toks, n)?;
            end = chain_fwd(toks, k)?;
        } else {
            break;
        }
    }
    Some(end)
}

/// `x | ansible.builtin.to_json` → `x | to_json` (also `is` tests and
/// `ansible.legacy.`), as Jinja2 resolves dotted plugin names.
fn strip_fqcn(toks: &mut Vec<Tok>) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < toks.len() {
        let after_pipe_or_is = prev_nw(toks, i).is_some_and(|p| {
            toks[p].is_op("|") || matches!(&toks[p], Tok::Name(n) if n == "is" || n == "not")
        });
        if after_pipe_or_is {
            if let Tok::Name(ns) = &toks[i] {
                if ns == "ansible" && toks.get(i + 1).is_some_and(|t| t.is_op(".")) {
                    if let (Some(Tok::Name(coll)), Some(dot2), Some(Tok::Name(_))) =
                        (toks.get(i + 2), toks.get(i + 3), toks.get(i + 4))
                    {
                        if (coll == "builtin" || coll == "legacy") && dot2.is_op(".") {
                            toks.drain(i..i + 4);
                            changed = true;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    changed
}

/// Rewrites every `L % R` into `__rustle_mod(L, R)`. Returns whether any
/// rewrite happened.
fn rewrite_mod(toks: &mut Vec<Tok>) -> bool {
    let mut changed = false;
    for _ in 0..64 {
        let Some(i) = toks.iter().position(|t| t.is_op("%")) else {
            break;
        };
        let (Some(l), Some(r)) = (scan_left(toks, i), scan_right(toks, i)) else {
            break;
        };
        let left: Vec<Tok> = toks[l..i].to_vec();
        let right: Vec<Tok> = toks[i + 1..=r].to_vec();
        let mut repl = vec![Tok::Name("__rustle_mod".into()), Tok::Op("(".into())];
        repl.extend(left);
        repl.push(Tok::Op(",".into()));
        repl.extend(right);
        repl.push(Tok::Op(")".into()));
        toks.splice(l..=r, repl);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod t {
    use super::*;

    #[test]
    fn mod_rewrite() {
        assert_eq!(
            preprocess("{{ '%s-%d' % (a, b) }}"),
            "{{ __rustle_mod('%s-%d' , (a, b)) }}"
        );
        assert_eq!(
            preprocess("{{ x ~ '%s' % y|upper + 'z' }}"),
            "{{ x ~ __rustle_mod('%s' , y|upper) + 'z' }}"
        );
        assert_eq!(
            preprocess("{% if a % 2 %}x{% endif %}"),
            "{% if __rustle_mod(a , 2) %}x{% endif %}"
        );
        assert_eq!(preprocess("100% {{ x }}"), "100% {{ x }}");
    }

    #[test]
    fn fqcn() {
        assert_eq!(
            preprocess("{{ x | ansible.builtin.to_json }}"),
            "{{ x | to_json }}"
        );
        assert_eq!(
            preprocess("{{ x is ansible.builtin.file }}"),
            "{{ x is file }}"
        );
    }

    #[test]
    fn single() {
        assert_eq!(single_expression("{{ a }}\n").as_deref(), Some(" a "));
        assert_eq!(single_expression("{{ a }} {{ b }}"), None);
        assert_eq!(
            single_expression("{{ {'a': {'b': 1}} }}").as_deref(),
            Some(" {'a': {'b': 1}} ")
        );
    }

    #[test]
    fn escape() {
        assert_eq!(preprocess("a\\b {{ 'x\\1' }}"), "a\\b {{ 'x\\\\1' }}");
    }
}

/// Delimiters a template may set instead of Jinja's defaults (the template
/// lookup's `variable_start_string` & co.).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delimiters {
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
        }
    }
}

/// Rewrites a template written with custom delimiters into one with
/// Jinja's defaults: custom tags become default tags, and default openers
/// that are plain text under the custom syntax are emitted as literals.
pub(crate) fn translate_delimiters(src: &str, d: &Delimiters) -> String {
    let def = Delimiters::default();
    if *d == def {
        return src.to_owned();
    }
    // (custom start, custom end, default start, default end), changed only.
    let pairs: Vec<(&str, &str, &str, &str)> =
        [(&d.variable, &def.variable), (&d.comment, &def.comment)]
            .into_iter()
            .filter(|(c, f)| c != f)
            .map(|(c, f)| (c.0.as_str(), c.1.as_str(), f.0.as_str(), f.1.as_str()))
            .collect();
    let literal_openers: Vec<&str> = pairs.iter().map(|p| p.2).collect();
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    'outer: while !rest.is_empty() {
        for (cs, ce, ds, de) in &pairs {
            if let Some(after) = rest.strip_prefix(cs) {
                if let Some(end) = after.find(ce) {
                    out.push_str(ds);
                    out.push_str(&after[..end]);
                    out.push_str(de);
                    rest = &after[end + ce.len()..];
                    continue 'outer;
                }
            }
        }
        for op in &literal_openers {
            if let Some(after) = rest.strip_prefix(op) {
                out.push_str(&format!("{{{{ '{op}' }}}}"));
                rest = after;
                continue 'outer;
            }
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod delimiter_tests {
    use super::*;

    #[test]
    fn custom_variable_delimiters() {
        let d = Delimiters {
            variable: ("[%".into(), "%]".into()),
            ..Default::default()
        };
        assert_eq!(
            translate_delimiters("Hello [% who %] {{ x }} {% if %}", &d),
            "Hello {{ who }} {{ '{{' }} x }} {% if %}"
        );
        assert_eq!(
            translate_delimiters("a {{ b }}", &Delimiters::default()),
            "a {{ b }}"
        );
    }
}
