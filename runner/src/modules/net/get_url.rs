//! `get_url`: downloads a file over HTTP(S), with the steps, results and
//! messages of Ansible's module (`ansible/modules/get_url.py`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value};

use super::http::{self, Fetched, Follow, Request};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::files::common::{self as c, FileArgs};
use crate::modules::files::file::file_common_args;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct GetUrl;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 31] = [
    ArgDef::new("url", ArgType::Str)
        .required()
        .doc("HTTP or HTTPS URL to download."),
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("File to write, or a directory to write into (name from Content-Disposition or the URL)."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of a replaced file."),
    ArgDef::new("checksum", ArgType::Str)
        .default(ArgDefault::Str(""))
        .doc("`algorithm:hex`, or `algorithm:URL` of a checksum file; a matching dest is not downloaded again."),
    ArgDef::new("timeout", ArgType::Int)
        .default(ArgDefault::Int(10))
        .doc("Socket timeout in seconds."),
    ArgDef::new("headers", ArgType::Dict).doc("Request headers."),
    ArgDef::new("tmp_dest", ArgType::Path)
        .doc("Directory for the temporary download (default: next to dest)."),
    ArgDef::new("unredirected_headers", ArgType::List)
        .doc("Accepted; only `Authorization` is dropped on redirects."),
    ArgDef::new("decompress", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Decompress gzip-encoded responses."),
    ArgDef::new("ciphers", ArgType::List).doc("Accepted and ignored."),
    ArgDef::new("use_netrc", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; `~/.netrc` is not read."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Download even when dest exists (replaced only when the content differs)."),
    ArgDef::new("http_agent", ArgType::Str)
        .default(ArgDefault::Str("ansible-httpget"))
        .doc("The User-Agent header."),
    ArgDef::new("use_proxy", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; proxies are not used."),
    ArgDef::new("url_username", ArgType::Str)
        .aliases(&["username"])
        .doc("User name for HTTP basic authentication."),
    ArgDef::new("url_password", ArgType::Str)
        .aliases(&["password"])
        .doc("Password for HTTP basic authentication."),
    http::URL_ARGS[0],
    http::URL_ARGS[1],
    http::URL_ARGS[2],
    http::URL_ARGS[3],
    http::URL_ARGS[4],
    ArgDef::new("attributes", ArgType::Str)
        .aliases(&["attr"])
        .doc("File attributes (ignored)."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
    ArgDef::new("_original_basename", ArgType::Str).internal(),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"Results: `dest`, `url`, `checksum_src`, `checksum_dest` (SHA-1),
`md5sum`, `src` (the temporary download), `elapsed`, `msg` (`OK (N
bytes)`), `status_code`, `backup_file` when a backup was made, `changed`,
and the file information of `dest` (`mode`, `owner`, `size`, ...).
An existing `dest` is only downloaded again when it changed on the server
(`If-Modified-Since` from its mtime; a 304 answer reports `changed: false`
with `msg: HTTP Error 304: Not Modified`), when `force` is set, or when
its `checksum` differs; with a matching `checksum` nothing is downloaded
(`msg: file already exists`).

Failures: `Request failed` (with `status_code` and `response`), the
connection error text (`Request failed: <urlopen error [Errno 111]
Connection refused>`), `The checksum parameter has to be in format
<algorithm>:<checksum>`, `The checksum format is invalid`, `Unable to
find a checksum for file 'F' in 'URL'`, `The checksum for T did not match
C; it was D.`, `Destination D does not exist`, `Destination D is not
writable`, `X is a file but should be a directory.`, `X directory does
not exist.`.

Check mode: as Ansible — a HEAD request; `changed` when the dest would
differ from an empty download (so an existing, current file reports a
304 and no change). Diff: no.

Differences from Ansible: the download is held in memory before it is
written; `ftp://` and `file://` URLs, proxies, `.netrc`, client
certificates and GSSAPI are not supported. Checksum algorithms: md5,
sha1, sha224, sha256, sha384, sha512. Tested for real against a local
HTTP server (conformance cases) and Python's `http.server`
(`mod_get_url_*` differential cases)."#;

impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }
    fn description(&self) -> &'static str {
        "Downloads files from HTTP, HTTPS, or FTP to node"
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
        check(ctx)
    }
}

/// `module.digest_from_file(path, algorithm)`.
pub fn digest_bytes(data: &[u8], algorithm: &str) -> Option<String> {
    use sha2::Digest;
    Some(match algorithm {
        "md5" => c::md5_bytes(data),
        "sha1" => c::sha1_bytes(data),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn digest_file(p: &Path, algorithm: &str) -> Result<Option<String>, ModuleError> {
    let data = fs::read(p).map_err(|e| ModuleError::io("could not read", c::ps(p), e))?;
    match digest_bytes(&data, algorithm) {
        Some(d) => Ok(Some(d)),
        None => Err(ModuleError::failed(format!(
            "Could not hash file '{}' with algorithm '{algorithm}'. Available algorithms: md5, sha1, sha224, sha256, sha384, sha512",
            c::ps(p)
        ))),
    }
}

#[derive(Clone)]
struct Opts {
    url: String,
    dest_raw: String,
    dest: PathBuf,
    backup: bool,
    force: bool,
    headers: Vec<(String, String)>,
    tmp_dest: Option<PathBuf>,
    fa_mode: Option<Value>,
    fa_owner: Option<String>,
    fa_group: Option<String>,
    req: Request,
}

impl Opts {
    fn request(&self, url: &str, method: &str) -> Request {
        let mut r = self.req.clone();
        r.url = url.to_owned();
        r.method = method.to_owned();
        r
    }
}

fn base_result(o: &Opts) -> Map<String, Value> {
    c::kv([
        ("checksum_dest", Value::Null),
        ("checksum_src", Value::Null),
        ("dest", o.dest_raw.clone().into()),
        ("elapsed", 0.into()),
        ("url", o.url.clone().into()),
    ])
}

fn failed(msg: impl Into<String>, extra: Map<String, Value>) -> ModuleError {
    c::fail_json(msg, extra)
}

/// `url_get`'s checks on the response (before anything is written).
fn url_get(
    o: &Opts,
    url: &str,
    method: &str,
    last_mod: Option<std::time::SystemTime>,
) -> Result<Result<(Fetched, u64), ModuleResult>, ModuleError> {
    let mut req = o.request(url, method);
    req.last_mod_time = last_mod;
    let start = Instant::now();
    let f = http::fetch(&req);
    let elapsed = start.elapsed().as_secs();
    let status = f.status();
    if f.fatal {
        return Err(failed(f.msg(), Map::new()));
    }
    if status == 304 {
        let mut m = c::kv([
            ("url", url.into()),
            ("dest", o.dest_raw.clone().into()),
            ("status_code", 304.into()),
            ("elapsed", elapsed.into()),
        ]);
        c::add_path_info(&mut m);
        return Ok(Err(ModuleResult {
            msg: Some(f.msg()),
            extra: m,
            ..Default::default()
        }));
    }
    if status == -1 {
        return Err(failed(
            f.msg(),
            c::kv([
                ("url", url.into()),
                ("dest", o.dest_raw.clone().into()),
                ("elapsed", elapsed.into()),
            ]),
        ));
    }
    if status != 200 {
        return Err(failed(
            "Request failed",
            c::kv([
                ("status_code", status.into()),
                ("response", f.msg().into()),
                ("url", url.into()),
                ("dest", o.dest_raw.clone().into()),
                ("elapsed", elapsed.into()),
            ]),
        ));
    }
    if let Some(t) = &o.tmp_dest {
        if !t.is_dir() {
            let msg = if c::exists(t) {
                format!("{} is a file but should be a directory.", c::ps(t))
            } else {
                format!("{} directory does not exist.", c::ps(t))
            };
            return Err(failed(msg, c::kv([("elapsed", elapsed.into())])));
        }
    }
    Ok(Ok((f, elapsed)))
}

fn url_filename(url: &str) -> String {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let name = c::basename(&path);
    if name.is_empty() {
        "index.html".into()
    } else {
        name.to_owned()
    }
}

/// `extract_filename_from_headers`: `attachment; ?filename="?([^"]+)`.
fn filename_from_headers(info: &Map<String, Value>) -> Option<String> {
    let cd = info.get("content-disposition")?.as_str()?;
    let rest = cd.strip_prefix("attachment;")?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let rest = rest.strip_prefix("filename=")?;
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let name: String = rest.chars().take_while(|ch| *ch != '"').collect();
    if name.is_empty() {
        None
    } else {
        Some(c::basename(&name).to_owned())
    }
}

fn check(ctx: &Context<'_>) -> Result<Check, ModuleError> {
    let a = &ctx.args;
    let url = a.str("url").unwrap_or_default().to_owned();
    let dest_raw = a.str("dest").unwrap_or_default().to_owned();
    let dest = ctx.expand_path(&dest_raw);
    let mut req = Request::new(&url, "GET");
    req.headers = match a.get("headers") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    req.timeout = a.int("timeout").unwrap_or(10).max(0) as u64;
    req.validate_certs = a.opt_bool("validate_certs").unwrap_or(true);
    req.follow = Follow::parse("urllib2");
    req.username = a.str("url_username").map(str::to_owned);
    req.password = a.str("url_password").map(str::to_owned);
    req.force_basic_auth = a.bool("force_basic_auth");
    req.http_agent = a.str("http_agent").unwrap_or("ansible-httpget").to_owned();
    req.decompress = a.opt_bool("decompress").unwrap_or(true);
    let mut o = Opts {
        url: url.clone(),
        dest_raw: dest_raw.clone(),
        dest: dest.clone(),
        backup: a.bool("backup"),
        force: a.bool("force"),
        headers: req.headers.clone(),
        tmp_dest: a.str("tmp_dest").map(|t| ctx.expand_path(t)),
        fa_mode: a.get("mode").cloned(),
        fa_owner: a.str("owner").map(str::to_owned),
        fa_group: a.str("group").map(str::to_owned),
        req,
    };
    let _ = &o.headers;
    let mut result = base_result(&o);
    let dest_is_dir = dest.is_dir();
    let checksum_arg = a.str("checksum").unwrap_or_default().to_owned();
    let mut algorithm = String::new();
    let mut checksum = String::new();
    if !checksum_arg.is_empty() {
        let Some((alg, value)) = checksum_arg.split_once(':') else {
            return Err(failed(
                "The checksum parameter has to be in format <algorithm>:<checksum>",
                result,
            ));
        };
        algorithm = alg.to_owned();
        checksum = value.to_owned();
        let scheme = value.split_once("://").map(|(s, _)| s);
        if matches!(scheme, Some("http" | "https" | "ftp" | "file")) {
            let checksum_url = value.to_owned();
            o.req.force = o.force;
            let (f, _) = match url_get(&o, &checksum_url, "GET", None)? {
                Ok(x) => x,
                Err(r) => return Ok(Check::Done(r)),
            };
            let text = String::from_utf8_lossy(&f.body.unwrap_or_default()).into_owned();
            let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\n')).collect();
            let lines: Vec<&str> = if text.ends_with('\n') {
                lines[..lines.len() - 1].to_vec()
            } else {
                lines
            };
            let filename = url_filename(&url);
            let mut map: Vec<(String, String)> = Vec::new();
            if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
                map.push((lines[0].to_owned(), filename.clone()));
            } else {
                for line in &lines {
                    if let Some((sum, name)) = line.split_once(' ') {
                        let name = name
                            .strip_prefix(' ')
                            .or_else(|| name.strip_prefix('*'))
                            .unwrap_or(name);
                        map.push((
                            sum.to_owned(),
                            name.trim_start_matches(['.', '/']).to_owned(),
                        ));
                    }
                }
            }
            match map.into_iter().find(|(_, f)| *f == filename) {
                Some((s, _)) => checksum = s,
                None => {
                    return Err(ModuleError::failed(format!(
                        "Unable to find a checksum for file '{filename}' in '{checksum_url}'"
                    )))
                }
            }
        }
        checksum = checksum
            .chars()
            .filter(|ch| ch.is_alphanumeric() || *ch == '_')
            .collect::<String>()
            .to_lowercase();
        if checksum.is_empty() || !checksum.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(failed("The checksum format is invalid", result));
        }
    }
    let mut force = o.force;
    let mut last_mod = None;
    if !dest_is_dir && c::exists(&dest) {
        let mut mismatch = false;
        if !force && !checksum.is_empty() {
            let d = digest_file(&dest, &algorithm)?;
            if d.as_deref() != Some(checksum.as_str()) {
                mismatch = true;
            }
        }
        if !force && !checksum.is_empty() && !mismatch {
            let fa = FileArgs::load(
                &dest,
                false,
                o.fa_mode.clone(),
                o.fa_owner.clone(),
                o.fa_group.clone(),
            );
            let would = c::set_fs_attributes_if_different(&fa, false, None, true)?;
            let mut done = ModuleResult {
                changed: would,
                msg: Some(
                    if would {
                        "file already exists but file attributes changed"
                    } else {
                        "file already exists"
                    }
                    .into(),
                ),
                extra: result.clone(),
                ..Default::default()
            };
            if !would {
                c::add_path_info(&mut done.extra);
                return Ok(Check::Done(done));
            }
            let mut predicted = done.clone();
            c::add_path_info(&mut predicted.extra);
            return Ok(Check::Change {
                predicted,
                action: action(move |_ctx| {
                    let fa = FileArgs::load(
                        &dest,
                        false,
                        o.fa_mode.clone(),
                        o.fa_owner.clone(),
                        o.fa_group.clone(),
                    );
                    done.changed = c::set_fs_attributes_if_different(&fa, false, None, false)?;
                    c::add_path_info(&mut done.extra);
                    Ok(done)
                }),
            });
        }
        last_mod = fs::metadata(&dest).and_then(|m| m.modified()).ok();
        if mismatch {
            force = true;
        }
    }
    o.req.force = force;
    if force {
        last_mod = None;
    }
    if ctx.check_mode {
        let (f, elapsed) = match url_get(&o, &url, "HEAD", last_mod)? {
            Ok(x) => x,
            Err(r) => return Ok(Check::Done(r)),
        };
        result.insert("elapsed".into(), elapsed.into());
        let final_dest = resolve_dest(&o, dest_is_dir, &f, &mut result);
        // The HEAD response has no body: what Ansible compares is an
        // empty temporary file.
        let checksum_src = c::sha1_bytes(&[]);
        result.insert("checksum_src".into(), checksum_src.clone().into());
        result.insert("src".into(), temp_name(&o).into());
        precheck_dest(&final_dest, &mut result)?;
        let changed =
            result.get("checksum_dest").and_then(Value::as_str) != Some(checksum_src.as_str());
        let mut r = ModuleResult {
            changed,
            msg: Some(f.msg()),
            extra: result,
            ..Default::default()
        };
        c::add_path_info(&mut r.extra);
        if !changed {
            return Ok(Check::Done(r));
        }
        return Ok(Check::Change {
            predicted: r,
            action: action(|_| Err(ModuleError::failed("check mode"))),
        });
    }
    let predicted = ModuleResult::changed();
    Ok(Check::Change {
        predicted,
        action: action(move |_ctx| download(o, dest_is_dir, last_mod, algorithm, checksum, result)),
    })
}

fn temp_name(o: &Opts) -> String {
    let dir = o.tmp_dest.clone().unwrap_or_else(std::env::temp_dir);
    c::ps(&dir.join(format!("tmp{}", std::process::id())))
}

fn resolve_dest(
    o: &Opts,
    dest_is_dir: bool,
    f: &Fetched,
    result: &mut Map<String, Value>,
) -> PathBuf {
    if !dest_is_dir {
        return o.dest.clone();
    }
    let final_url = f.info.get("url").and_then(Value::as_str).unwrap_or(&o.url);
    let name = filename_from_headers(&f.info).unwrap_or_else(|| url_filename(final_url));
    let joined = c::join(&o.dest_raw, &name);
    result.insert("dest".into(), joined.clone().into());
    o.dest.join(name)
}

/// The checks on dest before it is replaced; fills `checksum_dest`.
fn precheck_dest(dest: &Path, result: &mut Map<String, Value>) -> Result<(), ModuleError> {
    if c::exists(dest) {
        if !c::writable(dest) {
            return Err(failed(
                format!("Destination {} is not writable", c::ps(dest)),
                result.clone(),
            ));
        }
        if !c::readable(dest) {
            return Err(failed(
                format!("Destination {} is not readable", c::ps(dest)),
                result.clone(),
            ));
        }
        let sum =
            c::sha1_file(dest).map_err(|e| ModuleError::io("could not read", c::ps(dest), e))?;
        result.insert("checksum_dest".into(), sum.into());
    } else {
        let parent = c::dirname(&c::ps(dest));
        if !c::exists(Path::new(&parent)) {
            return Err(failed(
                format!("Destination {parent} does not exist"),
                result.clone(),
            ));
        }
        if !c::writable(Path::new(&parent)) {
            return Err(failed(
                format!("Destination {parent} is not writable"),
                result.clone(),
            ));
        }
    }
    Ok(())
}

fn download(
    o: Opts,
    dest_is_dir: bool,
    last_mod: Option<std::time::SystemTime>,
    algorithm: String,
    checksum: String,
    mut result: Map<String, Value>,
) -> Result<ModuleResult, ModuleError> {
    let start = Instant::now();
    let (f, _) = match url_get(&o, &o.url, "GET", last_mod)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    result.insert("elapsed".into(), start.elapsed().as_secs().into());
    let tmpsrc = temp_name(&o);
    result.insert("src".into(), tmpsrc.clone().into());
    let dest = resolve_dest(&o, dest_is_dir, &f, &mut result);
    let data = f.body.clone().unwrap_or_default();
    let checksum_src = c::sha1_bytes(&data);
    result.insert("checksum_src".into(), checksum_src.clone().into());
    precheck_dest(&dest, &mut result)?;
    if !checksum.is_empty() {
        let got = digest_bytes(&data, &algorithm).unwrap_or_default();
        if got != checksum {
            return Err(failed(
                format!("The checksum for {tmpsrc} did not match {checksum}; it was {got}."),
                result,
            ));
        }
    }
    let mut changed = false;
    let mut backup_file = None;
    if result.get("checksum_dest").and_then(Value::as_str) != Some(checksum_src.as_str()) {
        if o.backup && c::exists(&dest) {
            backup_file = Some(c::ps(&crate::fsutil::backup_file(&dest)?));
        }
        crate::fsutil::atomic_write(&dest, &data, None).map_err(|e| {
            failed(
                format!("failed to copy {tmpsrc} to {}: {e}", c::ps(&dest)),
                result.clone(),
            )
        })?;
        changed = true;
    }
    let fa = FileArgs::load(
        &dest,
        false,
        o.fa_mode.clone(),
        o.fa_owner.clone(),
        o.fa_group.clone(),
    );
    changed = c::set_fs_attributes_if_different(&fa, changed, None, false)?;
    result.insert(
        "md5sum".into(),
        c::md5_file(&dest).map_or(Value::Null, Value::from),
    );
    if let Some(b) = backup_file {
        result.insert("backup_file".into(), b.into());
    }
    result.insert("status_code".into(), f.status().into());
    c::add_path_info(&mut result);
    Ok(ModuleResult {
        changed,
        msg: Some(f.msg()),
        extra: result,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames() {
        assert_eq!(url_filename("http://h/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_filename("http://h/"), "index.html");
        let info = c::kv([(
            "content-disposition",
            "attachment; filename=\"x.bin\"".into(),
        )]);
        assert_eq!(filename_from_headers(&info).as_deref(), Some("x.bin"));
    }

    #[test]
    fn digests() {
        assert_eq!(
            digest_bytes(b"", "sha256").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert!(digest_bytes(b"", "crc").is_none());
    }
}
