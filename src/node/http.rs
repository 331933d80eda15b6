//! The Node-API surface of `crate::http`: HTTP clients, web servers, and closing a
//! WebSocket with a code. Ids share the hub's space with connections and servers.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use super::options::{self, invalid, ConnectConfig, ListenConfig, SendingConfig};
use super::state;
use crate::codec::ws::Role;
use crate::http::client::ClientOptions;
use crate::http::server::{Cors, Echo, Files, Reply, Upgrades, WebOptions};

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
  /// Absent: upgrade requests go to JS like any other.
  pub websocket: Option<UpgradeConfig>,
  pub cors: Option<CorsConfig>,
  /// Absent: GET requests go to JS like any other.
  pub files: Option<FilesConfig>,
  pub max_body: Option<f64>,
}

#[napi(object)]
pub struct UpgradeConfig {
  /// Subprotocols spoken, preferred first; if any, one must be offered.
  pub protocols: Option<Vec<String>>,
  /// JS decides each upgrade (an `Upgrade` event).
  pub ask: Option<bool>,
  /// Headers of the 101 answer that repeat the request: `[name, "origin" | "location", ...]`.
  pub echo: Option<Vec<String>>,
  pub sending: Option<SendingConfig>,
}

#[napi(object)]
pub struct CorsConfig {
  /// Allowed origins; `"*"` allows any.
  pub origins: Vec<String>,
  pub allow_methods: String,
  pub allow_headers: String,
  pub max_age: String,
}

#[napi(object)]
pub struct FilesConfig {
  pub root: String,
  /// Content types by extension, as `[extension, type, ...]`.
  pub types: Option<Vec<String>>,
  /// Sent with every file, as `[name, value, ...]`.
  pub headers: Option<Vec<String>>,
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
  let websocket = match config.websocket {
    None => None,
    Some(ws) => Some(Upgrades {
      conn: crate::conn::Options {
        codec: options::websocket(Role::Server, server.conn.codec.clone(), config.listen.connection.framing.as_ref(), ws.sending.as_ref())?,
        ..server.conn
      },
      protocols: ws.protocols.unwrap_or_default(),
      ask: ws.ask.unwrap_or(false),
      echo: options::pairs(ws.echo.as_deref())
        .into_iter()
        .map(|(name, what)| {
          let name = hyper::header::HeaderName::try_from(name.as_str()).map_err(|_| invalid(format!("invalid header name {name:?}")))?;
          let echo = match what.as_str() {
            "origin" => Echo::Origin,
            "location" => Echo::Location,
            other => return Err(invalid(format!("unknown echo {other:?}"))),
          };
          Ok((name, echo))
        })
        .collect::<Result<_>>()?,
    }),
  };
  let cors = match config.cors {
    None => None,
    Some(c) => {
      let value = |v: &str| hyper::header::HeaderValue::try_from(v).map_err(|_| invalid(format!("invalid CORS header value {v:?}")));
      Some(Cors {
        any: c.origins.iter().any(|o| o == "*"),
        allow_methods: value(&c.allow_methods)?,
        allow_headers: value(&c.allow_headers)?,
        max_age: value(&c.max_age)?,
        origins: c.origins,
      })
    }
  };
  let files = match config.files {
    None => None,
    Some(f) => Some(Files {
      root: f.root.into(),
      types: options::pairs(f.types.as_deref())
        .into_iter()
        .map(|(ext, kind)| Ok((ext, hyper::header::HeaderValue::try_from(kind).map_err(|_| invalid("invalid content type"))?)))
        .collect::<Result<_>>()?,
      headers: header_pairs(f.headers.as_deref())?,
    }),
  };
  let options = WebOptions { bind: server.bind, tls: server.tls, websocket, cors, files, max_body: size(config.max_body, DEFAULT_MAX_BODY) };
  Ok(state(&env)?.hub.web_listen(options))
}

/// JS's answer to a web server's request (or upgrade question) `no`; `reason`
/// replaces the status's standard phrase.
#[napi(catch_unwind)]
pub fn web_respond(env: Env, id: u32, no: u32, status: u32, body: &[u8], reason: Option<String>) -> Result<()> {
  if let Some(server) = state(&env)?.hub.web(id) {
    server.respond(no, Reply { status: status as u16, reason, body: Bytes::copy_from_slice(body) });
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
