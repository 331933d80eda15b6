//! A generic web server: requests it does not serve itself go to JS (method, path,
//! body) and are answered with what JS replies; WebSocket upgrades, when configured,
//! become core connections (announced like a server's accepted ones); GET serves
//! static files when given a root; OPTIONS answers CORS preflights when CORS is on.
//! Every text, header and table that makes it one protocol's server is an option.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming as Body;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::rustls::ServerConfig;

use super::collect;
use crate::bridge::{Bridge, Kind};
use crate::conn;
use crate::error::Code;
use crate::hub::Hub;
use crate::server::{accept_loop, Closing};
use crate::transport::{ws, Bind, Incoming};

pub struct WebOptions {
  pub bind: Bind,
  pub tls: Option<Arc<ServerConfig>>,
  /// `None`: an upgrade request is a request like any other, for JS.
  pub websocket: Option<Upgrades>,
  pub cors: Option<Cors>,
  /// `None`: GET is a request like any other, for JS.
  pub files: Option<Files>,
  pub max_body: usize,
}

/// How WebSocket upgrades are taken.
pub struct Upgrades {
  /// Settings of the connections WebSockets become.
  pub conn: conn::Options,
  /// Subprotocols spoken, preferred first. If any, an upgrade offering none of them
  /// is refused with 403.
  pub protocols: Vec<String>,
  /// JS decides each upgrade that passes the checks (an `Upgrade` event answered
  /// 101 to accept); otherwise all are accepted.
  pub ask: bool,
  /// Headers added to the 101 answer, with values taken from the request.
  pub echo: Vec<(HeaderName, Echo)>,
}

/// A value an upgrade's answer repeats from its request.
#[derive(Clone, Copy)]
pub enum Echo {
  /// The `Origin` header (none without one).
  Origin,
  /// `ws://` + the `Host` header + the request URI.
  Location,
}

/// Origins allowed to call from a browser page, and what a preflight answers.
pub struct Cors {
  pub any: bool,
  pub origins: Vec<String>,
  pub allow_methods: HeaderValue,
  pub allow_headers: HeaderValue,
  pub max_age: HeaderValue,
}

/// Static files under `root`, typed by extension.
pub struct Files {
  pub root: PathBuf,
  /// Content types by file extension; a file of another is sent without one.
  pub types: HashMap<String, HeaderValue>,
  /// Sent with every file.
  pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// What JS answers a request (or an upgrade it was asked about) with.
pub struct Reply {
  pub status: u16,
  pub reason: Option<String>,
  pub body: Bytes,
}

/// Bits of a request event's flags byte.
pub const ORIGIN_DENIED: u8 = 1;
pub const UPGRADE: u8 = 2;

/// The JS side's handle on a running web server.
pub struct WebServer {
  closing: Closing,
  pending: Mutex<HashMap<u32, oneshot::Sender<Reply>>>,
  next: AtomicU32,
  aborted: AtomicBool,
}

impl Default for WebServer {
  fn default() -> Self {
    WebServer { closing: Closing::default(), pending: Mutex::default(), next: AtomicU32::new(1), aborted: AtomicBool::new(false) }
  }
}

impl WebServer {
  /// Stops accepting; requests in flight are answered, idle connections close.
  pub fn close(&self) {
    self.closing.close();
  }

  /// The environment is going away: nobody will answer the requests in flight, so
  /// they get 503 now (dropping their senders), as does any that still comes, and
  /// their connections close.
  pub fn abort(&self) {
    self.aborted.store(true, Ordering::Relaxed);
    self.close();
    self.pending.lock().unwrap().clear();
  }

  /// JS's answer to request `no` (ignored if its client went away meanwhile).
  pub fn respond(&self, no: u32, reply: Reply) {
    if let Some(tx) = self.pending.lock().unwrap().remove(&no) {
      let _ = tx.send(reply);
    }
  }

  /// Asks JS, through `push`, about a request numbered here; `None` once aborted.
  async fn ask(&self, push: impl FnOnce(u32)) -> Option<Reply> {
    let no = self.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    {
      let mut pending = self.pending.lock().unwrap();
      if self.aborted.load(Ordering::Relaxed) {
        return None;
      }
      pending.insert(no, tx);
    }
    // If the client goes away first, hyper drops this future: forget the request.
    let _forget = Forget(self, no);
    push(no);
    rx.await.ok()
  }
}

/// Everything a connection's requests need.
struct Site {
  id: u32,
  hub: Arc<Hub>,
  bridge: Arc<Bridge>,
  server: Arc<WebServer>,
  options: WebOptions,
}

pub async fn run(hub: Arc<Hub>, id: u32, server: Arc<WebServer>, options: WebOptions) {
  let bridge = hub.bridge();
  let (bind, tls) = (options.bind.clone(), options.tls.clone());
  let site = Arc::new(Site { id, hub, bridge: bridge.clone(), server: server.clone(), options });
  // Each connection holds a sender: once all are dropped, every connection is done.
  let (alive, mut all_done) = mpsc::channel::<()>(1);
  accept_loop(&bridge, id, &bind, tls, &server.closing, |incoming| {
    let (site, alive) = (site.clone(), alive.clone());
    tokio::spawn(async move {
      serve(site, incoming).await;
      drop(alive);
    });
  })
  .await;
  drop(alive);
  let _ = all_done.recv().await;
  bridge.push(id, Kind::ServerClose, b"");
}

async fn serve(site: Arc<Site>, incoming: Incoming) {
  let Ok(stream) = incoming.establish().await else { return }; // a failed TLS handshake: nothing to answer
  // As Node's http server: answers leave at once, not after the peer's delayed ACK.
  let _ = stream.socket_options().set_no_delay(true);
  let service = {
    let site = site.clone();
    hyper::service::service_fn(move |req| {
      let site = site.clone();
      async move { Ok::<_, Infallible>(site.handle(req).await) }
    })
  };
  let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades();
  tokio::pin!(conn);
  tokio::select! {
    _ = conn.as_mut() => return,
    _ = site.server.closing.closed() => conn.as_mut().graceful_shutdown(),
  }
  let _ = conn.await;
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, reason: Option<String>, body: impl Into<Bytes>) -> Answer {
  let mut res = Response::new(Full::new(body.into()));
  *res.status_mut() = status;
  if let Some(phrase) = reason.and_then(|r| hyper::ext::ReasonPhrase::try_from(r).ok()) {
    res.extensions_mut().insert(phrase);
  }
  res
}

impl Site {
  async fn handle(self: Arc<Self>, req: Request<Body>) -> Answer {
    let upgrade = ws::is_upgrade(req.headers());
    if upgrade && self.options.websocket.is_some() {
      return self.upgrade(req).await;
    }
    let origin = origin_of(&req);
    let mut res = match *req.method() {
      Method::GET if self.options.files.is_some() => self.get(req.uri().path()).await,
      Method::OPTIONS if self.options.cors.is_some() => match self.cors_denies(origin.as_deref()) {
        Some(denied) => denied,
        None => answer(StatusCode::NO_CONTENT, Some("No Content".into()), Bytes::new()),
      },
      _ => self.to_js(req, upgrade).await,
    };
    if let (Some(origin), Some(cors)) = (origin, &self.options.cors) {
      if res.status() != StatusCode::FORBIDDEN {
        allow_origin(res.headers_mut(), &origin, cors);
      }
    }
    res
  }

  /// The 403 a request from `origin` gets, if CORS is in use and it is not allowed.
  fn cors_denies(&self, origin: Option<&str>) -> Option<Answer> {
    let (Some(origin), Some(cors)) = (origin, &self.options.cors) else { return None };
    if cors.any || cors.origins.iter().any(|o| o == origin) {
      return None;
    }
    Some(answer(StatusCode::FORBIDDEN, Some(format!("Origin {} not allowed", sanitize(origin))), Bytes::new()))
  }

  /// A request the core does not serve: JS gets its method, path, origin, body, and
  /// whether CORS denies the origin (JS decides what that costs, and in which order).
  async fn to_js(&self, req: Request<Body>, upgrade: bool) -> Answer {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let origin = origin_of(&req).unwrap_or_default();
    let mut flags = if upgrade { UPGRADE } else { 0 };
    if self.cors_denies(Some(&origin).filter(|o| !o.is_empty()).map(String::as_str)).is_some() {
      flags |= ORIGIN_DENIED;
    }
    let body = match collect(req.into_body(), self.options.max_body).await {
      Ok(body) => body,
      Err(e) if e.code == Code::HttpBodyTooLarge => return answer(StatusCode::PAYLOAD_TOO_LARGE, None, e.message),
      Err(_) => return answer(StatusCode::BAD_REQUEST, None, Bytes::new()), // the client is gone
    };
    let reply = self.server.ask(|no| {
      let (method, path, origin) = (short(&method), short(&path), short(&origin));
      let len = |s: &[u8]| (s.len() as u16).to_le_bytes();
      let (method_len, path_len, origin_len) = (len(method), len(path), len(origin));
      let parts: [&[u8]; 9] = [&no.to_le_bytes(), &[flags], &method_len, method, &path_len, path, &origin_len, origin, &body];
      self.bridge.push_parts(self.id, Kind::Request, &parts);
    });
    reply_answer(reply.await)
  }

  async fn get(&self, path: &str) -> Answer {
    let Some(files) = &self.options.files else { return answer(StatusCode::NOT_FOUND, None, Bytes::new()) };
    let base = &files.root;
    let Some(mut file) = within(base, path) else {
      return answer(StatusCode::BAD_REQUEST, Some("Invalid request path".into()), Bytes::new());
    };
    match tokio::fs::metadata(&file).await {
      Err(_) => return answer(StatusCode::NOT_FOUND, None, Bytes::new()),
      Ok(meta) if meta.is_dir() => file.push("index.html"),
      Ok(_) => {}
    }
    // The path's text stays under the root; a symbolic link in it may still lead out:
    // what it really names must be under the real root.
    let (real_base, real_file) = (tokio::fs::canonicalize(base).await, tokio::fs::canonicalize(&file).await);
    if !matches!((&real_base, &real_file), (Ok(b), Ok(f)) if f.starts_with(b)) {
      return answer(StatusCode::NOT_FOUND, None, Bytes::new());
    }
    match tokio::fs::read(&file).await {
      Ok(content) => {
        let mut res = answer(StatusCode::OK, None, content);
        let kind = file.extension().and_then(|e| e.to_str()).and_then(|e| files.types.get(e));
        if let Some(kind) = kind {
          res.headers_mut().insert(header::CONTENT_TYPE, kind.clone());
        }
        for (name, value) in &files.headers {
          res.headers_mut().insert(name, value.clone());
        }
        res
      }
      Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, None, format!("Error: {e}\n")),
    }
  }

  /// Answers a WebSocket handshake and, once hyper lets go of the socket, makes it a
  /// core connection.
  async fn upgrade(self: Arc<Self>, req: Request<Body>) -> Answer {
    let Some(upgrades) = &self.options.websocket else { unreachable!("only called when upgrades are taken") };
    if let Some(denied) = self.cors_denies(origin_of(&req).as_deref()) {
      return denied;
    }
    let protocol = ws::choose_protocol(req.headers(), &upgrades.protocols);
    if protocol.is_none() && !upgrades.protocols.is_empty() {
      return answer(StatusCode::FORBIDDEN, None, Bytes::new());
    }
    let Some(accept) = ws::accept_key(req.headers()) else {
      return answer(StatusCode::BAD_REQUEST, Some("Missing Sec-WebSocket-Key".into()), Bytes::new());
    };
    if upgrades.ask {
      let question = serde_json::json!({
        "path": req.uri().path(),
        "origin": origin_of(&req),
        "protocol": protocol,
      })
      .to_string();
      let reply = self.server.ask(|no| self.bridge.push_parts(self.id, Kind::Upgrade, &[&no.to_le_bytes(), question.as_bytes()]));
      match reply.await {
        Some(reply) if reply.status == 101 => {}
        reply => return reply_answer(reply),
      }
    }
    let mut res = answer(StatusCode::SWITCHING_PROTOCOLS, None, Bytes::new());
    let headers = res.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(protocol) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
      headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    for (name, echo) in &upgrades.echo {
      let value = match echo {
        Echo::Origin => match origin_of(&req) {
          Some(origin) => sanitize(&origin),
          None => continue, // nothing to repeat
        },
        Echo::Location => {
          let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
          format!("ws://{}{}", sanitize(host), sanitize(&req.uri().to_string()))
        }
      };
      if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(name, v);
      }
    }
    let site = self.clone();
    tokio::spawn(async move {
      let Ok(Ok(stream)) = hyper::upgrade::on(req).await.map(ws::unwrap) else { return };
      let Some(upgrades) = &site.options.websocket else { return };
      site.hub.accepted(site.id, upgrades.conn.clone(), Incoming::established(stream), None);
    });
    res
  }
}

/// JS's reply as an answer; none (the environment went away): 503.
fn reply_answer(reply: Option<Reply>) -> Answer {
  match reply {
    Some(r) => answer(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), r.reason, r.body),
    None => answer(StatusCode::SERVICE_UNAVAILABLE, None, Bytes::new()),
  }
}

/// Removes a request from the pending ones when its handler ends, answered or not.
struct Forget<'a>(&'a WebServer, u32);

impl Drop for Forget<'_> {
  fn drop(&mut self) {
    self.0.pending.lock().unwrap().remove(&self.1);
  }
}

fn origin_of(req: &Request<Body>) -> Option<String> {
  req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| !o.is_empty()).map(str::to_owned)
}

fn allow_origin(headers: &mut hyper::HeaderMap, origin: &str, cors: &Cors) {
  let Ok(origin) = HeaderValue::from_str(origin) else { return };
  headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
  headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, cors.allow_methods.clone());
  headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, cors.allow_headers.clone());
  headers.insert(header::ACCESS_CONTROL_MAX_AGE, cors.max_age.clone());
}

/// Text whose length goes in a u16: hyper's limits on a request line and headers keep
/// it far shorter, and the cut only guards the format.
fn short(s: &str) -> &[u8] {
  &s.as_bytes()[..s.len().min(u16::MAX as usize)]
}

/// Header values echo request text: no line breaks may get through.
fn sanitize(s: &str) -> String {
  s.replace(['\r', '\n'], "")
}

/// `path` under `base`, resolved as Node's `path.resolve` would (`..` pops a
/// component); `None` if that leaves `base`.
fn within(base: &Path, path: &str) -> Option<PathBuf> {
  let mut out = base.to_path_buf();
  let mut depth = 0usize;
  for part in Path::new(path.trim_start_matches('/')).components() {
    match part {
      Component::Normal(p) => {
        out.push(p);
        depth += 1;
      }
      Component::ParentDir if depth > 0 => {
        out.pop();
        depth -= 1;
      }
      Component::ParentDir => return None,
      _ => {}
    }
  }
  Some(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn static_paths_stay_under_the_root() {
    let base = Path::new("/srv/www");
    assert_eq!(within(base, "/a/b.html"), Some(PathBuf::from("/srv/www/a/b.html")));
    assert_eq!(within(base, "/a/../b.html"), Some(PathBuf::from("/srv/www/b.html")));
    assert_eq!(within(base, "/"), Some(PathBuf::from("/srv/www")));
    assert_eq!(within(base, "/../etc/passwd"), None);
    assert_eq!(within(base, "/a/../../etc"), None);
  }
}
