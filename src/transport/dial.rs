//! Opening client connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

use super::stdio::{self, ChildProcess};
use super::{ws, Stream};
use crate::error::{Code, CoreError};

#[derive(Debug, Clone)]
pub enum Target {
  Tcp { host: String, port: u16 },
  Unix { path: String },
  /// A child process; `command` is run directly, not through a shell.
  Stdio { command: String, args: Vec<String> },
}

#[derive(Clone)]
pub struct Tls {
  pub config: Arc<ClientConfig>,
  /// Name to send as SNI and to verify the certificate against (Node's `servername`).
  pub server_name: ServerName<'static>,
}

/// Everything that decides how to reach a peer.
#[derive(Clone)]
pub struct Route {
  pub target: Target,
  pub tls: Option<Tls>,
  /// Upgrade the connection to a WebSocket, with this handshake.
  pub websocket: Option<ws::Handshake>,
}

pub struct Dialed {
  pub stream: Stream,
  /// Set for `Target::Stdio`: the driver waits on it to report the exit.
  pub child: Option<ChildProcess>,
}

/// Opens one connection along `route`, within `timeout` if given.
pub async fn dial(route: &Route, timeout: Option<Duration>) -> Result<Dialed, CoreError> {
  let attempt = async {
    let dialed = open(&route.target, route.tls.as_ref()).await?;
    match &route.websocket {
      None => Ok(dialed),
      Some(hs) => Ok(Dialed { stream: ws::connect(dialed.stream, hs).await?, ..dialed }),
    }
  };
  match timeout {
    None => attempt.await,
    Some(t) => match tokio::time::timeout(t, attempt).await {
      Ok(r) => r,
      Err(_) => Err(timed_out(&route.target)),
    },
  }
}

async fn open(target: &Target, tls: Option<&Tls>) -> Result<Dialed, CoreError> {
  match target {
    Target::Tcp { host, port } => {
      let tcp = connect_tcp(host, *port).await?;
      let stream = match tls {
        None => Stream::Tcp(tcp),
        Some(tls) => {
          let conn = TlsConnector::from(tls.config.clone())
            .connect(tls.server_name.clone(), tcp)
            .await
            .map_err(|e| tls_error(&e))?;
          Stream::Tls(Box::new(conn.into()))
        }
      };
      Ok(Dialed { stream, child: None })
    }
    Target::Unix { path } => {
      let unix = UnixStream::connect(path).await.map_err(|e| CoreError::io(&e, "connect").at(path.as_str(), None))?;
      Ok(Dialed { stream: Stream::Unix(unix), child: None })
    }
    Target::Stdio { command, args } => {
      let spawn_error = |e: std::io::Error| CoreError::io(&e, "spawn").at(command.as_str(), None);
      let child = std::process::Command::new(command)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(spawn_error)?;
      let (pipes, process) = stdio::spawn(child).map_err(spawn_error)?;
      Ok(Dialed { stream: Stream::Stdio(pipes), child: Some(process) })
    }
  }
}

/// Resolves `host`, then tries its addresses in order, as Node's `net.connect` does.
/// A name that does not resolve fails as Node's does: `getaddrinfo ENOTFOUND host`.
async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, CoreError> {
  let addrs = resolve(host, port).await.ok_or_else(|| {
    let mut e = CoreError::new(Code::NotFound, format!("getaddrinfo ENOTFOUND {host}"));
    e.syscall = Some("getaddrinfo");
    e
  })?;
  let mut last = None;
  for addr in addrs {
    match TcpStream::connect(addr).await {
      Ok(tcp) => return Ok(tcp),
      Err(e) => last = Some(e),
    }
  }
  let e = last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrNotAvailable));
  Err(CoreError::io(&e, "connect").at(host, Some(port)))
}

/// A name lookup under way, shared by the dials that ask for it meanwhile.
type Lookup = Arc<tokio::sync::OnceCell<Option<Vec<SocketAddr>>>>;

/// `host`'s addresses. Dials of one name at the same time (an HTTP client's requests
/// made together, each on a connection of its own) share one lookup and go on in
/// the order they asked; a lookup each, on a blocking thread each, would finish, and
/// so connect, in any order. Nothing is kept once the lookup is answered.
async fn resolve(host: &str, port: u16) -> Option<Vec<SocketAddr>> {
  static LOOKUPS: OnceLock<Mutex<HashMap<(String, u16), Lookup>>> = OnceLock::new();
  let lookups = LOOKUPS.get_or_init(Mutex::default);
  let key = (host.to_owned(), port);
  let lookup = lookups.lock().unwrap().entry(key.clone()).or_default().clone();
  let addrs = lookup
    .get_or_init(|| async {
      let addrs = tokio::net::lookup_host((host, port)).await.ok().map(|a| a.collect());
      let mut under_way = lookups.lock().unwrap();
      if under_way.get(&key).is_some_and(|l| Arc::ptr_eq(l, &lookup)) {
        under_way.remove(&key);
      }
      addrs
    })
    .await;
  addrs.clone()
}

/// rustls reports its failures as `InvalidData` carrying a rustls error; those about
/// the peer's certificate get their own code.
pub(super) fn tls_error(e: &std::io::Error) -> CoreError {
  use tokio_rustls::rustls::{AlertDescription as Alert, Error as Tls};
  let inner = e.get_ref().and_then(|inner| inner.downcast_ref::<Tls>());
  let code = match inner {
    Some(Tls::InvalidCertificate(_) | Tls::NoCertificatesPresented | Tls::UnsupportedNameType) => Code::TlsCertInvalid,
    // The peer refused our certificate.
    Some(Tls::AlertReceived(
      Alert::NoCertificate
      | Alert::BadCertificate
      | Alert::UnsupportedCertificate
      | Alert::CertificateRevoked
      | Alert::CertificateExpired
      | Alert::CertificateUnknown
      | Alert::CertificateRequired,
    )) => Code::TlsCertInvalid,
    _ => Code::TlsHandshake,
  };
  let detail = e.get_ref().map(|inner| inner.to_string()).unwrap_or_else(|| e.to_string());
  CoreError::new(code, format!("TLS handshake failed: {detail}"))
}

fn timed_out(target: &Target) -> CoreError {
  let mut e = CoreError::new(Code::TimedOut, "connect ETIMEDOUT");
  e.syscall = Some("connect");
  match target {
    Target::Tcp { host, port } => e.at(host.as_str(), Some(*port)),
    Target::Unix { path } => e.at(path.as_str(), None),
    Target::Stdio { command, .. } => e.at(command.as_str(), None),
  }
}
