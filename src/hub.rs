//! One JS environment's share of the core: its bridge, and its connections and
//! servers by id. Node's main thread and each worker thread have their own hub, so
//! tearing one down touches nothing of the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::bridge::{Bridge, Kind};
use crate::conn::{self, Origin, Shared};
use crate::guard::{guarded, panic_error};
use crate::http::client::{Client as HttpClient, ClientOptions as HttpOptions};
use crate::http::server::{self as web, WebOptions, WebServer};
use crate::runtime;
use crate::server::{self, Seat, Server, ServerOptions};
use crate::transport::listen::Incoming;

enum Handle {
  Conn(Arc<Shared>),
  Server(Arc<Server>),
  Http(Arc<HttpClient>),
  Web(Arc<WebServer>),
}

pub struct Hub {
  bridge: Arc<Bridge>,
  handles: Mutex<HashMap<u32, Handle>>,
  next_id: AtomicU32,
}

impl Hub {
  pub fn new(bridge: Arc<Bridge>) -> Arc<Hub> {
    Arc::new(Hub { bridge, handles: Mutex::new(HashMap::new()), next_id: AtomicU32::new(1) })
  }

  pub fn bridge(&self) -> Arc<Bridge> {
    self.bridge.clone()
  }

  fn next_id(&self) -> u32 {
    self.next_id.fetch_add(1, Ordering::Relaxed)
  }

  /// Registers a connection; it starts when the returned function is called, and
  /// holds `seat` (a server's count of its connections) until it ends.
  pub fn connection(self: &Arc<Self>, options: conn::Options) -> (u32, impl FnOnce(Origin, Option<Seat>)) {
    let id = self.next_id();
    let (shared, driver) = Shared::new(id, self.bridge.clone(), options);
    self.handles.lock().unwrap().insert(id, Handle::Conn(shared.clone()));
    let hub = self.clone();
    let start = move |origin, seat: Option<Seat>| {
      hub.drive(shared, async move {
        driver.run(origin).await;
        drop(seat);
      })
    };
    (id, start)
  }

  /// Runs a connection's driver; a panic in it fails that connection alone.
  fn drive(self: Arc<Self>, shared: Arc<Shared>, run: impl Future<Output = ()> + Send + 'static) {
    // Boxed: held inline, the driver's state machine was stored twice over in the
    // task (as `run` and inside `guarded(run)`), about 12 KB for every connection.
    let run = Box::pin(run);
    runtime::get().spawn(async move {
      if let Err(panic) = guarded(run).await {
        // Reported while the driver's socket is still open (it is dropped at the
        // end of this statement), so no direct write can reach a reused descriptor.
        shared.abandon(&panic_error(panic.as_ref(), "a connection"));
      }
      self.handles.lock().unwrap().remove(&shared.id);
    });
  }

  /// A connection `server` accepted, announced as its own before its driver runs, so
  /// JS knows the id before any event of it.
  pub fn accepted(self: &Arc<Self>, server: u32, options: conn::Options, incoming: Incoming, seat: Option<Seat>) {
    let addresses = incoming.addresses().to_json().to_string();
    let (id, start) = self.connection(options);
    self.bridge.push_parts(server, Kind::Connection, &[&id.to_le_bytes(), addresses.as_bytes()]);
    start(Origin::Accepted(incoming), seat);
  }

  pub fn connect(self: &Arc<Self>, options: conn::Options, origin: Origin) -> u32 {
    let (id, start) = self.connection(options);
    start(origin, None);
    id
  }

  pub fn listen(self: &Arc<Self>, options: ServerOptions) -> u32 {
    let handle = Arc::new(Server::default());
    self.serve(Handle::Server(handle.clone()), move |hub, id| server::run(hub, id, handle, options))
  }

  pub fn web_listen(self: &Arc<Self>, options: WebOptions) -> u32 {
    let handle = Arc::new(WebServer::default());
    self.serve(Handle::Web(handle.clone()), move |hub, id| web::run(hub, id, handle, options))
  }

  /// Registers a server's handle and runs it; the handle goes when `run` ends.
  fn serve<F: Future<Output = ()> + Send + 'static>(self: &Arc<Self>, handle: Handle, run: impl FnOnce(Arc<Hub>, u32) -> F) -> u32 {
    let id = self.next_id();
    self.handles.lock().unwrap().insert(id, handle);
    let hub = self.clone();
    let running = run(hub.clone(), id);
    runtime::get().spawn(async move {
      if let Err(panic) = guarded(running).await {
        // Its listener goes with it; the connections it accepted run on their own.
        hub.bridge.push(id, Kind::Error, panic_error(panic.as_ref(), "a server").to_json().to_string().as_bytes());
        hub.bridge.push(id, Kind::ServerClose, b"");
      }
      hub.handles.lock().unwrap().remove(&id);
    });
    id
  }

  pub fn server(&self, id: u32) -> Option<Arc<Server>> {
    match self.handles.lock().unwrap().get(&id) {
      Some(Handle::Server(s)) => Some(s.clone()),
      _ => None,
    }
  }

  pub fn web(&self, id: u32) -> Option<Arc<WebServer>> {
    match self.handles.lock().unwrap().get(&id) {
      Some(Handle::Web(w)) => Some(w.clone()),
      _ => None,
    }
  }

  /// An HTTP client lives until `close_http`; its requests each run on their own.
  pub fn http_client(self: &Arc<Self>, options: HttpOptions) -> u32 {
    let id = self.next_id();
    let client = HttpClient::new(id, self.bridge.clone(), options);
    self.handles.lock().unwrap().insert(id, Handle::Http(client));
    id
  }

  pub fn http(&self, id: u32) -> Option<Arc<HttpClient>> {
    match self.handles.lock().unwrap().get(&id) {
      Some(Handle::Http(c)) => Some(c.clone()),
      _ => None,
    }
  }

  pub fn close_http(&self, id: u32) {
    if let Some(Handle::Http(c)) = self.handles.lock().unwrap().remove(&id) {
      c.close();
    }
  }

  pub fn conn(&self, id: u32) -> Option<Arc<Shared>> {
    match self.handles.lock().unwrap().get(&id) {
      Some(Handle::Conn(c)) => Some(c.clone()),
      _ => None,
    }
  }

  pub fn close_server(&self, id: u32) {
    match self.handles.lock().unwrap().get(&id) {
      Some(Handle::Server(s)) => s.close(),
      Some(Handle::Web(w)) => w.close(),
      _ => {}
    }
  }

  /// The environment is going away: close everything it owns, now.
  pub fn shutdown(&self) {
    for handle in self.handles.lock().unwrap().values() {
      match handle {
        Handle::Conn(c) => c.control(conn::Control::Destroy),
        Handle::Server(s) => s.close(),
        Handle::Http(c) => c.abort(),
        Handle::Web(w) => w.abort(),
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::bridge::tests::{records, CountingWake};

  #[test]
  fn a_panicking_driver_fails_its_connection_alone() {
    let hub = Hub::new(Arc::new(Bridge::new(Box::new(CountingWake::default()))));
    let (shared, _driver) = Shared::new(7, hub.bridge(), conn::Options::default());
    hub.handles.lock().unwrap().insert(7, Handle::Conn(shared.clone()));
    hub.clone().drive(shared, async { panic!("a bug") });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while hub.conn(7).is_some() && std::time::Instant::now() < deadline {
      std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut events = Vec::new();
    hub.bridge().drain(|b, _| events = records(b));
    let kinds: Vec<u8> = events.iter().map(|e| e.1).collect();
    assert_eq!(kinds, vec![Kind::Error as u8, Kind::Close as u8]);
    let error: serde_json::Value = serde_json::from_slice(&events[0].2).unwrap();
    assert_eq!(error["code"], "ERR_CONNKIT_PANIC");
    assert!(error["message"].as_str().unwrap().ends_with("a bug"));
    let close: serde_json::Value = serde_json::from_slice(&events[1].2).unwrap();
    assert_eq!(close["hadError"], true);
    assert!(hub.conn(7).is_none(), "the hub let go of it");
  }
}
