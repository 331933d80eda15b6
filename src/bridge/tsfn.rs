//! The raw Node-API threadsafe function that wakes one JS environment.
//!
//! Written against Node-API directly rather than through napi-rs's wrapper because
//! its lifecycle is the point: it starts unreferenced (an idle connkit never keeps a
//! process alive), JS refs it while it has active handles, every status is checked
//! because calls fail during a worker's teardown, and release happens under the
//! bridge's lock so no runtime thread can call it afterwards.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use napi::sys;

use super::{Bridge, Wake};

pub struct Tsfn {
  raw: AtomicPtr<sys::napi_threadsafe_function__>,
}

// The pointer is only used through Node-API calls documented as thread-safe.
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

impl Wake for Tsfn {
  fn wake(&self) {
    let raw = self.raw.load(Ordering::Acquire);
    if !raw.is_null() {
      // Non-blocking with an unbounded queue: this cannot block a runtime thread.
      unsafe { sys::napi_call_threadsafe_function(raw, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
    }
  }
}

/// What the JS thread does when woken: take the batch and hand it to `deliver`.
pub type Deliver = fn(env: sys::napi_env, js_fn: sys::napi_value, bridge: &Bridge);

struct Context {
  bridge: Arc<Bridge>,
  deliver: Deliver,
}

/// Creates the bridge of one environment, woken through a threadsafe function that
/// calls `js_fn` via `deliver`. The function starts unreferenced.
///
/// # Safety
/// `env` and `js_fn` must be valid, on the environment's own thread.
pub unsafe fn create(env: sys::napi_env, js_fn: sys::napi_value, deliver: Deliver) -> napi::Result<(Arc<Bridge>, Arc<Tsfn>)> {
  let tsfn = Arc::new(Tsfn { raw: AtomicPtr::new(ptr::null_mut()) });
  let bridge = Arc::new(Bridge::new(Box::new(tsfn.clone())));
  let context = Box::into_raw(Box::new(Context { bridge: bridge.clone(), deliver }));
  let mut name = ptr::null_mut();
  check(sys::napi_create_string_utf8(env, c"connkit".as_ptr(), 7, &mut name))?;
  let mut raw = ptr::null_mut();
  let status = sys::napi_create_threadsafe_function(
    env,
    js_fn,
    ptr::null_mut(),
    name,
    0,
    1,
    context.cast(),
    Some(finalize),
    context.cast(),
    Some(call_js),
    &mut raw,
  );
  if status != sys::Status::napi_ok {
    drop(Box::from_raw(context));
    return Err(napi::Error::from_status(napi::Status::from(status)));
  }
  check(sys::napi_unref_threadsafe_function(env, raw))?;
  tsfn.raw.store(raw, Ordering::Release);
  Ok((bridge, tsfn))
}

impl Wake for Arc<Tsfn> {
  fn wake(&self) {
    Tsfn::wake(self)
  }
}

impl Tsfn {
  /// Whether the environment is kept alive by connkit: true while JS has referenced,
  /// active handles (counted in `lib/bridge.js`). On the environment's thread only.
  pub fn set_ref(&self, env: &napi::Env, on: bool) -> napi::Result<()> {
    let raw = self.raw.load(Ordering::Acquire);
    if raw.is_null() {
      return Ok(());
    }
    // SAFETY: `env` is a live environment (a napi::Env is only handed to calls on its
    // thread) and `raw` is its function, not yet released (release nulls it first).
    check(unsafe {
      if on {
        sys::napi_ref_threadsafe_function(env.raw(), raw)
      } else {
        sys::napi_unref_threadsafe_function(env.raw(), raw)
      }
    })
  }

  /// Environment teardown: no call may follow. Run it inside [`Bridge::close`].
  pub fn release(&self) {
    let raw = self.raw.swap(ptr::null_mut(), Ordering::AcqRel);
    if !raw.is_null() {
      unsafe { sys::napi_release_threadsafe_function(raw, sys::ThreadsafeFunctionReleaseMode::abort) };
    }
  }
}

unsafe extern "C" fn call_js(env: sys::napi_env, js_fn: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  // Both are null while the environment is being torn down.
  if env.is_null() || js_fn.is_null() || context.is_null() {
    return;
  }
  let context = &*(context as *const Context);
  (context.deliver)(env, js_fn, &context.bridge);
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  drop(Box::from_raw(data as *mut Context));
}

fn check(status: sys::napi_status) -> napi::Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::from_status(napi::Status::from(status)))
  }
}
