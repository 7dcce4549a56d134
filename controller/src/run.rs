//! `rustle playbook`: load, check, and run playbooks.

use std::io::Write;
use std::path::Path;

use crate::cli::PlaybookArgs;
use crate::playbook::{LoadOptions, Loader, ParseError};

/// Roles path from `ANSIBLE_ROLES_PATH` (colon-separated).
fn roles_path() -> Vec<std::path::PathBuf> {
    std::env::var("ANSIBLE_ROLES_PATH")
        .map(|s| {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(std::path::PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

fn print_warnings(loader: &mut Loader) {
    let mut err = std::io::stderr().lock();
    for w in loader.warnings.drain(..) {
        let _ = writeln!(err, "[WARNING]: {}", w.0);
    }
}

fn fail(e: &ParseError) -> u8 {
    eprintln!("ERROR! {}", e.render().trim_end_matches('\n'));
    e.exit_code()
}

/// Runs `rustle playbook` and returns the process exit code.
pub fn playbook(args: &PlaybookArgs) -> u8 {
    let mut loader = Loader::new(LoadOptions {
        roles_path: roles_path(),
    });
    let mut books = Vec::new();
    for p in &args.playbooks {
        if !p.is_file() {
            eprintln!("ERROR! the playbook: {} could not be found", p.display());
            return 1;
        }
        match loader.load_playbook(p) {
            Ok(pb) => books.push(pb),
            Err(e) => {
                print_warnings(&mut loader);
                return fail(&e);
            }
        }
    }
    print_warnings(&mut loader);
    if args.syntax_check {
        for p in &args.playbooks {
            println!("\nplaybook: {}", display_path(p));
        }
        return 0;
    }
    eprintln!(
        "ERROR! executing playbooks is not implemented yet in this build (use --syntax-check)"
    );
    1
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}
