//! JS option objects, as `lib/options.js` normalises them, turned into core settings.
//! `lib/options.js` gives users precise TypeErrors; the checks here only guard the core.

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::codec::ws::{Role, WebSocket};
use crate::codec::{Codec, Delimited, Jstp, LengthPrefixed, ThriftMessages, ThriftProtocol, DEFAULT_MAX_FRAME};
use crate::conn::{self, Origin};
use crate::policy::backoff::{schedules, Backoff, Cap, Jitter, Policy};
use crate::server::ServerOptions;
use crate::transport::dial::{Route, Tls};
use crate::transport::ws::Handshake;
use crate::transport::tls::{self, TlsOptions};
use crate::transport::{Bind, Target};

#[napi(object)]
pub struct TlsConfig {
  pub ca: Option<Vec<Buffer>>,
  pub cert: Option<Buffer>,
  pub key: Option<Buffer>,
  pub servername: Option<String>,
  pub reject_unauthorized: Option<bool>,
  pub request_cert: Option<bool>,
}

#[napi(object)]
pub struct FramingConfig {
  /// "raw" | "delimited" | "length" | "jstp" | "thrift-binary" | "thrift-compact"
  pub kind: String,
  pub delimiter: Option<Buffer>,
  pub max_frame: Option<f64>,
}

#[napi(object)]
pub struct ReconnectConfig {
  /// "thrift" | "jstp" | "connman" | "socket-ipc"; other fields override it.
  pub preset: Option<String>,
  pub initial_delay: Option<f64>,
  pub factor: Option<f64>,
  pub max_delay: Option<f64>,
  /// "clamp" | "grow-below" | "grow-below-snap"
  pub cap: Option<String>,
  pub jitter_ratio: Option<f64>,
  pub jitter_min: Option<f64>,
  pub jitter_max: Option<f64>,
  pub max_attempts: Option<u32>,
  pub budget: Option<f64>,
  pub reset_delay: Option<f64>,
  pub drop_delay_min: Option<f64>,
  pub drop_delay_max: Option<f64>,
}

#[napi(object)]
pub struct ConnectionConfig {
  pub framing: Option<FramingConfig>,
  pub connect_timeout: Option<f64>,
  pub timeout: Option<f64>,
  pub no_delay: Option<bool>,
  pub keep_alive: Option<f64>,
  pub allow_half_open: Option<bool>,
  pub offline_queue_bytes: Option<f64>,
  pub resend_unsent: Option<bool>,
}

/// A client's WebSocket handshake.
#[napi(object)]
pub struct WebSocketConfig {
  /// The `Host` header.
  pub host: String,
  pub path: String,
  /// Extra request headers as `[name, value, name, value, ...]`.
  pub headers: Option<Vec<String>>,
}

#[napi(object)]
pub struct ConnectConfig {
  /// "tcp" | "tls" | "unix" | "stdio"
  pub transport: String,
  pub host: Option<String>,
  pub port: Option<u32>,
  pub path: Option<String>,
  pub command: Option<String>,
  pub args: Option<Vec<String>>,
  pub tls: Option<TlsConfig>,
  pub reconnect: Option<ReconnectConfig>,
  /// Upgrade to a WebSocket after connecting; frames then travel as its messages.
  pub websocket: Option<WebSocketConfig>,
  pub connection: ConnectionConfig,
}

#[napi(object)]
pub struct ListenConfig {
  /// "tcp" | "tls" | "unix"
  pub transport: String,
  pub host: Option<String>,
  pub port: Option<u32>,
  pub path: Option<String>,
  pub tls: Option<TlsConfig>,
  pub connection: ConnectionConfig,
}

pub(super) fn invalid(msg: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, msg.into())
}

fn required<T>(v: Option<T>, name: &str) -> Result<T> {
  v.ok_or_else(|| invalid(format!("{name} is required")))
}

fn ms(v: f64) -> Duration {
  Duration::from_millis(v.max(0.0) as u64)
}

fn tls_options(c: &TlsConfig) -> TlsOptions {
  TlsOptions {
    ca: c.ca.iter().flatten().map(|b| b.to_vec()).collect(),
    cert: c.cert.as_ref().map(|b| b.to_vec()),
    key: c.key.as_ref().map(|b| b.to_vec()),
    servername: c.servername.clone(),
    reject_unauthorized: c.reject_unauthorized.unwrap_or(true),
    request_cert: c.request_cert.unwrap_or(false),
  }
}

fn core_error(e: crate::error::CoreError) -> Error {
  invalid(e.to_string())
}

fn codec(f: Option<&FramingConfig>) -> Result<Codec> {
  let Some(f) = f else { return Ok(Codec::Raw) };
  let max = f.max_frame.map_or(DEFAULT_MAX_FRAME, |m| m as usize);
  Ok(match f.kind.as_str() {
    "raw" => Codec::Raw,
    "length" => Codec::LengthPrefixed(LengthPrefixed::new(max)),
    "jstp" => Codec::Jstp(Jstp::new(max)),
    "thrift-binary" => Codec::Thrift(ThriftMessages::new(ThriftProtocol::Binary, max)),
    "thrift-compact" => Codec::Thrift(ThriftMessages::new(ThriftProtocol::Compact, max)),
    "delimited" => {
      let d = required(f.delimiter.as_ref(), "framing.delimiter")?.to_vec();
      if d.is_empty() {
        return Err(invalid("framing.delimiter must not be empty"));
      }
      Codec::Delimited(Delimited::new(d, max))
    }
    other => return Err(invalid(format!("unknown framing {other:?}"))),
  })
}

pub fn connection(c: &ConnectionConfig) -> Result<conn::Options> {
  let d = conn::Options::default();
  Ok(conn::Options {
    codec: codec(c.framing.as_ref())?,
    connect_timeout: c.connect_timeout.filter(|t| *t > 0.0).map(ms),
    idle_timeout: c.timeout.filter(|t| *t > 0.0).map(ms),
    no_delay: c.no_delay.unwrap_or(d.no_delay),
    keep_alive: c.keep_alive.map(|v| v.max(0.0) as u64),
    allow_half_open: c.allow_half_open.unwrap_or(d.allow_half_open),
    offline_limit: c.offline_queue_bytes.map_or(d.offline_limit, |v| v.max(0.0) as usize),
    resend_unsent: c.resend_unsent.unwrap_or(d.resend_unsent),
  })
}

pub fn policy(r: &ReconnectConfig) -> Result<Policy> {
  let mut p = match r.preset.as_deref() {
    None => Policy::default(),
    Some("thrift") => schedules::thrift(None, None, None),
    Some("jstp") => schedules::jstp(),
    Some("connman") => schedules::connman(),
    Some("socket-ipc") => schedules::socket_ipc((1000, 1000), (1000, 1000)),
    Some(other) => return Err(invalid(format!("unknown reconnect preset {other:?}"))),
  };
  if let Some(v) = r.initial_delay {
    p.initial_ms = v;
    p.reset_ms = r.reset_delay.unwrap_or(v);
  }
  if let Some(v) = r.reset_delay {
    p.reset_ms = v;
  }
  if let Some(v) = r.factor {
    p.factor = v;
  }
  if let Some(v) = r.max_delay {
    p.max_ms = v;
  }
  if let Some(cap) = &r.cap {
    p.cap = match cap.as_str() {
      "clamp" => Cap::Clamp,
      "grow-below" => Cap::GrowBelow,
      "grow-below-snap" => Cap::GrowBelowThenSnap,
      other => return Err(invalid(format!("unknown reconnect cap {other:?}"))),
    };
  }
  match (r.jitter_ratio, r.jitter_min, r.jitter_max) {
    (Some(ratio), _, _) if ratio <= 0.0 => p.jitter = Jitter::None,
    (Some(ratio), _, _) => p.jitter = Jitter::Proportional { ratio: ratio.min(1.0) },
    (None, Some(min), Some(max)) => p.jitter = Jitter::Uniform { min: min as u64, max: max as u64 },
    _ => {}
  }
  if r.max_attempts.is_some() {
    p.max_attempts = r.max_attempts;
  }
  if let Some(b) = r.budget {
    p.budget_ms = Some(b.max(0.0) as u64);
  }
  if let (Some(min), Some(max)) = (r.drop_delay_min, r.drop_delay_max) {
    p.drop_delay = Some((min as u64, max as u64));
  }
  Ok(p)
}

pub fn connect(c: &ConnectConfig) -> Result<(conn::Options, Origin)> {
  let route = route(c)?;
  let backoff = c.reconnect.as_ref().map(policy).transpose()?.map(Backoff::new);
  let mut options = connection(&c.connection)?;
  if route.websocket.is_some() {
    options.codec = websocket(Role::Client, options.codec, c.connection.framing.as_ref());
  }
  Ok((options, Origin::Dial { route: Box::new(route), backoff }))
}

/// Where and how a client dials.
pub fn route(c: &ConnectConfig) -> Result<Route> {
  let target = match c.transport.as_str() {
    "tcp" | "tls" => Target::Tcp { host: c.host.clone().unwrap_or_else(|| "localhost".into()), port: required(c.port, "port")? as u16 },
    "unix" => Target::Unix { path: required(c.path.clone(), "path")? },
    "stdio" => Target::Stdio { command: required(c.command.clone(), "command")?, args: c.args.clone().unwrap_or_default() },
    other => return Err(invalid(format!("unknown transport {other:?}"))),
  };
  let tls = match (&target, c.transport.as_str()) {
    (Target::Tcp { host, .. }, "tls") => {
      let opts = c.tls.as_ref().map(tls_options).unwrap_or(TlsOptions { reject_unauthorized: true, ..Default::default() });
      Some(Tls { config: tls::client_config(&opts).map_err(core_error)?, server_name: tls::server_name(&opts, host).map_err(core_error)? })
    }
    _ => None,
  };
  let websocket = c.websocket.as_ref().map(|w| Handshake { host: w.host.clone(), path: w.path.clone(), headers: pairs(w.headers.as_deref()) });
  Ok(Route { target, tls, websocket })
}

/// `[name, value, ...]` as pairs.
pub fn pairs(flat: Option<&[String]>) -> Vec<(String, String)> {
  flat.unwrap_or_default().chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

/// WebSocket messages around `framing`'s frames; unframed, each message is a frame.
pub fn websocket(role: Role, framing: Codec, config: Option<&FramingConfig>) -> Codec {
  let max = config.and_then(|f| f.max_frame).map_or(DEFAULT_MAX_FRAME, |m| m as usize);
  let inner = framing.is_framed().then_some(framing);
  Codec::WebSocket(WebSocket::new(role, inner, max))
}

pub fn listen(c: &ListenConfig) -> Result<ServerOptions> {
  let bind = match c.transport.as_str() {
    "tcp" | "tls" => Bind::Tcp { host: c.host.clone().unwrap_or_else(|| "127.0.0.1".into()), port: c.port.unwrap_or(0) as u16 },
    "unix" => Bind::Unix { path: required(c.path.clone(), "path")? },
    other => return Err(invalid(format!("unknown transport {other:?}"))),
  };
  let tls = match c.transport.as_str() {
    "tls" => Some(tls::server_config(&tls_options(required(c.tls.as_ref(), "tls")?)).map_err(core_error)?),
    _ => None,
  };
  Ok(ServerOptions { bind, tls, conn: connection(&c.connection)? })
}
