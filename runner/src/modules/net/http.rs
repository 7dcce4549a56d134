//! An HTTP(S) client with the behaviour of Ansible's `fetch_url`
//! (`module_utils/urls.py`): the `info` dict it returns (lowercased
//! response headers, `status`, `msg`, `url`, `cookies`, `cookies_string`,
//! `body` for HTTP errors), its redirect policies, basic auth,
//! `If-Modified-Since`, and its error texts. Built on `ureq` with rustls so
//! that the runner stays a static binary.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::args::{ArgDef, ArgDefault, ArgType};
use serde_json::{Map, Value};

/// The `fetch_url` arguments `uri` and `get_url` share (Ansible's
/// `url_argument_spec`): certificate checking and authentication options.
pub const URL_ARGS: [ArgDef; 5] = [
    ArgDef::new("validate_certs", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Verify HTTPS certificates."),
    ArgDef::new("force_basic_auth", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Send basic auth credentials with the first request instead of after a 401."),
    ArgDef::new("client_cert", ArgType::Path).doc("Not supported (accepted, ignored)."),
    ArgDef::new("client_key", ArgType::Path).doc("Not supported (accepted, ignored)."),
    ArgDef::new("use_gssapi", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Not supported (accepted, ignored)."),
];

/// Ansible's `follow_redirects` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// `no`, `none`: never.
    None,
    /// `safe`: only GET and HEAD requests.
    Safe,
    /// `all`, `yes`, `urllib2`: every request.
    All,
}

impl Follow {
    pub fn parse(s: &str) -> Self {
        match s {
            "no" | "none" => Follow::None,
            "safe" => Follow::Safe,
            _ => Follow::All,
        }
    }
}

/// One request as `fetch_url` takes it.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: u64,
    pub validate_certs: bool,
    pub follow: Follow,
    pub username: Option<String>,
    pub password: Option<String>,
    pub force_basic_auth: bool,
    pub http_agent: String,
    /// `force`: ask caches for a fresh copy instead of sending
    /// `If-Modified-Since`.
    pub force: bool,
    pub last_mod_time: Option<SystemTime>,
    pub ca_path: Option<String>,
    pub decompress: bool,
}

impl Request {
    pub fn new(url: &str, method: &str) -> Self {
        Request {
            url: url.to_owned(),
            method: method.to_owned(),
            headers: Vec::new(),
            body: None,
            timeout: 10,
            validate_certs: true,
            follow: Follow::Safe,
            username: None,
            password: None,
            force_basic_auth: false,
            http_agent: "ansible-httpget".to_owned(),
            force: false,
            last_mod_time: None,
            ca_path: None,
            decompress: true,
        }
    }
}

/// What `fetch_url` returns: the body when there was a response (`None`
/// when the request failed before one) and the `info` dict.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Option<Vec<u8>>,
    pub info: Map<String, Value>,
    /// The response was an HTTP error (`status >= 400` or a redirect that
    /// was not followed): `info["body"]` holds its content.
    pub http_error: bool,
    /// A hard failure (`ValueError`, bad URL): the module fails with `msg`
    /// right away, as `fetch_url`'s `fail_json` does.
    pub fatal: bool,
}

impl Fetched {
    pub fn status(&self) -> i64 {
        self.info
            .get("status")
            .and_then(Value::as_i64)
            .unwrap_or(-1)
    }
    pub fn msg(&self) -> String {
        self.info
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.info.get(name).and_then(Value::as_str)
    }
}

/// Accepts every certificate (`validate_certs: false`).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(req: &Request) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if req.validate_certs {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = &req.ca_path {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("Failed to load CA certificates from {ca}: {e}"))?;
            for c in certs.flatten() {
                // A certificate rustls cannot use is skipped, as OpenSSL
                // skips it when loading a bundle.
                let _ = roots.add(c);
            }
        } else {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `Authorization: Basic ...`.
fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An HTTP date as `email.utils.formatdate(usegmt=True)` / urllib write it.
pub fn http_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Splits `user:pass@` out of a URL, as `open_url` does.
fn split_userinfo(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None, None);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let netloc = &rest[..end];
    let Some((userinfo, host)) = netloc.rsplit_once('@') else {
        return (url.to_owned(), None, None);
    };
    let (u, p) = match userinfo.split_once(':') {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => (userinfo.to_owned(), None),
    };
    (
        format!("{scheme}://{host}{}", &rest[end..]),
        Some(percent_decode(&u)),
        p.map(|p| percent_decode(&p)),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
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

/// `urllib.parse.urljoin(base, reference)` for the cases redirects use.
pub fn urljoin(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_owned();
    }
    match url::Url::parse(base).and_then(|b| b.join(reference)) {
        Ok(u) => u.to_string(),
        Err(_) => reference.to_owned(),
    }
}

/// The text urllib gives a socket error (`[Errno 111] Connection refused`).
fn io_text(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock {
        return "timed out".to_owned();
    }
    match e.raw_os_error() {
        Some(n) => format!("[Errno {n}] {}", crate::modules::files::common::strerror(e)),
        None => e.to_string(),
    }
}

fn transport_error(t: &ureq::Transport) -> (String, bool) {
    use std::error::Error as _;
    let io = t.source().and_then(|s| s.downcast_ref::<std::io::Error>());
    match t.kind() {
        ureq::ErrorKind::InvalidUrl => (
            format!(
                "unknown url type: {}",
                py_repr(t.url().map_or("", |u| u.as_str()))
            ),
            true,
        ),
        ureq::ErrorKind::UnknownScheme => (
            format!(
                "Request failed: <urlopen error unknown url type: {}>",
                t.url().map_or("", |u| u.scheme())
            ),
            false,
        ),
        ureq::ErrorKind::Dns => (
            "Request failed: <urlopen error [Errno -2] Name or service not known>".to_owned(),
            false,
        ),
        ureq::ErrorKind::ConnectionFailed => {
            let why = match io {
                Some(e) => io_text(e),
                None => t.message().unwrap_or("connection failed").to_owned(),
            };
            (format!("Request failed: <urlopen error {why}>"), false)
        }
        ureq::ErrorKind::Io => match io {
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                ("Connection failure: timed out".to_owned(), false)
            }
            Some(e) if e.to_string().contains("certificate") || e.to_string().contains("Certificate") => (
                format!(
                    "Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {e}>"
                ),
                false,
            ),
            Some(e) => (format!("Connection failure: {}", io_text(e)), false),
            None => (
                format!("Connection failure: {}", t.message().unwrap_or("error")),
                false,
            ),
        },
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => (
            "Connection failure: connection was closed before a valid response was received: ''"
                .to_owned(),
            false,
        ),
        _ => (
            format!("An unknown error occurred: {t}"),
            false,
        ),
    }
}

/// Python's `repr(str)` for simple strings.
pub fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Reads a body, reporting a read failure as urllib's error text.
fn read_body(resp: ureq::Response) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    resp.into_reader()
        .read_to_end(&mut buf)
        .map_err(|e| format!("Connection failure: {}", io_text(&e)))?;
    Ok(buf)
}

/// The header half of `info`: names lowercased, repeated headers joined
/// with `, ` (as `fetch_url` does).
fn header_info(resp: &ureq::Response, info: &mut Map<String, Value>) {
    let mut seen: Vec<String> = Vec::new();
    for name in resp.headers_names() {
        if seen.contains(&name) {
            continue;
        }
        let joined = resp.all(&name).join(", ");
        info.insert(name.clone(), joined.into());
        seen.push(name);
    }
}

/// `name=value` of each `Set-Cookie`.
fn collect_cookies(resp: &ureq::Response, jar: &mut Vec<(String, String)>) {
    for c in resp.all("set-cookie") {
        let first = c.split(';').next().unwrap_or_default();
        if let Some((n, v)) = first.split_once('=') {
            let n = n.trim().to_owned();
            let v = v.trim().trim_matches('"').to_owned();
            jar.retain(|(k, _)| *k != n);
            jar.push((n, v));
        }
    }
}

/// Sends the request as `fetch_url` does.
pub fn fetch(req: &Request) -> Fetched {
    let mut info = Map::new();
    info.insert("url".into(), req.url.clone().into());
    info.insert("status".into(), (-1).into());
    let fatal = |info: &mut Map<String, Value>, msg: String| {
        info.insert("msg".into(), msg.into());
        Fetched {
            body: None,
            info: std::mem::take(info),
            http_error: false,
            fatal: true,
        }
    };
    let tls = match tls_config(req) {
        Ok(t) => t,
        Err(e) => return fatal(&mut info, e),
    };
    let timeout = Duration::from_secs(req.timeout.max(1));
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout_connect(timeout)
        .timeout_read(timeout)
        .timeout_write(timeout)
        .user_agent(&req.http_agent)
        .tls_config(tls)
        .build();
    let (mut url, url_user, url_pass) = split_userinfo(&req.url);
    if !url.contains("://") {
        return fatal(
            &mut info,
            format!("unknown url type: {}", py_repr(&req.url)),
        );
    }
    let username = req.username.clone().filter(|u| !u.is_empty()).or(url_user);
    let password = req.password.clone().or(url_pass).unwrap_or_default();
    let mut method = req.method.clone();
    let mut body = req.body.clone();
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut auth_sent = false;
    let mut hops = 0;
    loop {
        let mut r = agent.request(&method, &url);
        if !req.decompress {
            r = r.set("Accept-Encoding", "identity");
        }
        for (k, v) in &req.headers {
            r = r.set(k, v);
        }
        if req.force {
            r = r.set("cache-control", "no-cache");
        } else if let Some(t) = req.last_mod_time {
            r = r.set("If-Modified-Since", &http_date(t));
        }
        if let Some(u) = &username {
            if req.force_basic_auth || auth_sent {
                r = r.set("Authorization", &basic_auth(u, &password));
            }
        }
        if !jar.is_empty() {
            let c: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            r = r.set("Cookie", &c.join("; "));
        }
        let res = match &body {
            Some(b) => r.send_bytes(b),
            None => r.call(),
        };
        let resp = match res {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => {
                let (msg, is_fatal) = transport_error(&t);
                if is_fatal {
                    return fatal(&mut info, msg);
                }
                info.insert("msg".into(), msg.into());
                info.insert("status".into(), (-1).into());
                return Fetched {
                    body: None,
                    info,
                    http_error: false,
                    fatal: false,
                };
            }
        };
        let code = resp.status();
        collect_cookies(&resp, &mut jar);
        // Basic auth without force_basic_auth: urllib answers the
        // challenge once.
        if code == 401
            && username.is_some()
            && !auth_sent
            && !req.force_basic_auth
            && resp
                .header("www-authenticate")
                .is_some_and(|h| h.to_ascii_lowercase().starts_with("basic"))
        {
            auth_sent = true;
            let _ = read_body(resp);
            continue;
        }
        let is_redirect = matches!(code, 301 | 302 | 303 | 307 | 308);
        if is_redirect {
            if let Some(loc) = resp.header("location").map(str::to_owned) {
                let follow = match req.follow {
                    Follow::None => false,
                    Follow::Safe => method == "GET" || method == "HEAD",
                    Follow::All => true,
                };
                if follow {
                    hops += 1;
                    if hops > 10 {
                        let reason = resp.status_text().to_owned();
                        header_info(&resp, &mut info);
                        let body = read_body(resp).unwrap_or_default();
                        info.insert("msg".into(), format!("HTTP Error {code}: The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\n{reason}").into());
                        info.insert(
                            "body".into(),
                            String::from_utf8_lossy(&body).into_owned().into(),
                        );
                        info.insert("status".into(), code.into());
                        return Fetched {
                            body: Some(body),
                            info,
                            http_error: true,
                            fatal: false,
                        };
                    }
                    let _ = read_body(resp);
                    url = urljoin(&url, &loc);
                    if !matches!(code, 307 | 308) && method != "HEAD" {
                        method = "GET".into();
                        body = None;
                    }
                    continue;
                }
            }
        }
        let reason = resp.status_text().to_owned();
        if !(200..300).contains(&code) {
            header_info(&resp, &mut info);
            let data = read_body(resp).unwrap_or_default();
            info.insert("msg".into(), format!("HTTP Error {code}: {reason}").into());
            info.insert(
                "body".into(),
                String::from_utf8_lossy(&data).into_owned().into(),
            );
            info.insert("status".into(), code.into());
            return Fetched {
                body: Some(data),
                info,
                http_error: true,
                fatal: false,
            };
        }
        header_info(&resp, &mut info);
        let length = resp
            .header("content-length")
            .unwrap_or("unknown")
            .to_owned();
        let data = match read_body(resp) {
            Ok(d) => d,
            Err(msg) => {
                info.insert("msg".into(), msg.into());
                info.insert("status".into(), (-1).into());
                return Fetched {
                    body: None,
                    info,
                    http_error: false,
                    fatal: false,
                };
            }
        };
        let cookie_string: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        info.insert("cookies_string".into(), cookie_string.join("; ").into());
        info.insert(
            "cookies".into(),
            Value::Object(
                jar.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        );
        info.insert("msg".into(), format!("OK ({length} bytes)").into());
        info.insert("url".into(), url.clone().into());
        info.insert("status".into(), code.into());
        return Fetched {
            body: Some(data),
            info,
            http_error: false,
            fatal: false,
        };
    }
}
