//! A listening server: accepts connections and hands each to its own driver.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_rustls::rustls::ServerConfig;

use crate::bridge::Kind;
use crate::conn::{self, Origin};
use crate::hub::Hub;
use crate::transport::{self, Bind};

pub struct ServerOptions {
  pub bind: Bind,
  pub tls: Option<Arc<ServerConfig>>,
  /// Settings for every accepted connection.
  pub conn: conn::Options,
}

/// The JS side's handle on a running server.
#[derive(Default)]
pub struct Server {
  close: Notify,
}

impl Server {
  /// Stops accepting; connections already accepted carry on.
  pub fn close(&self) {
    self.close.notify_one();
  }
}

pub async fn run(hub: Arc<Hub>, id: u32, server: Arc<Server>, options: ServerOptions) {
  let bridge = hub.bridge();
  let listener = tokio::select! {
    _ = server.close.notified() => None,
    r = transport::bind(&options.bind, options.tls.clone()) => match r {
      Ok(l) => Some(l),
      Err(e) => {
        bridge.push(id, Kind::Error, e.to_json().to_string().as_bytes());
        None
      }
    },
  };
  if let Some(listener) = listener {
    bridge.push(id, Kind::Listening, listener.address().to_string().as_bytes());
    loop {
      tokio::select! {
        _ = server.close.notified() => break,
        r = listener.accept() => match r {
          Ok(incoming) => {
            let addresses = incoming.addresses().to_json().to_string();
            let (conn_id, start) = hub.connection(options.conn.clone());
            // Announced before its driver runs, so JS knows the id before any event of it.
            bridge.push_parts(id, Kind::Connection, &[&conn_id.to_le_bytes(), addresses.as_bytes()]);
            start(Origin::Accepted(incoming));
          }
          // Out of descriptors and the like: report, breathe, keep serving.
          Err(e) => {
            let err = crate::error::CoreError::io(&e, "accept");
            bridge.push(id, Kind::Error, err.to_json().to_string().as_bytes());
            tokio::time::sleep(Duration::from_millis(50)).await;
          }
        },
      }
    }
    // Dropping the listener closes it and removes a unix socket's file.
  }
  bridge.push(id, Kind::ServerClose, b"");
}
