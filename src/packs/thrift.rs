//! Thrift messages on an unframed stream (the buffered transport), in the binary or
//! the compact protocol. Nothing on the wire says where a message ends, so its
//! structure is walked: the header, then one struct, whose strings and containers are
//! stepped over by their declared sizes. Messages are delivered byte for byte as they came.

use bytes::{Bytes, BytesMut};

use crate::codec::{reserve_claimed, FrameError, Scan};

/// Deepest nesting of structs and containers, the message's own struct included:
/// Thrift's default recursion limit.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
  Binary,
  Compact,
}

#[derive(Debug, Clone)]
pub struct ThriftMessages {
  protocol: Protocol,
  max_frame: usize,
  /// How much of the message at the front of the buffer is scanned, in whole tokens,
  /// so that a message arriving in many reads is scanned once. It runs past the
  /// buffered bytes while those of a string or of fixed-size values are still to come.
  pos: usize,
  part: Part,
  /// The structs and containers around the current one, outermost first.
  parents: Vec<Level>,
}

#[derive(Debug, Clone, Copy)]
enum Part {
  Header,
  /// The old binary header's message type and seqid, which follow the name.
  OldHeaderTail,
  /// Inside this struct or container, the innermost open one.
  Body(Level),
}

#[derive(Debug, Clone, Copy)]
enum Level {
  Struct,
  /// Items still to come: a map's are its keys and values in turn, so the next one's
  /// type is `types[left % 2]`; a list's or set's two types are the same.
  Items { left: usize, types: [Kind; 2] },
}

impl Level {
  /// The level once one more of its items is read (a struct does not count its fields).
  fn after_item(self) -> Level {
    match self {
      Level::Items { left, types } => Level::Items { left: left - 1, types },
      Level::Struct => Level::Struct,
    }
  }
}

/// A value's type, whichever protocol's code named it. Sets are read as lists.
#[derive(Debug, Clone, Copy)]
enum Kind {
  Bool,
  Byte,
  I16,
  I32,
  I64,
  Double,
  Binary,
  Uuid,
  Struct,
  Map,
  List,
}

impl Protocol {
  fn kind(self, code: u8) -> Option<Kind> {
    Some(match (self, code) {
      (Protocol::Binary, 2) | (Protocol::Compact, 1 | 2) => Kind::Bool,
      (_, 3) => Kind::Byte,
      (Protocol::Binary, 4) | (Protocol::Compact, 7) => Kind::Double,
      (Protocol::Binary, 6) | (Protocol::Compact, 4) => Kind::I16,
      (Protocol::Binary, 8) | (Protocol::Compact, 5) => Kind::I32,
      (Protocol::Binary, 10) | (Protocol::Compact, 6) => Kind::I64,
      (Protocol::Binary, 11) | (Protocol::Compact, 8) => Kind::Binary,
      (_, 12) => Kind::Struct,
      (Protocol::Binary, 13) | (Protocol::Compact, 11) => Kind::Map,
      (Protocol::Binary, 14 | 15) | (Protocol::Compact, 9 | 10) => Kind::List,
      (Protocol::Binary, 16) | (Protocol::Compact, 13) => Kind::Uuid,
      _ => return None,
    })
  }

  /// The fewest bytes a value of `kind` takes, and whether it always takes that many.
  fn size(self, kind: Kind) -> (usize, bool) {
    match (self, kind) {
      (_, Kind::Bool | Kind::Byte) => (1, true),
      (Protocol::Binary, Kind::I16) => (2, true),
      (Protocol::Binary, Kind::I32) => (4, true),
      (Protocol::Binary, Kind::I64) | (_, Kind::Double) => (8, true),
      (_, Kind::Uuid) => (16, true),
      (Protocol::Binary, Kind::Binary) => (4, false),
      (Protocol::Binary, Kind::List) => (5, false),
      (Protocol::Binary, Kind::Map) => (6, false),
      (_, Kind::Struct) | (Protocol::Compact, Kind::I16 | Kind::I32 | Kind::I64 | Kind::Binary | Kind::List | Kind::Map) => {
        (1, false)
      }
    }
  }
}

/// What a token does to the levels.
enum Token {
  /// A value read whole, or a field whose value is in its header (compact booleans).
  Leaf,
  Open(Level),
  /// The end of a struct or container.
  Close,
}

/// Why scanning stopped before the message's end.
enum Halt {
  /// The next token's bytes have not all arrived.
  Incomplete,
  Failed(FrameError),
}

impl From<FrameError> for Halt {
  fn from(e: FrameError) -> Self {
    Halt::Failed(e)
  }
}

fn malformed(offset: usize, reason: &'static str) -> Halt {
  Halt::Failed(FrameError::Malformed { offset, reason })
}

/// CALL, REPLY, EXCEPTION or ONEWAY.
fn message_type(t: u8, offset: usize) -> Result<(), Halt> {
  match t {
    1..=4 => Ok(()),
    _ => Err(malformed(offset, "unknown message type")),
  }
}

impl ThriftMessages {
  pub fn new(protocol: Protocol, max_frame: usize) -> Self {
    ThriftMessages { protocol, max_frame, pos: 0, part: Part::Header, parents: Vec::new() }
  }
}

impl Scan for ThriftMessages {
  fn fresh(&self) -> Box<dyn Scan> {
    Box::new(ThriftMessages::new(self.protocol, self.max_frame))
  }

  fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    let mut r = Reader { buf: &buf[..], at: self.pos, max_frame: self.max_frame };
    loop {
      match self.token(&mut r) {
        Ok(done) => {
          self.pos = r.at;
          if done {
            break;
          }
        }
        Err(Halt::Incomplete) => {
          // Bytes already declared (a string's, say) are coming: make room for them.
          if self.pos > buf.len() {
            reserve_claimed(buf, self.pos - buf.len());
          }
          return Ok(None);
        }
        Err(Halt::Failed(e)) => return Err(e),
      }
    }
    let len = std::mem::take(&mut self.pos);
    self.part = Part::Header;
    Ok(Some(buf.split_to(len).freeze()))
  }

  fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError> {
    if payload.len() > self.max_frame {
      return Err(FrameError::TooLarge { size: payload.len(), max: self.max_frame });
    }
    out.extend_from_slice(payload);
    Ok(())
  }
}

impl ThriftMessages {
  /// Scans the token at `r.at`, changing no state unless all of it is there; returns
  /// whether it ended the message.
  fn token(&mut self, r: &mut Reader) -> Result<bool, Halt> {
    let level = match self.part {
      Part::Header => {
        self.part = self.header(r)?;
        return Ok(false);
      }
      Part::OldHeaderTail => {
        let at = r.at;
        message_type(r.u8()?, at)?;
        r.skip(4)?;
        self.part = Part::Body(Level::Struct);
        return Ok(false);
      }
      Part::Body(level) => level,
    };
    let token = match level {
      Level::Struct => self.field(r)?,
      Level::Items { left: 0, .. } => Token::Close,
      Level::Items { left, types } => self.value(r, types[left % 2])?,
    };
    self.part = Part::Body(match token {
      Token::Leaf => level.after_item(),
      Token::Open(child) => {
        self.parents.push(level.after_item());
        child
      }
      Token::Close => match self.parents.pop() {
        Some(parent) => parent,
        None => return Ok(true),
      },
    });
    Ok(false)
  }

  /// The message header; returns the part that follows it.
  fn header(&self, r: &mut Reader) -> Result<Part, Halt> {
    match self.protocol {
      Protocol::Binary => {
        let word = r.u32()?;
        if word & 0x8000_0000 == 0 {
          // The old header: the name's length comes first, then the name.
          r.blob(word.into())?;
          return Ok(Part::OldHeaderTail);
        }
        if word & 0xffff_0000 != 0x8001_0000 {
          return Err(malformed(0, "bad version"));
        }
        message_type(word as u8, 3)?;
        let name = r.u32()?;
        r.blob(name.into())?;
        r.skip(4)?;
      }
      Protocol::Compact => {
        if r.u8()? != 0x82 {
          return Err(malformed(0, "bad protocol id"));
        }
        let b = r.u8()?;
        if b & 0x1f != 1 {
          return Err(malformed(1, "bad version"));
        }
        message_type(b >> 5, 1)?;
        r.varint(5)?;
        let name = r.varint(5)?;
        r.blob(name)?;
      }
    }
    Ok(Part::Body(Level::Struct))
  }

  /// A struct's next field header and the head of its value, or its STOP.
  fn field(&self, r: &mut Reader) -> Result<Token, Halt> {
    let at = r.at;
    let b = r.u8()?;
    match self.protocol {
      Protocol::Binary if b == 0 => Ok(Token::Close),
      Protocol::Binary => {
        let kind = self.kind(b, at)?;
        r.skip(2)?;
        self.value(r, kind)
      }
      // Readers take any byte with type 0 for a STOP, whatever its id delta.
      Protocol::Compact if b & 0x0f == 0 => Ok(Token::Close),
      Protocol::Compact => {
        let kind = self.kind(b & 0x0f, at)?;
        // A zero delta: the field id follows, as a zigzag i16.
        if b >> 4 == 0 {
          r.varint(3)?;
        }
        match kind {
          Kind::Bool => Ok(Token::Leaf),
          _ => self.value(r, kind),
        }
      }
    }
  }

  /// The head of a value of `kind`: all of it, unless it is a struct or container to open.
  fn value(&self, r: &mut Reader, kind: Kind) -> Result<Token, Halt> {
    let at = r.at;
    let nests = matches!(kind, Kind::Struct | Kind::Map | Kind::List);
    if nests && self.parents.len() + 1 == MAX_DEPTH {
      return Err(malformed(at, "nesting too deep"));
    }
    match (self.protocol, kind) {
      (_, Kind::Bool | Kind::Byte | Kind::Double | Kind::Uuid) | (Protocol::Binary, Kind::I16 | Kind::I32 | Kind::I64) => {
        r.skip(self.protocol.size(kind).0)?
      }
      (Protocol::Compact, Kind::I16) => {
        r.varint(3)?;
      }
      (Protocol::Compact, Kind::I32) => {
        r.varint(5)?;
      }
      (Protocol::Compact, Kind::I64) => {
        r.varint(10)?;
      }
      (Protocol::Binary, Kind::Binary) => {
        let len = r.u32()?;
        r.blob(len.into())?;
      }
      (Protocol::Compact, Kind::Binary) => {
        let len = r.varint(5)?;
        r.blob(len)?;
      }
      (_, Kind::Struct) => return Ok(Token::Open(Level::Struct)),
      (Protocol::Binary, Kind::List) => {
        let elem = self.kind(r.u8()?, at)?;
        let size = r.u32()?;
        return self.items(r, size.into(), elem, None);
      }
      (Protocol::Binary, Kind::Map) => {
        let key = self.kind(r.u8()?, at)?;
        let value = self.kind(r.u8()?, at + 1)?;
        let size = r.u32()?;
        return self.items(r, size.into(), key, Some(value));
      }
      (Protocol::Compact, Kind::List) => {
        let b = r.u8()?;
        let elem = self.kind(b & 0x0f, at)?;
        let size = match b >> 4 {
          15 => r.varint(5)?,
          n => n.into(),
        };
        return self.items(r, size, elem, None);
      }
      (Protocol::Compact, Kind::Map) => {
        // An empty map is its size alone, without the types.
        let size = r.varint(5)?;
        if size == 0 {
          return Ok(Token::Leaf);
        }
        let types_at = r.at;
        let b = r.u8()?;
        let key = self.kind(b >> 4, types_at)?;
        let value = self.kind(b & 0x0f, types_at)?;
        return self.items(r, size, key, Some(value));
      }
    }
    Ok(Token::Leaf)
  }

  /// A container of `size` items, or of `size` pairs when it has value types, whose
  /// head is read.
  fn items(&self, r: &mut Reader, size: u64, key: Kind, value: Option<Kind>) -> Result<Token, Halt> {
    let (key_min, key_fixed) = self.protocol.size(key);
    let (value_min, value_fixed) = value.map_or((0, true), |v| self.protocol.size(v));
    // Refuse a size that cannot fit before its items arrive; items of a fixed size
    // are stepped over all at once.
    let bytes = r.declared(size, key_min + value_min)?;
    if size == 0 || (key_fixed && value_fixed) {
      r.skip(bytes)?;
      return Ok(Token::Leaf);
    }
    // A map's keys and values are items each.
    let per_entry = if value.is_some() { 2 } else { 1 };
    let left = size as usize * per_entry;
    Ok(Token::Open(Level::Items { left, types: [key, value.unwrap_or(key)] }))
  }

  fn kind(&self, code: u8, offset: usize) -> Result<Kind, Halt> {
    self.protocol.kind(code).ok_or_else(|| malformed(offset, "unknown type"))
  }
}

/// Reads tokens of the message at the front of the buffer, refusing any that would
/// take it past the maximum frame size before waiting for their bytes.
struct Reader<'a> {
  buf: &'a [u8],
  at: usize,
  max_frame: usize,
}

impl<'a> Reader<'a> {
  /// Steps over `n` bytes without looking at them: they need not have arrived yet.
  fn skip(&mut self, n: usize) -> Result<(), Halt> {
    let end = self.at.saturating_add(n);
    if end > self.max_frame {
      return Err(FrameError::TooLarge { size: end, max: self.max_frame }.into());
    }
    self.at = end;
    Ok(())
  }

  fn take(&mut self, n: usize) -> Result<&'a [u8], Halt> {
    let from = self.at;
    self.skip(n)?;
    self.buf.get(from..self.at).ok_or(Halt::Incomplete)
  }

  fn u8(&mut self) -> Result<u8, Halt> {
    Ok(self.take(1)?[0])
  }

  fn u32(&mut self) -> Result<u32, Halt> {
    let b = self.take(4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
  }

  /// A ULEB128 varint of at most `max_len` bytes.
  fn varint(&mut self, max_len: usize) -> Result<u64, Halt> {
    let from = self.at;
    let mut v = 0;
    for i in 0..max_len {
      let b = self.u8()?;
      v |= u64::from(b & 0x7f) << (7 * i);
      if b < 0x80 {
        return Ok(v);
      }
    }
    Err(malformed(from, "varint too long"))
  }

  /// The bytes that `n` declared items of at least `each` bytes take. An i32 size
  /// that is negative (read unsigned: above `i32::MAX`) cannot fit either.
  fn declared(&self, n: u64, each: usize) -> Result<usize, Halt> {
    let bytes = usize::try_from(n).unwrap_or(usize::MAX).saturating_mul(each);
    let end = self.at.saturating_add(bytes);
    if n > i32::MAX as u64 || end > self.max_frame {
      return Err(FrameError::TooLarge { size: end, max: self.max_frame }.into());
    }
    Ok(bytes)
  }

  /// Steps over a string's (or name's) `len` bytes.
  fn blob(&mut self, len: u64) -> Result<(), Halt> {
    let bytes = self.declared(len, 1)?;
    self.skip(bytes)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::tests::decode_all_splits;
  use crate::codec::Codec;

  /// Binary protocol type codes.
  mod bt {
    pub const BOOL: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const DOUBLE: u8 = 4;
    pub const I16: u8 = 6;
    pub const I32: u8 = 8;
    pub const I64: u8 = 10;
    pub const STRING: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const MAP: u8 = 13;
    pub const SET: u8 = 14;
    pub const LIST: u8 = 15;
    pub const UUID: u8 = 16;
  }

  /// Compact protocol type codes.
  mod ct {
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const UUID: u8 = 13;
  }

  const CALL: u8 = 1;
  const REPLY: u8 = 2;
  const EXCEPTION: u8 = 3;
  const ONEWAY: u8 = 4;

  const UUID: [u8; 16] = [0xab; 16];

  /// A message written by hand, as the binary protocol writes it.
  struct Bin(Vec<u8>);

  impl Bin {
    /// The strict header.
    fn message(kind: u8, name: &str, seqid: i32) -> Self {
      Bin(Vec::new()).raw(&[0x80, 0x01, 0, kind]).string(name.as_bytes()).i32(seqid)
    }
    fn raw(mut self, b: &[u8]) -> Self {
      self.0.extend_from_slice(b);
      self
    }
    fn byte(self, v: u8) -> Self {
      self.raw(&[v])
    }
    fn i16(self, v: i16) -> Self {
      self.raw(&v.to_be_bytes())
    }
    fn i32(self, v: i32) -> Self {
      self.raw(&v.to_be_bytes())
    }
    fn i64(self, v: i64) -> Self {
      self.raw(&v.to_be_bytes())
    }
    fn double(self, v: f64) -> Self {
      self.raw(&v.to_be_bytes())
    }
    fn string(self, s: &[u8]) -> Self {
      self.i32(s.len() as i32).raw(s)
    }
    fn field(self, kind: u8, id: i16) -> Self {
      self.byte(kind).i16(id)
    }
    fn list(self, elem: u8, n: i32) -> Self {
      self.byte(elem).i32(n)
    }
    fn map(self, key: u8, value: u8, n: i32) -> Self {
      self.byte(key).byte(value).i32(n)
    }
    fn stop(self) -> Self {
      self.byte(0)
    }
    fn each(mut self, n: usize, item: impl Fn(Self, usize) -> Self) -> Self {
      for i in 0..n {
        self = item(self, i);
      }
      self
    }
  }

  /// A message written by hand, as the compact protocol writes it.
  struct Cpt(Vec<u8>);

  impl Cpt {
    fn message(kind: u8, name: &str, seqid: u32) -> Self {
      Cpt(vec![0x82, kind << 5 | 1]).varint(seqid.into()).binary(name.as_bytes())
    }
    fn raw(mut self, b: &[u8]) -> Self {
      self.0.extend_from_slice(b);
      self
    }
    fn byte(self, v: u8) -> Self {
      self.raw(&[v])
    }
    fn varint(mut self, mut v: u64) -> Self {
      while v >= 0x80 {
        self.0.push(v as u8 | 0x80);
        v >>= 7;
      }
      self.byte(v as u8)
    }
    fn zigzag(self, v: i64) -> Self {
      self.varint(((v << 1) ^ (v >> 63)) as u64)
    }
    fn double(self, v: f64) -> Self {
      self.raw(&v.to_le_bytes())
    }
    fn binary(self, b: &[u8]) -> Self {
      self.varint(b.len() as u64).raw(b)
    }
    /// A field header whose id is `delta` past the previous one's.
    fn field(self, kind: u8, delta: u8) -> Self {
      self.byte(delta << 4 | kind)
    }
    /// A field header with the id in full.
    fn field_id(self, kind: u8, id: i16) -> Self {
      self.byte(kind).zigzag(id.into())
    }
    fn list(self, elem: u8, n: usize) -> Self {
      match n {
        0..=14 => self.byte((n as u8) << 4 | elem),
        _ => self.byte(0xf0 | elem).varint(n as u64),
      }
    }
    fn map(self, key: u8, value: u8, n: u64) -> Self {
      match n {
        0 => self.byte(0),
        _ => self.varint(n).byte(key << 4 | value),
      }
    }
    fn stop(self) -> Self {
      self.byte(0)
    }
    fn each(mut self, n: usize, item: impl Fn(Self, usize) -> Self) -> Self {
      for i in 0..n {
        self = item(self, i);
      }
      self
    }
  }

  fn codec(protocol: Protocol) -> impl Fn() -> Codec {
    move || Codec::Scanned(Box::new(ThriftMessages::new(protocol, 1 << 20)))
  }

  fn decode_whole(protocol: Protocol, max: usize, wire: &[u8]) -> Result<Option<Bytes>, FrameError> {
    ThriftMessages::new(protocol, max).decode(&mut BytesMut::from(wire))
  }

  fn fails(protocol: Protocol, wire: &[u8], offset: usize, reason: &'static str) {
    assert_eq!(decode_whole(protocol, 1 << 20, wire), Err(FrameError::Malformed { offset, reason }));
  }

  #[test]
  fn binary_messages_of_every_type_back_to_back() {
    let call = Bin::message(CALL, "everything", 7)
      .field(bt::BOOL, 1)
      .byte(1)
      .field(bt::BYTE, 2)
      .byte(0)
      .field(bt::DOUBLE, 3)
      .double(-1.5)
      .field(bt::I16, 4)
      .i16(-2)
      .field(bt::I32, 5)
      .i32(0)
      .field(bt::I64, 6)
      .i64(i64::MIN)
      .field(bt::STRING, 7)
      .string(b"h\0llo")
      .field(bt::STRING, 8)
      .string(b"")
      .field(bt::UUID, 9)
      .raw(&UUID)
      // Structs in a struct.
      .field(bt::STRUCT, 10)
      .field(bt::I32, 1)
      .i32(3)
      .field(bt::STRUCT, 2)
      .field(bt::STRING, 1)
      .string(b"deep")
      .stop()
      .stop()
      // map<string, list<i32>>, one of the lists empty.
      .field(bt::MAP, 11)
      .map(bt::STRING, bt::LIST, 2)
      .string(b"a")
      .list(bt::I32, 2)
      .i32(1)
      .i32(2)
      .string(b"b")
      .list(bt::I32, 0)
      // list<struct>: one with a field, an empty one, one with a list<bool>.
      .field(bt::LIST, 12)
      .list(bt::STRUCT, 3)
      .field(bt::I16, 1)
      .i16(1)
      .stop()
      .stop()
      .field(bt::LIST, 1)
      .list(bt::BOOL, 3)
      .raw(&[1, 0, 1])
      .stop()
      // set<i64>, empty map and list of structs.
      .field(bt::SET, 13)
      .list(bt::I64, 2)
      .i64(1)
      .i64(-1)
      .field(bt::MAP, 14)
      .map(bt::I32, bt::STRUCT, 0)
      .field(bt::LIST, 15)
      .list(bt::STRUCT, 0)
      // map<i32, struct>, map<string, map<i16, double>>.
      .field(bt::MAP, 16)
      .map(bt::I32, bt::STRUCT, 2)
      .i32(1)
      .stop()
      .i32(2)
      .field(bt::DOUBLE, 1)
      .double(0.5)
      .stop()
      .field(bt::MAP, 17)
      .map(bt::STRING, bt::MAP, 1)
      .string(b"m")
      .map(bt::I16, bt::DOUBLE, 2)
      .i16(1)
      .double(1.0)
      .i16(2)
      .double(2.0)
      // list<list<uuid>>, list<set<string>>.
      .field(bt::LIST, 18)
      .list(bt::LIST, 2)
      .list(bt::UUID, 1)
      .raw(&UUID)
      .list(bt::UUID, 0)
      .field(bt::LIST, -1)
      .list(bt::SET, 1)
      .list(bt::STRING, 2)
      .string(b"x")
      .string(b"yz")
      .stop();
    let reply = Bin::message(REPLY, "everything", 7).field(bt::STRUCT, 0).field(bt::STRING, 1).string(b"ok").stop().stop();
    let old = Bin(Vec::new()).string(b"ping").byte(ONEWAY).i32(9).stop();
    let exception = Bin::message(EXCEPTION, "", 0).field(bt::STRING, 1).string(b"boom").field(bt::I32, 2).i32(6).stop();
    let partial = Bin::message(CALL, "next", 8).field(bt::I32, 1);
    let messages = [call.0, reply.0, old.0, exception.0];
    let wire = [&messages.concat()[..], &partial.0].concat();
    assert_eq!(decode_all_splits(codec(Protocol::Binary), &wire), messages);
  }

  #[test]
  fn compact_messages_of_every_type_back_to_back() {
    let call = Cpt::message(CALL, "everything", 300)
      // Booleans in the field header, with no value bytes.
      .field(ct::TRUE, 1)
      .field(ct::FALSE, 1)
      .field(ct::BYTE, 1)
      .byte(0)
      .field(ct::I16, 1)
      .zigzag(-300)
      .field(ct::I32, 1)
      .zigzag(i32::MIN.into())
      .field(ct::I64, 1)
      .zigzag(i64::MIN)
      .field(ct::DOUBLE, 1)
      .double(2.5)
      .field(ct::BINARY, 1)
      .binary(b"h\0llo")
      .field(ct::UUID, 1)
      .raw(&UUID)
      // Ids in full: a jump, a negative one, a boolean's.
      .field_id(ct::I32, 1000)
      .zigzag(5)
      .field_id(ct::TRUE, -1)
      .field_id(ct::STRUCT, i16::MAX)
      .field(ct::BINARY, 1)
      .binary(b"in")
      .field(ct::STRUCT, 1)
      .field(ct::FALSE, 1)
      .stop()
      .stop()
      // list<bool>, both codes; list<i32> with the size in full; set<binary>.
      .field(ct::LIST, 1)
      .list(ct::TRUE, 3)
      .raw(&[1, 2, 1])
      .field(ct::LIST, 1)
      .list(ct::I32, 20)
      .each(20, |w, i| w.zigzag(-(1 << (i + 10))))
      .field(ct::SET, 1)
      .list(ct::BINARY, 2)
      .binary(b"a")
      .binary(b"")
      // map<binary, list<i64>>, empty map and list, map<i32, struct>.
      .field(ct::MAP, 1)
      .map(ct::BINARY, ct::LIST, 2)
      .binary(b"k")
      .list(ct::I64, 2)
      .zigzag(1)
      .zigzag(-1)
      .binary(b"e")
      .list(ct::I64, 0)
      .field(ct::MAP, 1)
      .map(0, 0, 0)
      .field(ct::LIST, 1)
      .list(ct::STRUCT, 0)
      .field(ct::MAP, 1)
      .map(ct::I32, ct::STRUCT, 2)
      .zigzag(1)
      .stop()
      .zigzag(2)
      .field(ct::DOUBLE, 1)
      .double(1.0)
      .stop()
      // list<struct> of 15, list<list<uuid>>, map<bool, bool>, set of 15 doubles.
      .field(ct::LIST, 1)
      .list(ct::STRUCT, 15)
      .each(15, |w, i| w.field(ct::I16, 1).zigzag(i as i64).field(ct::TRUE, 1).stop())
      .field(ct::LIST, 1)
      .list(ct::LIST, 2)
      .list(ct::UUID, 1)
      .raw(&UUID)
      .list(ct::UUID, 0)
      .field(ct::MAP, 1)
      .map(ct::TRUE, ct::FALSE, 2)
      .raw(&[1, 2, 2, 1])
      .field(ct::SET, 1)
      .list(ct::DOUBLE, 15)
      .each(15, |w, i| w.double(i as f64))
      .stop();
    let reply = Cpt::message(REPLY, "everything", 300).field_id(ct::STRUCT, 0).field_id(ct::BINARY, 1).binary(b"ok").stop().stop();
    let exception = Cpt::message(EXCEPTION, "\u{82}", u32::MAX).field(ct::BINARY, 1).binary(b"boom").stop();
    let oneway = Cpt::message(ONEWAY, "", 0).stop();
    let partial = Cpt::message(CALL, "next", 1).field(ct::LIST, 1).list(ct::I32, 2).zigzag(1);
    let messages = [call.0, reply.0, exception.0, oneway.0];
    let wire = [&messages.concat()[..], &partial.0].concat();
    assert_eq!(decode_all_splits(codec(Protocol::Compact), &wire), messages);
  }

  fn big(protocol: Protocol) -> Vec<u8> {
    let text = vec![7u8; 300_000];
    match protocol {
      Protocol::Binary => {
        Bin::message(CALL, "bulk", 1)
          .field(bt::STRING, 1)
          .string(&text)
          .field(bt::LIST, 2)
          .list(bt::STRUCT, 20_000)
          .each(20_000, |w, i| {
            w.field(bt::I32, 1)
              .i32(i as i32)
              .field(bt::STRING, 2)
              .string(b"twenty bytes of text")
              .field(bt::SET, 3)
              .list(bt::I16, 3)
              .raw(&[0; 6])
              .field(bt::MAP, 4)
              .map(bt::STRING, bt::I64, 1)
              .string(b"k")
              .i64(1)
              .stop()
          })
          .stop()
          .0
      }
      Protocol::Compact => {
        Cpt::message(CALL, "bulk", 1)
          .field(ct::BINARY, 1)
          .binary(&text)
          .field(ct::LIST, 1)
          .list(ct::STRUCT, 20_000)
          .each(20_000, |w, i| {
            w.field(ct::I32, 1)
              .zigzag(i as i64)
              .field(ct::BINARY, 1)
              .binary(b"twenty bytes of text")
              .field(ct::SET, 1)
              .list(ct::I16, 3)
              .zigzag(1)
              .zigzag(-1000)
              .zigzag(0)
              .field_id(ct::MAP, 100)
              .map(ct::BINARY, ct::I64, 1)
              .binary(b"k")
              .zigzag(i64::MAX)
              .stop()
          })
          .stop()
          .0
      }
    }
  }

  #[test]
  fn a_message_in_many_reads_is_scanned_once() {
    for protocol in [Protocol::Binary, Protocol::Compact] {
      let message = big(protocol);
      let mut c = ThriftMessages::new(protocol, 1 << 24);
      let mut buf = BytesMut::new();
      let mut got = None;
      let mut clean = 0;
      for chunk in message.chunks(4096) {
        assert_eq!(got, None);
        buf.extend_from_slice(chunk);
        got = c.decode(&mut buf).unwrap();
        if got.is_some() {
          continue;
        }
        // Scanned up to the last token, which is shorter than 16 bytes, or past the
        // end into a string still coming (room for which is made only as it comes).
        assert!(c.pos + 16 > buf.len(), "scanned {} of {}", c.pos, buf.len());
        // And never read again: were it, the header would now be garbage.
        clean = c.pos.min(buf.len());
        buf[..clean].fill(0xff);
      }
      let got = got.expect("the whole message");
      assert_eq!(got.len(), message.len());
      assert!(got[clean..] == message[clean..]);
      assert!(buf.is_empty());
    }
  }

  #[test]
  fn the_state_is_reset_after_each_message() {
    let one = Bin::message(CALL, "a", 1).field(bt::LIST, 1).list(bt::STRUCT, 1).field(bt::I32, 1).i32(2).stop().stop().0;
    let mut c = ThriftMessages::new(Protocol::Binary, 1 << 20);
    let mut buf = BytesMut::from(&one[..one.len() - 1]);
    assert_eq!(c.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&[0]);
    buf.extend_from_slice(&one);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), one);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), one);
    assert_eq!(c.decode(&mut buf), Ok(None));
    assert_eq!((c.pos, c.parents.len()), (0, 0));
  }

  #[test]
  fn a_huge_declared_string_fails_before_its_bytes_arrive() {
    let max = 16 << 20;
    let head = Bin::message(CALL, "f", 1).field(bt::STRING, 1).i32(i32::MAX).0;
    let mut c = ThriftMessages::new(Protocol::Binary, max);
    let mut buf = BytesMut::from(&head[..head.len() - 1]);
    assert_eq!(c.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&head[head.len() - 1..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::TooLarge { size: head.len() + i32::MAX as usize, max }));

    let head = Cpt::message(CALL, "f", 1).field(ct::BINARY, 1).varint(1 << 30).0;
    assert_eq!(decode_whole(Protocol::Compact, max, &head), Err(FrameError::TooLarge { size: head.len() + (1 << 30), max }));
  }

  #[test]
  fn negative_sizes_are_too_large() {
    let too_large = |r| assert!(matches!(r, Err(FrameError::TooLarge { .. })), "{r:?}");
    let max = usize::MAX;
    too_large(decode_whole(Protocol::Binary, max, &Bin::message(CALL, "f", 1).field(bt::STRING, 1).i32(-1).0));
    too_large(decode_whole(Protocol::Binary, max, &Bin::message(CALL, "f", 1).field(bt::LIST, 1).list(bt::I32, -1).0));
    too_large(decode_whole(Protocol::Binary, max, &Bin::message(CALL, "f", 1).field(bt::MAP, 1).map(bt::I32, bt::I32, i32::MIN).0));
    too_large(decode_whole(Protocol::Binary, max, &Bin(Vec::new()).raw(&[0x80, 1, 0, CALL]).i32(-2).0));
    too_large(decode_whole(Protocol::Compact, max, &Cpt::message(CALL, "f", 1).field(ct::BINARY, 1).varint(u32::MAX.into()).0));
    too_large(decode_whole(Protocol::Compact, max, &Cpt::message(CALL, "f", 1).field(ct::LIST, 1).list(ct::I32, 1 << 31).0));
    too_large(decode_whole(Protocol::Compact, max, &Cpt(vec![0x82, 0x21, 0]).varint(1 << 31).0));
  }

  #[test]
  fn huge_containers_fail_on_their_declared_size() {
    let max = 1 << 20;
    let too_large = |protocol, wire: Vec<u8>| {
      let r = decode_whole(protocol, max, &wire);
      assert!(matches!(r, Err(FrameError::TooLarge { size, .. }) if size > max), "{r:?}");
    };
    // Even of the smallest items: a byte, or an empty struct.
    too_large(Protocol::Binary, Bin::message(CALL, "f", 1).field(bt::LIST, 1).list(bt::BYTE, 1 << 20).0);
    too_large(Protocol::Binary, Bin::message(CALL, "f", 1).field(bt::SET, 1).list(bt::STRUCT, 1 << 20).0);
    too_large(Protocol::Binary, Bin::message(CALL, "f", 1).field(bt::LIST, 1).list(bt::I64, 200_000).0);
    too_large(Protocol::Binary, Bin::message(CALL, "f", 1).field(bt::MAP, 1).map(bt::BOOL, bt::STRUCT, 600_000).0);
    too_large(Protocol::Compact, Cpt::message(CALL, "f", 1).field(ct::LIST, 1).list(ct::STRUCT, 1 << 20).0);
    too_large(Protocol::Compact, Cpt::message(CALL, "f", 1).field(ct::MAP, 1).map(ct::I32, ct::I32, 600_000).0);
    too_large(Protocol::Compact, Cpt::message(CALL, "f", 1).field(ct::LIST, 1).list(ct::DOUBLE, 200_000).0);
    // A name too.
    too_large(Protocol::Binary, Bin(Vec::new()).raw(&[0x80, 1, 0, CALL]).i32(1 << 20).0);
    too_large(Protocol::Compact, Cpt(vec![0x82, 0x21, 0]).varint(1 << 20).0);
    // Just below the maximum, the items are waited for.
    let wire = Bin::message(CALL, "f", 1).field(bt::LIST, 1).list(bt::STRUCT, 1 << 19).0;
    assert_eq!(decode_whole(Protocol::Binary, max, &wire), Ok(None));
  }

  #[test]
  fn a_message_grown_past_the_maximum_fails_before_it_ends() {
    let message = Bin::message(CALL, "f", 1).each(20, |w, i| w.field(bt::I32, i as i16).i32(0)).stop().0;
    let len = message.len();
    assert_eq!(decode_whole(Protocol::Binary, len, &message).unwrap().unwrap(), message);
    // The STOP could not fit: no need to wait for it.
    assert_eq!(decode_whole(Protocol::Binary, len - 1, &message[..len - 1]), Err(FrameError::TooLarge { size: len, max: len - 1 }));
    let mut c = ThriftMessages::new(Protocol::Compact, 64);
    let mut buf = BytesMut::from(&Cpt::message(CALL, "f", 1).0[..]);
    assert_eq!(c.decode(&mut buf), Ok(None));
    let mut failed = None;
    for _ in 0..64 {
      buf.extend_from_slice(&[0x15, 0x01]);
      if let Err(e) = c.decode(&mut buf) {
        failed = Some(e);
        break;
      }
    }
    assert!(matches!(failed, Some(FrameError::TooLarge { size: 65.., max: 64 })), "{failed:?}");
  }

  #[test]
  fn binary_malformed() {
    let p = Protocol::Binary;
    fails(p, &[0x80, 0x02, 0, CALL], 0, "bad version");
    fails(p, &[0xff, 0xff, 0xff, 0xff], 0, "bad version");
    fails(p, &[0x80, 0x01, 0, 0], 3, "unknown message type");
    fails(p, &[0x80, 0x01, 0, 5], 3, "unknown message type");
    fails(p, &Bin(Vec::new()).string(b"x").byte(0).0, 5, "unknown message type");
    for t in [1, 5, 7, 9, 17, 0xff] {
      fails(p, &Bin::message(CALL, "", 0).field(t, 1).0, 12, "unknown type");
    }
    fails(p, &Bin::message(CALL, "", 0).field(bt::LIST, 1).list(0, 0).0, 15, "unknown type");
    fails(p, &Bin::message(CALL, "", 0).field(bt::MAP, 1).map(bt::I32, 1, 0).0, 16, "unknown type");
    fails(p, &Bin::message(CALL, "", 0).field(bt::STRUCT, 1).field(bt::LIST, 1).list(bt::STRUCT, 1).byte(20).0, 23, "unknown type");
  }

  #[test]
  fn compact_malformed() {
    let p = Protocol::Compact;
    fails(p, &[0x80], 0, "bad protocol id");
    fails(p, &[0x82, 0x22], 1, "bad version");
    fails(p, &[0x82, 0x01], 1, "unknown message type");
    fails(p, &[0x82, 0xa1], 1, "unknown message type");
    fails(p, &[0x82, 0x21, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 2, "varint too long");
    let header = || Cpt::message(CALL, "", 0);
    assert_eq!(header().0.len(), 4);
    fails(p, &header().field(14, 1).0, 4, "unknown type");
    fails(p, &header().field(15, 1).0, 4, "unknown type");
    fails(p, &header().field(ct::I32, 1).raw(&[0x80; 5]).byte(1).0, 5, "varint too long");
    fails(p, &header().field(ct::I16, 1).raw(&[0x80; 3]).byte(1).0, 5, "varint too long");
    fails(p, &header().field(ct::I64, 1).raw(&[0x80; 10]).byte(1).0, 5, "varint too long");
    fails(p, &header().byte(ct::I32).raw(&[0x80, 0x80, 0x80, 0x01]).0, 5, "varint too long");
    fails(p, &header().field(ct::LIST, 1).byte(0x10).0, 5, "unknown type");
    fails(p, &header().field(ct::MAP, 1).varint(1).byte(0xe5).0, 6, "unknown type");
    fails(p, &header().field(ct::MAP, 1).varint(1).byte(0x5e).0, 6, "unknown type");
    // Ten bytes are an i64's most.
    assert_eq!(decode_whole(p, 1 << 20, &header().field(ct::I64, 1).raw(&[0xff; 9]).byte(1).stop().0).map(|m| m.is_some()), Ok(true));
  }

  #[test]
  fn garbage_fails_fast() {
    let http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(matches!(decode_whole(Protocol::Binary, 16 << 20, http), Err(FrameError::TooLarge { .. })));
    assert_eq!(decode_whole(Protocol::Compact, 16 << 20, http), Err(FrameError::Malformed { offset: 0, reason: "bad protocol id" }));
  }

  #[test]
  fn nesting_up_to_the_recursion_limit() {
    // Structs in structs, the message's own first.
    let structs = |depth: usize| Bin::message(CALL, "", 0).each(depth - 1, |w, _| w.field(bt::STRUCT, 1)).each(depth, |w, _| w.stop()).0;
    let wire = structs(MAX_DEPTH);
    assert_eq!(decode_all_splits(codec(Protocol::Binary), &wire), vec![wire]);
    fails(Protocol::Binary, &structs(MAX_DEPTH + 1), 12 + 3 * MAX_DEPTH, "nesting too deep");
    // Lists in lists in the message's struct, the innermost empty.
    let lists = |depth: usize| {
      let outer = Cpt::message(CALL, "", 0).field(ct::LIST, 1).each(depth - 2, |w, _| w.list(ct::LIST, 1));
      outer.list(ct::I32, 0).stop().0
    };
    let wire = lists(MAX_DEPTH);
    assert_eq!(decode_all_splits(codec(Protocol::Compact), &wire), vec![wire]);
    fails(Protocol::Compact, &lists(MAX_DEPTH + 1), 4 + MAX_DEPTH, "nesting too deep");
    // Maps too, and however deep the input goes.
    let maps = Bin::message(CALL, "", 0).field(bt::MAP, 1).each(100_000, |w, _| w.map(bt::I32, bt::MAP, 1).i32(0)).0;
    fails(Protocol::Binary, &maps, 15 + 10 * (MAX_DEPTH - 1), "nesting too deep");
  }

  #[test]
  fn codec_passes_messages_through_and_limits_their_size() {
    let c = Codec::Scanned(Box::new(ThriftMessages::new(Protocol::Compact, 4)));
    assert!(c.is_framed());
    let mut out = BytesMut::new();
    c.encode(&[0x82, 0x21, 0, 0], &mut out).unwrap();
    assert_eq!(&out[..], [0x82, 0x21, 0, 0]);
    assert_eq!(c.encode(&[0; 5], &mut out), Err(FrameError::TooLarge { size: 5, max: 4 }));
  }
}
