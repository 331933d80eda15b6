//! The driver's reconnect and resend state machine, against real loopback listeners.
//!
//! Each test runs one dialing connection on a [`Hub`] of its own (so every event on
//! its bridge is that connection's) and plays the peer with plain blocking std
//! sockets on the test thread. Under `cargo test` the bridge does not hand sockets to
//! the JS thread, so the driver reads them itself and pushes `Data`/`Frame` events.
//!
//! Policies have no jitter, so delays are exact. Every wait is bounded by
//! [`DEADLINE`]; every connection is destroyed (and its driver seen gone) when its
//! [`Client`] drops, also when a test fails.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Control, Options, Origin, Shared};
use crate::bridge::tests::{records, CountingWake};
use crate::bridge::{Bridge, Kind};
use crate::codec::{Codec, LengthPrefixed};
use crate::hub::Hub;
use crate::policy::backoff::{Backoff, Cap, Jitter, Policy};
use crate::transport::dial::{Route, Target};

/// The longest any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(2);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(200);
/// Larger than loopback's send buffer (tcp_wmem max 4 MiB here) plus a peer receive
/// window clamped to a few KiB: a write this size cannot all leave.
const BULK: usize = 8 << 20;

// ---------------------------------------------------------------------------------
// The client side: one connection on its own hub, and its events.

#[derive(Debug, Clone)]
struct Event {
  kind: u8,
  payload: Vec<u8>,
}

impl Event {
  fn json(&self) -> Value {
    serde_json::from_slice(&self.payload)
      .unwrap_or_else(|e| panic!("{} payload is not JSON ({e}): {:?}", name(self.kind), String::from_utf8_lossy(&self.payload)))
  }
}

fn name(kind: u8) -> String {
  Kind::from_number(kind.into()).map_or_else(|| format!("Kind({kind})"), |k| format!("{k:?}"))
}

struct Client {
  hub: Arc<Hub>,
  id: u32,
  /// Every event drained so far, in order.
  events: Vec<Event>,
  /// Waits look at events from here on: each wait moves it past what it found.
  cursor: usize,
}

impl Client {
  fn dial(port: u16, options: Options, policy: Option<Policy>) -> Client {
    let hub = Hub::new(Arc::new(Bridge::new(Box::new(CountingWake::default()))));
    assert!(!hub.bridge().js_reads(), "under cargo test the driver reads sockets itself");
    let route = Route { target: Target::Tcp { host: "127.0.0.1".into(), port }, tls: None, websocket: None };
    let id = hub.connect(options, Origin::Dial { route: Box::new(route), backoff: policy.map(Backoff::new) });
    Client { hub, id, events: Vec::new(), cursor: 0 }
  }

  fn shared(&self) -> Arc<Shared> {
    self.hub.conn(self.id).expect("the connection is still registered")
  }

  /// A plain write from JS (no framing, no ack).
  fn write(&self, data: &[u8]) {
    assert_eq!(self.shared().write(&[data], false, false), None, "no ack was asked for");
  }

  fn control(&self, c: Control) {
    self.shared().control(c);
  }

  /// Takes whatever the bridge holds.
  fn pump(&mut self) {
    let mut got = Vec::new();
    self.hub.bridge().drain(|b, _| got = records(b));
    for (id, kind, payload) in got {
      assert_eq!(id, self.id, "an event ({}) of another handle", name(kind));
      self.events.push(Event { kind, payload });
    }
  }

  /// Waits for the next event (after those already waited for) that is of `kind`
  /// and satisfies `pred`; returns it.
  fn wait_where(&mut self, kind: Kind, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + DEADLINE;
    loop {
      self.pump();
      let found = self.events[self.cursor..].iter().position(|e| e.kind == kind as u8 && pred(e));
      if let Some(i) = found {
        let at = self.cursor + i;
        self.cursor = at + 1;
        return self.events[at].clone();
      }
      assert!(Instant::now() < deadline, "no {kind:?}{what} within {DEADLINE:?}; events: {}", self.describe());
      std::thread::sleep(POLL);
    }
  }

  fn wait_for(&mut self, kind: Kind) -> Event {
    self.wait_where(kind, "", |_| true)
  }

  /// Keeps draining for `d`: for checks that something does not happen.
  fn settle(&mut self, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
      self.pump();
      std::thread::sleep(POLL);
    }
    self.pump();
  }

  /// The events' names, but `Dialing` (each attempt's start, when announced, checked
  /// on its own): the sequences below are about what the attempts lead to.
  fn names(&self) -> Vec<String> {
    self.events.iter().filter(|e| e.kind != Kind::Dialing as u8).map(|e| name(e.kind)).collect()
  }

  fn all(&self, kind: Kind) -> Vec<&Event> {
    self.events.iter().filter(|e| e.kind == kind as u8).collect()
  }

  fn describe(&self) -> String {
    let show = |e: &Event| match e.kind {
      k if k == Kind::Data as u8 || k == Kind::Frame as u8 => format!("{}({:?})", name(k), String::from_utf8_lossy(&e.payload)),
      k if k == Kind::Written as u8 => name(k),
      k => format!("{}{}", name(k), String::from_utf8_lossy(&e.payload)),
    };
    self.events.iter().map(show).collect::<Vec<_>>().join(", ")
  }

  /// `(delay, attempt)` of every `Reconnecting` so far.
  fn schedule(&self) -> Vec<(u64, u64)> {
    self
      .all(Kind::Reconnecting)
      .iter()
      .map(|e| {
        let j = e.json();
        (j["delay"].as_u64().expect("delay"), j["attempt"].as_u64().expect("attempt"))
      })
      .collect()
  }

  /// Waits until the driver has finished and the hub let go of the connection.
  fn wait_gone(&self) {
    let deadline = Instant::now() + DEADLINE;
    while self.hub.conn(self.id).is_some() {
      assert!(Instant::now() < deadline, "the driver of {} did not finish", self.id);
      std::thread::sleep(POLL);
    }
  }

  /// `destroy()`, then the `Close` and the end of the driver.
  fn destroy(&mut self) -> Event {
    self.control(Control::Destroy);
    let close = self.wait_for(Kind::Close);
    self.wait_gone();
    close
  }
}

impl Drop for Client {
  /// Stops the driver whatever happened (never panics: this also runs while a
  /// failed test unwinds).
  fn drop(&mut self) {
    if let Some(shared) = self.hub.conn(self.id) {
      shared.control(Control::Destroy);
    }
    let deadline = Instant::now() + DEADLINE;
    while self.hub.conn(self.id).is_some() && Instant::now() < deadline {
      std::thread::sleep(POLL);
    }
  }
}

/// The test policy: doubling from `initial_ms`, restarting at `reset_ms` after a
/// drop, whole milliseconds, no jitter.
fn policy(initial_ms: f64, reset_ms: f64, max_attempts: Option<u32>) -> Policy {
  Policy {
    initial_ms,
    reset_ms,
    factor: 2.0,
    max_ms: 5_000.0,
    cap: Cap::Clamp,
    jitter: Jitter::None,
    max_attempts,
    budget_ms: None,
    integer_steps: true,
    ..Policy::default()
  }
}

// ---------------------------------------------------------------------------------
// The peer side: blocking std sockets on loopback, every call bounded.

fn listener() -> (TcpListener, u16) {
  let l = TcpListener::bind("127.0.0.1:0").unwrap();
  let port = l.local_addr().unwrap().port();
  (l, port)
}

/// A listener on `port` again (std sets SO_REUSEADDR, so sockets of an earlier
/// listener left in TIME_WAIT do not stand in the way).
fn listener_on(port: u16) -> TcpListener {
  TcpListener::bind(("127.0.0.1", port)).unwrap()
}

/// A loopback port nobody listens on (for now).
fn unused_port() -> u16 {
  listener().1
}

/// A listener whose connections advertise a tiny receive window, so that a large
/// write stays mostly in the client's queue while the peer does not read.
fn small_window_listener() -> (TcpListener, u16) {
  use socket2::{Domain, Socket, Type};
  let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
  s.set_reuse_address(true).unwrap();
  s.set_recv_buffer_size(4096).unwrap();
  s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
  s.listen(16).unwrap();
  let l: TcpListener = s.into();
  let port = l.local_addr().unwrap().port();
  (l, port)
}

fn try_accept(l: &TcpListener, within: Duration) -> Option<TcpStream> {
  l.set_nonblocking(true).unwrap();
  let deadline = Instant::now() + within;
  loop {
    match l.accept() {
      Ok((s, _)) => {
        s.set_nonblocking(false).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        return Some(s);
      }
      Err(e) if e.kind() == ErrorKind::WouldBlock => {
        if Instant::now() >= deadline {
          return None;
        }
        std::thread::sleep(POLL);
      }
      Err(e) => panic!("accept: {e}"),
    }
  }
}

fn accept(l: &TcpListener) -> TcpStream {
  try_accept(l, DEADLINE).expect("the client did not connect in time")
}

fn no_connection_within(l: &TcpListener, d: Duration) {
  if let Some(s) = try_accept(l, d) {
    panic!("unexpected connection from {:?}", s.peer_addr());
  }
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
  let mut buf = vec![0u8; n];
  s.set_read_timeout(Some(DEADLINE)).unwrap();
  s.read_exact(&mut buf).unwrap_or_else(|e| panic!("reading {n} bytes from the client: {e}"));
  buf
}

fn expect_eof(s: &mut TcpStream) {
  s.set_read_timeout(Some(DEADLINE)).unwrap();
  let mut buf = [0u8; 64];
  match s.read(&mut buf) {
    Ok(0) => {}
    Ok(n) => panic!("expected EOF, got {:?}", String::from_utf8_lossy(&buf[..n])),
    Err(e) => panic!("expected EOF, got {e}"),
  }
}

/// Nothing arrives for `d`, and the socket stays open.
fn expect_silence(s: &mut TcpStream, d: Duration) {
  s.set_read_timeout(Some(d)).unwrap();
  let mut buf = [0u8; 64];
  match s.read(&mut buf) {
    Ok(0) => panic!("expected silence, got EOF"),
    Ok(n) => panic!("expected silence, got {n} bytes: {:?}", String::from_utf8_lossy(&buf[..n])),
    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
    Err(e) => panic!("expected silence, got {e}"),
  }
  s.set_read_timeout(Some(DEADLINE)).unwrap();
}

/// Closes with a reset (SO_LINGER 0), as a crashed peer would.
fn reset(s: TcpStream) {
  socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
  drop(s);
}

/// A recognisable pattern: a resend from the wrong offset would not match.
fn bulk() -> Vec<u8> {
  (0..BULK).map(|i| (i % 251) as u8).collect()
}

fn is_reset_or_pipe(error: &Value) -> bool {
  matches!(error["code"].as_str(), Some("ECONNRESET" | "EPIPE"))
}

// ---------------------------------------------------------------------------------
// 1. Dialing a listener that is not up yet.

#[test]
fn a_refused_dial_retries_on_the_policy_schedule_until_the_listener_appears() {
  let port = unused_port();
  let started = Instant::now();
  let announcing = Options { announce_attempts: true, ..Options::default() };
  let mut c = Client::dial(port, announcing, Some(policy(20.0, 20.0, None)));
  for _ in 0..3 {
    c.wait_for(Kind::Reconnecting);
  }
  // Up during the 80 ms wait before attempt 3.
  let l = listener_on(port);
  let mut s = accept(&l);
  let connect = c.wait_for(Kind::Connect);
  let elapsed = started.elapsed();

  // 20, 40, 80 ms: doubling, whole, unjittered. Should the listener have come up
  // late on a loaded machine, the extra attempts still follow the schedule.
  let schedule = c.schedule();
  let want = [(20, 1), (40, 2), (80, 3), (160, 4), (320, 5)];
  assert!(schedule.len() >= 3 && schedule.len() <= want.len(), "schedule {schedule:?}");
  assert_eq!(schedule[..], want[..schedule.len()]);
  let waited: u64 = schedule.iter().map(|s| s.0).sum();
  assert!(elapsed >= Duration::from_millis(waited), "connected after {elapsed:?}, before the delays ({waited} ms) were waited out");

  // Each wait names the refusal that caused it, in its own payload; nothing else
  // came before the connect.
  for r in c.all(Kind::Reconnecting) {
    let j = r.json();
    assert_eq!(j["error"]["code"], "ECONNREFUSED", "{j}");
    assert_eq!(j["error"]["port"], port, "{j}");
    assert!(j["dropped"].is_null(), "{j}");
  }
  let mut want_names = vec!["Reconnecting".to_owned(); schedule.len()];
  want_names.push("Connect".into());
  assert_eq!(c.names(), want_names);
  // Each wait is followed by its attempt's start, numbered as the wait said.
  let dialing: Vec<u64> = c.all(Kind::Dialing).iter().map(|e| e.json()["attempt"].as_u64().unwrap()).collect();
  assert_eq!(dialing, (1..=schedule.len() as u64).collect::<Vec<_>>());

  // The connect is the socket the listener accepted.
  let addresses = connect.json();
  assert_eq!(addresses["remoteAddress"], "127.0.0.1");
  assert_eq!(addresses["remotePort"], port);
  assert_eq!(addresses["localPort"], s.peer_addr().unwrap().port());
  assert_eq!(c.shared().snapshot().reconnects, schedule.len() as u64);

  c.write(b"ping");
  assert_eq!(read_n(&mut s, 4), b"ping");
  s.write_all(b"pong").unwrap();
  let data = c.wait_for(Kind::Data);
  assert_eq!(data.payload, b"pong");
  let close = c.destroy().json();
  assert_eq!(close["hadError"], false);
}

// ---------------------------------------------------------------------------------
// 2. max_attempts.

#[test]
fn max_attempts_gives_up_with_the_last_dial_error_then_closes() {
  let port = unused_port();
  let started = Instant::now();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 20.0, Some(3))));
  let close = c.wait_for(Kind::Close);
  let elapsed = started.elapsed();
  c.wait_gone();

  // Three scheduled attempts after the first dial (four refusals in all), then
  // the fourth refusal is not retried: it is reported as the error.
  assert_eq!(c.names(), ["Reconnecting", "Reconnecting", "Reconnecting", "Error", "Close"]);
  assert_eq!(c.schedule(), [(20, 1), (40, 2), (80, 3)]);
  assert!(elapsed >= Duration::from_millis(140), "gave up after {elapsed:?}");
  let error = c.all(Kind::Error)[0].json();
  // The last dial error, not ERR_RECONNECT_FAILED (that is for a drop without one).
  assert_eq!(error["code"], "ECONNREFUSED", "{error}");
  assert_eq!(error["syscall"], "connect");
  assert_eq!(error["port"], port);
  let close = close.json();
  assert_eq!(close["hadError"], true);
  assert_eq!(close["waiting"], false);
  assert_eq!(close["stats"]["reconnects"], 3);
  assert_eq!(close["stats"]["state"], "closed");

  // Nothing dials any more.
  let l = listener_on(port);
  no_connection_within(&l, Duration::from_millis(100));
}

#[test]
fn a_clean_drop_with_no_attempts_allowed_fails_with_err_reconnect_failed() {
  let (l, port) = listener();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 20.0, Some(0))));
  let s = accept(&l);
  c.wait_for(Kind::Connect);
  drop(s);
  let close = c.wait_for(Kind::Close);
  c.wait_gone();

  assert_eq!(c.names(), ["Connect", "End", "Disconnect", "Error", "Close"]);
  let disconnect = c.all(Kind::Disconnect)[0].json();
  assert!(disconnect["error"].is_null(), "{disconnect}");
  // No dial error to report: the generic one.
  assert_eq!(c.all(Kind::Error)[0].json()["code"], "ERR_RECONNECT_FAILED");
  assert_eq!(close.json()["hadError"], true);
  no_connection_within(&l, Duration::from_millis(100));
}

// ---------------------------------------------------------------------------------
// 3. An established session lost to the peer.

#[test]
fn a_session_closed_by_the_peer_reconnects_on_the_same_id_and_writes_go_to_the_new_socket() {
  let (l, port) = listener();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 30.0, None)));
  let mut s1 = accept(&l);
  c.wait_for(Kind::Connect);
  c.write(b"first");
  assert_eq!(read_n(&mut s1, 5), b"first");

  let closed_at = Instant::now();
  drop(s1);
  let disconnect = c.wait_for(Kind::Disconnect).json();
  let reconnecting = c.wait_for(Kind::Reconnecting).json();
  let mut s2 = accept(&l);
  let redialed = closed_at.elapsed();
  let connect = c.wait_for(Kind::Connect).json();

  // One id throughout (`pump` checks every event's id), in this order.
  assert_eq!(c.names(), ["Connect", "End", "Disconnect", "Reconnecting", "Connect"]);
  assert_eq!(disconnect, json!({ "error": null, "dropped": null, "written": 5 }));
  // The schedule restarted at reset_ms, attempt 1.
  assert_eq!(reconnecting["delay"], 30);
  assert_eq!(reconnecting["attempt"], 1);
  assert!(reconnecting["error"].is_null(), "{reconnecting}");
  assert!(redialed >= Duration::from_millis(30), "redialed {redialed:?} after the drop");
  assert_eq!(connect["localPort"], s2.peer_addr().unwrap().port());
  assert_eq!(c.shared().snapshot().reconnects, 1);

  c.write(b"second");
  assert_eq!(read_n(&mut s2, 6), b"second");
  s2.write_all(b"back").unwrap();
  assert_eq!(c.wait_for(Kind::Data).payload, b"back");
  c.destroy();
}

// ---------------------------------------------------------------------------------
// 4. The offline queue, resending.

#[test]
fn offline_writes_reach_the_next_session_in_order_exactly_once_and_the_bound_refuses_whole_writes() {
  let (l, port) = listener();
  let options = Options { offline_limit: 16, resend_unsent: true, ..Options::default() };
  let mut c = Client::dial(port, options, Some(Policy { max_ms: 40.0, ..policy(20.0, 20.0, None) }));
  let mut s1 = accept(&l);
  drop(l); // redials are refused until a listener is back
  c.wait_for(Kind::Connect);
  c.write(b"hello");
  assert_eq!(read_n(&mut s1, 5), b"hello");
  drop(s1);
  c.wait_for(Kind::Disconnect);

  // Offline now (the outbox goes offline before `Disconnect` is sent).
  c.write(b"one-");
  c.write(b"two-");
  c.write(b"three-"); // 14 of 16 bytes
  c.write(b"four-xxxx"); // 23 > 16: refused whole
  c.write(b"z"); // 15: fits
  let refused = c.wait_for(Kind::Error).json();
  assert_eq!(refused["code"], "ERR_OFFLINE_QUEUE_FULL", "{refused}");
  assert_eq!(refused["syscall"], "write");
  // Where the refused write ends in JS's running total: 5 + 14 + 9.
  assert_eq!(refused["writeEnd"], 28, "{refused}");
  assert_eq!(c.all(Kind::Error).len(), 1, "only the write over the bound: {}", c.describe());
  assert_eq!(c.shared().snapshot().queued, 15);

  // The queue outlives failed attempts (resend_unsent: nothing is dropped with them).
  let failed = c.wait_where(Kind::Reconnecting, " after a refusal", |e| e.json()["error"]["code"] == "ECONNREFUSED");
  assert!(failed.json()["dropped"].is_null());

  let l = listener_on(port);
  let mut s2 = accept(&l);
  c.wait_for(Kind::Connect);
  assert_eq!(read_n(&mut s2, 15), b"one-two-three-z");
  expect_silence(&mut s2, QUIET);
  assert_eq!(c.shared().snapshot().queued, 0);

  // Sent once means sent once: another drop resends none of it.
  drop(s2);
  let disconnect = c.wait_for(Kind::Disconnect).json();
  // Everything handled: 5 + 14 sent, 9 refused, 1 sent.
  assert_eq!(disconnect, json!({ "error": null, "dropped": null, "written": 29 }));
  let mut s3 = accept(&l);
  c.wait_for(Kind::Connect);
  expect_silence(&mut s3, QUIET);
  assert!(c.all(Kind::Reconnecting).iter().all(|e| e.json()["dropped"].is_null()));
  c.destroy();
}

#[test]
fn writes_cut_off_mid_session_go_out_again_whole_on_the_next_session() {
  let (l, port) = small_window_listener();
  let mut c = Client::dial(port, Options { resend_unsent: true, ..Options::default() }, Some(policy(20.0, 20.0, None)));
  let s1 = accept(&l);
  c.wait_for(Kind::Connect);
  let big = bulk();
  c.write(&big);
  c.write(b"TAIL");
  // The peer reads none of it and crashes.
  reset(s1);
  let disconnect = c.wait_for(Kind::Disconnect).json();
  assert!(is_reset_or_pipe(&disconnect["error"]), "{disconnect}");
  assert!(disconnect["dropped"].is_null(), "{disconnect}");
  // Neither write finished on the lost socket.
  assert_eq!(disconnect["written"], 0, "{disconnect}");

  let mut s2 = accept(&l);
  // A wider window for reading it all back (the listener's is tiny).
  socket2::SockRef::from(&s2).set_recv_buffer_size(4 << 20).unwrap();
  c.wait_for(Kind::Connect);
  // From the first byte, though part of the first write had reached the old socket.
  let got = read_n(&mut s2, BULK + 4);
  assert!(got[..BULK] == big[..], "the large write came again whole and from its start");
  assert_eq!(&got[BULK..], b"TAIL");
  expect_silence(&mut s2, QUIET);
  c.destroy();
}

// ---------------------------------------------------------------------------------
// 5. resend_unsent = false.

#[test]
fn without_resend_unsent_writes_queued_on_a_lost_session_fail_with_it_and_are_not_sent_again() {
  let (l, port) = small_window_listener();
  let options = Options { resend_unsent: false, ..Options::default() };
  let mut c = Client::dial(port, options, Some(policy(20.0, 20.0, None)));
  let mut s1 = accept(&l);
  c.wait_for(Kind::Connect);
  c.write(b"hello");
  assert_eq!(read_n(&mut s1, 5), b"hello");
  c.write(&bulk());
  c.write(b"TAIL");
  reset(s1);

  let disconnect = c.wait_for(Kind::Disconnect).json();
  assert!(is_reset_or_pipe(&disconnect["error"]), "{disconnect}");
  // What reached the socket (5), and where the failed writes end: both of them went
  // down with the session although part of the first was sent.
  let handled = 5 + BULK as u64 + 4;
  assert_eq!(disconnect["dropped"], json!([5, handled]), "{disconnect}");
  assert_eq!(disconnect["written"], handled, "{disconnect}");
  let reconnecting = c.wait_for(Kind::Reconnecting).json();
  assert_eq!((reconnecting["delay"].as_u64(), reconnecting["attempt"].as_u64()), (Some(20), Some(1)));
  assert!(reconnecting["dropped"].is_null(), "reported once, with the disconnect: {reconnecting}");

  let mut s2 = accept(&l);
  c.wait_for(Kind::Connect);
  expect_silence(&mut s2, QUIET);
  assert_eq!(c.shared().snapshot().queued, 0);
  c.write(b"fresh");
  assert_eq!(read_n(&mut s2, 5), b"fresh", "the new session starts with what was written for it");
  c.destroy();
}

#[test]
fn without_resend_unsent_writes_made_offline_fail_with_the_next_failed_attempt() {
  let port = unused_port();
  let options = Options { resend_unsent: false, ..Options::default() };
  let mut c = Client::dial(port, options, Some(Policy { max_ms: 40.0, ..policy(20.0, 20.0, None) }));
  c.wait_for(Kind::Reconnecting);
  c.write(b"lost");
  let failed = c.wait_where(Kind::Reconnecting, " reporting dropped writes", |e| !e.json()["dropped"].is_null()).json();
  assert_eq!(failed["dropped"], json!([0, 4]), "{failed}");
  assert_eq!(failed["error"]["code"], "ECONNREFUSED", "{failed}");

  let l = listener_on(port);
  let mut s = accept(&l);
  c.wait_for(Kind::Connect);
  expect_silence(&mut s, QUIET);
  c.write(b"kept");
  assert_eq!(read_n(&mut s, 4), b"kept");
  c.destroy();
}

// ---------------------------------------------------------------------------------
// 6. end().

#[test]
fn end_flushes_ends_our_side_and_closes_without_reconnecting() {
  let (l, port) = listener();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 20.0, None)));
  let mut s = accept(&l);
  c.wait_for(Kind::Connect);
  c.write(b"last words");
  c.control(Control::End);
  assert_eq!(read_n(&mut s, 10), b"last words");
  expect_eof(&mut s);
  // The peer closes its side in turn: that ends the connection, not the session.
  drop(s);
  let close = c.wait_for(Kind::Close).json();
  c.wait_gone();

  assert_eq!(c.names(), ["Connect", "End", "Close"]);
  assert_eq!(close["hadError"], false);
  assert_eq!(close["waiting"], false);
  assert_eq!(close["stats"]["reconnects"], 0);
  no_connection_within(&l, QUIET);
  c.pump();
  assert_eq!(c.names(), ["Connect", "End", "Close"]);
}

#[test]
fn end_during_a_backoff_wait_closes_at_once_without_another_attempt() {
  let port = unused_port();
  let mut c = Client::dial(port, Options::default(), Some(policy(2_000.0, 2_000.0, None)));
  let r = c.wait_for(Kind::Reconnecting).json();
  assert_eq!(r["delay"], 2000);
  let l = listener_on(port); // it would connect, were it to dial again
  let ended = Instant::now();
  c.control(Control::End);
  let close = c.wait_for(Kind::Close).json();
  assert!(ended.elapsed() < Duration::from_millis(1_000), "closed {:?} after end(), not at once", ended.elapsed());
  c.wait_gone();
  assert_eq!(c.names(), ["Reconnecting", "Close"]);
  assert_eq!(close["hadError"], false);
  assert_eq!(close["waiting"], true);
  no_connection_within(&l, Duration::from_millis(100));
}

// ---------------------------------------------------------------------------------
// 7. Hangup: the session ends, the connection goes on.

#[test]
fn hangup_with_flush_ends_only_the_session_and_redials_on_schedule() {
  let (l, port) = listener();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 100.0, None)));
  let mut s1 = accept(&l);
  c.wait_for(Kind::Connect);
  c.write(b"bye");
  c.control(Control::Hangup { flush: true });
  assert_eq!(read_n(&mut s1, 3), b"bye");
  expect_eof(&mut s1);
  let closed_at = Instant::now();
  drop(s1);

  let disconnect = c.wait_for(Kind::Disconnect).json();
  assert_eq!(disconnect, json!({ "error": null, "dropped": null, "written": 3 }));
  let reconnecting = c.wait_for(Kind::Reconnecting).json();
  assert_eq!((reconnecting["delay"].as_u64(), reconnecting["attempt"].as_u64()), (Some(100), Some(1)));
  let mut s2 = accept(&l);
  assert!(closed_at.elapsed() >= Duration::from_millis(100), "redialed {:?} after the hangup", closed_at.elapsed());
  c.wait_for(Kind::Connect);
  assert_eq!(c.names(), ["Connect", "End", "Disconnect", "Reconnecting", "Connect"]);
  assert_eq!(c.shared().snapshot().reconnects, 1);

  c.write(b"again");
  assert_eq!(read_n(&mut s2, 5), b"again");
  c.destroy();
}

#[test]
fn hangup_without_flush_drops_the_session_at_once_and_redials() {
  let (l, port) = listener();
  let mut c = Client::dial(port, Options::default(), Some(policy(20.0, 20.0, None)));
  let mut s1 = accept(&l);
  c.wait_for(Kind::Connect);
  c.control(Control::Hangup { flush: false });
  // No need for the peer to close first.
  expect_eof(&mut s1);
  c.wait_for(Kind::Disconnect);
  let mut s2 = accept(&l);
  c.wait_for(Kind::Connect);
  assert_eq!(c.names(), ["Connect", "Disconnect", "Reconnecting", "Connect"]);
  c.write(b"x");
  assert_eq!(read_n(&mut s2, 1), b"x");
  c.destroy();
}

// ---------------------------------------------------------------------------------
// 8. Frames.

#[test]
fn length_prefixed_frames_go_out_framed_and_come_in_whole_when_trickled() {
  let (l, port) = listener();
  let options = Options { codec: Codec::LengthPrefixed(LengthPrefixed::new(1024)), ..Options::default() };
  let mut c = Client::dial(port, options, None);
  let mut s = accept(&l);
  c.wait_for(Kind::Connect);

  c.shared().write(&[&b"hello"[..]], true, false);
  assert_eq!(read_n(&mut s, 9), b"\0\0\0\x05hello");
  c.shared().write(&[&b"a"[..], &b"bc"[..]], true, false);
  assert_eq!(read_n(&mut s, 11), b"\0\0\0\x01a\0\0\0\x02bc");

  // One byte per segment, with pauses so the driver sees them in separate reads.
  for b in b"\0\0\0\x06world!" {
    s.write_all(&[*b]).unwrap();
    std::thread::sleep(Duration::from_millis(3));
  }
  let frame = c.wait_for(Kind::Frame);
  assert_eq!(frame.payload, b"world!");
  c.settle(Duration::from_millis(50));
  assert_eq!(c.names(), ["Connect", "Frame"], "one frame, no partial deliveries");

  // Two frames in one segment, one of them empty: two events.
  s.write_all(b"\0\0\0\x02hi\0\0\0\0").unwrap();
  assert_eq!(c.wait_for(Kind::Frame).payload, b"hi");
  assert_eq!(c.wait_for(Kind::Frame).payload, b"");
  assert!(c.all(Kind::Data).is_empty());
  let stats = c.shared().snapshot();
  assert_eq!((stats.frames_out, stats.frames_in), (3, 3));
  c.destroy();
}

#[test]
fn an_oversized_frame_from_the_peer_loses_the_session_and_it_reconnects() {
  let (l, port) = listener();
  let options = Options { codec: Codec::LengthPrefixed(LengthPrefixed::new(1024)), ..Options::default() };
  let mut c = Client::dial(port, options, Some(policy(20.0, 20.0, None)));
  let mut s1 = accept(&l);
  c.wait_for(Kind::Connect);
  // A good frame first, then a header claiming 1025 bytes: refused on the header.
  s1.write_all(b"\0\0\0\x02ok\0\0\x04\x01").unwrap();
  assert_eq!(c.wait_for(Kind::Frame).payload, b"ok");
  let disconnect = c.wait_for(Kind::Disconnect).json();
  assert_eq!(disconnect["error"]["code"], "ERR_FRAME_TOO_LARGE", "{disconnect}");
  let reconnecting = c.wait_for(Kind::Reconnecting).json();
  assert_eq!(reconnecting["error"]["code"], "ERR_FRAME_TOO_LARGE", "the cause comes again with the wait");
  let _s2 = accept(&l);
  c.wait_for(Kind::Connect);
  assert_eq!(c.names(), ["Connect", "Frame", "Disconnect", "Reconnecting", "Connect"]);
  c.destroy();
}
