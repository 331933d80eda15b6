//! Errors as JS sees them: a Node-style `code` (`ECONNREFUSED`, `ERR_FRAME_TOO_LARGE`),
//! a message, and the fields Node puts on system errors.

use std::io;

use serde_json::{json, Value};

use crate::codec::FrameError;

#[derive(Debug, Clone)]
pub struct CoreError {
  pub code: String,
  pub message: String,
  pub errno: Option<i32>,
  pub syscall: Option<&'static str>,
  pub address: Option<String>,
  pub port: Option<u16>,
}

impl CoreError {
  pub fn new(code: &str, message: impl Into<String>) -> Self {
    CoreError { code: code.into(), message: message.into(), errno: None, syscall: None, address: None, port: None }
  }

  /// A system error as Node reports it: `connect ECONNREFUSED 127.0.0.1:9`.
  pub fn io(err: &io::Error, syscall: &'static str) -> Self {
    let (code, errno) = match err.raw_os_error() {
      Some(n) => (errno_name(n).map(str::to_owned).unwrap_or_else(|| format!("E{n}")), Some(-n)),
      None => (kind_name(err.kind()).to_owned(), None),
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
    let mut v = json!({ "code": self.code, "message": self.message });
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
    let cut_short = e.is_body_write_aborted() || source.is_some() || e.to_string().contains("end of file");
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() || cut_short {
      let mut err = CoreError::new("ECONNRESET", "socket hang up");
      err.syscall = Some("read");
      return err;
    }
    if e.is_timeout() {
      return CoreError::new("ETIMEDOUT", "HTTP request timed out");
    }
    if e.is_parse() {
      return CoreError::new("HPE_INVALID", format!("Parse Error: {e}"));
    }
    CoreError::new("ERR_HTTP", e.to_string())
  }
}

impl From<FrameError> for CoreError {
  fn from(e: FrameError) -> Self {
    let code = match e {
      FrameError::TooLarge { .. } => "ERR_FRAME_TOO_LARGE",
      FrameError::Malformed { .. } => "ERR_FRAME_MALFORMED",
      FrameError::Closed { .. } => "ERR_WS_CLOSED",
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

fn kind_name(kind: io::ErrorKind) -> &'static str {
  use io::ErrorKind::*;
  match kind {
    ConnectionRefused => "ECONNREFUSED",
    ConnectionReset => "ECONNRESET",
    BrokenPipe => "EPIPE",
    TimedOut => "ETIMEDOUT",
    NotFound => "ENOTFOUND",
    UnexpectedEof => "ECONNRESET",
    InvalidData => "ERR_INVALID_DATA",
    _ => "ERR_IO",
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn system_errors_look_like_node() {
    let e = CoreError::io(&io::Error::from_raw_os_error(libc::ECONNREFUSED), "connect").at("127.0.0.1", Some(9));
    assert_eq!(e.code, "ECONNREFUSED");
    assert_eq!(e.message, "connect ECONNREFUSED 127.0.0.1:9");
    let v = e.to_json();
    assert_eq!(v["errno"], -libc::ECONNREFUSED);
    assert_eq!(v["syscall"], "connect");
    assert_eq!(v["port"], 9);
  }

  #[test]
  fn frame_errors_have_a_code() {
    let e: CoreError = FrameError::TooLarge { size: 9, max: 8 }.into();
    assert_eq!(e.code, "ERR_FRAME_TOO_LARGE");
    let e: CoreError = FrameError::Malformed { offset: 3, reason: "expected a key" }.into();
    assert_eq!(e.code, "ERR_FRAME_MALFORMED");
    assert_eq!(e.message, "malformed frame at byte 3: expected a key");
  }
}
