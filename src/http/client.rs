//! A request/response client: each request is one POST to a fixed path, on a
//! keep-alive connection from a pool (at most `max_sockets` open, as Node's agent),
//! dialed like every core connection (TCP, TLS or a unix socket). Answers, and
//! failures, go to JS through the bridge, tagged with the number JS gave the request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::sync::{watch, Semaphore};

use super::collect;
use crate::bridge::{Bridge, Kind};
use crate::guard::{guarded, panic_error};
use crate::error::CoreError;
use crate::runtime;
use crate::transport::dial::{self, Route};

pub struct ClientOptions {
  pub route: Route,
  pub path: String,
  /// Sent with every request (`Host`, `Content-Type` and the user's own among them).
  pub headers: Vec<(HeaderName, HeaderValue)>,
  /// Reuse connections (Node's `keepAlive`); otherwise one connection per request.
  pub keep_alive: bool,
  pub max_sockets: usize,
  /// Idle connections kept for reuse (Node's `maxFreeSockets`).
  pub max_free: usize,
  pub connect_timeout: Option<Duration>,
  /// A request that gets no complete answer in this time fails with `ETIMEDOUT`.
  pub timeout: Option<Duration>,
  pub max_body: usize,
}

pub struct Client {
  id: u32,
  bridge: Arc<Bridge>,
  options: ClientOptions,
  idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
  sockets: Arc<Semaphore>,
  closed: AtomicBool,
  /// Set when the JS environment goes away: nobody waits for answers any more.
  aborted: watch::Sender<bool>,
}

impl Client {
  pub fn new(id: u32, bridge: Arc<Bridge>, options: ClientOptions) -> Arc<Client> {
    let permits = options.max_sockets.min(Semaphore::MAX_PERMITS);
    Arc::new(Client {
      id,
      bridge,
      options,
      idle: Mutex::default(),
      sockets: Arc::new(Semaphore::new(permits)),
      closed: AtomicBool::new(false),
      aborted: watch::Sender::new(false),
    })
  }

  /// Sends `body`; JS hears of request `no` once, with the response or the failure.
  pub fn request(self: &Arc<Self>, no: u32, body: Bytes) {
    let client = self.clone();
    let mut aborted = self.aborted.subscribe();
    runtime::get().spawn(async move {
      let exchange = guarded(client.exchange(body));
      let timed = async {
        match client.options.timeout {
          None => exchange.await,
          Some(t) => tokio::time::timeout(t, exchange).await.unwrap_or_else(|_| Ok(Err(timed_out(t)))),
        }
      };
      // Dropping the exchange drops its connection, which closes the socket.
      let caught = tokio::select! {
        caught = timed => caught,
        _ = aborted.wait_for(|&a| a) => return,
      };
      let result = caught.unwrap_or_else(|panic| Err(panic_error(panic.as_ref(), "an HTTP request")));
      match result {
        Ok((status, body)) => client.bridge.push_parts(client.id, Kind::Response, &[&no.to_le_bytes(), &status.to_le_bytes(), &body]),
        Err(e) => client.bridge.push_parts(client.id, Kind::RequestFailed, &[&no.to_le_bytes(), e.to_json().to_string().as_bytes()]),
      }
    });
  }

  /// Lets idle connections go; requests in flight finish on theirs, which then close.
  pub fn close(&self) {
    self.closed.store(true, Ordering::Relaxed);
    self.idle.lock().unwrap().clear();
  }

  /// The environment is going away: requests in flight are dropped with their
  /// connections, since nobody is left to hear their answers.
  pub fn abort(&self) {
    self.close();
    self.aborted.send_replace(true);
  }

  async fn exchange(&self, body: Bytes) -> Result<(u16, Bytes), CoreError> {
    let _socket = self.sockets.acquire().await.expect("the semaphore is never closed");
    let mut sender = match self.reuse() {
      Some(s) => s,
      None => self.open().await?,
    };
    let mut req = Request::builder().method(Method::POST).uri(self.options.path.as_str());
    for (name, value) in &self.options.headers {
      req = req.header(name, value);
    }
    let length = body.len();
    let mut req = req.body(Full::new(body)).map_err(|e| CoreError::new("ERR_INVALID_ARG_VALUE", format!("invalid HTTP request: {e}")))?;
    // The body's length is the core's to say, whatever the headers given.
    req.headers_mut().insert(header::CONTENT_LENGTH, length.into());
    let res = sender.send_request(req).await.map_err(|e| CoreError::from_hyper(&e))?;
    let status = res.status().as_u16();
    let closing = res.headers().get(header::CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = collect(res.into_body(), self.options.max_body).await?;
    if self.options.keep_alive && !closing && !self.closed.load(Ordering::Relaxed) {
      let mut idle = self.idle.lock().unwrap();
      if idle.len() < self.options.max_free {
        idle.push(sender);
      }
    }
    Ok((status, body))
  }

  /// An idle connection still open, if there is one.
  fn reuse(&self) -> Option<SendRequest<Full<Bytes>>> {
    let mut idle = self.idle.lock().unwrap();
    while let Some(sender) = idle.pop() {
      if sender.is_ready() {
        return Some(sender);
      }
    }
    None
  }

  async fn open(&self) -> Result<SendRequest<Full<Bytes>>, CoreError> {
    let dialed = dial::dial(&self.options.route, self.options.connect_timeout).await?;
    // As Node's http client: requests leave at once, not after the peer's delayed ACK.
    let _ = dialed.stream.socket_options().set_no_delay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(dialed.stream)).await.map_err(|e| CoreError::from_hyper(&e))?;
    // Runs until the connection closes: the server's doing, the pool dropping it, or
    // the environment going away (hyper would otherwise wait for an answer in flight).
    let mut aborted = self.aborted.subscribe();
    runtime::get().spawn(async move {
      tokio::select! {
        _ = conn => {}
        _ = aborted.wait_for(|&a| a) => {}
      }
    });
    Ok(sender)
  }
}

fn timed_out(t: Duration) -> CoreError {
  let mut e = CoreError::new("ETIMEDOUT", format!("HTTP request timed out after {} ms", t.as_millis()));
  e.syscall = Some("read");
  e
}
