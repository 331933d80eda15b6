//! Errors as JS sees them: a Node-style `code` (`ECONNREFUSED`, `ERR_FRAME_TOO_LARGE`),
//! a message, and the fields Node puts on system errors. Inside the core a code is a
//! [`Code`], matched as a kind; its text is made only for JS.

use std::borrow::Cow;
use std::io;

use serde_json::{json, Value};

use crate::codec::FrameError;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
  /// A system error number: its name as Node reports it (`ECONNREFUSED`), or `E<n>`.
  Errno(i32),
  ConnectionRefused,
  ConnectionReset,
  BrokenPipe,
  TimedOut,
  /// `ENOTFOUND`: a name that does not resolve.
  NotFound,
  /// Any other I/O failure.
  Io,
  InvalidData,
  InvalidArgument,
  ReconnectFailed,
  OfflineQueueFull,
  FrameTooLarge,
  FrameMalformed,
  WsClosed,
  WsHandshake,
  Http,
  HttpParse,
  HttpBodyTooLarge,
  TlsCertInvalid,
  TlsHandshake,
  TlsInvalidOption,
  /// A Rust panic, caught: a bug in connkit.
  Panic,
}

impl Code {
  /// The `code` JS sees.
  pub fn as_str(self) -> Cow<'static, str> {
    Cow::Borrowed(match self {
      Code::Errno(n) => return errno_name(n).map_or_else(|| Cow::Owned(format!("E{n}")), Cow::Borrowed),
      Code::ConnectionRefused => "ECONNREFUSED",
      Code::ConnectionReset => "ECONNRESET",
      Code::BrokenPipe => "EPIPE",
      Code::TimedOut => "ETIMEDOUT",
      Code::NotFound => "ENOTFOUND",
      Code::Io => "ERR_IO",
      Code::InvalidData => "ERR_INVALID_DATA",
      Code::InvalidArgument => "ERR_INVALID_ARG_VALUE",
      Code::ReconnectFailed => "ERR_RECONNECT_FAILED",
      Code::OfflineQueueFull => "ERR_OFFLINE_QUEUE_FULL",
      Code::FrameTooLarge => "ERR_FRAME_TOO_LARGE",
      Code::FrameMalformed => "ERR_FRAME_MALFORMED",
      Code::WsClosed => "ERR_WS_CLOSED",
      Code::WsHandshake => "ERR_WS_HANDSHAKE",
      Code::Http => "ERR_HTTP",
      Code::HttpParse => "HPE_INVALID",
      Code::HttpBodyTooLarge => "ERR_HTTP_BODY_TOO_LARGE",
      Code::TlsCertInvalid => "ERR_TLS_CERT_INVALID",
      Code::TlsHandshake => "ERR_TLS_HANDSHAKE",
      Code::TlsInvalidOption => "ERR_TLS_INVALID_OPTION",
      Code::Panic => "ERR_CONNKIT_PANIC",
    })
  }
}

impl std::fmt::Display for Code {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.as_str())
  }
}

#[derive(Debug, Clone)]
pub struct CoreError {
  pub code: Code,
  pub message: String,
  pub errno: Option<i32>,
  pub syscall: Option<&'static str>,
  pub address: Option<String>,
  pub port: Option<u16>,
}

impl CoreError {
  pub fn new(code: Code, message: impl Into<String>) -> Self {
    CoreError { code, message: message.into(), errno: None, syscall: None, address: None, port: None }
  }

  /// A system error as Node reports it: `connect ECONNREFUSED 127.0.0.1:9`.
  pub fn io(err: &io::Error, syscall: &'static str) -> Self {
    let (code, errno) = match err.raw_os_error() {
      Some(n) => (Code::Errno(n), Some(-n)),
      None => (kind_code(err.kind()), None),
    };
    CoreError { message: format!("{syscall} {code}"), code, errno, syscall: Some(syscall), address: None, port: None }
  }

  pub fn at(mut self, address: impl Into<String>, port: Option<u16>) -> Self {
    let address = address.into();
    self.message = match port {
      Some(p) => format!("{} {address}:{p}", self.message),
      None => format!("{} {address}", self.message),
    };
    self.address = Some(address);
    self.port = port;
    self
  }

  pub fn to_json(&self) -> Value {
    let mut v = json!({ "code": self.code.as_str(), "message": self.message });
    if let Some(e) = self.errno {
      v["errno"] = e.into();
    }
    if let Some(s) = self.syscall {
      v["syscall"] = s.into();
    }
    if let Some(a) = &self.address {
      v["address"] = a.as_str().into();
    }
    if let Some(p) = self.port {
      v["port"] = p.into();
    }
    v
  }
}

impl CoreError {
  /// hyper's errors in Node's words where Node has some: a socket error underneath as
  /// itself, a peer gone mid-message as a reset (`socket hang up`).
  pub fn from_hyper(e: &hyper::Error) -> Self {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
      if let Some(io) = inner.downcast_ref::<std::io::Error>() {
        if io.kind() != std::io::ErrorKind::UnexpectedEof {
          return CoreError::io(io, "read");
        }
        break;
      }
      source = inner.source();
    }
    // An end of file underneath (`source`) is a peer gone mid-message too.
    let cut_short = e.is_body_write_aborted() || source.is_some();
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() || cut_short {
      let mut err = CoreError::new(Code::ConnectionReset, "socket hang up");
      err.syscall = Some("read");
      return err;
    }
    if e.is_timeout() {
      return CoreError::new(Code::TimedOut, "HTTP request timed out");
    }
    if e.is_parse() {
      return CoreError::new(Code::HttpParse, format!("Parse Error: {e}"));
    }
    CoreError::new(Code::Http, e.to_string())
  }
}

impl From<FrameError> for CoreError {
  fn from(e: FrameError) -> Self {
    let code = match e {
      FrameError::TooLarge { .. } => Code::FrameTooLarge,
      FrameError::Malformed { .. } => Code::FrameMalformed,
      FrameError::Closed { .. } => Code::WsClosed,
    };
    CoreError::new(code, e.to_string())
  }
}

impl std::fmt::Display for CoreError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "{}: {}", self.code, self.message)
  }
}

fn errno_name(n: i32) -> Option<&'static str> {
  Some(match n {
    libc::ECONNREFUSED => "ECONNREFUSED",
    libc::ECONNRESET => "ECONNRESET",
    libc::ECONNABORTED => "ECONNABORTED",
    libc::EPIPE => "EPIPE",
    libc::ETIMEDOUT => "ETIMEDOUT",
    libc::EHOSTUNREACH => "EHOSTUNREACH",
    libc::ENETUNREACH => "ENETUNREACH",
    libc::EADDRINUSE => "EADDRINUSE",
    libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
    libc::EACCES => "EACCES",
    libc::EPERM => "EPERM",
    libc::ENOENT => "ENOENT",
    libc::ENOTDIR => "ENOTDIR",
    libc::EINVAL => "EINVAL",
    libc::EMFILE => "EMFILE",
    libc::ENFILE => "ENFILE",
    libc::ENOTSOCK => "ENOTSOCK",
    libc::ENAMETOOLONG => "ENAMETOOLONG",
    libc::EAGAIN => "EAGAIN",
    _ => return None,
  })
}

fn kind_code(kind: io::ErrorKind) -> Code {
  use io::ErrorKind::*;
  match kind {
    ConnectionRefused => Code::ConnectionRefused,
    ConnectionReset | UnexpectedEof => Code::ConnectionReset,
    BrokenPipe => Code::BrokenPipe,
    TimedOut => Code::TimedOut,
    NotFound => Code::NotFound,
    InvalidData => Code::InvalidData,
    _ => Code::Io,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn system_errors_look_like_node() {
    let e = CoreError::io(&io::Error::from_raw_os_error(libc::ECONNREFUSED), "connect").at("127.0.0.1", Some(9));
    assert_eq!(e.code.as_str(), "ECONNREFUSED");
    assert_eq!(e.message, "connect ECONNREFUSED 127.0.0.1:9");
    let v = e.to_json();
    assert_eq!(v["errno"], -libc::ECONNREFUSED);
    assert_eq!(v["syscall"], "connect");
    assert_eq!(v["port"], 9);
  }

  #[test]
  fn frame_errors_have_a_code() {
    let e: CoreError = FrameError::TooLarge { size: 9, max: 8 }.into();
    assert_eq!(e.code, Code::FrameTooLarge);
    let e: CoreError = FrameError::Malformed { offset: 3, reason: "expected a key" }.into();
    assert_eq!(e.code, Code::FrameMalformed);
    assert_eq!(e.message, "malformed frame at byte 3: expected a key");
  }
}
