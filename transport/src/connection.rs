//! One SSH connection to a host (through its ProxyJump hops), on russh.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, MethodKind, Preferred};
use tokio::io::AsyncWriteExt as _;

use crate::known_hosts::{verify, HostKeyError, KnownHosts, Policy, Presented, Verified};
use crate::settings::{Hop, Settings};

/// How to authenticate, beyond what the settings say.
#[derive(Clone, Default)]
pub struct AuthOptions {
    /// Passphrase for encrypted private key files (tried on every
    /// encrypted key).
    pub passphrase: Option<String>,
    /// ssh-agent socket; `None` = `$SSH_AUTH_SOCK` when set.
    pub agent_socket: Option<PathBuf>,
    /// Do not use an agent at all.
    pub no_agent: bool,
}

impl std::fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthOptions")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("agent_socket", &self.agent_socket)
            .field("no_agent", &self.no_agent)
            .finish()
    }
}

/// Why a connection failed. `Display` is the reason as OpenSSH words it
/// where it has a wording.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("Could not resolve hostname {host}: Name or service not known")]
    Resolve { host: String },
    #[error("connect to host {host} port {port}: {reason}")]
    Tcp {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("connect to host {host} port {port}: Connection timed out")]
    Timeout { host: String, port: u16 },
    #[error("{0}")]
    HostKey(Box<HostKeyError>),
    #[error("{user}@{host}: Permission denied ({methods}).")]
    Auth {
        user: String,
        host: String,
        methods: String,
    },
    #[error("Load key \"{path}\": {reason}")]
    Key { path: String, reason: String },
    #[error("ssh: {host} port {port}: {reason}")]
    Protocol {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("jump host {hop}: {source}")]
    Jump {
        hop: String,
        #[source]
        source: Box<ConnectError>,
    },
}

impl ConnectError {
    /// Worth retrying (the network, not a refusal by policy or credentials).
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::Tcp { .. }
            | ConnectError::Timeout { .. }
            | ConnectError::Protocol { .. } => true,
            ConnectError::Jump { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}

/// Errors on an established connection.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("ssh: {0}")]
    Ssh(#[from] russh::Error),
    #[error("sftp: {0}")]
    Sftp(#[from] russh_sftp::client::error::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status; `None` when the command was killed by a signal (see
    /// `signal`) or the server sent no status.
    pub status: Option<u32>,
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A started command's stdin (write) and stdout (read).
pub type RemoteStream = russh::ChannelStream<client::Msg>;

/// One hop's target, as the connect code needs it.
struct Target<'a> {
    name: &'a str,
    host: &'a str,
    port: u16,
    user: &'a str,
    identity_files: &'a [PathBuf],
    identities_only: bool,
    pubkey: bool,
    password: Option<&'a str>,
    policy: Policy,
}

impl<'a> Target<'a> {
    fn from_hop(h: &'a Hop) -> Self {
        Target {
            name: &h.name,
            host: &h.host,
            port: h.port,
            user: &h.user,
            identity_files: &h.identity_files,
            identities_only: h.identities_only,
            pubkey: true,
            password: None,
            policy: Policy {
                files: h.known_hosts_files.clone(),
                record_file: h.record_known_hosts.clone(),
                accept_unknown: h.accept_unknown,
            },
        }
    }

    fn from_settings(s: &'a Settings) -> Self {
        Target {
            name: &s.name,
            host: &s.host,
            port: s.port,
            user: &s.user,
            identity_files: &s.identity_files,
            identities_only: s.identities_only,
            pubkey: s.pubkey_authentication,
            password: s.password.as_deref().filter(|_| s.password_authentication),
            policy: Policy {
                files: s.known_hosts_files.clone(),
                record_file: s.record_known_hosts.clone(),
                accept_unknown: s.accept_unknown,
            },
        }
    }
}

/// The host key verdict, kept for the error message.
type Outcome = Result<Verified, Box<HostKeyError>>;

/// russh callbacks: host key verification.
struct Client {
    host: String,
    port: u16,
    policy: Policy,
    outcome: Arc<Mutex<Option<Outcome>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let presented = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => Presented::Key(key),
            russh::keys::PublicKeyOrCertificate::Certificate(c) => Presented::Certificate(c),
        };
        let r = verify(&self.policy, &self.host, self.port, presented);
        let ok = r.is_ok();
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(r);
        }
        Ok(ok)
    }
}

/// An authenticated connection to one host. Channels are opened on it as
/// needed; ProxyJump hops stay open as long as it lives.
pub struct Connection {
    handle: Handle<Client>,
    /// Kept alive: the target's transport runs through them.
    _hops: Vec<Handle<Client>>,
    /// Host key notes (e.g. "Warning: Permanently added ..."), hops first.
    pub notes: Vec<String>,
    /// Time from the first attempt to an authenticated session.
    pub connect_time: Duration,
    /// Connection attempts made (1 + retries used).
    pub attempts: u32,
}

/// The retry pause Ansible's ssh plugin uses: 2^attempt - 1 seconds, at
/// most 30 (so 0 s, 1 s, 3 s, 7 s, ...).
pub fn backoff(attempt: u32) -> Duration {
    let secs = 2u64.saturating_pow(attempt).saturating_sub(1).min(30);
    Duration::from_secs(secs)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::TimedOut => "Connection timed out".into(),
        _ => match e.raw_os_error() {
            Some(113) => "No route to host".into(),
            Some(101) => "Network is unreachable".into(),
            _ => e.to_string(),
        },
    }
}

fn client_config(
    s_alive: Option<Duration>,
    count_max: u32,
    kh: &KnownHosts,
    host: &str,
    port: u16,
) -> client::Config {
    let mut preferred = Preferred::default();
    // Ask for the key types known_hosts has for this host first, as OpenSSH
    // orders HostKeyAlgorithms, so a host known by its RSA key is not
    // refused for presenting its ed25519 one.
    let known = kh.known_algorithms(host, port);
    if !known.is_empty() {
        let mut keys: Vec<Algorithm> = Vec::new();
        for k in known.iter().chain(preferred.key.iter()) {
            // RSA is recorded as ssh-rsa but negotiated as rsa-sha2-*.
            let same = |a: &Algorithm| {
                crate::known_hosts::key_type_label(a) == crate::known_hosts::key_type_label(k)
            };
            if matches!(k, Algorithm::Rsa { .. }) && known.contains(k) {
                for a in preferred.key.iter().filter(|a| same(a)) {
                    if !keys.contains(a) {
                        keys.push(a.clone());
                    }
                }
            } else if !keys.contains(k) && preferred.key.contains(k) {
                keys.push(k.clone());
            }
        }
        preferred.key = Cow::Owned(keys);
    }
    if kh.has_cert_authority(host, port) {
        preferred.host_key_certificates = Cow::Owned(preferred.key.to_vec());
    }
    client::Config {
        keepalive_interval: s_alive,
        keepalive_max: count_max as usize,
        inactivity_timeout: None,
        preferred,
        nodelay: true,
        ..client::Config::default()
    }
}

/// Loads a private key; `Ok(None)` = missing file (skipped as OpenSSH
/// skips missing default identities).
fn load_key(path: &Path, passphrase: Option<&str>) -> Result<Option<PrivateKey>, ConnectError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConnectError::Key {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    match russh::keys::decode_secret_key(&text, passphrase) {
        Ok(k) => Ok(Some(k)),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(ConnectError::Key {
            path: path.display().to_string(),
            reason: "incorrect passphrase supplied to decrypt private key".into(),
        }),
        Err(e) => Err(ConnectError::Key {
            path: path.display().to_string(),
            reason: match passphrase {
                Some(_) => format!("incorrect passphrase supplied to decrypt private key ({e})"),
                None => format!("invalid format ({e})"),
            },
        }),
    }
}

/// The public half of an identity file (from `FILE.pub`, else the private
/// key if unencrypted), for IdentitiesOnly filtering of agent keys.
fn identity_public(path: &Path) -> Option<PublicKey> {
    let mut pubpath = path.as_os_str().to_owned();
    pubpath.push(".pub");
    if let Ok(t) = std::fs::read_to_string(PathBuf::from(pubpath)) {
        if let Ok(k) = PublicKey::from_openssh(t.trim()) {
            return Some(k);
        }
    }
    let t = std::fs::read_to_string(path).ok()?;
    russh::keys::decode_secret_key(&t, None)
        .ok()
        .map(|k| k.public_key().clone())
}

/// Keeps the methods the server says can continue, for the final message.
fn remember(methods: &mut Vec<&'static str>, r: &russh::client::AuthResult) {
    if let russh::client::AuthResult::Failure {
        remaining_methods, ..
    } = r
    {
        *methods = remaining_methods.iter().map(<&str>::from).collect();
    }
}

async fn authenticate(
    handle: &mut Handle<Client>,
    t: &Target<'_>,
    auth: &AuthOptions,
) -> Result<(), ConnectError> {
    let mut methods: Vec<&'static str> = Vec::new();
    let ssh_err = |e: russh::Error| ConnectError::Protocol {
        host: t.host.to_string(),
        port: t.port,
        reason: e.to_string(),
    };
    let denied = |methods: &[&str]| ConnectError::Auth {
        user: t.user.to_string(),
        host: t.host.to_string(),
        methods: if methods.is_empty() {
            "publickey".to_string()
        } else {
            methods.join(",")
        },
    };
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(ssh_err)?
        .flatten();

    if t.pubkey {
        // 1. ssh-agent identities (only those matching an identity file
        // when IdentitiesOnly is set).
        if !auth.no_agent {
            let sock = auth
                .agent_socket
                .clone()
                .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from));
            if let Some(sock) = sock {
                if let Ok(mut agent) = AgentClient::connect_uds(&sock).await {
                    let wanted: Vec<PublicKey> = if t.identities_only {
                        t.identity_files
                            .iter()
                            .filter_map(|p| identity_public(p))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let ids = agent.request_identities().await.unwrap_or_default();
                    for id in ids {
                        let AgentIdentity::PublicKey { key, .. } = id else {
                            continue;
                        };
                        if t.identities_only
                            && !wanted.iter().any(|w| w.key_data() == key.key_data())
                        {
                            continue;
                        }
                        let hash = if matches!(key.algorithm(), Algorithm::Rsa { .. }) {
                            rsa_hash
                        } else {
                            None
                        };
                        match handle
                            .authenticate_publickey_with(t.user, key, hash, &mut agent)
                            .await
                        {
                            Ok(r) if r.success() => return Ok(()),
                            Ok(r) => remember(&mut methods, &r),
                            // The agent refused to sign: try the next one.
                            Err(_) => continue,
                        }
                    }
                }
            }
        }
        // 2. identity files, in order.
        for path in t.identity_files {
            let Some(key) = load_key(path, auth.passphrase.as_deref())? else {
                continue;
            };
            let hash = if matches!(key.algorithm(), Algorithm::Rsa { .. }) {
                rsa_hash
            } else {
                None
            };
            let r = handle
                .authenticate_publickey(t.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(ssh_err)?;
            if r.success() {
                return Ok(());
            }
            remember(&mut methods, &r);
        }
    }
    // 3. password.
    if let Some(pw) = t.password {
        if methods.is_empty() || methods.contains(&<&str>::from(&MethodKind::Password)) {
            let r = handle
                .authenticate_password(t.user, pw)
                .await
                .map_err(ssh_err)?;
            if r.success() {
                return Ok(());
            }
            remember(&mut methods, &r);
        }
    }
    if methods.is_empty() {
        // Nothing was tried: ask the server what it would accept.
        if let Ok(r) = handle.authenticate_none(t.user).await {
            if r.success() {
                return Ok(());
            }
            remember(&mut methods, &r);
        }
    }
    Err(denied(&methods))
}

/// Opens the SSH session for one target over `stream`, verifies the host
/// key and authenticates.
async fn establish<S>(
    stream: S,
    t: &Target<'_>,
    s_alive: Option<Duration>,
    count_max: u32,
    auth: &AuthOptions,
    timeout: Option<Duration>,
    notes: &mut Vec<String>,
) -> Result<Handle<Client>, ConnectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let kh = KnownHosts::load(&t.policy.files);
    let config = Arc::new(client_config(s_alive, count_max, &kh, t.host, t.port));
    let outcome = Arc::new(Mutex::new(None));
    let handler = Client {
        host: t.host.to_string(),
        port: t.port,
        policy: t.policy.clone(),
        outcome: outcome.clone(),
    };
    let fut = client::connect_stream(config, stream, handler);
    let res = match timeout {
        Some(d) => match tokio::time::timeout(d, fut).await {
            Ok(r) => r,
            Err(_) => {
                return Err(ConnectError::Protocol {
                    host: t.host.to_string(),
                    port: t.port,
                    reason: "Connection timed out during banner exchange".into(),
                })
            }
        },
        None => fut.await,
    };
    let verified = outcome.lock().ok().and_then(|mut o| o.take());
    let mut handle = match (res, verified) {
        (_, Some(Err(hk))) => return Err(ConnectError::HostKey(hk)),
        (Ok(h), v) => {
            if let Some(Ok(Verified::Added(msg))) = v {
                notes.push(msg);
            }
            h
        }
        (Err(e), _) => {
            return Err(ConnectError::Protocol {
                host: t.host.to_string(),
                port: t.port,
                reason: e.to_string(),
            })
        }
    };
    // The key exchange finishes in the background: a server that stalls
    // there (or in authentication) is bounded by the same timeout.
    match timeout {
        Some(d) => match tokio::time::timeout(d, authenticate(&mut handle, t, auth)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ConnectError::Protocol {
                    host: t.host.to_string(),
                    port: t.port,
                    reason: "Connection timed out during authentication".into(),
                })
            }
        },
        None => authenticate(&mut handle, t, auth).await?,
    }
    Ok(handle)
}

async fn tcp_connect(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<tokio::net::TcpStream, ConnectError> {
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(_) => {
            return Err(ConnectError::Resolve {
                host: host.to_lowercase(),
            })
        }
    };
    if addrs.is_empty() {
        return Err(ConnectError::Resolve {
            host: host.to_lowercase(),
        });
    }
    let mut last = ConnectError::Tcp {
        host: host.to_string(),
        port,
        reason: "Connection refused".into(),
    };
    for a in addrs {
        let fut = tokio::net::TcpStream::connect(a);
        let r = match timeout {
            Some(d) => match tokio::time::timeout(d, fut).await {
                Ok(r) => r,
                Err(_) => {
                    last = ConnectError::Timeout {
                        host: host.to_string(),
                        port,
                    };
                    continue;
                }
            },
            None => fut.await,
        };
        match r {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => {
                last = ConnectError::Tcp {
                    host: host.to_string(),
                    port,
                    reason: io_reason(&e),
                }
            }
        }
    }
    Err(last)
}

impl Connection {
    /// Connects (with the settings' retries and Ansible's backoff).
    pub async fn connect(
        settings: &Settings,
        auth: &AuthOptions,
    ) -> Result<Connection, ConnectError> {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            match Self::connect_once(settings, auth).await {
                Ok(mut c) => {
                    c.connect_time = start.elapsed();
                    c.attempts = attempt + 1;
                    return Ok(c);
                }
                Err(e) if e.is_transient() && attempt < settings.retries => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt: through each ProxyJump hop in turn (a direct-tcpip
    /// channel on the previous hop carries the next SSH session), then the
    /// target.
    pub async fn connect_once(
        settings: &Settings,
        auth: &AuthOptions,
    ) -> Result<Connection, ConnectError> {
        let timeout = settings.connect_timeout;
        let s_alive = settings.server_alive_interval;
        let count_max = settings.server_alive_count_max;
        let mut notes = Vec::new();
        let mut hops: Vec<Handle<Client>> = Vec::new();
        let mut targets: Vec<Target<'_>> =
            settings.proxy_jump.iter().map(Target::from_hop).collect();
        targets.push(Target::from_settings(settings));
        let last = targets.len() - 1;
        for (i, t) in targets.iter().enumerate() {
            let r = match hops.last() {
                None => match tcp_connect(t.host, t.port, timeout).await {
                    Ok(stream) => {
                        establish(stream, t, s_alive, count_max, auth, timeout, &mut notes).await
                    }
                    Err(e) => Err(e),
                },
                Some(prev) => {
                    let ch = prev
                        .channel_open_direct_tcpip(t.host, u32::from(t.port), "127.0.0.1", 0)
                        .await
                        .map_err(|e| ConnectError::Tcp {
                            host: t.host.to_string(),
                            port: t.port,
                            reason: format!("channel open through jump host failed: {e}"),
                        });
                    match ch {
                        Ok(ch) => {
                            establish(
                                ch.into_stream(),
                                t,
                                s_alive,
                                count_max,
                                auth,
                                timeout,
                                &mut notes,
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match r {
                Ok(h) => hops.push(h),
                Err(e) if i < last => {
                    return Err(ConnectError::Jump {
                        hop: t.name.to_string(),
                        source: Box::new(e),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        let handle = hops.pop().ok_or_else(|| ConnectError::Protocol {
            host: settings.host.clone(),
            port: settings.port,
            reason: "no session".into(),
        })?;
        Ok(Connection {
            handle,
            _hops: hops,
            notes,
            connect_time: Duration::ZERO,
            attempts: 1,
        })
    }

    /// Runs `command` (the server runs it with the user's shell `-c`),
    /// feeding `stdin` then EOF, and collects its output and exit status.
    pub async fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, SessionError> {
        let ch = self.handle.channel_open_session().await?;
        let (mut rd, wr) = ch.split();
        wr.exec(true, command).await?;
        let writer = async {
            if !stdin.is_empty() {
                wr.data(stdin).await?;
            }
            wr.eof().await?;
            Ok::<(), SessionError>(())
        };
        let reader = async {
            let mut out = ExecOutput::default();
            while let Some(msg) = rd.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        out.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        out.signal = Some(format!("{signal_name:?}"))
                    }
                    _ => {}
                }
            }
            out
        };
        // The reader decides: once the channel closes, a writer still
        // waiting for window space (a command that exited without reading
        // all its stdin) is dropped.
        tokio::pin!(writer);
        tokio::pin!(reader);
        let mut write_err = None;
        let mut written = false;
        let out = loop {
            tokio::select! {
                w = &mut writer, if !written => {
                    written = true;
                    write_err = w.err();
                }
                out = &mut reader => break out,
            }
        };
        if let Some(e) = write_err {
            if out.status.is_none() && out.signal.is_none() {
                return Err(e);
            }
        }
        Ok(out)
    }

    /// Starts `command` (with the user's shell `-c`) on a channel of its
    /// own and returns that channel as a byte stream: its stdin to write,
    /// its stdout to read (stderr is dropped). The stream ends when the
    /// command exits. A long-lived process (the runner's `serve`) costs one
    /// channel for the whole run.
    pub async fn start(&self, command: &str) -> Result<RemoteStream, SessionError> {
        let ch = self.handle.channel_open_session().await?;
        ch.exec(true, command).await?;
        Ok(ch.into_stream())
    }

    /// Uploads a local file to `remote` over sftp (created or truncated),
    /// with `mode` when given. Returns the bytes written.
    pub async fn upload(
        &self,
        local: &Path,
        remote: &str,
        mode: Option<u32>,
    ) -> Result<u64, SessionError> {
        let ch = self.handle.channel_open_session().await?;
        ch.request_subsystem(true, "sftp").await?;
        let sftp = russh_sftp::client::SftpSession::new(ch.into_stream()).await?;
        let mut src = tokio::fs::File::open(local).await?;
        let mut dst = sftp.create(remote).await?;
        let n = tokio::io::copy(&mut src, &mut dst).await?;
        dst.shutdown().await?;
        if let Some(m) = mode {
            let attrs = russh_sftp::protocol::FileAttributes {
                permissions: Some(m),
                ..russh_sftp::protocol::FileAttributes::empty()
            };
            sftp.set_metadata(remote, attrs).await?;
        }
        sftp.close().await?;
        Ok(n)
    }

    /// Whether the transport is gone (server closed, keepalives failed).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Closes the session politely.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        for h in self._hops.iter().rev() {
            let _ = h
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}
