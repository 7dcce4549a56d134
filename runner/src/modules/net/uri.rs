//! `uri`: talks to web services, with the arguments, results and messages
//! of Ansible's module (`ansible/modules/uri.py` over `fetch_url`).

use std::fs;
use std::time::Instant;

use serde_json::{Map, Value};

use super::http::{self, Follow, Request};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::files::common::{self as c, FileArgs};
use crate::modules::files::file::file_common_args;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Uri;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 40] = [
    ArgDef::new("url", ArgType::Str)
        .required()
        .doc("HTTP or HTTPS URL (`scheme://host[:port]/path`)."),
    ArgDef::new("dest", ArgType::Path)
        .doc("Where to save the response body (a file, or a directory to put it in)."),
    ArgDef::new("url_username", ArgType::Str)
        .aliases(&["user"])
        .doc("User name for HTTP basic authentication."),
    ArgDef::new("url_password", ArgType::Str)
        .aliases(&["password"])
        .doc("Password for HTTP basic authentication."),
    ArgDef::new("body", ArgType::Raw)
        .doc("The request body; encoded as `body_format` says when not a string."),
    ArgDef::new("body_format", ArgType::Str)
        .default(ArgDefault::Str("raw"))
        .choices(&["form-urlencoded", "json", "raw", "form-multipart"])
        .doc("How `body` is serialised; json and form-urlencoded also set Content-Type."),
    ArgDef::new("src", ArgType::Path).doc("A file on the host sent as the body."),
    ArgDef::new("method", ArgType::Str)
        .default(ArgDefault::Str("GET"))
        .doc("The HTTP method (one upper-case word)."),
    ArgDef::new("return_content", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Return the body as `content` (JSON bodies are always parsed into `json`)."),
    ArgDef::new("follow_redirects", ArgType::Str)
        .default(ArgDefault::Str("safe"))
        .choices(&["all", "no", "none", "safe", "urllib2", "yes"])
        .doc("Which redirects to follow: `safe` only for GET/HEAD, `all`, or `none`."),
    ArgDef::new("creates", ArgType::Path).doc("Do nothing when this path exists."),
    ArgDef::new("removes", ArgType::Path).doc("Do nothing when this path does not exist."),
    ArgDef::new("status_code", ArgType::List)
        .default(ArgDefault::Str("200"))
        .doc("The status codes that mean success."),
    ArgDef::new("timeout", ArgType::Int)
        .default(ArgDefault::Int(30))
        .doc("Socket timeout in seconds."),
    ArgDef::new("headers", ArgType::Dict).doc("Request headers."),
    ArgDef::new("unix_socket", ArgType::Path)
        .doc("Not supported: a request over a Unix socket fails."),
    ArgDef::new("remote_src", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Where `src` is (only host files are supported)."),
    ArgDef::new("ca_path", ArgType::Path)
        .doc("PEM file of CA certificates to trust instead of the system's."),
    ArgDef::new("unredirected_headers", ArgType::List).doc(
        "Accepted; headers are not sent again on redirects only for `Authorization` (ureq's rule).",
    ),
    ArgDef::new("decompress", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Decompress gzip-encoded responses."),
    ArgDef::new("ciphers", ArgType::List).doc("Accepted and ignored (rustls picks the ciphers)."),
    ArgDef::new("use_netrc", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; `~/.netrc` is not read."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Send `Cache-Control: no-cache` instead of `If-Modified-Since`."),
    ArgDef::new("http_agent", ArgType::Str)
        .default(ArgDefault::Str("ansible-httpget"))
        .doc("The User-Agent header."),
    ArgDef::new("use_proxy", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; proxies from the environment are not used."),
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

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[&["body", "src"]]);

const NOTES: &str = r#"Results: everything `fetch_url` reports — `status`, `url` (after
redirects), `redirected`, `elapsed` (whole seconds), `cookies` (dict),
`cookies_string`, `msg` (`OK (N bytes)` with the Content-Length, or
`OK (unknown bytes)`), every response header lowercased with `-` turned
into `_` (`content_type`, `content_length`, `last_modified`, ...;
`location` made absolute) — plus `content` with `return_content: true`,
`json` when the response is JSON (`application/json`, `+json`,
`javascript`), `path` with `dest`, `changed: false` unless `dest` was
written.

Failures: `Status code was N and not [200, ...]: HTTP Error N: Reason`
(with `content` when asked for), `... : Request failed: <urlopen error
[Errno 111] Connection refused>` for connection errors (status -1),
`Parameter 'method' needs to be a single word in uppercase, like GET or
POST.`, `Unable to open source file X`. `creates`/`removes` skip the request
with `stdout: skipped, since 'X' exists`.

With `dest`, a status in `status_code` other than 304 writes the body
(atomically, only when its checksum differs) and reports `changed: true`,
as Ansible does; an existing `dest` file's mtime is sent as
`If-Modified-Since`.

Check mode: not supported (skipped, as Ansible's module). Diff: no.

Differences from Ansible: `unix_socket`, `client_cert`/`client_key`,
`use_gssapi`, proxies and `~/.netrc` are not supported (`unix_socket` fails
the task; the others are ignored); `ciphers` is ignored; `file://` and
`ftp://` URLs are not supported; the form-multipart body uses its own
boundary and no base64 transfer encoding (servers parse it the same);
certificate errors are worded by rustls.

Tested for real against an HTTP server the conformance harness starts on
127.0.0.1, and against Python's `http.server` in the `mod_uri_*`
differential cases."#;

impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }
    fn description(&self) -> &'static str {
        "Interacts with webservices"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::None,
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
        Ok(Check::Done(run(ctx)?))
    }
}

/// Python's `repr(list_of_ints)`.
fn int_list_repr(v: &[i64]) -> String {
    let parts: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// `json.dumps(value)` (Python's separators, ASCII output, keys in order).
pub fn py_json_dumps(v: &Value) -> String {
    match v {
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(py_json_dumps).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{}: {}",
                        crate::pyjson::dumps_ascii(&Value::String(k.clone()), None),
                        py_json_dumps(x)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => crate::pyjson::dumps_ascii(other, None),
    }
}

/// Python's `str()` of a scalar body value.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => crate::pyjson::py_float(f),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// `urllib.parse.quote_plus`.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `form_urlencoded(body)`.
fn form_urlencoded(body: &Value) -> Result<String, String> {
    let pairs: Vec<(String, Value)> = match body {
        Value::String(s) => return Ok(s.clone()),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                match item {
                    Value::Array(kv) if kv.len() == 2 => out.push((py_str(&kv[0]), kv[1].clone())),
                    _ => return Err("too many values to unpack (expected 2)".into()),
                }
            }
            out
        }
        other => return Ok(py_str(other)),
    };
    let mut parts = Vec::new();
    for (k, v) in pairs {
        let values = match v {
            Value::Array(a) => a,
            Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
            other => vec![other],
        };
        for x in values {
            if x.is_null() {
                continue;
            }
            parts.push(format!("{}={}", quote_plus(&k), quote_plus(&py_str(&x))));
        }
    }
    Ok(parts.join("&"))
}

/// `prepare_multipart(fields)`: the Content-Type and the body.
fn multipart(body: &Value) -> Result<(String, Vec<u8>), String> {
    let Value::Object(fields) = body else {
        return Err(format!(
            "Mapping is required, cannot be type {}",
            match body {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Null => "NoneType",
                Value::Bool(_) => "bool",
                _ => "int",
            }
        ));
    };
    let boundary = format!(
        "==============={:019}==",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() % 10_000_000_000_000_000_000)
            .unwrap_or(0)
    );
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    let mut out: Vec<u8> = Vec::new();
    for name in names {
        let value = &fields[name];
        let (mime, content, filename): (String, Vec<u8>, Option<String>) = match value {
            Value::String(s) => ("text/plain".into(), s.as_bytes().to_vec(), None),
            Value::Object(m) => {
                let filename = m.get("filename").and_then(Value::as_str).map(str::to_owned);
                let content = m.get("content").and_then(Value::as_str).map(str::to_owned);
                if filename.as_deref().unwrap_or("").is_empty()
                    && content.as_deref().unwrap_or("").is_empty()
                {
                    return Err("at least one of filename or content must be provided".into());
                }
                let mime = m
                    .get("mime_type")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| guess_mime(filename.as_deref().unwrap_or("")).into());
                let data = match (&content, &filename) {
                    (Some(c), _) if !c.is_empty() => c.as_bytes().to_vec(),
                    (_, Some(f)) => fs::read(f)
                        .map_err(|e| c::py_oserror(&e, None, None) + &format!(": '{f}'"))?,
                    _ => Vec::new(),
                };
                (mime, data, filename)
            }
            other => {
                return Err(format!(
                    "value must be a string, or mapping, cannot be type {}",
                    match other {
                        Value::Array(_) => "list",
                        Value::Bool(_) => "bool",
                        Value::Null => "NoneType",
                        Value::Number(n) if n.is_f64() => "float",
                        _ => "int",
                    }
                ))
            }
        };
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(format!("Content-Type: {mime}\r\n").as_bytes());
        let mut disp = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = &filename {
            disp.push_str(&format!("; filename=\"{}\"", c::basename(f)));
        }
        out.extend_from_slice(disp.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(&content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary=\"{boundary}\""), out))
}

/// A few of `mimetypes.guess_type`'s answers.
fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt") => "text/plain",
        Some("html") | Some("htm") => "text/html",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("gz") | Some("tgz") => "application/gzip",
        Some("zip") => "application/zip",
        Some("tar") => "application/x-tar",
        Some("sh") => "application/x-sh",
        Some("csv") => "text/csv",
        Some("yml") | Some("yaml") => "application/yaml",
        _ => "application/octet-stream",
    }
}

/// `parse_content_type`: (content_type, sub_type, charset).
fn parse_content_type(ct: Option<&str>) -> (String, String, String) {
    let raw = ct.unwrap_or("application/octet-stream");
    let mut parts = raw.split(';');
    let mut ctype = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !ctype.contains('/') {
        // email.message's get_content_type falls back to text/plain.
        ctype = "text/plain".into();
    }
    let ctype = ctype.split(',').next().unwrap_or_default().to_owned();
    let mut charset = "utf-8".to_owned();
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            if k.trim().eq_ignore_ascii_case("charset") {
                charset = v
                    .trim()
                    .trim_matches('"')
                    .split(',')
                    .next()
                    .unwrap_or("utf-8")
                    .to_owned();
            }
        }
    }
    let sub = ctype
        .split_once('/')
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    (ctype, sub, charset)
}

/// Decodes a body with the response's charset (UTF-8 and Latin-1; other
/// charsets are read as UTF-8).
fn decode(body: &[u8], charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin-1" | "latin1" => body.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// `Content-Disposition: ...; filename=...`.
pub fn disposition_filename(h: &str) -> Option<String> {
    for p in h.split(';').skip(1) {
        if let Some((k, v)) = p.split_once('=') {
            if k.trim().eq_ignore_ascii_case("filename") {
                return Some(v.trim().trim_matches('"').to_owned());
            }
        }
    }
    None
}

fn url_path_basename(url: &str) -> Option<String> {
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_owned(),
        Err(_) => return None,
    };
    let name = c::basename(path.trim_end_matches('/')).to_owned();
    if name.is_empty() {
        None
    } else {
        Some(percent_unquote(&name))
    }
}

/// `urllib.parse.unquote`.
pub fn percent_unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fail_with(msg: String, extra: Map<String, Value>) -> ModuleError {
    ModuleError::Failed { msg, extra }
}

fn run(ctx: &Context<'_>) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let url = a.str("url").unwrap_or_default().to_owned();
    let method = a.str("method").unwrap_or("GET").to_ascii_uppercase();
    let body_format = a.str("body_format").unwrap_or("raw").to_ascii_lowercase();
    let dest = a.str("dest").map(|d| ctx.expand_path(d));
    let return_content = a.bool("return_content");
    let mut status_codes = Vec::new();
    for s in a.list("status_code") {
        match s.trim().parse::<i64>() {
            Ok(n) => status_codes.push(n),
            Err(_) => {
                return Err(ModuleError::Args(format!(
                    "Elements value for option 'status_code' is of type <class 'str'> and we were unable to convert to int: invalid literal for int() with base 10: '{s}'"
                )))
            }
        }
    }
    if status_codes.is_empty() {
        // The default ([200]) arrives as a string.
        status_codes.push(200);
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ModuleError::failed(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
        ));
    }
    let mut headers: Vec<(String, String)> = match a.get("headers") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), py_str(v))).collect(),
        _ => Vec::new(),
    };
    let has_ct = |h: &Vec<(String, String)>| {
        h.iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    };
    let mut body: Option<Vec<u8>> = None;
    let raw_body = a.get("body");
    match body_format.as_str() {
        "json" => {
            if let Some(b) = raw_body {
                body = Some(match b {
                    Value::String(s) => s.clone().into_bytes(),
                    other => py_json_dumps(other).into_bytes(),
                });
            } else {
                // json.dumps(None)
                body = Some(b"null".to_vec());
            }
            if !has_ct(&headers) {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
        }
        "form-urlencoded" => {
            if let Some(b) = raw_body {
                let s = form_urlencoded(b).map_err(|e| {
                    fail_with(
                        format!("failed to parse body as form_urlencoded: {e}"),
                        c::kv([("elapsed", 0.into())]),
                    )
                })?;
                body = Some(s.into_bytes());
            }
            if !has_ct(&headers) {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
        }
        "form-multipart" => {
            let (ct, data) = multipart(raw_body.unwrap_or(&Value::Null)).map_err(|e| {
                ModuleError::failed(format!("failed to parse body as form-multipart: {e}"))
            })?;
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".into(), ct));
            body = Some(data);
        }
        _ => {
            body = raw_body.map(|b| match b {
                Value::String(s) => s.clone().into_bytes(),
                other => py_str(other).into_bytes(),
            });
        }
    }
    if let Some(cr) = a.str("creates") {
        if c::exists(&ctx.expand_path(cr)) {
            let out = format!("skipped, since '{cr}' exists");
            return Ok(ModuleResult::ok()
                .with("stdout", out.clone())
                .with("stdout_lines", vec![out]));
        }
    }
    if let Some(rm) = a.str("removes") {
        if !c::exists(&ctx.expand_path(rm)) {
            return Ok(
                ModuleResult::ok().with("stdout", format!("skipped, since '{rm}' does not exist"))
            );
        }
    }
    if let Some(src) = a.str("src") {
        let p = ctx.expand_path(src);
        match fs::read(&p) {
            Ok(d) => {
                headers.push(("Content-Length".into(), d.len().to_string()));
                body = Some(d);
            }
            Err(_) => {
                return Err(fail_with(
                    format!("Unable to open source file {src}"),
                    c::kv([("elapsed", 0.into())]),
                ))
            }
        }
    }
    if a.is_set("unix_socket") {
        return Err(ModuleError::failed(
            "unix_socket is not supported by this runner's uri module",
        ));
    }
    let mut req = Request::new(&url, &method);
    req.headers = headers;
    req.body = body;
    req.timeout = a.int("timeout").unwrap_or(30).max(0) as u64;
    req.validate_certs = a.opt_bool("validate_certs").unwrap_or(true);
    req.follow = Follow::parse(a.str("follow_redirects").unwrap_or("safe"));
    req.username = a.str("url_username").map(str::to_owned);
    req.password = a.str("url_password").map(str::to_owned);
    req.force_basic_auth = a.bool("force_basic_auth");
    req.http_agent = a.str("http_agent").unwrap_or("ansible-httpget").to_owned();
    req.force = a.bool("force");
    req.ca_path = a.str("ca_path").map(str::to_owned);
    req.decompress = a.opt_bool("decompress").unwrap_or(true);
    if let Some(d) = &dest {
        if d.is_file() {
            req.last_mod_time = fs::metadata(d).and_then(|m| m.modified()).ok();
        }
    }
    let start = Instant::now();
    let fetched = http::fetch(&req);
    if fetched.fatal {
        return Err(fail_with(fetched.msg(), {
            let mut m = fetched.info.clone();
            m.remove("msg");
            m
        }));
    }
    let elapsed = start.elapsed().as_secs();
    let status = fetched.status();
    let mut info = fetched.info.clone();
    let got_response = fetched.body.is_some();
    let mut dest = dest;
    if got_response {
        if let Some(d) = &dest {
            if d.is_dir() {
                let final_url = info.get("url").and_then(Value::as_str).unwrap_or(&url);
                let name = info
                    .get("content-disposition")
                    .and_then(Value::as_str)
                    .and_then(disposition_filename)
                    .or_else(|| url_path_basename(final_url))
                    .unwrap_or_else(|| "index.html".into());
                dest = Some(d.join(name));
            }
        }
    }
    let ct = info
        .get("content-type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (content_type, sub_type, charset) = if got_response {
        parse_content_type(ct.as_deref())
    } else {
        (
            "application/octet-stream".into(),
            "octet-stream".into(),
            "utf-8".into(),
        )
    };
    let json_candidate = |s: &str| matches!(s.to_ascii_lowercase().as_str(), "json" | "javascript");
    let maybe_json = !content_type.is_empty()
        && match sub_type.split_once('+') {
            Some((_, suffix)) => json_candidate(suffix),
            None => json_candidate(&sub_type),
        };
    let maybe_output = maybe_json || return_content || !status_codes.contains(&status);
    let content: Option<Vec<u8>> = if maybe_output {
        if fetched.http_error || !got_response {
            info.remove("body")
                .map(|b| b.as_str().unwrap_or_default().as_bytes().to_vec())
                .or(Some(Vec::new()))
        } else {
            fetched.body.clone()
        }
    } else {
        fetched.body.clone()
    };
    let mut resp = Map::new();
    let final_url = info
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    resp.insert("redirected".into(), (final_url != url).into());
    resp.extend(info);
    resp.insert("elapsed".into(), elapsed.into());
    resp.insert("status".into(), status.into());
    let mut changed = false;
    if let (true, Some(d)) = (got_response, &dest) {
        if status_codes.contains(&status) && status != 304 {
            let data = content.clone().unwrap_or_default();
            let same = fs::read(d)
                .ok()
                .is_some_and(|old| c::sha1_bytes(&old) == c::sha1_bytes(&data));
            if !same {
                crate::fsutil::atomic_write(d, &data, None).map_err(|e| {
                    let m = resp
                        .remove("msg")
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    fail_with(
                        format!(
                            "failed to copy to {}: {e}{}",
                            c::ps(d),
                            if m.is_empty() {
                                String::new()
                            } else {
                                format!(" {m}")
                            }
                        ),
                        resp.clone(),
                    )
                })?;
            }
            changed = true;
            let fa = FileArgs::load(
                d,
                false,
                a.get("mode").cloned(),
                a.str("owner").map(str::to_owned),
                a.str("group").map(str::to_owned),
            );
            changed = c::set_fs_attributes_if_different(&fa, changed, None, false)?;
        }
        resp.insert("path".into(), c::ps(d).into());
    }
    let mut out = Map::new();
    for (k, v) in resp {
        out.insert(k.replace('-', "_").to_lowercase(), v);
    }
    if let Some(loc) = out
        .get("location")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        out.insert("location".into(), http::urljoin(&url, &loc).into());
    }
    let u_content = content
        .as_ref()
        .filter(|_| maybe_output || return_content)
        .map(|b| decode(b, &charset));
    if maybe_json {
        if let Some(text) = &u_content {
            if let Ok(js) = serde_json::from_str::<Value>(text) {
                out.insert("json".into(), js);
            }
        }
    }
    if out.contains_key("path") {
        c::add_path_info(&mut out);
    }
    let msg = out
        .remove("msg")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !status_codes.contains(&status) {
        let msg = format!(
            "Status code was {status} and not {}: {msg}",
            int_list_repr(&status_codes)
        );
        if return_content {
            out.insert("content".into(), u_content.map_or(Value::Null, Value::from));
        }
        out.insert("changed".into(), changed.into());
        return Err(ModuleError::Failed { msg, extra: out });
    }
    if return_content {
        out.insert("content".into(), u_content.map_or(Value::Null, Value::from));
    }
    Ok(ModuleResult {
        changed,
        msg: Some(msg),
        extra: out,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencodes_like_python() {
        let v: Value = serde_json::json!({"a b": "c&d", "n": 1, "l": ["x", "y"], "t": true});
        assert_eq!(
            form_urlencoded(&v).ok().as_deref(),
            Some("a+b=c%26d&n=1&l=x&l=y&t=True")
        );
    }

    #[test]
    fn json_body_like_python() {
        let v: Value = serde_json::json!({"b": [1, "é"], "a": null});
        assert_eq!(py_json_dumps(&v), "{\"b\": [1, \"\\u00e9\"], \"a\": null}");
    }

    #[test]
    fn content_types() {
        let (ct, sub, cs) =
            parse_content_type(Some("application/problem+json; charset=ISO-8859-1"));
        assert_eq!(
            (ct.as_str(), sub.as_str(), cs.as_str()),
            ("application/problem+json", "problem+json", "ISO-8859-1")
        );
    }

    #[test]
    fn missing_file_path() {
        assert!(url_path_basename("http://h/").is_none());
        assert_eq!(
            url_path_basename("http://h/a%20b.txt?x=1").as_deref(),
            Some("a b.txt")
        );
    }
}
