//! The Node-API surface of `crate::http`: HTTP clients, web servers, and closing a
//! WebSocket with a code. Ids share the hub's space with connections and servers.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use super::options::{self, invalid, ConnectConfig, ListenConfig};
use super::state;
use crate::codec::ws::Role;
use crate::http::client::ClientOptions;
use crate::http::server::{Cors, Reply, WebOptions};

/// An HTTP client's settings; `connect` says where to dial (tcp, tls or unix) and
/// its `connection.connectTimeout` bounds each dial.
#[napi(object)]
pub struct HttpClientConfig {
  pub connect: ConnectConfig,
  /// The request path.
  pub path: String,
  /// Request headers as `[name, value, name, value, ...]`.
  pub headers: Option<Vec<String>>,
  pub keep_alive: Option<bool>,
  pub max_sockets: Option<f64>,
  pub max_free_sockets: Option<f64>,
  pub timeout: Option<f64>,
  pub max_body: Option<f64>,
}

#[napi(object)]
pub struct WebConfig {
  /// Where to listen; its `connection` settings (framing) are those of the
  /// connections WebSockets become.
  pub listen: ListenConfig,
  pub services: Vec<String>,
  /// Allowed origins; `"*"` allows any. Absent: CORS is not in use.
  pub cors: Option<Vec<String>>,
  pub files: Option<String>,
  /// Headers of static files, as `[name, value, ...]`.
  pub headers: Option<Vec<String>>,
  pub max_body: Option<f64>,
}

const DEFAULT_MAX_BODY: usize = 100 * 1024 * 1024;

fn header_pairs(flat: Option<&[String]>) -> Result<Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>> {
  options::pairs(flat)
    .into_iter()
    .map(|(name, value)| {
      let n = hyper::header::HeaderName::try_from(name.as_str()).map_err(|_| invalid(format!("invalid header name {name:?}")))?;
      let v = hyper::header::HeaderValue::try_from(value.as_str()).map_err(|_| invalid(format!("invalid value for header {name:?}")))?;
      Ok((n, v))
    })
    .collect()
}

fn size(v: Option<f64>, default: usize) -> usize {
  v.filter(|v| *v >= 0.0).map_or(default, |v| if v.is_finite() { v as usize } else { usize::MAX })
}

#[napi(catch_unwind)]
pub fn http_client(env: Env, config: HttpClientConfig) -> Result<u32> {
  let route = options::route(&config.connect)?;
  let connection = options::connection(&config.connect.connection)?;
  let options = ClientOptions {
    route,
    path: config.path,
    headers: header_pairs(config.headers.as_deref())?,
    keep_alive: config.keep_alive.unwrap_or(true),
    max_sockets: size(config.max_sockets, usize::MAX).max(1),
    max_free: size(config.max_free_sockets, 256),
    connect_timeout: connection.connect_timeout,
    timeout: config.timeout.filter(|t| *t > 0.0).map(|t| std::time::Duration::from_millis(t as u64)),
    max_body: size(config.max_body, DEFAULT_MAX_BODY),
  };
  Ok(state(&env)?.hub.http_client(options))
}

#[napi(catch_unwind)]
pub fn http_request(env: Env, id: u32, no: u32, body: &[u8]) -> Result<()> {
  let client = state(&env)?.hub.http(id).ok_or_else(|| invalid("the HTTP client is closed"))?;
  client.request(no, Bytes::copy_from_slice(body));
  Ok(())
}

#[napi(catch_unwind)]
pub fn close_http(env: Env, id: u32) -> Result<()> {
  state(&env)?.hub.close_http(id);
  Ok(())
}

#[napi(catch_unwind)]
pub fn web_listen(env: Env, config: WebConfig) -> Result<u32> {
  let server = options::listen(&config.listen)?;
  let mut websocket = server.conn;
  websocket.codec = options::websocket(Role::Server, websocket.codec, config.listen.connection.framing.as_ref());
  let cors = config.cors.map(|origins| Cors { any: origins.iter().any(|o| o == "*"), origins });
  let options = WebOptions {
    bind: server.bind,
    tls: server.tls,
    services: config.services,
    websocket,
    cors,
    files: config.files.filter(|f| !f.is_empty()).map(Into::into),
    headers: header_pairs(config.headers.as_deref())?,
    max_body: size(config.max_body, DEFAULT_MAX_BODY),
  };
  Ok(state(&env)?.hub.web_listen(options))
}

/// JS's answer to a web server's request `no`.
#[napi(catch_unwind)]
pub fn web_respond(env: Env, id: u32, no: u32, status: u32, body: &[u8]) -> Result<()> {
  if let Some(server) = state(&env)?.hub.web(id) {
    server.respond(no, Reply { status: status as u16, body: Bytes::copy_from_slice(body) });
  }
  Ok(())
}

/// Closes a WebSocket connection with a close frame (`code` absent: none in it);
/// on other connections, the same as `end()`.
#[napi(catch_unwind)]
pub fn ws_close(env: Env, id: u32, code: Option<u32>, reason: Option<String>) -> Result<()> {
  if let Some(conn) = state(&env)?.hub.conn(id) {
    conn.close_websocket(code.map(|c| c as u16), reason.as_deref().unwrap_or(""));
  }
  Ok(())
}
