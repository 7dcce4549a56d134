//! `locale_gen` (community.general): generates or removes locales, with
//! the steps and results of Ansible's module.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::util;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct LocaleGen;

static ARGS: [ArgDef; 2] = [
    ArgDef::new("name", ArgType::List)
        .required()
        .doc("Locales (`de_CH.UTF-8`), as listed in `/usr/share/i18n/SUPPORTED`."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the locales are generated."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"As community.general's module with the `glibc` mechanism (a
`/etc/locale.gen` file): every name must be in
`/usr/share/i18n/SUPPORTED` (or already in `locale -a`); present means in
`locale -a` (`.utf8` and `.UTF-8` and the like compare equal). A change
uncomments (or comments out) the name's lines in `/etc/locale.gen` and
runs `locale-gen`; `changed` compares presence before and after.

Results: `changed`, `name` (a list), `mechanism` (`glibc`),
`ubuntu_mode` (`false`). Failures: `The following locales you have
entered are not available on your system: X` (with the module's
variables, `output`, `vars` and `exception` naming Ansible's
`ModuleHelperException`, so the same line shows), `/var/lib/locales/supported.d
and /etc/locale.gen are missing. Is the package "locales" installed?`,
a failing `locale -a`/`locale-gen` (their stderr).

Check mode: as Ansible, which changes nothing and reports `changed:
false` even when a locale is missing. Diff: none.

Differences: `exception` holds the exception's name, not a Python
traceback (shown at `-vvv`). The deprecated `ubuntu_legacy` mechanism
(`/var/lib/locales/supported.d`) is not implemented (the task fails
saying so).

Tested with unit tests (in this file) against temporary copies of
`locale.gen` and `SUPPORTED` and fake `locale`/`locale-gen` programs; the
machine's `/etc/locale.gen` is never changed by the tests."#;

impl Module for LocaleGen {
    fn name(&self) -> &'static str {
        "locale_gen"
    }
    fn description(&self) -> &'static str {
        "Creates or removes locales"
    }
    fn collection(&self) -> &'static str {
        "community.general"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check_with(ctx, Paths::system())
    }
}

#[derive(Debug, Clone)]
struct Paths {
    locale_gen: PathBuf,
    var_lib: PathBuf,
    supported: PathBuf,
}

impl Paths {
    fn system() -> Self {
        Paths {
            locale_gen: "/etc/locale.gen".into(),
            var_lib: "/var/lib/locales/supported.d".into(),
            supported: "/usr/share/i18n/SUPPORTED".into(),
        }
    }
}

const NORMALIZATION: [(&str, &str); 10] = [
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_owned(), |n, (s, r)| n.replace(s, r))
}

fn run_checked(ctx: &Context<'_>, argv: &[String]) -> Result<String, ModuleError> {
    let o = util::run(ctx, argv)?;
    if o.rc != 0 {
        let mut extra = Map::new();
        extra.insert("cmd".into(), Value::from(argv.join(" ")));
        extra.insert("rc".into(), Value::from(o.rc));
        extra.insert("stdout".into(), Value::from(o.out));
        extra.insert("stderr".into(), Value::from(o.err.clone()));
        return Err(ModuleError::Failed {
            msg: o.err.trim_end().to_owned(),
            extra,
        });
    }
    Ok(o.out)
}

fn not_present(ctx: &Context<'_>, names: &[String]) -> Result<Vec<String>, ModuleError> {
    let locale = util::s(&util::require_bin(ctx, "locale")?);
    let out = run_checked(ctx, &[locale, "-a".into()])?;
    Ok(names
        .iter()
        .filter(|n| !out.lines().any(|l| fix_case(n) == fix_case(l)))
        .cloned()
        .collect())
}

/// `^\s*#?\s*(\S+[\._\S]+) (\S+)\s*$`: the locale of a SUPPORTED line.
fn supported_locale(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix('#').unwrap_or(t).trim_start();
    let (locale, rest) = t.split_once(' ')?;
    let charset = rest.trim_end();
    (locale.chars().count() >= 2
        && !locale.contains(char::is_whitespace)
        && !charset.is_empty()
        && !charset.contains(char::is_whitespace))
    .then_some(locale)
}

fn check_with(ctx: &Context<'_>, paths: Paths) -> Result<Check, ModuleError> {
    let names = ctx.args.list("name");
    let state = ctx.args.str("state").unwrap_or("present").to_owned();
    if !paths.locale_gen.exists() {
        return Err(ModuleError::failed(if paths.var_lib.exists() {
            "locale_gen: the ubuntu_legacy mechanism (/var/lib/locales/supported.d) is not supported by rustle".to_owned()
        } else {
            format!(
                "{} and {} are missing. Is the package \"locales\" installed?",
                paths.var_lib.display(),
                paths.locale_gen.display()
            )
        }));
    }
    let supported = std::fs::read_to_string(&paths.supported).map_err(|e| {
        ModuleError::failed(crate::modules::files::common::py_oserror(
            &e,
            Some(&paths.supported),
            None,
        ))
    })?;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| {
            !supported
                .lines()
                .any(|l| supported_locale(l) == Some(n.as_str()))
        })
        .cloned()
        .collect();
    let missing = not_present(ctx, &missing)?;
    if !missing.is_empty() {
        return Err(helper_failure(
            format!(
                "The following locales you have entered are not available on your system: {}",
                missing.join(", ")
            ),
            &names,
        ));
    }
    let present = not_present(ctx, &names)?.is_empty();
    let result = |changed: bool, names: &[String]| {
        let mut r = ModuleResult {
            changed,
            ..Default::default()
        };
        r.set("name", names.to_vec());
        r.set("mechanism", "glibc");
        r.set("ubuntu_mode", false);
        r
    };
    let before = if present { "present" } else { "absent" };
    // Check mode skips the change and reports the (unchanged) state.
    if before == state || ctx.check_mode {
        return Ok(Check::Done(result(false, &names)));
    }
    let predicted = result(true, &names);
    Ok(Check::Change {
        predicted,
        action: action(move |ctx| {
            set_locale_glibc(&paths.locale_gen, &names, state == "present")?;
            let gen = util::s(&util::require_bin(ctx, "locale-gen")?);
            run_checked(ctx, &[gen])?;
            let after = not_present(ctx, &names)?.is_empty();
            Ok(result(after != present, &names))
        }),
    })
}

/// A failure raised through community.general's ModuleHelper: the
/// module's variables come along (`mechanism`, `name`, `ubuntu_mode`,
/// again under `output` and `vars`), and `exception` names the exception
/// (Rustle has no Python traceback to show).
fn helper_failure(msg: String, names: &[String]) -> ModuleError {
    let mut vars = Map::new();
    vars.insert("mechanism".into(), Value::from("glibc"));
    vars.insert("name".into(), Value::from(names.to_vec()));
    vars.insert("ubuntu_mode".into(), Value::Bool(false));
    let mut extra = vars.clone();
    extra.insert("output".into(), Value::Object(vars.clone()));
    extra.insert("vars".into(), Value::Object(vars));
    extra.insert(
        "exception".into(),
        Value::from(
            "ansible_collections.community.general.plugins.module_utils.mh.exceptions.ModuleHelperException\n",
        ),
    );
    ModuleError::Failed { msg, extra }
}

/// Rewrites `^#?\s*NAME (charset)` lines as `NAME charset` (or `# NAME
/// charset`).
fn set_locale_glibc(file: &Path, names: &[String], enabled: bool) -> Result<(), ModuleError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ModuleError::io("failed to read", file.display().to_string(), e))?;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line.to_owned();
        for name in names {
            let body = line.strip_suffix('\n').unwrap_or(&line);
            let nl = if line.ends_with('\n') { "\n" } else { "" };
            let rest = body.strip_prefix('#').unwrap_or(body).trim_start();
            if let Some(charset) = rest
                .strip_prefix(name.as_str())
                .and_then(|r| r.strip_prefix(' '))
                .filter(|c| !c.is_empty())
            {
                line = if enabled {
                    format!("{name} {charset}{nl}")
                } else {
                    format!("# {name} {charset}{nl}")
                };
            }
        }
        out.push_str(&line);
    }
    std::fs::write(file, out)
        .map_err(|e| ModuleError::io("failed to write", file.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use super::*;
    use crate::modules::NoAssets;

    // `locale -a` lists the uncommented lines of locale.gen once
    // `locale-gen` has run (generated/ keeps what it made).
    const LOCALE: &str = "#!/bin/sh\nroot=\"$(cd \"$(dirname \"$0\")/..\" && pwd)\"\necho C\necho C.utf8\necho POSIX\ncat \"$root/generated\" 2>/dev/null || true\n";
    const LOCALE_GEN: &str = "#!/bin/sh\nroot=\"$(cd \"$(dirname \"$0\")/..\" && pwd)\"\necho run >> \"$root/locale-gen.log\"\ngrep -v '^#' \"$root/locale.gen\" | grep . | cut -d' ' -f1 | sed 's/UTF-8/utf8/' > \"$root/generated\"\n";

    fn setup() -> (tempfile::TempDir, Paths, BTreeMap<String, String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("bin")).expect("bin");
        for (n, body) in [("locale", LOCALE), ("locale-gen", LOCALE_GEN)] {
            let p = root.join("bin").join(n);
            std::fs::write(&p, body).expect("w");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::write(
            root.join("locale.gen"),
            "# This file lists locales\n# de_CH.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n",
        )
        .expect("w");
        std::fs::write(
            root.join("SUPPORTED"),
            "de_CH.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nen_US ISO-8859-1\n",
        )
        .expect("w");
        let paths = Paths {
            locale_gen: root.join("locale.gen"),
            var_lib: root.join("nope"),
            supported: root.join("SUPPORTED"),
        };
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".into(),
            format!("{}/bin:/usr/bin:/bin", root.display()),
        );
        (dir, paths, env)
    }

    fn run(
        paths: &Paths,
        env: &BTreeMap<String, String>,
        args: Value,
        check: bool,
    ) -> ModuleResult {
        let Value::Object(raw) = args else {
            panic!("args")
        };
        let args = SPEC.validate("locale_gen", &raw).expect("args");
        let assets = BTreeMap::new();
        let vars = Map::new();
        let ctx = Context {
            args,
            assets: &assets,
            source: &NoAssets,
            check_mode: check,
            diff: false,
            environment: env,
            vars: &vars,
            verbosity: 0,
        };
        match check_with(&ctx, paths.clone()) {
            Err(e) => e.into_result(),
            Ok(Check::Done(r)) => r,
            Ok(Check::Change { predicted, .. }) if check => predicted,
            Ok(Check::Change { action, .. }) => {
                action.apply(&ctx).unwrap_or_else(|e| e.into_result())
            }
        }
    }

    #[test]
    fn present_absent_and_check_mode() {
        let (dir, paths, env) = setup();
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap_or_default();
        let r = run(&paths, &env, json!({"name": "de_CH.UTF-8"}), true);
        assert!(!r.changed && !r.failed, "{r:?}");
        assert_eq!(read("locale-gen.log"), "");
        let r = run(&paths, &env, json!({"name": "de_CH.UTF-8"}), false);
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.get("name"), Some(&json!(["de_CH.UTF-8"])));
        assert_eq!(r.get("mechanism"), Some(&json!("glibc")));
        assert_eq!(
            read("locale.gen"),
            "# This file lists locales\nde_CH.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n"
        );
        let r = run(&paths, &env, json!({"name": "de_CH.UTF-8"}), false);
        assert!(!r.changed);
        assert_eq!(read("locale-gen.log"), "run\n");
        let r = run(
            &paths,
            &env,
            json!({"name": "de_CH.UTF-8", "state": "absent"}),
            false,
        );
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            read("locale.gen"),
            "# This file lists locales\n# de_CH.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n"
        );
        // Already present through `locale -a`, though not in SUPPORTED.
        let r = run(&paths, &env, json!({"name": "C.UTF-8"}), false);
        assert!(!r.changed && !r.failed, "{r:?}");
    }

    #[test]
    fn unavailable_locale() {
        let (_dir, paths, env) = setup();
        let r = run(
            &paths,
            &env,
            json!({"name": ["xx_XX.UTF-8", "en_US.UTF-8"]}),
            false,
        );
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("The following locales you have entered are not available on your system: xx_XX.UTF-8")
        );
    }
}
