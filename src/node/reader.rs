//! Reading plain sockets on the JS thread.
//!
//! A message that arrives through the runtime wakes two threads: the runtime's, then
//! the JS thread. Node's own sockets wake one. So for TCP and unix sockets the driver
//! hands reading over (`conn::ReadHandoff`): a libuv poll handle watches the socket
//! on the JS thread's loop; when it is readable, everything available
//! is read, split into frames by the connection's codec, and dispatched in one call,
//! in the bridge's batch format. End of stream and errors go back to the driver,
//! which owns the connection's lifecycle.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::sync::Arc;

use bytes::BytesMut;
use napi::sys;

use super::uv::{self, Uv};
use crate::bridge::{self, Kind, ReaderOp};
use crate::codec::{Codec, FrameError};
use crate::conn::{Control, ReadEnd, ReadHandoff, Shared};
use crate::error::{Code, CoreError};
use crate::guard::panic_error;

/// Read at most this much per readable event, so one busy socket cannot starve the loop.
const READ_BUDGET: usize = 64 * 1024;
const READ_CHUNK: usize = 64 * 1024;

/// How to call the JS dispatcher from a libuv callback.
#[derive(Clone, Copy)]
pub struct Js {
  pub env: sys::napi_env,
  pub dispatch: sys::napi_ref,
  pub context: sys::napi_async_context,
}

#[repr(C)]
struct Reader {
  /// The `uv_poll_t`, first, so a pointer to it is a pointer to the reader.
  handle: [u64; uv::POLL_SIZE / 8],
  shared: Arc<Shared>,
  generation: u64,
  fd: Arc<OwnedFd>,
  codec: Codec,
  inbuf: BytesMut,
  events: Vec<u8>,
  js: Js,
  uv: &'static Uv,
  registry: *const Readers,
  polling: bool,
}

/// The readers of one environment, by connection id. Touched on its JS thread only.
#[derive(Default)]
pub struct Readers {
  live: RefCell<HashMap<u32, *mut Reader>>,
  /// One read buffer and one event buffer for all of them: only one reads at a time,
  /// and a reader keeps a buffer of its own only while it holds the start of a frame,
  /// so an idle connection costs no buffer (as Node's sockets read into a pool).
  scratch: RefCell<BytesMut>,
  events: RefCell<Vec<u8>>,
}

/// A buffer grown past this by one large read is let go rather than kept for all.
const SCRATCH_KEEP: usize = 4 * READ_CHUNK;

impl Readers {
  /// Applies the reader changes that came with a batch, in order. `self` must live
  /// as long as the environment.
  pub fn apply(&self, js: Js, loop_: *mut c_void, ops: Vec<ReaderOp>) {
    for op in ops {
      match op {
        ReaderOp::Attach(h) => self.attach(js, loop_, h),
        ReaderOp::Release { id, generation } => self.release(id, generation),
      }
    }
  }

  /// Stops reading a session's socket, if it is still read (a paused reader never
  /// sees the EOF that ends the others).
  fn release(&self, id: u32, generation: Option<u64>) {
    let mut live = self.live.borrow_mut();
    if let Some(&r) = live.get(&id) {
      if generation.is_none_or(|g| unsafe { (*r).generation } == g) {
        live.remove(&id);
        drop(live);
        unsafe { close(r) };
      }
    }
  }

  fn attach(&self, js: Js, loop_: *mut c_void, h: ReadHandoff) {
    let Some(uv) = uv::get() else { return };
    {
      let id = h.shared.id();
      let reader = Box::into_raw(Box::new(Reader {
        handle: [0; uv::POLL_SIZE / 8],
        shared: h.shared,
        generation: h.generation,
        fd: h.fd,
        codec: h.codec,
        inbuf: BytesMut::new(),
        events: Vec::new(),
        js,
        uv,
        registry: self,
        polling: false,
      }));
      unsafe {
        let r = &mut *reader;
        if (uv.poll_init)(loop_, reader.cast(), r.fd.as_raw_fd()) != 0 {
          // Cannot poll it here: let the driver know reading is over for this socket.
          r.shared.control(Control::ReadEnded {
            generation: r.generation,
            end: Box::new(ReadEnd::Failed(CoreError::new(Code::Io, "cannot poll the socket"))),
          });
          drop(Box::from_raw(reader));
          return;
        }
        // Liveness is connkit's business (see lib/bridge.js), not this handle's.
        (uv.unref)(reader.cast());
      }
      if let Some(old) = self.live.borrow_mut().insert(id, reader) {
        unsafe { close(old) };
      }
      unsafe { set_polling(reader, !(*reader).shared.is_paused()) };
    }
  }

  /// `pause()` / `resume()` from JS: stop or restart polling at once.
  pub fn set_paused(&self, id: u32, paused: bool) {
    if let Some(&r) = self.live.borrow().get(&id) {
      unsafe { set_polling(r, !paused) };
    }
  }

  /// Environment teardown.
  pub fn close_all(&self) {
    let readers: Vec<_> = self.live.borrow_mut().drain().map(|(_, r)| r).collect();
    for r in readers {
      unsafe { close(r) };
    }
  }
}

unsafe fn set_polling(r: *mut Reader, on: bool) {
  let reader = &mut *r;
  if reader.polling == on {
    return;
  }
  reader.polling = on;
  if on {
    (reader.uv.poll_start)(r.cast(), uv::READABLE, on_readable);
  } else {
    (reader.uv.poll_stop)(r.cast());
  }
}

unsafe fn close(r: *mut Reader) {
  let reader = &mut *r;
  (reader.uv.poll_stop)(r.cast());
  reader.polling = false;
  (reader.uv.close)(r.cast(), Some(on_closed));
}

unsafe extern "C" fn on_closed(handle: *mut c_void) {
  drop(Box::from_raw(handle as *mut Reader));
}

/// libuv calls back with a negative `status` (and no events) when the socket has
/// `POLLERR` — a reset that arrived with, or after, the last data — and it has already
/// stopped the handle: this is the last callback, so the socket is read to its end,
/// whatever that takes, and the end is always reported.
unsafe extern "C" fn on_readable(handle: *mut c_void, status: c_int, _events: c_int) {
  let r = handle as *mut Reader;
  let last_call = status < 0;
  if last_call {
    (*r).polling = false;
  }
  let registry = &*(*r).registry;
  (*r).events = std::mem::take(&mut *registry.events.borrow_mut());
  // A panic cannot unwind into libuv: it fails this connection instead.
  let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    if last_call {
      Some((*r).read_to_end())
    } else {
      (*r).read_available()
    }
  }));
  let end = read.unwrap_or_else(|panic| Some(ReadEnd::Failed(panic_error(panic.as_ref(), "reading a socket"))));
  // JS may pause, or close everything, from inside; the memory stays valid until
  // libuv's close callback, which cannot run before this returns.
  (*r).dispatch();
  let mut events = std::mem::take(&mut (*r).events);
  if events.capacity() <= SCRATCH_KEEP {
    events.clear();
    *registry.events.borrow_mut() = events;
  }
  let Some(end) = end else { return };
  let reader = &*r;
  reader.shared.control(Control::ReadEnded { generation: reader.generation, end: Box::new(end) });
  let id = reader.shared.id();
  let mut live = (*reader.registry).live.borrow_mut();
  if live.get(&id) == Some(&r) {
    live.remove(&id);
    drop(live);
    close(r);
  }
}

/// The error pending on a socket (`SO_ERROR`), if any; reading it clears it.
fn socket_error(fd: std::os::fd::RawFd) -> Option<std::io::Error> {
  let mut err: c_int = 0;
  let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
  let ok = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut err as *mut c_int).cast(), &mut len) } == 0;
  (ok && err != 0).then(|| std::io::Error::from_raw_os_error(err))
}

impl Reader {
  /// Reads what the socket has and turns it into events; `Some` when reading is over.
  fn read_available(&mut self) -> Option<ReadEnd> {
    self.read(false)
  }

  /// After `POLLERR` no readable event will follow: read until `recv` reports the end
  /// or the error (the kernel's queue is finite, so this ends), and if it only says
  /// "nothing yet", take the socket's pending error as the cause.
  fn read_to_end(&mut self) -> ReadEnd {
    if let Some(end) = self.read(true) {
      return end;
    }
    let err = socket_error(self.fd.as_raw_fd()).unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::ECONNRESET));
    ReadEnd::Failed(CoreError::io(&err, "read"))
  }

  /// `to_end`: ignore the read budget and the short-read rule, stopping only at the
  /// end of the stream, an error, or an empty queue.
  fn read(&mut self, to_end: bool) -> Option<ReadEnd> {
    let registry = unsafe { &*self.registry };
    let mut inbuf = if self.inbuf.is_empty() { std::mem::take(&mut *registry.scratch.borrow_mut()) } else { std::mem::take(&mut self.inbuf) };
    let end = self.read_into(&mut inbuf, to_end);
    // The start of a frame stays with this reader; an empty buffer goes back to all.
    if !inbuf.is_empty() {
      self.inbuf = inbuf;
    } else if inbuf.capacity() <= SCRATCH_KEEP {
      *registry.scratch.borrow_mut() = inbuf;
    }
    end
  }

  fn read_into(&mut self, inbuf: &mut BytesMut, to_end: bool) -> Option<ReadEnd> {
    let kind = if self.codec.is_framed() { Kind::Frame } else { Kind::Data };
    let mut total = 0;
    let mut frames = 0;
    let mut end = None;
    while to_end || total < READ_BUDGET {
      inbuf.reserve(READ_CHUNK);
      let spare = inbuf.spare_capacity_mut();
      let spare_len = spare.len();
      let n = unsafe { libc::recv(self.fd.as_raw_fd(), spare.as_mut_ptr().cast(), spare_len, libc::MSG_DONTWAIT) };
      if n == 0 {
        end = Some(ReadEnd::Eof);
        break;
      }
      if n < 0 {
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
          Some(libc::EINTR) => continue,
          Some(libc::EAGAIN) => {}
          _ => end = Some(ReadEnd::Failed(CoreError::io(&err, "read"))),
        }
        break;
      }
      unsafe { inbuf.set_len(inbuf.len() + n as usize) };
      total += n as usize;
      // A short read means the kernel had nothing more: no need to ask again (libuv
      // stops the same way), which saves a syscall per message.
      let drained = (n as usize) < spare_len;
      loop {
        match self.codec.decode(inbuf) {
          Ok(Some(frame)) => {
            bridge::record(&mut self.events, self.shared.id(), kind, &[&frame]);
            frames += 1;
          }
          Ok(None) => break,
          // Frames before the close or the bad one are delivered; then reading ends.
          Err(FrameError::Closed { code, reason }) => {
            self.answer_peer();
            return self.finish(total, frames, Some(ReadEnd::Closed(code, reason)));
          }
          Err(e) => return self.finish(total, frames, Some(ReadEnd::Failed(e.into()))),
        }
      }
      self.answer_peer();
      if drained && !to_end {
        break;
      }
    }
    self.finish(total, frames, end)
  }

  /// Sends what the codec owes the peer (a WebSocket's pongs and close), as the
  /// driver does when it reads.
  fn answer_peer(&mut self) {
    if let Some(replies) = self.codec.take_replies() {
      self.shared.write_control(replies);
    }
  }

  fn finish(&self, bytes: usize, frames: usize, end: Option<ReadEnd>) -> Option<ReadEnd> {
    if bytes > 0 {
      self.shared.note_read(bytes, frames);
    }
    end
  }

  /// Hands the events read to JS in one call, as a top-level callback so that
  /// microtasks and `process.nextTick` run after it, as after a Node socket's read.
  fn dispatch(&mut self) {
    if self.events.is_empty() {
      return;
    }
    let js = self.js;
    unsafe {
      let mut scope = ptr::null_mut();
      if sys::napi_open_handle_scope(js.env, &mut scope) != sys::Status::napi_ok {
        self.events.clear();
        return;
      }
      let mut func = ptr::null_mut();
      let mut data = ptr::null_mut();
      let mut buffer = ptr::null_mut();
      let mut global = ptr::null_mut();
      let ready = sys::napi_get_reference_value(js.env, js.dispatch, &mut func) == sys::Status::napi_ok
        && sys::napi_create_buffer_copy(js.env, self.events.len(), self.events.as_ptr().cast(), &mut data, &mut buffer)
          == sys::Status::napi_ok
        && sys::napi_get_global(js.env, &mut global) == sys::Status::napi_ok;
      self.events.clear();
      if ready {
        let mut result = ptr::null_mut();
        if sys::napi_make_callback(js.env, js.context, global, func, 1, &buffer, &mut result) == sys::Status::napi_pending_exception {
          let mut error = ptr::null_mut();
          sys::napi_get_and_clear_last_exception(js.env, &mut error);
          sys::napi_fatal_exception(js.env, error);
        }
      }
      sys::napi_close_handle_scope(js.env, scope);
    }
  }
}
