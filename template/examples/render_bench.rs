//! Renders a ~200-line template with loops repeatedly and prints the timing.
//! `cargo run --release -p rustle-template --example render_bench`

use std::sync::Arc;
use std::time::Instant;

use rustle_template::{Templar, TemplarOptions, Vars};
use serde_json::{json, Map, Value};

fn main() {
    let mut src = String::from("# {{ ansible_managed | default('managed') }}\n");
    for i in 0..40 {
        src.push_str(&format!(
            "[section{i}]\n{{% for u in users %}}\nuser_{{{{ u.name }}}} = {{{{ u.id * {i} }}}} {{{{ u.groups | join(',') }}}}\n{{% endfor %}}\nenabled = {{{{ flags[{i} % 3] | bool | ternary('yes', 'no') }}}}\n"
        ));
    }
    let lines = src.lines().count();
    let users: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("u{i}"), "id": i, "groups": ["a", "b"]}))
        .collect();
    let mut m = Map::new();
    m.insert("users".into(), Value::Array(users));
    m.insert("flags".into(), json!(["yes", "no", "{{ 'on' }}"]));
    let vars: Arc<dyn Vars> = Arc::new(m);
    let t = Templar::new(TemplarOptions::default());
    let n = 200;
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes += t
            .render_file_contents(&src, &vars)
            .map(|s| s.len())
            .unwrap_or(0);
    }
    let el = start.elapsed();
    println!(
        "{lines}-line template, {} output bytes: {:.1} µs per render ({n} renders)",
        bytes / n,
        el.as_secs_f64() * 1e6 / n as f64
    );
    let mut m2 = Map::new();
    m2.insert(
        "users".into(),
        json!([{"name": "u0", "id": 0, "groups": ["a"]}]),
    );
    m2.insert("flags".into(), json!(["yes", "no", "on"]));
    let vars2: Arc<dyn Vars> = Arc::new(m2);
    let start = Instant::now();
    for _ in 0..n {
        let _ = t.render_file_contents(&src, &vars2);
    }
    println!(
        "same template, 1 user, plain flags: {:.1} µs per render",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let plain = src.replace(" % 3", "");
    let start = Instant::now();
    for _ in 0..n {
        let _ = t.render_file_contents(&plain, &vars2);
    }
    println!(
        "without the % operator: {:.1} µs per render",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let env = minijinja::Environment::new();
    let ctx = minijinja::context!(users => vec![minijinja::context!(name => "u0", id => 0, groups => vec!["a"])], flags => vec!["yes", "no", "on"]);
    let plain2 = plain
        .replace("| bool ", "")
        .replace("ansible_managed | default('managed')", "'managed'");
    let start = Instant::now();
    for _ in 0..n {
        let _ = env.template_from_str(&plain2).map(|t| t.render(&ctx));
    }
    println!(
        "raw minijinja compile+render: {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let tmpl = env.template_from_str(&plain2).expect("compiles");
    let start = Instant::now();
    for _ in 0..n {
        let _ = tmpl.render(&ctx);
    }
    println!(
        "raw minijinja render only: {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let start = Instant::now();
    for _ in 0..2000 {
        let _ = t.template_str("{{ users | map(attribute='name') | join(',') }}", &vars);
    }
    println!(
        "short expression: {:.1} µs per template()",
        start.elapsed().as_secs_f64() * 1e6 / 2000.0
    );
}
