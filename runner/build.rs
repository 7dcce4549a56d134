fn main() {
    // Recorded so that a runner can tell the controller what it is.
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=RUSTLE_TARGET={target}");
}
