//! The excerpt Ansible appends to an error that knows its source position
//! (`AnsibleError._get_extended_error`), shared by playbook and inventory
//! errors.

struct Pos {
    line: usize,
    col: usize,
}

const YAML_AND_SHORTHAND_ERROR: &str = "There appears to be both 'k=v' shorthand syntax and YAML in this task. Only one syntax may be used.\n";

const YAML_COMMON_LEADING_TAB_ERROR: &str =
    "There appears to be a tab character at the start of the line.

YAML does not use tabs for formatting. Tabs should be replaced with spaces.

For example:
    - name: update tooling
      vars:
        version: 1.2.3
#    ^--- there is a tab there.

Should be written as:
    - name: update tooling
      vars:
        version: 1.2.3
# ^--- all spaces here.
";

const YAML_COMMON_UNQUOTED_VARIABLE_ERROR: &str =
    "We could be wrong, but this one looks like it might be an issue with
missing quotes. Always quote template expression brackets when they
start a value. For instance:

    with_items:
      - {{ foo }}

Should be written as:

    with_items:
      - \"{{ foo }}\"
";

const YAML_COMMON_DICT_ERROR: &str =
    "This one looks easy to fix. YAML thought it was looking for the start of a
hash/dictionary and was confused to see a second \"{\". Most likely this was
meant to be an ansible template evaluation instead, so we have to give the
parser a small hint that we wanted a string instead. The solution here is to
just quote the entire value.

For instance, if the original line was:

    app_path: {{ base_path }}/foo

It should be written as:

    app_path: \"{{ base_path }}/foo\"
";

const YAML_COMMON_UNQUOTED_COLON_ERROR: &str =
    "This one looks easy to fix. There seems to be an extra unquoted colon in the line
and this is confusing the parser. It was only expecting to find one free
colon. The solution is just add some quotes around the colon, or quote the
entire line after the first colon.

For instance, if the original line was:

    copy: src=file.txt dest=/path/filename:with_colon.txt

It can be written as:

    copy: src=file.txt dest='/path/filename:with_colon.txt'

Or:

    copy: 'src=file.txt dest=/path/filename:with_colon.txt'
";

const YAML_COMMON_PARTIALLY_QUOTED_LINE_ERROR: &str =
    "This one looks easy to fix. It seems that there is a value started
with a quote, and the YAML parser is expecting to see the line ended
with the same kind of quote. For instance:

    when: \"ok\" in result.stdout

Could be written as:

   when: '\"ok\" in result.stdout'

Or equivalently:

   when: \"'ok' in result.stdout\"
";

const YAML_COMMON_UNBALANCED_QUOTES_ERROR: &str =
    "We could be wrong, but this one looks like it might be an issue with
unbalanced quotes. If starting a value with a quote, make sure the
line ends with the same set of quotes. For instance this arbitrary
example:

    foo: \"bad\" \"wolf\"

Could be written as:

    foo: '\"bad\" \"wolf\"'
";

fn position_details(file: &str, line: usize, col: usize) -> String {
    format!(
        "The error appears to be in '{file}': line {line}, column {col}, but may\nbe elsewhere in the file depending on the exact syntax problem.\n"
    )
}

/// Python's `str.strip()` emptiness: only whitespace.
fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// The offending line and the one before it, as Ansible picks them: a
/// position past the end means the last line (YAML errors at end of
/// stream), and blank lines are skipped backwards. Lines keep their `\n`.
fn error_lines(text: &str, line: usize) -> Option<(String, String)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.is_empty() {
        return None;
    }
    let mut n = (line.saturating_sub(1)).min(lines.len() - 1);
    while blank(lines[n]) {
        // Python's negative index would wrap; stop at the top instead.
        n = n.checked_sub(1)?;
    }
    let prev = if n > 0 { lines[n - 1] } else { "" };
    Some((lines[n].to_owned(), prev.to_owned()))
}

/// `k=v` shorthand on the previous line (`\w+(\s+)?=(\s+)?[\w/-]+`).
fn has_kv_shorthand(line: &str) -> bool {
    let cs: Vec<char> = line.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for (i, &c) in cs.iter().enumerate() {
        if c != '=' || i == 0 {
            continue;
        }
        let mut j = i;
        while j > 0 && cs[j - 1].is_whitespace() {
            j -= 1;
        }
        if j == 0 || !word(cs[j - 1]) {
            continue;
        }
        let mut k = i + 1;
        while k < cs.len() && cs[k].is_whitespace() {
            k += 1;
        }
        if k < cs.len() && (word(cs[k]) || cs[k] == '/' || cs[k] == '-') {
            return true;
        }
    }
    false
}

/// Ansible's `AnsibleError._get_extended_error`: where the error is, the
/// offending lines, and remedies for common YAML mistakes it recognises.
pub fn extended_error(file: &str, line: usize, col: usize) -> String {
    let pos = Pos { line, col };
    let mut out = position_details(file, pos.line, pos.col);
    if file == "<string>" || file == "<unicode>" {
        return out;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        out.push_str("\n(could not open file to display line)");
        return out;
    };
    let Some((target, prev)) = error_lines(&text, pos.line) else {
        out.push_str("\n(specified line no longer in file, maybe it changed?)");
        return out;
    };
    if target.is_empty() {
        return out;
    }
    let stripped: String = target.chars().filter(|&c| c != ' ').collect();
    if has_kv_shorthand(&prev) {
        let at = prev.trim_end().find('=').unwrap_or(0);
        out = position_details(file, pos.line.saturating_sub(1), at + 1);
        out.push_str(&format!(
            "\nThe offending line appears to be:\n\n{}\n{}^ here\n\n",
            prev.trim_end(),
            " ".repeat(at)
        ));
        out.push_str(YAML_AND_SHORTHAND_ERROR);
    } else {
        out.push_str(&format!(
            "\nThe offending line appears to be:\n\n{}\n{}\n{}^ here\n",
            prev.trim_end(),
            target.trim_end(),
            " ".repeat(pos.col.saturating_sub(1))
        ));
    }
    if target.contains('\t') {
        out.push_str(YAML_COMMON_LEADING_TAB_ERROR);
    }
    let tchars: Vec<char> = target.chars().collect();
    if target.contains("{{")
        && target.contains("}}")
        && (!target.contains("\"{{") || !target.contains("'{{"))
    {
        out.push_str(YAML_COMMON_UNQUOTED_VARIABLE_ERROR);
    } else if stripped.contains(":{{") && stripped.contains("}}") {
        out.push_str(YAML_COMMON_DICT_ERROR);
    } else if tchars.len() > 1
        && tchars.len() > pos.col
        && tchars[pos.col] == ':'
        && target.matches(':').count() > 1
    {
        out.push_str(YAML_COMMON_UNQUOTED_COLON_ERROR);
    } else {
        let parts: Vec<&str> = target.split(':').collect();
        if parts.len() > 1 {
            let middle = parts[1].trim();
            let quoted_start = middle.starts_with('\'') && !middle.ends_with('\'')
                || middle.starts_with('"') && !middle.ends_with('"');
            // Python's precedence: (a and b and c and d) or e
            let unbalanced = (!middle.is_empty()
                && middle.starts_with(['"', '\''])
                && middle.ends_with(['"', '\''])
                && target.matches('\'').count() > 2)
                || target.matches('"').count() > 2;
            if quoted_start {
                out.push_str(YAML_COMMON_PARTIALLY_QUOTED_LINE_ERROR);
            }
            if unbalanced {
                out.push_str(YAML_COMMON_UNBALANCED_QUOTES_ERROR);
            }
        }
    }
    out
}
