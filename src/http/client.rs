//! A request/response client: each request is one POST to a fixed path, on a
//! keep-alive connection from a pool (at most `max_sockets` open, as Node's agent),
//! dialed like every core connection (TCP, TLS or a unix socket). Requests are
//! written in the order they were made. Answers, and failures, go to JS through the
//! bridge, tagged with the number JS gave the request.

use std::collections::{BTreeMap, BTreeSet};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
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
use crate::error::{Code, CoreError};
use crate::runtime;
use crate::transport::dial::{self, Route};
use crate::transport::Stream;

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
  idle: Mutex<Vec<Pooled>>,
  sockets: Arc<Semaphore>,
  closed: AtomicBool,
  /// Set when the JS environment goes away: nobody waits for answers any more.
  aborted: watch::Sender<bool>,
  /// Numbers requests in the order JS made them.
  tickets: AtomicU64,
  turns: Turns,
}

type Connection = hyper::client::conn::http1::Connection<TokioIo<Stream>, Full<Bytes>>;

/// One keep-alive connection. Its I/O runs in the task of the request using it (the
/// connection future is polled there, not spawned), so a request is on the wire by
/// the time its task lets the next request go: see [`Turns`].
struct Pooled {
  sender: SendRequest<Full<Bytes>>,
  connection: Pin<Box<Connection>>,
  /// The connection future has finished: the socket is closed.
  finished: bool,
}

impl Pooled {
  /// Runs `work` while doing the connection's I/O, which `work` waits on; `turn`, if
  /// given, is let go once the connection has been polled, that is, once whatever
  /// request was queued on it has been written to the socket.
  async fn alongside<F: Future>(&mut self, mut turn: Option<Turn<'_>>, work: F) -> F::Output {
    let mut work = pin!(work);
    poll_fn(|cx| {
      if !self.finished && self.connection.as_mut().poll(cx).is_ready() {
        self.finished = true;
      }
      drop(turn.take());
      work.as_mut().poll(cx)
    })
    .await
  }
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
      tickets: AtomicU64::new(0),
      turns: Turns::default(),
    })
  }

  /// Sends `body`; JS hears of request `no` once, with the response or the failure.
  pub fn request(self: &Arc<Self>, no: u32, body: Bytes) {
    let client = self.clone();
    let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
    let mut aborted = self.aborted.subscribe();
    runtime::get().spawn(async move {
      let exchange = guarded(client.exchange(body, client.turns.take(ticket)));
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

  async fn exchange(&self, body: Bytes, turn: Turn<'_>) -> Result<(u16, Bytes), CoreError> {
    let _socket = self.sockets.acquire().await.expect("the semaphore is never closed");
    let mut pooled = match self.reuse().await {
      Some(p) => p,
      None => self.open().await?,
    };
    let mut req = Request::builder().method(Method::POST).uri(self.options.path.as_str());
    for (name, value) in &self.options.headers {
      req = req.header(name, value);
    }
    let length = body.len();
    let mut req = req.body(Full::new(body)).map_err(|e| CoreError::new(Code::InvalidArgument, format!("invalid HTTP request: {e}")))?;
    // The body's length is the core's to say, whatever the headers given.
    req.headers_mut().insert(header::CONTENT_LENGTH, length.into());
    // Requests leave in the order they were made, whichever connection each found
    // first: the original's calls made together are answered in call order.
    turn.wait().await;
    let response = pooled.sender.send_request(req);
    let max_body = self.options.max_body;
    let answer = pooled
      .alongside(Some(turn), async move {
        let res = response.await.map_err(|e| CoreError::from_hyper(&e))?;
        let status = res.status().as_u16();
        let closing = res.headers().get(header::CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        Ok::<_, CoreError>((status, closing, collect(res.into_body(), max_body).await?))
      })
      .await;
    let (status, closing, body) = answer?;
    if self.options.keep_alive && !closing && !pooled.finished && !self.closed.load(Ordering::Relaxed) {
      let mut idle = self.idle.lock().unwrap();
      if idle.len() < self.options.max_free {
        idle.push(pooled);
      }
    }
    Ok((status, body))
  }

  /// An idle connection still open and ready for a request, if there is one. Idle
  /// connections are not polled, so one the server closed meanwhile is found out
  /// here: polled again, it finishes, or it asks for its next request.
  async fn reuse(&self) -> Option<Pooled> {
    loop {
      let mut pooled = self.idle.lock().unwrap().pop()?;
      let Pooled { sender, connection, .. } = &mut pooled;
      let ready = poll_fn(|cx| {
        if connection.as_mut().poll(cx).is_ready() {
          return Poll::Ready(false);
        }
        sender.poll_ready(cx).map(|ready| ready.is_ok())
      })
      .await;
      if ready {
        return Some(pooled);
      }
    }
  }

  async fn open(&self) -> Result<Pooled, CoreError> {
    let dialed = dial::dial(&self.options.route, self.options.connect_timeout).await?;
    // As Node's http client: requests leave at once, not after the peer's delayed ACK.
    let _ = dialed.stream.socket_options().set_no_delay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(dialed.stream)).await.map_err(|e| CoreError::from_hyper(&e))?;
    Ok(Pooled { sender, connection: Box::pin(connection), finished: false })
  }
}

/// Lets requests write in ticket order. A request waits for its turn only once its
/// connection is at hand, so dials and pool waits still overlap; the turn passes on
/// when the request has been written, failed, or been dropped (a timeout, a dial that
/// failed), so no request waits on one that will never write.
#[derive(Default)]
struct Turns(Mutex<TurnState>);

#[derive(Default)]
struct TurnState {
  next: u64,
  /// Tickets given up before their turn came: skipped when it does.
  gone: BTreeSet<u64>,
  waiting: BTreeMap<u64, Waker>,
}

impl Turns {
  fn take(&self, ticket: u64) -> Turn<'_> {
    Turn { turns: self, ticket }
  }

  fn pass(&self, ticket: u64) {
    let mut state = self.0.lock().unwrap();
    if state.next != ticket {
      state.gone.insert(ticket);
      return;
    }
    let mut next = ticket + 1;
    while state.gone.remove(&next) {
      next += 1;
    }
    state.next = next;
    if let Some(waker) = state.waiting.remove(&next) {
      waker.wake();
    }
  }
}

/// A request's place in the write order; dropping it passes the turn on.
struct Turn<'a> {
  turns: &'a Turns,
  ticket: u64,
}

impl Turn<'_> {
  async fn wait(&self) {
    poll_fn(|cx| {
      let mut state = self.turns.0.lock().unwrap();
      if state.next == self.ticket {
        return Poll::Ready(());
      }
      state.waiting.insert(self.ticket, cx.waker().clone());
      Poll::Pending
    })
    .await
  }
}

impl Drop for Turn<'_> {
  fn drop(&mut self) {
    let mut state = self.turns.0.lock().unwrap();
    state.waiting.remove(&self.ticket);
    drop(state);
    self.turns.pass(self.ticket);
  }
}

fn timed_out(t: Duration) -> CoreError {
  let mut e = CoreError::new(Code::TimedOut, format!("HTTP request timed out after {} ms", t.as_millis()));
  e.syscall = Some("read");
  e
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::Arc;

  /// Requests whose connections come in any order, some failing before their turn,
  /// still write in ticket order.
  #[tokio::test]
  async fn requests_write_in_ticket_order() {
    let turns = Arc::new(Turns::default());
    let written = Arc::new(Mutex::new(Vec::new()));
    // Connections ready in reverse order; tickets 3 and 6 fail before their turn.
    let mut tasks = Vec::new();
    for ticket in (0..10u64).rev() {
      let (turns, written) = (turns.clone(), written.clone());
      tasks.push(tokio::spawn(async move {
        let turn = turns.take(ticket);
        tokio::time::sleep(Duration::from_millis(10 - ticket)).await; // the connection
        if ticket == 3 || ticket == 6 {
          return; // a dial that failed: the turn passes on when dropped
        }
        turn.wait().await;
        written.lock().unwrap().push(ticket);
      }));
    }
    for task in tasks {
      tokio::time::timeout(Duration::from_secs(5), task).await.expect("no request waits forever").unwrap();
    }
    assert_eq!(*written.lock().unwrap(), vec![0, 1, 2, 4, 5, 7, 8, 9]);
  }

  /// A turn given up while it is current lets the next go at once.
  #[test]
  fn a_dropped_turn_passes_on() {
    let turns = Turns::default();
    let (a, b) = (turns.take(0), turns.take(1));
    drop(b); // gone before its turn
    drop(a);
    assert_eq!(turns.0.lock().unwrap().next, 2);
    assert!(turns.0.lock().unwrap().gone.is_empty());
  }
}
