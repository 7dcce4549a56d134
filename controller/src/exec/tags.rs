//! Tags: reading `tags:` values, the tags a task inherits, and Ansible's
//! selection by `--tags`/`--skip-tags` (`Taggable.evaluate_tags`).

use serde_json::Value;

use super::iter::Scheduled;
use super::value_to_string;
use crate::playbook::Play;

/// The tags a `tags:` value names (list, comma-separated string, number).
pub(crate) fn tag_values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(Value::String(s)) => split(std::slice::from_ref(s)),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// `--tags a,b --tags c` as one list, without duplicates.
pub(crate) fn split(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in items.iter().flat_map(|t| t.split(',')).map(str::trim) {
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// Tags of the play and of the `import_playbook` that brought it: every
/// task of the play inherits them.
pub(crate) fn play_tags(play: &Play) -> Vec<String> {
    play.import_attrs
        .iter()
        .chain(std::iter::once(&play.attrs))
        .flat_map(|a| tag_values(a.get("tags")))
        .collect()
}

/// A task's own tags plus those of its enclosing blocks (roles, imports).
pub(crate) fn task_tags(s: &Scheduled) -> Vec<String> {
    s.parents
        .iter()
        .map(|b| b.attrs.get("tags"))
        .chain(std::iter::once(s.task.attrs.get("tags")))
        .flat_map(tag_values)
        .collect()
}

/// Templates tags that hold expressions (a list value adds each item, a
/// string is split on commas); one that cannot be rendered stays as is.
pub(crate) fn render(
    templar: &rustle_template::Templar,
    tags: Vec<String>,
    vars: &std::sync::Arc<dyn rustle_template::Vars>,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in tags {
        if !t.contains("{{") {
            out.push(t);
            continue;
        }
        match templar.template_str(&t, vars) {
            Ok(Value::Array(a)) => out.extend(a.iter().map(value_to_string)),
            Ok(v) => out.extend(value_to_string(&v).split(',').map(|s| s.trim().to_owned())),
            Err(_) => out.push(t),
        }
    }
    out
}

/// Whether a task with `tags` runs under `--tags only` / `--skip-tags skip`.
pub(crate) fn allow(tags: &[String], only: &[String], skip: &[String]) -> bool {
    let (only, skip) = (split(only), split(skip));
    let has = |t: &str| tags.iter().any(|x| x == t);
    // Whether the selector word `sel` designates this task.
    let designates = |sel: &str| match sel {
        "tagged" => !tags.is_empty(),
        "untagged" => tags.is_empty(),
        t => has(t),
    };
    let run = if only.is_empty() {
        !has("never")
    } else {
        has("always")
            || only.iter().any(|sel| match sel.as_str() {
                "all" => !has("never"),
                "tagged" => designates("tagged") && !has("never"),
                other => designates(other),
            })
    };
    run && !skip.iter().any(|sel| match sel.as_str() {
        // `--skip-tags all` spares `always` tasks unless `always` is skipped too.
        "all" => !has("always") || skip.iter().any(|s| s == "always"),
        other => designates(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn selection() {
        let none = v(&[]);
        assert!(allow(&v(&["a"]), &none, &none));
        assert!(!allow(&v(&["never"]), &none, &none));
        assert!(allow(&v(&["never", "x"]), &v(&["x"]), &none));
        assert!(allow(&v(&["always"]), &v(&["x"]), &none));
        assert!(!allow(&v(&["a"]), &v(&["b,c"]), &none));
        assert!(allow(&v(&["c"]), &v(&["b,c"]), &none));
        assert!(allow(&none, &v(&["untagged"]), &none));
        assert!(!allow(&v(&["a"]), &v(&["untagged"]), &none));
        assert!(allow(&v(&["a"]), &v(&["tagged"]), &none));
        assert!(!allow(&v(&["a"]), &none, &v(&["a"])));
        assert!(allow(&v(&["always"]), &none, &v(&["all"])));
        assert!(!allow(&v(&["always"]), &none, &v(&["all", "always"])));
        assert!(!allow(&none, &none, &v(&["untagged"])));
    }

    #[test]
    fn values() {
        assert_eq!(tag_values(Some(&Value::from("a, b"))), v(&["a", "b"]));
        assert_eq!(
            tag_values(Some(&serde_json::json!(["x", 1]))),
            v(&["x", "1"])
        );
        assert_eq!(split(&v(&["a,b", "a"])), v(&["a", "b"]));
    }
}
