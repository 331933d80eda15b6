//! The few libuv functions the JS-thread reader needs, looked up in the running Node
//! process (which exports libuv for addons) rather than linked, so the crate's own
//! tests, which run without Node, still link.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

pub type Handle = c_void;
pub type PollCb = unsafe extern "C" fn(handle: *mut Handle, status: c_int, events: c_int);
pub type CloseCb = unsafe extern "C" fn(handle: *mut Handle);

pub const READABLE: c_int = 1;

/// Room for a `uv_poll_t` (160 bytes on 64-bit Linux and macOS), with margin.
pub const POLL_SIZE: usize = 512;

pub struct Uv {
  pub poll_init: unsafe extern "C" fn(lp: *mut c_void, handle: *mut Handle, fd: c_int) -> c_int,
  pub poll_start: unsafe extern "C" fn(handle: *mut Handle, events: c_int, cb: PollCb) -> c_int,
  pub poll_stop: unsafe extern "C" fn(handle: *mut Handle) -> c_int,
  pub close: unsafe extern "C" fn(handle: *mut Handle, cb: Option<CloseCb>),
  pub unref: unsafe extern "C" fn(handle: *mut Handle),
}

unsafe fn symbol<T: Copy>(name: &CStr) -> Option<T> {
  let p = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
  (!p.is_null()).then(|| std::mem::transmute_copy(&p))
}

/// `None` if this process does not export libuv: then sockets are read by the runtime.
pub fn get() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(|| unsafe {
    Some(Uv {
      poll_init: symbol(c"uv_poll_init")?,
      poll_start: symbol(c"uv_poll_start")?,
      poll_stop: symbol(c"uv_poll_stop")?,
      close: symbol(c"uv_close")?,
      unref: symbol(c"uv_unref")?,
    })
  })
  .as_ref()
}
