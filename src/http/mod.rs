//! HTTP/1.1 on hyper, for protocols that ride it: a pooled request/response client
//! (thrift's HttpConnection), and a web server answering POSTs, serving files and
//! upgrading WebSockets into core connections (thrift's createWebServer).

pub mod client;
pub mod server;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use crate::error::CoreError;

/// Reads a whole body of at most `max` bytes.
async fn collect<B>(body: B, max: usize) -> Result<Bytes, CoreError>
where
  B: hyper::body::Body<Data = Bytes, Error = hyper::Error>,
{
  match Limited::new(body, max).collect().await {
    Ok(collected) => Ok(collected.to_bytes()),
    Err(e) if e.is::<http_body_util::LengthLimitError>() => {
      Err(CoreError::new("ERR_HTTP_BODY_TOO_LARGE", format!("HTTP body exceeds the maximum of {max} bytes")))
    }
    Err(e) => Err(match e.downcast::<hyper::Error>() {
      Ok(e) => hyper_error(&e),
      Err(e) => CoreError::new("ERR_HTTP", e.to_string()),
    }),
  }
}

/// hyper's errors in Node's words where Node has some.
fn hyper_error(e: &hyper::Error) -> CoreError {
  // A socket error underneath: as Node reports it, a peer gone mid-body as a reset.
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
