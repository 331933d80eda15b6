//! A listening server: accepts connections and hands each to its own driver. The
//! accept loop is shared with the web server (`http::server`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_rustls::rustls::ServerConfig;

use crate::bridge::{Bridge, Kind};
use crate::conn;
use crate::hub::Hub;
use crate::transport::{self, Bind, Incoming};

pub struct ServerOptions {
  pub bind: Bind,
  pub tls: Option<Arc<ServerConfig>>,
  /// Settings for every accepted connection.
  pub conn: conn::Options,
}

/// A server's close signal. Once given it stays given, so whatever waits for it later
/// (a web server's connections) sees it too.
pub struct Closing(watch::Sender<bool>);

impl Default for Closing {
  fn default() -> Self {
    Closing(watch::channel(false).0)
  }
}

impl Closing {
  pub fn close(&self) {
    self.0.send_replace(true);
  }

  pub async fn closed(&self) {
    let mut rx = self.0.subscribe();
    let _ = rx.wait_for(|c| *c).await;
  }
}

/// The JS side's handle on a running server.
pub struct Server {
  closing: Closing,
  /// Node's `maxConnections`, enforced here rather than in JS: a JS thread that is
  /// busy would otherwise let the accept loop take any number of descriptors (a
  /// cap of 10 held 1,300 during a one-second block), where Node's leave the rest
  /// in the kernel's backlog.
  max_connections: AtomicUsize,
  live: Arc<AtomicUsize>,
}

impl Default for Server {
  fn default() -> Self {
    Server { closing: Closing::default(), max_connections: AtomicUsize::new(usize::MAX), live: Arc::default() }
  }
}

/// One accepted connection's place in its server's count, given back when it ends.
pub struct Seat(Arc<AtomicUsize>);

impl Drop for Seat {
  fn drop(&mut self) {
    self.0.fetch_sub(1, Ordering::Relaxed);
  }
}

impl Server {
  /// Stops accepting; connections already accepted carry on.
  pub fn close(&self) {
    self.closing.close();
  }

  /// At most `max` connections at once (`None`: no limit); past it new ones are
  /// closed as soon as they are accepted.
  pub fn set_max_connections(&self, max: Option<usize>) {
    self.max_connections.store(max.unwrap_or(usize::MAX), Ordering::Relaxed);
  }

  /// A seat for a new connection, unless the server is full.
  fn seat(&self) -> Option<Seat> {
    let max = self.max_connections.load(Ordering::Relaxed);
    self.live.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1)).ok()?;
    Some(Seat(self.live.clone()))
  }
}

pub async fn run(hub: Arc<Hub>, id: u32, server: Arc<Server>, options: ServerOptions) {
  let bridge = hub.bridge();
  accept_loop(&bridge, id, &options.bind, options.tls.clone(), &server.closing, |incoming| match server.seat() {
    Some(seat) => hub.accepted(id, options.conn.clone(), incoming, Some(seat)),
    // Closed unannounced (dropping it closes the socket); JS hears who, as Node's 'drop'.
    None => bridge.push(id, Kind::Drop, incoming.addresses().to_json().to_string().as_bytes()),
  })
  .await;
  bridge.push(id, Kind::ServerClose, b"");
}

fn report_accept_error(bridge: &Bridge, id: u32, e: &std::io::Error) {
  bridge.push(id, Kind::Error, crate::error::CoreError::io(e, "accept").to_json().to_string().as_bytes());
}

/// A descriptor held in reserve for when the process has no other (see
/// `accept_loop`), as libuv keeps one per loop.
fn reserve_descriptor() -> Option<std::fs::File> {
  std::fs::File::open("/dev/null").ok()
}

/// Binds (reporting `Listening`, or the error), then hands every connection accepted
/// to `accept` until `closing` is given; the listener is closed when this returns.
pub async fn accept_loop(
  bridge: &Bridge,
  id: u32,
  bind: &Bind,
  tls: Option<Arc<ServerConfig>>,
  closing: &Closing,
  mut accept: impl FnMut(Incoming),
) {
  let listener = tokio::select! {
    _ = closing.closed() => return,
    r = transport::bind(bind, tls) => match r {
      Ok(l) => l,
      Err(e) => return bridge.push(id, Kind::Error, e.to_json().to_string().as_bytes()),
    },
  };
  // Taken before 'listening' is told: from then on the server's descriptors are its
  // own, and counting them must not race with this one.
  let mut reserve = reserve_descriptor();
  bridge.push(id, Kind::Listening, listener.address().to_string().as_bytes());
  // Out of descriptors since the last connection accepted: said once per episode.
  let mut exhausted = false;
  loop {
    tokio::select! {
      _ = closing.closed() => break,
      r = listener.accept() => match r {
        Ok(incoming) => {
          exhausted = false;
          accept(incoming)
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
          if !exhausted {
            exhausted = true;
            report_accept_error(bridge, id, &e);
          }
          if reserve.is_some() {
            // libuv's way, so Node's servers': with the reserved descriptor given
            // back, accept each connection waiting and close it, so its client hears
            // now instead of waiting in the backlog for a descriptor that may never
            // come (JS hears of each, as Node's 'drop'); then reserve one again.
            drop(reserve.take());
            while let Ok(Ok(incoming)) = tokio::time::timeout(Duration::ZERO, listener.accept()).await {
              bridge.push(id, Kind::Drop, incoming.addresses().to_json().to_string().as_bytes());
            }
            reserve = reserve_descriptor();
          } else {
            // No descriptor to give back (another took it): wait, as for other errors.
            tokio::time::sleep(Duration::from_millis(50)).await;
          }
        }
        Err(e) => {
          // Breathe before trying again: the error may well persist.
          report_accept_error(bridge, id, &e);
          tokio::time::sleep(Duration::from_millis(50)).await;
        }
      },
    }
  }
  // Dropping the listener closes it and removes a unix socket's file.
}
