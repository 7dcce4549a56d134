//! A tiny HTTP/1.1 server for the conformance cases of the network
//! modules (`uri`, `get_url`, `wait_for`): started per case on
//! 127.0.0.1 with an ephemeral port, serving the case's `www/` directory
//! and a few fixed endpoints:
//!
//! - `/<file>`: the file under `www/` (GET/HEAD) with Content-Type by
//!   extension, Content-Length and Last-Modified; `If-Modified-Since` at or
//!   after the file's mtime answers 304, as Python's `http.server` does;
//! - `/status/<code>`: that status with body `status <code>`;
//! - `/redirect/<path>`: 302 to `/<path>`;
//! - `/echo`: a JSON document with the request's `method`, `path`,
//!   lowercased `headers` and `body`;
//! - `/attach/<file>`: the file with `Content-Disposition: attachment;
//!   filename="<file>"`;
//! - `/auth/<file>`: the file, only with basic auth `rustle:secret`
//!   (otherwise 401 with a `WWW-Authenticate: Basic` challenge);
//! - `/cookie`: `Set-Cookie: session=abc; Path=/` and body `ok`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Starts the server; returns its base URL (`http://127.0.0.1:PORT`).
pub fn start(root: PathBuf) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = handle(stream, &root);
            });
        }
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

fn http_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

fn parse_http_date(s: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%a, %d %b %Y %H:%M:%S GMT")
        .ok()
        .map(|d| d.and_utc().timestamp())
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("html") => "text/html",
        Some("gz") | Some("tgz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

struct Reply {
    status: u16,
    reason: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

fn simple(code: u16, body: &str) -> Reply {
    Reply {
        status: code,
        reason: reason(code),
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn serve_file(root: &Path, rel: &str, req: &BTreeMap<String, String>) -> Reply {
    let p = root.join(rel.trim_start_matches('/'));
    let Ok(md) = std::fs::metadata(&p) else {
        return simple(404, "File not found");
    };
    if md.is_dir() {
        return simple(404, "File not found");
    }
    if let Some(since) = req
        .get("if-modified-since")
        .and_then(|s| parse_http_date(s))
    {
        if md.mtime() <= since {
            return Reply {
                status: 304,
                reason: "Not Modified",
                headers: vec![],
                body: vec![],
            };
        }
    }
    let body = std::fs::read(&p).unwrap_or_default();
    Reply {
        status: 200,
        reason: "OK",
        headers: vec![
            ("Content-Type".into(), content_type(&p).into()),
            ("Last-Modified".into(), http_date(md.mtime())),
        ],
        body,
    }
}

fn handle(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let path_only = path.split('?').next().unwrap_or("/").to_owned();
    let reply = if let Some(code) = path_only.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap_or(500);
        simple(code, &format!("status {code}"))
    } else if let Some(to) = path_only.strip_prefix("/redirect/") {
        let mut r = simple(302, "");
        r.headers.push(("Location".into(), format!("/{to}")));
        r
    } else if path_only == "/echo" {
        let doc = serde_json::json!({
            "method": method,
            "path": path,
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        });
        Reply {
            status: 200,
            reason: "OK",
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: doc.to_string().into_bytes(),
        }
    } else if let Some(f) = path_only.strip_prefix("/attach/") {
        let mut r = serve_file(root, f, &headers);
        r.headers.push((
            "Content-Disposition".into(),
            format!("attachment; filename=\"{f}\""),
        ));
        r
    } else if let Some(f) = path_only.strip_prefix("/auth/") {
        // base64("rustle:secret")
        if headers.get("authorization").map(String::as_str) == Some("Basic cnVzdGxlOnNlY3JldA==") {
            serve_file(root, f, &headers)
        } else {
            let mut r = simple(401, "auth required");
            r.headers
                .push(("WWW-Authenticate".into(), "Basic realm=\"test\"".into()));
            r
        }
    } else if path_only == "/cookie" {
        let mut r = simple(200, "ok");
        r.headers
            .push(("Set-Cookie".into(), "session=abc; Path=/".into()));
        r
    } else {
        serve_file(root, &path_only, &headers)
    };
    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reply.reason);
    head.push_str("Server: rustle-test\r\nConnection: close\r\n");
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if reply.status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(&reply.body)?;
    }
    out.flush()
}
