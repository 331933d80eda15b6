//! Event kinds, shared with `lib/bridge.js` (keep the numbers in step).

#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
  /// Payload: JSON error.
  Error = 7,
  /// Payload: JSON `{delay, attempt}`; the error that caused it, if any, came first.
  Reconnecting = 8,
  /// An established connection was lost and will be reconnected.
  Disconnect = 9,
  /// The last event of a connection; payload: JSON `{hadError}`.
  Close = 10,
  /// The child process of a stdio connection exited; payload: JSON `{code, signal}`.
  Exit = 11,
  /// The peer closed its WebSocket; payload: JSON `{code, reason}`. `End` follows.
  PeerClosed = 12,
  /// Server bound; payload: JSON address.
  Listening = 20,
  /// Server accepted; payload: u32 LE connection id, then JSON addresses.
  Connection = 21,
  /// Server stopped listening.
  ServerClose = 22,
  /// A web server's request for JS; payload: u32 LE request number, u32 LE service
  /// index, then the body.
  Request = 23,
  /// Server over `maxConnections` closed a connection at once; payload: JSON addresses.
  Drop = 24,
  /// An HTTP client's answer; payload: u32 LE request number, u16 LE status, body.
  Response = 30,
  /// An HTTP request failed; payload: u32 LE request number, then JSON error.
  RequestFailed = 31,
}
