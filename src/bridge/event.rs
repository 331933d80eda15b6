//! Event kinds: the numbers JS reads from here (see `node::boundary`).

numbered! {
pub enum Kind: u8 {
  /// Connected; payload: JSON addresses.
  Connect = 1,
  /// Raw chunk (unframed connections).
  Data = 2,
  /// One complete frame, without its framing.
  Frame = 3,
  /// The peer ended its side.
  End = 4,
  /// Everything written so far is flushed; payload: u64 LE total of accepted bytes.
  Written = 5,
  /// Idle for the configured time.
  Timeout = 6,
  /// Payload: JSON error (`code`, `message`, ...), with `fatal: true` when the
  /// connection's close follows, and `writeEnd` when it refuses one write.
  Error = 7,
  /// Payload: JSON `{delay, attempt, error?, dropped?}`: the error that caused it, and
  /// the byte range of writes given up on (when unsent writes are not resent).
  Reconnecting = 8,
  /// An established connection was lost and will be reconnected; payload: JSON
  /// `{error, dropped, written}`.
  Disconnect = 9,
  /// The last event of a connection; payload: JSON `{hadError, waiting, stats}`.
  Close = 10,
  /// The child process of a stdio connection exited; payload: JSON `{code, signal}`.
  Exit = 11,
  /// The peer closed its WebSocket; payload: JSON `{code, reason}`. `End` follows.
  PeerClosed = 12,
  /// A reconnecting client starts attempt `n` after its wait; payload: JSON `{attempt}`.
  Dialing = 13,
  /// The connection's heartbeat interval passed (see `Control::Heartbeat`).
  Heartbeat = 14,
  /// Server bound; payload: JSON address.
  Listening = 20,
  /// Server accepted; payload: u32 LE connection id, then JSON addresses.
  Connection = 21,
  /// Server stopped listening.
  ServerClose = 22,
  /// A web server's request for JS; payload: u32 LE request number, u8 flags
  /// (`http::server::{ORIGIN_DENIED, UPGRADE}`), then the method, the path and the
  /// `Origin` header each as u16 LE length and text, then the body.
  Request = 23,
  /// Server over `maxConnections` closed a connection at once; payload: JSON addresses.
  Drop = 24,
  /// A web server asks JS whether to take a WebSocket upgrade; payload: u32 LE
  /// request number, then JSON `{path, origin, protocol}`.
  Upgrade = 25,
  /// An HTTP client's answer; payload: u32 LE request number, u16 LE status, body.
  Response = 30,
  /// An HTTP request failed; payload: u32 LE request number, then JSON error.
  RequestFailed = 31,
}
}
