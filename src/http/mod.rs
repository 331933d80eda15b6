//! HTTP/1.1 on hyper, for protocols that ride it: a pooled request/response client
//! that writes requests in call order (thrift's HttpConnection rides it), and a
//! generic web server that hands JS what it does not serve itself, serves files and
//! upgrades WebSockets into core connections (thrift's createWebServer and jstp's ws
//! servers ride it).

pub mod client;
pub mod server;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use crate::error::{Code, CoreError};

/// Reads a whole body of at most `max` bytes.
async fn collect<B>(body: B, max: usize) -> Result<Bytes, CoreError>
where
  B: hyper::body::Body<Data = Bytes, Error = hyper::Error>,
{
  match Limited::new(body, max).collect().await {
    Ok(collected) => Ok(collected.to_bytes()),
    Err(e) if e.is::<http_body_util::LengthLimitError>() => {
      Err(CoreError::new(Code::HttpBodyTooLarge, format!("HTTP body exceeds the maximum of {max} bytes")))
    }
    Err(e) => Err(match e.downcast::<hyper::Error>() {
      Ok(e) => CoreError::from_hyper(&e),
      Err(e) => CoreError::new(Code::Http, e.to_string()),
    }),
  }
}
