//! mdsf, the JavaScript object-literal subset JSTP (@metarhia/jstp) writes its
//! messages in, rewritten as JSON text so that JS reads them with `JSON.parse`. A
//! transcoder: whatever frames the messages (NULs on a stream, WebSocket messages),
//! each frame is one message.
//!
//! The grammar is the one mdsf 1.1.1's JavaScript parser accepts, plus `NaN` and
//! `Infinity` (its stringifier writes them) and `0X`/`0O`/`0B`. It is looser about
//! clutter (any number of comments anywhere, `{ }`) and stricter about numbers: mdsf
//! reads `1-2` as 1, as `parseFloat` does; here it is an error.
//!
//! JSON has no `undefined`, `NaN` or `Infinity`, so those become sentinel objects
//! `{"\u0000":n}` and the frame is led by `~`, telling JS to revive them.

use std::io::Write;

use bytes::Bytes;

use crate::codec::{FrameError, Transcode};

/// Deepest nesting of objects and arrays, the message's own object included.
pub const MAX_DEPTH: usize = 10_000;

/// Sentinel numbers, as JS revives them.
const UNDEFINED: u8 = 0;
const NAN: u8 = 1;
const INFINITY: u8 = 2;
const NEG_INFINITY: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsfError {
  /// Byte offset into the message.
  pub offset: usize,
  pub reason: &'static str,
}

impl std::fmt::Display for MdsfError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "invalid JSTP message at byte {}: {}", self.offset, self.reason)
  }
}

impl std::error::Error for MdsfError {}

impl From<MdsfError> for FrameError {
  fn from(e: MdsfError) -> Self {
    FrameError::Malformed { offset: e.offset, reason: e.reason }
  }
}

/// Each frame, one mdsf message, as JSON text (see [`transcode`]).
#[derive(Debug)]
pub struct Mdsf;

impl Transcode for Mdsf {
  fn transcode(&self, frame: Bytes) -> Result<Bytes, FrameError> {
    // As the original's stream decoder does: bad UTF-8 becomes U+FFFD, not an error.
    Ok(transcode(&String::from_utf8_lossy(&frame))?)
  }
}

/// One message as the transcoder delivers it: JSON text, led by `~` when it holds
/// sentinels.
pub fn transcode(text: &str) -> Result<Bytes, MdsfError> {
  // Identifier keys gain quotes: a quarter more is a fair first guess.
  let mut out = Vec::with_capacity(1 + text.len() + text.len() / 4);
  out.push(b'~');
  let sentinels = to_json(text.as_bytes(), &mut out)?;
  let json = Bytes::from(out);
  Ok(if sentinels { json } else { json.slice(1..) })
}

/// Appends one message, transcoded to compact JSON, to `out`; returns whether it
/// needed sentinels. On error `out` is left as it was.
///
/// `input` must be UTF-8 (callers decode lossily first): bytes outside ASCII are
/// copied through unchecked.
pub fn to_json(input: &[u8], out: &mut Vec<u8>) -> Result<bool, MdsfError> {
  let start = out.len();
  let mut p = Parser { s: input, i: 0, out, level: Level::new(Kind::Object), parents: Vec::new(), sentinels: false };
  match p.message() {
    Ok(()) => Ok(p.sentinels),
    Err(e) => {
      p.out.truncate(start);
      Err(e)
    }
  }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
  Object,
  Array,
}

/// An open object or array.
#[derive(Clone, Copy)]
struct Level {
  kind: Kind,
  /// Whether an item was written, so the next one needs a comma.
  written: bool,
  /// Where the current property begins in `out`, to take it back if it is dropped.
  start: usize,
  /// The current property is `__proto__`, to be dropped.
  proto: bool,
}

impl Level {
  fn new(kind: Kind) -> Self {
    Level { kind, written: false, start: 0, proto: false }
  }
}

/// Where the parser is within the current level.
enum Step {
  /// At the start of an item: after the opening bracket or a comma.
  Item,
  /// After a value; `undefined` when it was `undefined` (or a hole), which is not
  /// written yet.
  After { undefined: bool },
  /// The message's object is closed.
  Done,
}

/// Iterative, with the open levels on an explicit stack: a hostile message cannot
/// overflow the thread's stack.
struct Parser<'a> {
  s: &'a [u8],
  i: usize,
  out: &'a mut Vec<u8>,
  level: Level,
  parents: Vec<Level>,
  sentinels: bool,
}

impl<'a> Parser<'a> {
  fn message(&mut self) -> Result<(), MdsfError> {
    self.skip_clutter()?;
    if self.peek() != Some(b'{') {
      return Err(self.error("expected an object"));
    }
    self.i += 1;
    self.out.push(b'{');
    let mut step = Step::Item;
    loop {
      step = match step {
        Step::Item => self.item()?,
        Step::After { undefined } => self.after(undefined)?,
        Step::Done => break,
      };
    }
    self.skip_clutter()?;
    if self.i < self.s.len() {
      return Err(self.error("unexpected data after the message"));
    }
    Ok(())
  }

  fn item(&mut self) -> Result<Step, MdsfError> {
    self.skip_clutter()?;
    match (self.level.kind, self.peek()) {
      (Kind::Object, Some(b'}')) | (Kind::Array, Some(b']')) => Ok(self.close()),
      (Kind::Object, _) => {
        self.property()?;
        self.skip_clutter()?;
        self.value()
      }
      // An empty slot is an `undefined` element.
      (Kind::Array, Some(b',')) => {
        self.separate();
        Ok(Step::After { undefined: true })
      }
      (Kind::Array, _) => {
        self.separate();
        self.value()
      }
    }
  }

  fn after(&mut self, undefined: bool) -> Result<Step, MdsfError> {
    let level = &mut self.level;
    match level.kind {
      Kind::Array if undefined => {
        level.written = true;
        self.sentinel(UNDEFINED);
      }
      Kind::Array => level.written = true,
      // mdsf skips `undefined` properties and assigns `__proto__` to the prototype.
      Kind::Object if undefined || level.proto => {
        self.out.truncate(level.start);
        level.proto = false;
      }
      Kind::Object => level.written = true,
    }
    self.skip_clutter()?;
    match (self.level.kind, self.peek()) {
      (_, Some(b',')) => {
        self.i += 1;
        Ok(Step::Item)
      }
      (Kind::Object, Some(b'}')) | (Kind::Array, Some(b']')) => Ok(self.close()),
      (Kind::Object, _) => Err(self.unexpected("expected ',' or '}'")),
      (Kind::Array, _) => Err(self.unexpected("expected ',' or ']'")),
    }
  }

  fn open(&mut self, kind: Kind) -> Result<Step, MdsfError> {
    if self.parents.len() + 1 == MAX_DEPTH {
      return Err(self.error("nesting too deep"));
    }
    self.i += 1;
    self.out.push(if kind == Kind::Object { b'{' } else { b'[' });
    self.parents.push(self.level);
    self.level = Level::new(kind);
    Ok(Step::Item)
  }

  /// Closes the current level, whose closing bracket is next.
  fn close(&mut self) -> Step {
    self.i += 1;
    self.out.push(if self.level.kind == Kind::Object { b'}' } else { b']' });
    match self.parents.pop() {
      Some(parent) => {
        self.level = parent;
        Step::After { undefined: false }
      }
      None => Step::Done,
    }
  }

  fn separate(&mut self) {
    if self.level.written {
      self.out.push(b',');
    }
  }

  /// A key and its colon.
  fn property(&mut self) -> Result<(), MdsfError> {
    let s = self.s;
    self.level.start = self.out.len();
    self.separate();
    let key = self.out.len();
    match self.peek() {
      Some(b'\'' | b'"') => self.string()?,
      Some(b'A'..=b'Z' | b'a'..=b'z' | b'_' | b'$') => {
        let from = self.i;
        self.i += 1 + s[from + 1..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$').count();
        self.out.push(b'"');
        self.out.extend_from_slice(&s[from..self.i]);
        self.out.push(b'"');
      }
      _ => return Err(self.unexpected("expected a key")),
    }
    // mdsf wants the colon straight after the key: no space or comment before it.
    if self.peek() != Some(b':') {
      return Err(self.unexpected("expected ':' right after the key"));
    }
    self.i += 1;
    self.level.proto = is_proto(&self.out[key + 1..self.out.len() - 1]);
    self.out.push(b':');
    Ok(())
  }

  /// A value, with clutter before it skipped.
  fn value(&mut self) -> Result<Step, MdsfError> {
    match self.peek() {
      Some(b'{') => self.open(Kind::Object),
      Some(b'[') => self.open(Kind::Array),
      Some(b'\'' | b'"') => {
        self.string()?;
        Ok(Step::After { undefined: false })
      }
      Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
        self.number()?;
        Ok(Step::After { undefined: false })
      }
      Some(b'A'..=b'Z' | b'a'..=b'z') => self.literal(),
      _ => Err(self.unexpected("expected a value")),
    }
  }

  fn literal(&mut self) -> Result<Step, MdsfError> {
    let at = self.i;
    let word = self.word();
    match word {
      b"true" | b"false" | b"null" => self.out.extend_from_slice(word),
      b"undefined" => return Ok(Step::After { undefined: true }),
      b"NaN" => self.sentinel(NAN),
      b"Infinity" => self.sentinel(INFINITY),
      _ => return Err(MdsfError { offset: at, reason: "unknown literal" }),
    }
    Ok(Step::After { undefined: false })
  }

  fn number(&mut self) -> Result<(), MdsfError> {
    let s = self.s;
    let at = self.i;
    let negative = s[at] == b'-';
    if matches!(s[at], b'+' | b'-') {
      self.i += 1;
    }
    if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
      if self.word() != b"Infinity" {
        return Err(MdsfError { offset: at, reason: "invalid number" });
      }
      self.sentinel(if negative { NEG_INFINITY } else { INFINITY });
      return Ok(());
    }
    let radix = match (self.peek(), s.get(self.i + 1)) {
      (Some(b'0'), Some(b'x' | b'X')) => 16,
      (Some(b'0'), Some(b'o' | b'O')) => 8,
      (Some(b'0'), Some(b'b' | b'B')) => 2,
      _ => return self.decimal(negative, at),
    };
    self.i += 2;
    self.integer(radix, negative)
  }

  /// Digits of a `0x`, `0o` or `0b` literal, written in decimal.
  fn integer(&mut self, radix: u32, negative: bool) -> Result<(), MdsfError> {
    let s = self.s;
    let from = self.i;
    // Exact while it fits; past that, as close as the original's float sum gets.
    let mut exact = Some(0u64);
    let mut approx = 0f64;
    while let Some(d) = s.get(self.i).and_then(|&b| (b as char).to_digit(radix)) {
      exact = exact.and_then(|v| v.checked_mul(radix as u64)?.checked_add(d as u64));
      approx = approx * radix as f64 + d as f64;
      self.i += 1;
    }
    if self.i == from {
      return Err(self.unexpected("expected a digit"));
    }
    if approx.is_infinite() {
      self.sentinel(if negative { NEG_INFINITY } else { INFINITY });
      return Ok(());
    }
    if negative {
      self.out.push(b'-');
    }
    // `{}` writes a float without an exponent: always a valid JSON number.
    let written = match exact {
      Some(v) => write!(self.out, "{v}"),
      None => write!(self.out, "{approx}"),
    };
    written.expect("writing to a Vec cannot fail");
    Ok(())
  }

  /// A decimal number, rewritten as JSON wants it: no `+`, a digit on both sides of
  /// the point, and digits in the exponent (mdsf reads `.5`, `5.` and `1e`).
  fn decimal(&mut self, negative: bool, at: usize) -> Result<(), MdsfError> {
    let int = self.digits();
    if int.len() > 1 && int[0] == b'0' {
      return Err(MdsfError { offset: self.i - int.len(), reason: "legacy octal literal" });
    }
    let mut fraction: &[u8] = &[];
    if self.peek() == Some(b'.') {
      self.i += 1;
      fraction = self.digits();
    }
    if int.is_empty() && fraction.is_empty() {
      return Err(MdsfError { offset: at, reason: "invalid number" });
    }
    let mut exponent: &[u8] = &[];
    if matches!(self.peek(), Some(b'e' | b'E')) {
      let e = self.i;
      self.i += 1;
      if matches!(self.peek(), Some(b'+' | b'-')) {
        self.i += 1;
      }
      if !self.digits().is_empty() {
        exponent = &self.s[e..self.i];
      }
    }
    if negative {
      self.out.push(b'-');
    }
    self.out.extend_from_slice(if int.is_empty() { b"0" } else { int });
    if !fraction.is_empty() {
      self.out.push(b'.');
      self.out.extend_from_slice(fraction);
    }
    self.out.extend_from_slice(exponent);
    Ok(())
  }

  /// A quoted string, as a JSON string.
  fn string(&mut self) -> Result<(), MdsfError> {
    let s = self.s;
    let open = self.i;
    let quote = s[open];
    let unterminated = MdsfError { offset: open, reason: "unterminated string" };
    self.out.push(b'"');
    let mut i = open + 1;
    // Start of the bytes that go out as they are, not copied yet.
    let mut run = i;
    loop {
      let Some(&b) = s.get(i) else { return Err(unterminated) };
      match b {
        _ if b == quote => break,
        b'\\' => match s.get(i + 1) {
          // JSON's own escapes mean the same: they stay in the run.
          Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
          Some(_) => {
            self.out.extend_from_slice(&s[run..i]);
            i = self.escape(i)?;
            run = i;
          }
          None => return Err(unterminated),
        },
        // Only a single-quoted string gets here with `"`.
        b'"' => {
          self.out.extend_from_slice(&s[run..i]);
          self.out.extend_from_slice(b"\\\"");
          i += 1;
          run = i;
        }
        // Raw control characters (newlines too) are accepted, but JSON wants them escaped.
        0..=0x1f => {
          self.out.extend_from_slice(&s[run..i]);
          control(self.out, b);
          i += 1;
          run = i;
        }
        _ => i += 1,
      }
    }
    self.out.extend_from_slice(&s[run..i]);
    self.out.push(b'"');
    self.i = i + 1;
    Ok(())
  }

  /// The escape whose backslash is at `at` (with a character after it) other than
  /// JSON's own; returns where the string goes on.
  fn escape(&mut self, at: usize) -> Result<usize, MdsfError> {
    let s = self.s;
    let invalid = |reason| MdsfError { offset: at, reason };
    let c = s[at + 1];
    match c {
      b'v' => unit(self.out, 0x0b),
      // Up to three octal digits, as mdsf reads them: `\101` is `A`, `\400` is U+0100.
      b'0'..=b'7' => {
        let n = s[at + 1..].iter().take(3).take_while(|b| matches!(b, b'0'..=b'7')).count();
        unit(self.out, s[at + 1..at + 1 + n].iter().fold(0, |v, &d| v * 8 + (d - b'0') as u32));
        return Ok(at + 1 + n);
      }
      b'x' => match (s.get(at + 2).and_then(hex), s.get(at + 3).and_then(hex)) {
        (Some(high), Some(low)) => {
          unit(self.out, high * 16 + low);
          return Ok(at + 4);
        }
        _ => return Err(invalid("invalid \\x escape")),
      },
      b'u' if s.get(at + 2) == Some(&b'{') => {
        let n = s[at + 3..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        // mdsf takes one to eight digits; eight cannot overflow a u32.
        if n == 0 || n > 8 || s.get(at + 3 + n) != Some(&b'}') {
          return Err(invalid("invalid \\u{} escape"));
        }
        let cp = s[at + 3..at + 3 + n].iter().filter_map(hex).fold(0, |v, d| v * 16 + d);
        match cp {
          0..=0xffff => unit(self.out, cp),
          0x10000..=0x10ffff => {
            unit(self.out, 0xd800 + ((cp - 0x10000) >> 10));
            unit(self.out, 0xdc00 + ((cp - 0x10000) & 0x3ff));
          }
          _ => return Err(invalid("code point out of range")),
        }
        return Ok(at + 4 + n);
      }
      // Four hex digits are JSON already; a lone surrogate is fine for JSON.parse.
      b'u' => {
        if !s.get(at + 2..at + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
          return Err(invalid("invalid \\u escape"));
        }
        self.out.extend_from_slice(&s[at..at + 6]);
        return Ok(at + 6);
      }
      // Any other character stands for itself (`\'`, `\q`, backslash-newline); the
      // rest of a multibyte one follows as ordinary bytes.
      0..=0x1f => control(self.out, c),
      _ => self.out.push(c),
    }
    Ok(at + 2)
  }

  fn sentinel(&mut self, n: u8) {
    self.sentinels = true;
    self.out.extend_from_slice(br#"{"\u0000":"#);
    self.out.extend_from_slice(&[b'0' + n, b'}']);
  }

  /// Whitespace and comments, any number of them.
  fn skip_clutter(&mut self) -> Result<(), MdsfError> {
    let s = self.s;
    loop {
      match (self.peek(), s.get(self.i + 1)) {
        (Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c), _) => self.i += 1,
        (Some(b'/'), Some(b'/')) => {
          let body = self.i + 2;
          self.i = s[body..].iter().position(|&b| b == b'\n' || b == b'\r').map_or(s.len(), |n| body + n);
        }
        (Some(b'/'), Some(b'*')) => {
          let body = self.i + 2;
          match s[body..].windows(2).position(|w| w == b"*/") {
            Some(n) => self.i = body + n + 2,
            None => return Err(self.error("unterminated comment")),
          }
        }
        _ => return Ok(()),
      }
    }
  }

  fn peek(&self) -> Option<u8> {
    self.s.get(self.i).copied()
  }

  fn word(&mut self) -> &'a [u8] {
    self.run(u8::is_ascii_alphabetic)
  }

  fn digits(&mut self) -> &'a [u8] {
    self.run(u8::is_ascii_digit)
  }

  fn run(&mut self, class: fn(&u8) -> bool) -> &'a [u8] {
    let s = self.s;
    let from = self.i;
    self.i += s[from..].iter().take_while(|&b| class(b)).count();
    &s[from..self.i]
  }

  fn error(&self, reason: &'static str) -> MdsfError {
    MdsfError { offset: self.i, reason }
  }

  /// `reason`, unless the input simply ended.
  fn unexpected(&self, reason: &'static str) -> MdsfError {
    self.error(if self.i < self.s.len() { reason } else { "unexpected end of input" })
  }
}

fn hex(b: &u8) -> Option<u32> {
  (*b as char).to_digit(16)
}

/// A UTF-16 code unit as a JSON `\uXXXX` escape.
fn unit(out: &mut Vec<u8>, u: u32) {
  const DIGITS: &[u8; 16] = b"0123456789abcdef";
  let d = |shift: u32| DIGITS[(u >> shift) as usize & 0xf];
  out.extend_from_slice(&[b'\\', b'u', d(12), d(8), d(4), d(0)]);
}

fn control(out: &mut Vec<u8>, b: u8) {
  match b {
    b'\n' => out.extend_from_slice(b"\\n"),
    b'\r' => out.extend_from_slice(b"\\r"),
    b'\t' => out.extend_from_slice(b"\\t"),
    0x08 => out.extend_from_slice(b"\\b"),
    0x0c => out.extend_from_slice(b"\\f"),
    _ => unit(out, b as u32),
  }
}

/// Whether a key, as written (the JSON string between its quotes), is `__proto__`.
/// Escapes can spell it (`'\x5f_proto__'`), so `\uXXXX` ones are read; any other
/// escape is a character that `__proto__` does not have.
fn is_proto(mut key: &[u8]) -> bool {
  for &want in b"__proto__" {
    let got = match key {
      [b'\\', b'u', a, b, c, d, rest @ ..] => {
        key = rest;
        [a, b, c, d].into_iter().try_fold(0, |v, d| Some(v * 16 + hex(d)?))
      }
      [b, rest @ ..] => {
        key = rest;
        Some(*b as u32)
      }
      [] => None,
    };
    if got != Some(want as u32) {
      return false;
    }
  }
  key.is_empty()
}

#[cfg(test)]
mod tests {
  use super::*;
  use bytes::BytesMut;
  use crate::codec::tests::decode_all_splits;
  use crate::codec::Codec;

  /// The frame for `input` (led by `~` when it holds sentinels), checked to be JSON.
  fn ok(input: &str) -> String {
    let frame = transcode(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    let text = String::from_utf8(frame.to_vec()).unwrap();
    let json = text.strip_prefix('~').unwrap_or(&text);
    serde_json::from_str::<serde_json::Value>(json).unwrap_or_else(|e| panic!("{input:?} gave {text:?}: {e}"));
    text
  }

  fn err(input: &str) -> MdsfError {
    let mut out = Vec::new();
    let e = to_json(input.as_bytes(), &mut out).expect_err(input);
    assert!(out.is_empty(), "{input:?} left output behind");
    e
  }

  fn fails(input: &str, offset: usize, reason: &'static str) {
    assert_eq!(err(input), MdsfError { offset, reason }, "{input:?}");
  }

  #[test]
  fn holes_and_undefined_elements_become_sentinels() {
    assert_eq!(ok("{a:[1,,3]}"), r#"~{"a":[1,{"\u0000":0},3]}"#);
    assert_eq!(ok("{a:[,]}"), r#"~{"a":[{"\u0000":0}]}"#);
    assert_eq!(ok("{a:[,1]}"), r#"~{"a":[{"\u0000":0},1]}"#);
    assert_eq!(ok("{a:[1,,]}"), r#"~{"a":[1,{"\u0000":0}]}"#);
    assert_eq!(ok("{a:[ , ,]}"), r#"~{"a":[{"\u0000":0},{"\u0000":0}]}"#);
    assert_eq!(ok("{a:[undefined,2]}"), r#"~{"a":[{"\u0000":0},2]}"#);
  }

  #[test]
  fn arrays() {
    assert_eq!(ok("{a:[1,]}"), r#"{"a":[1]}"#);
    assert_eq!(ok("{a:[]}"), r#"{"a":[]}"#);
    assert_eq!(ok("{a:[ ]}"), r#"{"a":[]}"#);
    assert_eq!(ok("{a:[ 1 , [2,[]] , {b:3} ]}"), r#"{"a":[1,[2,[]],{"b":3}]}"#);
    fails("{a:[1 2]}", 6, "expected ',' or ']'");
    fails("{a:[1,,}", 7, "expected a value");
    fails("{a:[1", 5, "unexpected end of input");
  }

  #[test]
  fn undefined_properties_are_dropped() {
    assert_eq!(ok("{a:undefined,b:1}"), r#"{"b":1}"#);
    assert_eq!(ok("{b:1,a:undefined}"), r#"{"b":1}"#);
    assert_eq!(ok("{a:undefined}"), "{}");
    assert_eq!(ok("{a:1,b:undefined,c:2,d:undefined,}"), r#"{"a":1,"c":2}"#);
    assert_eq!(ok("{a:{b:undefined},c:[undefined]}"), r#"~{"a":{},"c":[{"\u0000":0}]}"#);
  }

  #[test]
  fn proto_properties_are_dropped() {
    assert_eq!(ok("{__proto__:{x:[1,{y:2}]},a:1}"), r#"{"a":1}"#);
    assert_eq!(ok("{a:1,'__proto__':null}"), r#"{"a":1}"#);
    assert_eq!(ok(r"{'\x5f_proto\u005F_':1,b:{__proto__:NaN}}"), r#"~{"b":{}}"#);
    // Only that exact name.
    assert_eq!(ok("{__proto_:1,__proto__x:2,'__proto__ ':3}"), r#"{"__proto_":1,"__proto__x":2,"__proto__ ":3}"#);
    assert_eq!(ok(r"{'\\u005f_proto__':1}"), r#"{"\\u005f_proto__":1}"#);
  }

  #[test]
  fn keys() {
    assert_eq!(ok(r#"{'a b':1,"c'd":2,$_x9:3,_:4,A:5}"#), r#"{"a b":1,"c'd":2,"$_x9":3,"_":4,"A":5}"#);
    assert_eq!(ok("{a:1,a:2}"), r#"{"a":1,"a":2}"#);
    assert_eq!(ok("{ a:  1 ,\n b:2 , }"), r#"{"a":1,"b":2}"#);
    assert_eq!(ok("{}"), "{}");
    assert_eq!(ok("{ /* nothing */ }"), "{}");
    fails("{a :1}", 2, "expected ':' right after the key");
    fails("{a/*c*/:1}", 2, "expected ':' right after the key");
    fails("{'a' :1}", 4, "expected ':' right after the key");
    fails("{1:2}", 1, "expected a key");
    fails("{-a:2}", 1, "expected a key");
    fails("{,}", 1, "expected a key");
    fails("{a:1,,}", 5, "expected a key");
    fails("{a}", 2, "expected ':' right after the key");
    fails("{a:}", 3, "expected a value");
    fails("{a:1 b:2}", 5, "expected ',' or '}'");
    fails("{a:1", 4, "unexpected end of input");
  }

  #[test]
  fn numbers() {
    assert_eq!(ok("{a:0x1F,b:.5,c:5.,d:+3,e:-0o7,f:0b11,g:1e,h:0.}"), r#"{"a":31,"b":0.5,"c":5,"d":3,"e":-7,"f":3,"g":1,"h":0}"#);
    assert_eq!(
      ok("{a:-.5,b:+.5e1,c:5.e3,d:1e+,e:1E-2,f:1.25e+3,g:0e5,h:-0,i:10}"),
      r#"{"a":-0.5,"b":0.5e1,"c":5e3,"d":1,"e":1E-2,"f":1.25e+3,"g":0e5,"h":-0,"i":10}"#
    );
    assert_eq!(ok("{a:0XfF,b:0O17,c:0B101,d:-0x10,e:+0x0,f:-0b0}"), r#"{"a":255,"b":15,"c":5,"d":-16,"e":0,"f":-0}"#);
    // Exact up to u64, then as the original's float sum.
    assert_eq!(ok("{a:0xFFFFFFFFFFFFFFFF,b:0x10000000000000000}"), r#"{"a":18446744073709551615,"b":18446744073709552000}"#);
    let huge = format!("{{a:0x{0},b:-0x{0}}}", "f".repeat(300));
    assert_eq!(ok(&huge), r#"~{"a":{"\u0000":2},"b":{"\u0000":3}}"#);
    // A decimal past the float range is left to JSON.parse, which also gives Infinity
    // (serde_json refuses it, so no `ok`).
    let mut out = Vec::new();
    assert_eq!(to_json(b"{a:-1e400}", &mut out), Ok(false));
    assert_eq!(out, br#"{"a":-1e400}"#);
  }

  #[test]
  fn bad_numbers() {
    fails("{a:017}", 3, "legacy octal literal");
    fails("{a:00}", 3, "legacy octal literal");
    fails("{a:-01.5}", 4, "legacy octal literal");
    fails("{a:0x}", 5, "expected a digit");
    fails("{a:0b2}", 5, "expected a digit");
    fails("{a:0x", 5, "unexpected end of input");
    fails("{a:.}", 3, "invalid number");
    fails("{a:+}", 3, "invalid number");
    fails("{a:-e5}", 3, "invalid number");
    fails("{a:-x}", 3, "invalid number");
    fails("{a:+NaN}", 3, "invalid number");
    fails("{a:1.2.3}", 6, "expected ',' or '}'");
    fails("{a:1-2}", 4, "expected ',' or '}'");
    fails("{a:0x1g}", 6, "expected ',' or '}'");
    fails("{a:1e5e}", 6, "expected ',' or '}'");
  }

  #[test]
  fn literals() {
    assert_eq!(ok("{a:true,b:false,c:null}"), r#"{"a":true,"b":false,"c":null}"#);
    assert_eq!(
      ok("{a:NaN,b:Infinity,c:+Infinity,d:-Infinity}"),
      r#"~{"a":{"\u0000":1},"b":{"\u0000":2},"c":{"\u0000":2},"d":{"\u0000":3}}"#
    );
    assert_eq!(ok("{a:[NaN]}"), r#"~{"a":[{"\u0000":1}]}"#);
    fails("{a:TRUE}", 3, "unknown literal");
    fails("{a:True}", 3, "unknown literal");
    fails("{a:nul}", 3, "unknown literal");
    fails("{a:nan}", 3, "unknown literal");
    fails("{a:truex}", 3, "unknown literal");
    fails("{a:-Infinityx}", 3, "invalid number");
    fails("{a:true1}", 7, "expected ',' or '}'");
  }

  #[test]
  fn the_message_is_one_object() {
    fails("", 0, "expected an object");
    fails(" \n// only a comment", 19, "expected an object");
    fails("[1]", 0, "expected an object");
    fails("'s'", 0, "expected an object");
    fails("{a:1}x", 5, "unexpected data after the message");
    fails("{a:1}{}", 5, "unexpected data after the message");
    fails("{a:1}]", 5, "unexpected data after the message");
    assert_eq!(ok(" \t/*x*/ {a:1} /*y*/ // z"), r#"{"a":1}"#);
  }

  #[test]
  fn comments_and_whitespace() {
    assert_eq!(ok("{/*c*/a:1 // t\n}"), r#"{"a":1}"#);
    assert_eq!(ok("{a:1,/*x*//*y*/ b:[/**/2/***/,//\r3]}//"), r#"{"a":1,"b":[2,3]}"#);
    assert_eq!(ok("\x0b{\x0ca:\t1\r}\n"), r#"{"a":1}"#);
    fails("{a:1/* }", 4, "unterminated comment");
    fails("{a:1 /*/}", 5, "unterminated comment");
    fails("{a:/1}", 3, "expected a value");
    fails("{a:1 /}", 5, "expected ',' or '}'");
  }

  #[test]
  fn string_escapes() {
    let text = ok(r"{s:'x\q\x41\u{1F600}\101\0\400'}");
    assert_eq!(text, r#"{"s":"xq\u0041\ud83d\ude00\u0041\u0000\u0100"}"#);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["s"], "xqA\u{1F600}A\0\u{100}");
    assert_eq!(ok(r#"{s:'it\'s \"q\"'}"#), r#"{"s":"it's \"q\""}"#);
    assert_eq!(ok(r#"{s:"it's \'q\'"}"#), r#"{"s":"it's 'q'"}"#);
    assert_eq!(ok(r"{s:'\b\f\n\r\t\v\\\/'}"), r#"{"s":"\b\f\n\r\t\u000b\\\/"}"#);
    assert_eq!(ok(r"{s:'\777\1234\08\8\9'}"), r#"{"s":"\u01ff\u00534\u0000889"}"#);
    assert_eq!(ok(r"{s:'\u{0}\u{ffff}\u{10FFFF}\u{00000041}'}"), r#"{"s":"\u0000\uffff\udbff\udfff\u0041"}"#);
    assert_eq!(ok("{s:'\\é\\✓x'}"), r#"{"s":"é✓x"}"#);
    // Backslash-newline is a newline, not a line continuation.
    assert_eq!(ok("{s:'a\\\nb\\\r\nc'}"), r#"{"s":"a\nb\r\nc"}"#);
    let mut out = Vec::new();
    to_json(r"{s:'\u0041\uD800\udc00'}".as_bytes(), &mut out).unwrap();
    assert_eq!(out, br#"{"s":"\u0041\uD800\udc00"}"#);
  }

  #[test]
  fn raw_string_content() {
    assert_eq!(ok("{s:'say \"hi\"'}"), r#"{"s":"say \"hi\""}"#);
    assert_eq!(ok("{s:\"it's\"}"), r#"{"s":"it's"}"#);
    assert_eq!(ok("{s:'a\nb\tc\rd\x08e\x0cf\x01g\x1f\x7f'}"), "{\"s\":\"a\\nb\\tc\\rd\\be\\ff\\u0001g\\u001f\x7f\"}");
    assert_eq!(
      ok("{s:'héllo ✓ \u{1F600}', 'ключ':'/* not a comment */'}"),
      "{\"s\":\"héllo ✓ \u{1F600}\",\"ключ\":\"/* not a comment */\"}"
    );
    assert_eq!(ok("{s:'',t:\"\"}"), r#"{"s":"","t":""}"#);
  }

  #[test]
  fn bad_strings() {
    fails("{a:'x", 3, "unterminated string");
    fails("{a:'x\\", 3, "unterminated string");
    fails("{a:'x\"}", 3, "unterminated string");
    fails("{'a:1}", 1, "unterminated string");
    fails(r"{a:'\x4'}", 4, "invalid \\x escape");
    fails(r"{a:'\xZZ'}", 4, "invalid \\x escape");
    fails(r"{a:'\u12'}", 4, "invalid \\u escape");
    fails(r"{a:'\u'}", 4, "invalid \\u escape");
    fails(r"{a:'\u{}'}", 4, "invalid \\u{} escape");
    fails(r"{a:'\u{41'}", 4, "invalid \\u{} escape");
    fails(r"{a:'\u{4g}'}", 4, "invalid \\u{} escape");
    fails(r"{a:'\u{000000041}'}", 4, "invalid \\u{} escape");
    fails(r"{a:'\u{110000}'}", 4, "code point out of range");
  }

  #[test]
  fn nesting_up_to_max_depth() {
    let nested = |n: usize| format!("{{a:{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
    // Too deep for serde_json to check, so no `ok`.
    let mut out = Vec::new();
    assert_eq!(to_json(nested(MAX_DEPTH).as_bytes(), &mut out), Ok(false));
    assert_eq!(out, nested(MAX_DEPTH).replace("a", "\"a\"").as_bytes());
    fails(&nested(MAX_DEPTH + 1), 3 + MAX_DEPTH - 1, "nesting too deep");
    let objects = format!("{}1{}", "{a:".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&objects).reason, "nesting too deep");
    // Far deeper than any stack would take by recursion.
    assert_eq!(err(&format!("{{a:{}", "[".repeat(200_000))).reason, "nesting too deep");
  }

  #[test]
  fn unbalanced_brackets() {
    fails("{a:[[[}", 6, "expected a value");
    fails("{a:[1}", 5, "expected ',' or ']'");
    fails("{a:{b:1]}", 7, "expected ',' or '}'");
    fails("{a:[[]]]}", 7, "expected ',' or '}'");
  }

  #[test]
  fn appends_and_restores_on_error() {
    let mut out = b"prior".to_vec();
    assert_eq!(to_json(b"{a:NaN}", &mut out), Ok(true));
    assert_eq!(out, br#"prior{"a":{"\u0000":1}}"#);
    assert_eq!(to_json(b"{a:[1,2,{b:'x", &mut out).map_err(|e| e.reason), Err("unterminated string"));
    assert_eq!(out, br#"prior{"a":{"\u0000":1}}"#);
  }

  #[test]
  fn error_message() {
    assert_eq!(err("{a:TRUE}").to_string(), "invalid JSTP message at byte 3: unknown literal");
  }

  fn jstp() -> Codec {
    Codec::Transcoded(Box::new(Codec::Delimited(crate::codec::Delimited::new(vec![0], 64))), std::sync::Arc::new(Mdsf))
  }

  #[test]
  fn codec_frames_on_nul_and_delivers_json() {
    let frames = decode_all_splits(jstp, b"{a:1}\0{b:'x'}\0{c:[,]}\0{d:");
    assert_eq!(frames, vec![br#"{"a":1}"#.to_vec(), br#"{"b":"x"}"#.to_vec(), br#"~{"c":[{"\u0000":0}]}"#.to_vec()]);
    assert!(jstp().is_framed());
  }

  #[test]
  fn codec_reads_bad_utf8_as_replacement_characters() {
    let frames = decode_all_splits(jstp, b"{a:'x\xff\xc3y'}\0");
    assert_eq!(frames, vec!["{\"a\":\"x\u{FFFD}\u{FFFD}y\"}".as_bytes().to_vec()]);
  }

  #[test]
  fn codec_delivers_good_frames_before_a_bad_one() {
    let mut c = jstp();
    let mut buf = BytesMut::from(&b"{a:1}\0{a :1}\0{b:2}\0"[..]);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), &br#"{"a":1}"#[..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::Malformed { offset: 2, reason: "expected ':' right after the key" }));
    // An empty frame is not a message either.
    let mut buf = BytesMut::from(&b"\0"[..]);
    assert!(matches!(c.decode(&mut buf), Err(FrameError::Malformed { offset: 0, .. })));
  }

  #[test]
  fn codec_limits_frame_size() {
    let mut c = jstp();
    let mut buf = BytesMut::from(&[b'x'; 65][..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::TooLarge { size: 65, max: 64 }));
    let mut out = BytesMut::new();
    c.encode(b"{a:1}", &mut out).unwrap();
    assert_eq!(&out[..], b"{a:1}\0");
    assert!(c.encode(&[b' '; 65], &mut out).is_err());
  }
}
