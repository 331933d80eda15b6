//! The transport ceiling for `npm run bench`: the same traffic as a benchmark case,
//! Rust on tokio at both ends, each end a process of its own on a single thread (as
//! connkit's runtime is), with no JavaScript anywhere. What connkit could reach if
//! crossing into JS cost nothing.
//!
//! An address with a `/` is a unix socket, anything else a TCP port on 127.0.0.1
//! (0: any; the server prints the one it got).
//!
//!   ceiling serve count <addr> <frames>   reads 4-byte length-prefixed frames; after
//!                                          <frames>, answers one byte
//!   ceiling serve echo <addr>              echoes every byte
//!   ceiling oneway <addr> <size> <frames>  sends <frames> frames of <size>, waits for
//!                                          the byte: "done <seconds>"
//!   ceiling pingpong <addr> <size> <n>     <n> frames of <size> one at a time, each
//!                                          waiting for its echo: "done <p50 µs> <p99 µs>"
//!   ceiling stream <addr> <size> <n> <window>
//!                                          <n> writes of <size> bytes through an echo,
//!                                          at most <window> bytes in flight:
//!                                          "done <seconds>"
//!
//! Servers print "ready <port or path>" once listening and exit when stdin closes.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

type Conn = Box<dyn Duplex>;

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
  runtime.block_on(async move {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    let num = |i: usize| arg(i).parse::<usize>().unwrap_or_else(|_| usage());
    match arg(0).as_str() {
      "serve" => serve(&arg(1), &arg(2), if arg(1) == "count" { num(3) } else { 0 }).await,
      "oneway" => oneway(connect(&arg(1)).await, num(2), num(3)).await,
      "pingpong" => pingpong(connect(&arg(1)).await, num(2), num(3)).await,
      "stream" => stream(connect(&arg(1)).await, num(2), num(3), num(4)).await,
      _ => usage(),
    }
  });
}

fn usage() -> ! {
  eprintln!("usage: ceiling serve count|echo <addr> [frames] | oneway|pingpong <addr> <size> <n> | stream <addr> <size> <n> <window>");
  std::process::exit(2);
}

async fn connect(addr: &str) -> Conn {
  if addr.contains('/') {
    Box::new(UnixStream::connect(addr).await.expect("connect"))
  } else {
    let tcp = TcpStream::connect(("127.0.0.1", addr.parse::<u16>().expect("port"))).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    Box::new(tcp)
  }
}

async fn serve(mode: &str, addr: &str, frames: usize) {
  // The one connection the benchmark makes; stdin closing ends the process.
  std::thread::spawn(|| {
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    std::process::exit(0);
  });
  let conn: Conn = if addr.contains('/') {
    let listener = UnixListener::bind(addr).expect("listen");
    println!("ready {addr}");
    Box::new(listener.accept().await.expect("accept").0)
  } else {
    let listener = TcpListener::bind(("127.0.0.1", addr.parse::<u16>().expect("port"))).await.expect("listen");
    println!("ready {}", listener.local_addr().expect("address").port());
    let tcp = listener.accept().await.expect("accept").0;
    tcp.set_nodelay(true).expect("nodelay");
    Box::new(tcp)
  };
  let (mut r, mut w) = tokio::io::split(conn);
  let mut buf = vec![0u8; 64 * 1024];
  if mode == "echo" {
    loop {
      let n = r.read(&mut buf).await.expect("read");
      if n == 0 {
        return;
      }
      w.write_all(&buf[..n]).await.expect("write");
    }
  }
  // count: walk the length prefixes of what arrives.
  let (mut seen, mut pending, mut skip) = (0usize, Vec::with_capacity(4), 0usize);
  while seen < frames {
    let n = r.read(&mut buf).await.expect("read");
    assert!(n > 0, "the sender left after {seen} frames");
    let mut at = 0;
    while at < n {
      if skip > 0 {
        let take = skip.min(n - at);
        skip -= take;
        at += take;
        if skip == 0 {
          seen += 1;
        }
        continue;
      }
      pending.push(buf[at]);
      at += 1;
      if pending.len() == 4 {
        skip = u32::from_be_bytes([pending[0], pending[1], pending[2], pending[3]]) as usize;
        pending.clear();
        if skip == 0 {
          seen += 1;
        }
      }
    }
  }
  w.write_all(&[1]).await.expect("write");
  let _ = r.read(&mut buf).await; // until the sender goes
}

fn frame(size: usize) -> Vec<u8> {
  let mut f = (size as u32).to_be_bytes().to_vec();
  f.resize(4 + size, b'a');
  f
}

async fn oneway(conn: Conn, size: usize, frames: usize) {
  let (mut r, w) = tokio::io::split(conn);
  let mut w = BufWriter::with_capacity(64 * 1024, w);
  let f = frame(size);
  let started = Instant::now();
  for _ in 0..frames {
    w.write_all(&f).await.expect("write");
  }
  w.flush().await.expect("flush");
  let mut ack = [0u8; 1];
  r.read_exact(&mut ack).await.expect("ack");
  println!("done {}", started.elapsed().as_secs_f64());
}

async fn pingpong(mut conn: Conn, size: usize, n: usize) {
  let f = frame(size);
  let mut back = vec![0u8; f.len()];
  let warmup = (n / 10).min(2000);
  let mut samples = Vec::with_capacity(n);
  for i in 0..warmup + n {
    let t0 = Instant::now();
    conn.write_all(&f).await.expect("write");
    conn.read_exact(&mut back).await.expect("read");
    if i >= warmup {
      samples.push(t0.elapsed().as_secs_f64() * 1e6);
    }
  }
  samples.sort_by(|a, b| a.total_cmp(b));
  println!("done {} {}", samples[n / 2], samples[n * 99 / 100]);
}

async fn stream(conn: Conn, size: usize, n: usize, window: usize) {
  let (mut r, w) = tokio::io::split(conn);
  let chunk = vec![b'x'; size];
  let total = size * n;
  let started = Instant::now();
  // Written up to `window` ahead of what came back, as the connman client does.
  let (tx, mut rx) = tokio::sync::watch::channel(0usize);
  // Writes are coalesced up to 64 KB, as connkit's outbox gathers what JS queued.
  let writer = tokio::spawn(async move {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    for i in 0..n {
      while (i * size).saturating_sub(*rx.borrow_and_update()) > window {
        w.flush().await.expect("flush");
        rx.changed().await.expect("reader");
      }
      w.write_all(&chunk).await.expect("write");
    }
    w.flush().await.expect("flush");
    w
  });
  let mut buf = vec![0u8; 64 * 1024];
  let mut received = 0;
  while received < total {
    let got = r.read(&mut buf).await.expect("read");
    assert!(got > 0, "the echo ended early");
    received += got;
    let _ = tx.send(received);
  }
  println!("done {}", started.elapsed().as_secs_f64());
  drop(writer.await);
}
