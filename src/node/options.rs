//! JS option objects, as `lib/options.js` normalises them, turned into core settings.
//! `lib/options.js` gives users precise TypeErrors; the checks here only guard the core.

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;

use std::sync::Arc;

use super::boundary::{lookup, Framing, Transport, CAPS, FRAMINGS, MESSAGES, TRANSPORTS};
use crate::codec::ws::{Role, WebSocket};
use crate::codec::{Codec, Delimited, LengthPrefixed, DEFAULT_MAX_FRAME};
use crate::packs::mdsf::Mdsf;
use crate::packs::thrift::{Protocol as ThriftProtocol, ThriftMessages};
use crate::conn::{self, Origin};
use crate::policy::backoff::{Backoff, Jitter, Policy};
use crate::server::ServerOptions;
use crate::transport::dial::{Route, Tls};
use crate::transport::ws::Handshake;
use crate::transport::tls::{self, TlsOptions};
use crate::transport::{Bind, BindAt, Target, DEFAULT_BACKLOG};

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
  /// One of `boundary::FRAMINGS`.
  pub kind: String,
  pub delimiter: Option<Buffer>,
  pub max_frame: Option<f64>,
}

#[napi(object)]
pub struct ReconnectConfig {
  pub initial_delay: Option<f64>,
  pub factor: Option<f64>,
  pub max_delay: Option<f64>,
  /// One of `boundary::CAPS`.
  pub cap: Option<String>,
  pub jitter_ratio: Option<f64>,
  pub jitter_min: Option<f64>,
  pub jitter_max: Option<f64>,
  pub max_attempts: Option<u32>,
  pub budget: Option<f64>,
  pub reset_delay: Option<f64>,
  pub drop_delay_min: Option<f64>,
  pub drop_delay_max: Option<f64>,
  /// Floor each grown delay to whole milliseconds, as JS schedules doing `Math.floor` do.
  pub integer_steps: Option<bool>,
  /// A `Dialing` event as each attempt starts.
  pub announce: Option<bool>,
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

/// A client's WebSocket handshake, and how its messages go out.
#[napi(object)]
pub struct WebSocketConfig {
  /// The `Host` header.
  pub host: String,
  pub path: String,
  /// Extra request headers as `[name, value, name, value, ...]`.
  pub headers: Option<Vec<String>>,
  /// Subprotocols offered; the server must choose one of them.
  pub protocols: Option<Vec<String>>,
  pub sending: Option<SendingConfig>,
}

/// What WebSocket messages written go out as.
#[napi(object)]
pub struct SendingConfig {
  /// One of `boundary::MESSAGES`.
  pub messages: String,
  /// Messages above this many bytes leave in fragments of it.
  pub fragment: Option<f64>,
}

#[napi(object)]
pub struct ConnectConfig {
  /// One of `boundary::TRANSPORTS`.
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
  /// One of `boundary::TRANSPORTS` but stdio.
  pub transport: String,
  pub host: Option<String>,
  pub port: Option<u32>,
  pub path: Option<String>,
  pub tls: Option<TlsConfig>,
  /// The kernel's queue of connections not yet accepted (`listen(2)`).
  pub backlog: Option<u32>,
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
  let framing = lookup(FRAMINGS, &f.kind).ok_or_else(|| invalid(format!("unknown framing {:?}", f.kind)))?;
  Ok(match framing {
    Framing::Raw => Codec::Raw,
    Framing::Length => Codec::LengthPrefixed(LengthPrefixed::new(max)),
    // The protocol packs: mdsf messages ended by NULs, each rewritten as JSON; Thrift
    // messages on an unframed stream, found by their structure.
    Framing::Jstp => Codec::Transcoded(Box::new(Codec::Delimited(Delimited::new(vec![0], max))), Arc::new(Mdsf)),
    Framing::ThriftBinary => Codec::Scanned(Box::new(ThriftMessages::new(ThriftProtocol::Binary, max))),
    Framing::ThriftCompact => Codec::Scanned(Box::new(ThriftMessages::new(ThriftProtocol::Compact, max))),
    Framing::Delimited => {
      let d = required(f.delimiter.as_ref(), "framing.delimiter")?.to_vec();
      if d.is_empty() {
        return Err(invalid("framing.delimiter must not be empty"));
      }
      Codec::Delimited(Delimited::new(d, max))
    }
  })
}

pub fn connection(c: &ConnectionConfig) -> Result<conn::Options> {
  let d = conn::Options::default();
  Ok(conn::Options {
    codec: codec(c.framing.as_ref())?,
    connect_timeout: c.connect_timeout.filter(|t| *t > 0.0).map(ms),
    idle_timeout: c.timeout.filter(|t| *t > 0.0).map(ms),
    heartbeat: None,
    announce_attempts: false,
    no_delay: c.no_delay.unwrap_or(d.no_delay),
    keep_alive: c.keep_alive.map(|v| v.max(0.0) as u64),
    allow_half_open: c.allow_half_open.unwrap_or(d.allow_half_open),
    offline_limit: c.offline_queue_bytes.map_or(d.offline_limit, |v| v.max(0.0) as usize),
    resend_unsent: c.resend_unsent.unwrap_or(d.resend_unsent),
  })
}

pub fn policy(r: &ReconnectConfig) -> Result<Policy> {
  let mut p = Policy::default();
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
    p.cap = lookup(CAPS, cap).ok_or_else(|| invalid(format!("unknown reconnect cap {cap:?}")))?;
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
  if let Some(floor) = r.integer_steps {
    p.integer_steps = floor;
  }
  Ok(p)
}

pub fn connect(c: &ConnectConfig) -> Result<(conn::Options, Origin)> {
  let route = route(c)?;
  let backoff = c.reconnect.as_ref().map(policy).transpose()?.map(Backoff::new);
  let mut options = connection(&c.connection)?;
  options.announce_attempts = c.reconnect.as_ref().and_then(|r| r.announce).unwrap_or(false);
  if let Some(ws) = &c.websocket {
    options.codec = websocket(Role::Client, options.codec, c.connection.framing.as_ref(), ws.sending.as_ref())?;
  }
  Ok((options, Origin::Dial { route: Box::new(route), backoff }))
}

/// Where and how a client dials.
pub fn route(c: &ConnectConfig) -> Result<Route> {
  let transport = transport(&c.transport)?;
  let target = match transport {
    Transport::Tcp | Transport::Tls => Target::Tcp { host: c.host.clone().unwrap_or_else(|| "localhost".into()), port: required(c.port, "port")? as u16 },
    Transport::Unix => Target::Unix { path: required(c.path.clone(), "path")? },
    Transport::Stdio => Target::Stdio { command: required(c.command.clone(), "command")?, args: c.args.clone().unwrap_or_default() },
  };
  let tls = match (&target, transport) {
    (Target::Tcp { host, .. }, Transport::Tls) => {
      let opts = c.tls.as_ref().map(tls_options).unwrap_or(TlsOptions { reject_unauthorized: true, ..Default::default() });
      Some(Tls { config: tls::client_config(&opts).map_err(core_error)?, server_name: tls::server_name(&opts, host).map_err(core_error)? })
    }
    _ => None,
  };
  let websocket = c.websocket.as_ref().map(|w| Handshake {
    host: w.host.clone(),
    path: w.path.clone(),
    headers: pairs(w.headers.as_deref()),
    protocols: w.protocols.clone().unwrap_or_default(),
  });
  Ok(Route { target, tls, websocket })
}

fn transport(name: &str) -> Result<Transport> {
  lookup(TRANSPORTS, name).ok_or_else(|| invalid(format!("unknown transport {name:?}")))
}

/// `[name, value, ...]` as pairs.
pub fn pairs(flat: Option<&[String]>) -> Vec<(String, String)> {
  flat.unwrap_or_default().chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

/// WebSocket messages around `framing`'s frames; unframed, each message is a frame.
/// A transcoded framing's frames are the messages themselves, each transcoded (the
/// messages delimit what its stream framing delimited).
pub fn websocket(role: Role, framing: Codec, config: Option<&FramingConfig>, sending: Option<&SendingConfig>) -> Result<Codec> {
  let max = config.and_then(|f| f.max_frame).map_or(DEFAULT_MAX_FRAME, |m| m as usize);
  let around = |inner: Option<Codec>| -> Result<Codec> {
    let mut ws = WebSocket::new(role, inner, max);
    if let Some(s) = sending {
      let messages = lookup(MESSAGES, &s.messages).ok_or_else(|| invalid(format!("unknown WebSocket messages {:?}", s.messages)))?;
      ws = ws.sending(messages, s.fragment.map(|f| f as usize));
    }
    Ok(Codec::WebSocket(ws))
  };
  match framing {
    Codec::Transcoded(_, pack) => Ok(Codec::Transcoded(Box::new(around(None)?), pack)),
    framing if framing.is_framed() => around(Some(framing)),
    _ => around(None),
  }
}

pub fn listen(c: &ListenConfig) -> Result<ServerOptions> {
  let transport = transport(&c.transport)?;
  let at = match transport {
    Transport::Tcp | Transport::Tls => BindAt::Tcp { host: c.host.clone().unwrap_or_else(|| "127.0.0.1".into()), port: c.port.unwrap_or(0) as u16 },
    Transport::Unix => BindAt::Unix { path: required(c.path.clone(), "path")? },
    Transport::Stdio => return Err(invalid("a server cannot listen on stdio")),
  };
  let bind = Bind { at, backlog: c.backlog.unwrap_or(DEFAULT_BACKLOG) };
  let tls = match transport {
    Transport::Tls => Some(tls::server_config(&tls_options(required(c.tls.as_ref(), "tls")?)).map_err(core_error)?),
    _ => None,
  };
  Ok(ServerOptions { bind, tls, conn: connection(&c.connection)? })
}
