//! The Node-API surface: plain functions (cheaper to call than class methods), used
//! only by `lib/native.js` and its callers. Handles are numeric ids; events come back
//! through the environment's bridge.

mod boundary;
mod http;
mod options;
mod reader;
mod uv;

use std::collections::HashMap;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;

use boundary::{Op, ACK, FRAME, RECORD_HEADER};

use crate::bridge::{tsfn, Bridge};
use crate::packs::mdsf;
use crate::conn::Control;
use crate::hub::Hub;

struct EnvState {
  hub: Arc<Hub>,
  tsfn: Arc<tsfn::Tsfn>,
  readers: Rc<reader::Readers>,
  js: reader::Js,
  uv_loop: *mut std::ffi::c_void,
}

fn state(env: &Env) -> Result<&'static EnvState> {
  env
    .get_instance_data::<EnvState>()?
    .map(|s| &*s)
    .ok_or_else(|| Error::new(Status::GenericFailure, "connkit: init() was not called in this environment"))
}

/// Runs on the JS thread when events are waiting: one Buffer, one call; then the
/// reader changes queued with those events (start reading a socket whose connect
/// event was just dispatched, stop reading one whose session ended).
fn deliver(env: sys::napi_env, js_fn: sys::napi_value, bridge: &Bridge) {
  bridge.drain(|events, readers| {
    if !events.is_empty() {
      dispatch(env, js_fn, events);
    }
    if !readers.is_empty() {
      if let Ok(state) = state(&Env::from_raw(env)) {
        state.readers.apply(state.js, state.uv_loop, readers);
      }
    }
  });
}

fn dispatch(env: sys::napi_env, js_fn: sys::napi_value, events: &[u8]) {
  unsafe {
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    if sys::napi_create_buffer_copy(env, events.len(), events.as_ptr().cast(), &mut data, &mut buffer) != sys::Status::napi_ok {
      return; // the environment is going away
    }
    let mut undefined = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    let mut result = ptr::null_mut();
    if sys::napi_call_function(env, undefined, js_fn, 1, &buffer, &mut result) == sys::Status::napi_pending_exception {
      // The dispatcher catches listener errors itself; anything else is uncaught.
      let mut error = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env, &mut error);
      sys::napi_fatal_exception(env, error);
    }
  }
}

/// Sets up this environment (main thread or worker): `dispatch` receives every batch.
#[napi(catch_unwind)]
pub fn init(env: Env, dispatch: Function<Buffer, ()>) -> Result<()> {
  if env.get_instance_data::<EnvState>()?.is_some() {
    return Err(Error::new(Status::GenericFailure, "connkit: already initialised in this environment"));
  }
  let raw = env.raw();
  let (bridge, tsfn) = unsafe { tsfn::create(raw, dispatch.raw(), deliver)? };
  let hub = Hub::new(bridge.clone());
  let mut js = reader::Js { env: raw, dispatch: ptr::null_mut(), context: ptr::null_mut() };
  let mut uv_loop = ptr::null_mut();
  unsafe {
    check(sys::napi_create_reference(raw, dispatch.raw(), 1, &mut js.dispatch))?;
    let mut name = ptr::null_mut();
    check(sys::napi_create_string_utf8(raw, c"connkit:read".as_ptr(), 12, &mut name))?;
    check(sys::napi_async_init(raw, ptr::null_mut(), name, &mut js.context))?;
    check(sys::napi_get_uv_event_loop(raw, &mut uv_loop))?;
  }
  if uv::get().is_some() && !uv_loop.is_null() {
    bridge.enable_js_reads();
  }
  let readers = Rc::new(reader::Readers::default());
  env.set_instance_data(EnvState { hub: hub.clone(), tsfn: tsfn.clone(), readers: readers.clone(), js, uv_loop: uv_loop.cast() }, (), |_| {})?;
  // Worker termination or process exit: close every socket and stop all deliveries.
  env.add_env_cleanup_hook((hub, bridge, tsfn, readers), |(hub, bridge, tsfn, readers)| {
    readers.close_all();
    hub.shutdown();
    bridge.close(|| tsfn.release());
  })?;
  Ok(())
}

fn check(status: sys::napi_status) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::from_status(Status::from(status)))
  }
}

/// Keeps the event loop alive (true) or lets it exit (false); `lib/bridge.js`
/// calls it when its count of referenced, active handles crosses zero.
#[napi(catch_unwind)]
pub fn set_ref(env: Env, on: bool) -> Result<()> {
  let s = state(&env)?;
  s.tsfn.set_ref(&env, on)
}

#[napi(catch_unwind)]
pub fn connect(env: Env, config: options::ConnectConfig) -> Result<u32> {
  let (conn, origin) = options::connect(&config)?;
  Ok(state(&env)?.hub.connect(conn, origin))
}

#[napi(catch_unwind)]
pub fn listen(env: Env, config: options::ListenConfig) -> Result<u32> {
  let server = options::listen(&config)?;
  Ok(state(&env)?.hub.listen(server))
}

/// A server's `maxConnections` (negative: no limit).
#[napi(catch_unwind)]
pub fn set_max_connections(env: Env, id: u32, max: f64) -> Result<()> {
  if let Some(server) = state(&env)?.hub.server(id) {
    server.set_max_connections((max >= 0.0).then_some(max as usize));
  }
  Ok(())
}

#[napi(catch_unwind)]
pub fn close_server(env: Env, id: u32) -> Result<()> {
  state(&env)?.hub.close_server(id);
  Ok(())
}

/// Every write of one JS tick, as records `u32 id | u8 flags | u32 length | bytes`
/// (little-endian): one native call however many writes and connections.
///
/// Returns `[id, total, id, total, ...]` for the acks resolved on the spot (writes
/// the kernel took at once), so JS lifts backpressure without a round trip; `None`
/// when there are none.
#[napi(catch_unwind)]
pub fn write_batch(env: Env, batch: &[u8]) -> Result<Option<Vec<f64>>> {
  let hub = &state(&env)?.hub;
  // Each connection's writes of the tick go to it as one unit (one lock, one
  // syscall), even when writes to many connections interleave, as in a broadcast.
  // Order is kept per connection; a change of framing flag starts a new unit.
  let mut units: Vec<Unit> = Vec::new();
  let mut last_unit_of: HashMap<u32, usize> = HashMap::new();
  for record in (Records { batch, at: 0 }) {
    let (id, flags, data) = record?;
    match last_unit_of.get(&id).map(|&i| &mut units[i]) {
      Some(unit) if unit.frame == (flags & FRAME != 0) => {
        unit.ack |= flags & ACK != 0;
        unit.writes.push(data);
      }
      _ => {
        last_unit_of.insert(id, units.len());
        units.push(Unit { id, frame: flags & FRAME != 0, ack: flags & ACK != 0, writes: vec![data] });
      }
    }
  }
  let mut acks = Vec::new();
  for unit in &units {
    if let Some(total) = hub.conn(unit.id).and_then(|c| c.write(&unit.writes, unit.frame, unit.ack)) {
      acks.extend([unit.id as f64, total as f64]);
    }
  }
  Ok((!acks.is_empty()).then_some(acks))
}

/// Writes for one connection that go to it together.
struct Unit<'a> {
  id: u32,
  frame: bool,
  ack: bool,
  writes: Vec<&'a [u8]>,
}

/// Walks the records of a write batch.
struct Records<'a> {
  batch: &'a [u8],
  at: usize,
}

impl<'a> Iterator for Records<'a> {
  type Item = Result<(u32, u8, &'a [u8])>;

  fn next(&mut self) -> Option<Self::Item> {
    let b = self.batch;
    let at = self.at;
    if at + RECORD_HEADER > b.len() {
      return None;
    }
    let id = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let len = u32::from_le_bytes(b[at + 5..at + 9].try_into().unwrap()) as usize;
    self.at = at + RECORD_HEADER + len;
    Some(
      b.get(at + RECORD_HEADER..self.at)
        .map(|data| (id, b[at + 4], data))
        .ok_or_else(|| Error::new(Status::InvalidArg, "truncated write batch")),
    )
  }
}

/// One large write, not worth copying into a batch first. Returns the ack total if
/// it was resolved on the spot.
#[napi(catch_unwind)]
pub fn write(env: Env, id: u32, data: &[u8], flags: u32) -> Result<Option<f64>> {
  Ok(state(&env)?.hub.conn(id).and_then(|c| c.write(&[data], flags as u8 & FRAME != 0, flags as u8 & ACK != 0)).map(|t| t as f64))
}

/// A control operation ([`Op`]) on connection `id`.
#[napi(catch_unwind)]
pub fn control(env: Env, id: u32, op: u32, arg: f64, arg2: f64) -> Result<()> {
  let state = state(&env)?;
  let Some(op) = Op::from_number(op) else { return Err(Error::new(Status::InvalidArg, format!("unknown control op {op}"))) };
  let Some(conn) = state.hub.conn(id) else { return Ok(()) };
  let c = match op {
    Op::End => Control::End,
    Op::Destroy => Control::Destroy,
    // Whoever reads the socket, the driver or this thread, stops at once.
    Op::Pause | Op::Resume => {
      conn.set_paused(op == Op::Pause);
      state.readers.set_paused(id, op == Op::Pause);
      return Ok(());
    }
    Op::NoDelay => Control::NoDelay(arg != 0.0),
    Op::KeepAlive => Control::KeepAlive(arg != 0.0, arg2.max(0.0) as u64),
    Op::Timeout => Control::Timeout(arg.max(0.0) as u64),
    Op::Hangup => Control::Hangup { flush: arg != 0.0 },
    Op::Heartbeat => Control::Heartbeat(arg.max(0.0) as u64),
  };
  conn.control(c);
  Ok(())
}

/// Counters of a live connection (a closed one's last counters come with its close
/// event), as the same JSON the close event carries.
#[napi(catch_unwind)]
pub fn stats(env: Env, id: u32) -> Result<Option<String>> {
  Ok(state(&env)?.hub.conn(id).map(|c| c.snapshot().to_json().to_string()))
}

/// One JSTP message in mdsf as JSON text, exactly as a `jstp` frame brings it (led by
/// `~` when it holds sentinels), for messages that come over WebSocket or a custom
/// transport.
#[napi(js_name = "mdsfToJson", catch_unwind)]
pub fn mdsf_to_json(text: String) -> Result<String> {
  let json = mdsf::transcode(&text).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
  // Transcoding keeps UTF-8 intact, so this only checks it.
  String::from_utf8(json.into()).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}
