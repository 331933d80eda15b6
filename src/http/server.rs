//! A web server for RPC over HTTP, as thrift's `createWebServer`: a POST to a
//! service's path is handed to JS and answered with what JS replies; a WebSocket
//! upgrade becomes a core connection (announced like a server's accepted one); GET
//! serves static files when asked to; OPTIONS answers CORS preflights.

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
use crate::hub::Hub;
use crate::server::{accept_loop, Closing};
use crate::transport::{ws, Bind, Incoming};

pub struct WebOptions {
  pub bind: Bind,
  pub tls: Option<Arc<ServerConfig>>,
  /// Service paths; a request names its service by index into these.
  pub services: Vec<String>,
  /// Settings of the connections WebSockets become (they speak to the first service).
  pub websocket: conn::Options,
  pub cors: Option<Cors>,
  /// Root of the static files; `None`: GET finds nothing.
  pub files: Option<PathBuf>,
  /// Sent with every static file.
  pub headers: Vec<(HeaderName, HeaderValue)>,
  pub max_body: usize,
}

/// Origins allowed to call from a browser page; in use only when configured.
pub struct Cors {
  pub any: bool,
  pub origins: Vec<String>,
}

/// What JS answers a request with.
pub struct Reply {
  pub status: u16,
  pub body: Bytes,
}

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
    if ws::is_upgrade(req.headers()) {
      return self.upgrade(req);
    }
    let origin = origin_of(&req);
    let mut res = match *req.method() {
      Method::POST => self.post(req).await,
      Method::GET => self.get(req.uri().path()).await,
      Method::OPTIONS => match self.cors_denies(origin.as_deref()) {
        Some(denied) => denied,
        None => answer(StatusCode::NO_CONTENT, Some("No Content".into()), Bytes::new()),
      },
      _ => answer(StatusCode::INTERNAL_SERVER_ERROR, None, Bytes::new()),
    };
    if let (Some(origin), Some(_)) = (origin, &self.options.cors) {
      if res.status() != StatusCode::FORBIDDEN {
        allow_origin(res.headers_mut(), &origin);
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

  async fn post(&self, req: Request<Body>) -> Answer {
    let path = req.uri().path().to_owned();
    let Some(service) = self.options.services.iter().position(|p| *p == path) else {
      return answer(StatusCode::FORBIDDEN, Some(format!("No Apache Thrift Service at {}", sanitize(&path))), Bytes::new());
    };
    if let Some(denied) = self.cors_denies(origin_of(&req).as_deref()) {
      return denied;
    }
    let body = match collect(req.into_body(), self.options.max_body).await {
      Ok(body) => body,
      Err(e) if e.code == "ERR_HTTP_BODY_TOO_LARGE" => return answer(StatusCode::PAYLOAD_TOO_LARGE, None, e.message),
      Err(_) => return answer(StatusCode::BAD_REQUEST, None, Bytes::new()), // the client is gone
    };
    let no = self.server.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    {
      let mut pending = self.server.pending.lock().unwrap();
      if self.server.aborted.load(Ordering::Relaxed) {
        return answer(StatusCode::SERVICE_UNAVAILABLE, None, Bytes::new());
      }
      pending.insert(no, tx);
    }
    // If the client goes away first, hyper drops this future: forget the request.
    let _forget = Forget(&self.server, no);
    self.bridge.push_parts(self.id, Kind::Request, &[&no.to_le_bytes(), &(service as u32).to_le_bytes(), &body]);
    match rx.await {
      Ok(reply) => answer(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), None, reply.body),
      Err(_) => answer(StatusCode::SERVICE_UNAVAILABLE, None, Bytes::new()), // aborted
    }
  }

  async fn get(&self, path: &str) -> Answer {
    let Some(base) = &self.options.files else { return answer(StatusCode::NOT_FOUND, None, Bytes::new()) };
    let Some(mut file) = within(base, path) else {
      return answer(StatusCode::BAD_REQUEST, Some("Invalid request path".into()), Bytes::new());
    };
    match tokio::fs::metadata(&file).await {
      Err(_) => return answer(StatusCode::NOT_FOUND, None, Bytes::new()),
      Ok(meta) if meta.is_dir() => file.push("index.html"),
      Ok(_) => {}
    }
    // The path's text stays under the root; a symbolic link in it may still lead out
    // (the original followed it): what it really names must be under the real root.
    let (real_base, real_file) = (tokio::fs::canonicalize(base).await, tokio::fs::canonicalize(&file).await);
    if !matches!((&real_base, &real_file), (Ok(b), Ok(f)) if f.starts_with(b)) {
      return answer(StatusCode::NOT_FOUND, None, Bytes::new());
    }
    match tokio::fs::read(&file).await {
      Ok(content) => {
        let mut res = answer(StatusCode::OK, None, content);
        if let Some(kind) = content_type(&file) {
          res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        }
        for (name, value) in &self.options.headers {
          res.headers_mut().insert(name, value.clone());
        }
        res
      }
      Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, None, format!("Error: {e}\n")),
    }
  }

  /// Answers a WebSocket handshake and, once hyper lets go of the socket, makes it a
  /// core connection speaking to the first service.
  fn upgrade(self: Arc<Self>, req: Request<Body>) -> Answer {
    if let Some(denied) = self.cors_denies(origin_of(&req).as_deref()) {
      return denied;
    }
    if self.options.services.is_empty() {
      return answer(StatusCode::FORBIDDEN, Some("No Apache Thrift Service available".into()), Bytes::new());
    }
    let Some(accept) = ws::accept_key(req.headers()) else {
      return answer(StatusCode::BAD_REQUEST, Some("Missing Sec-WebSocket-Key".into()), Bytes::new());
    };
    let mut res = answer(StatusCode::SWITCHING_PROTOCOLS, None, Bytes::new());
    let headers = res.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    // What thrift's web server adds (from the hixie drafts), for clients that look.
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let location = format!("ws://{}{}", sanitize(host), sanitize(&req.uri().to_string()));
    if let Ok(v) = HeaderValue::from_str(&sanitize(&origin_of(&req).unwrap_or_default())) {
      headers.insert("sec-websocket-origin", v);
    }
    if let Ok(v) = HeaderValue::from_str(&location) {
      headers.insert("sec-websocket-location", v);
    }
    tokio::spawn(async move {
      let Ok(Ok(stream)) = hyper::upgrade::on(req).await.map(ws::unwrap) else { return };
      self.hub.accepted(self.id, self.options.websocket.clone(), Incoming::established(stream), None);
    });
    res
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

fn allow_origin(headers: &mut hyper::HeaderMap, origin: &str) {
  let Ok(origin) = HeaderValue::from_str(origin) else { return };
  headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
  headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
  headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, accept"));
  headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("60"));
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

/// The content types thrift's web server knows.
fn content_type(file: &Path) -> Option<&'static str> {
  Some(match file.extension()?.to_str()? {
    "txt" => "text/plain",
    "html" => "text/html",
    "css" => "text/css",
    "xml" => "application/xml",
    "json" => "application/json",
    "js" => "application/javascript",
    "jpg" | "jpeg" => "image/jpeg",
    "gif" => "image/gif",
    "png" => "image/png",
    "svg" => "image/svg+xml",
    _ => return None,
  })
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
    assert_eq!(content_type(Path::new("x.js")), Some("application/javascript"));
    assert_eq!(content_type(Path::new("x.bin")), None);
  }
}
