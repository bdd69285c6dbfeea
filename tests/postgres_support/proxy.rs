//! A loopback TCP proxy in front of the test server: taking it down is an outage of the
//! database for whoever connects through it, while the server goes on for the other tests.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback TCP proxy to the test server that can be taken down and brought back on the
/// same port.
pub struct Proxy {
    port: u16,
    upstream: (String, u16),
    running: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn to(host: &str, port: u16) -> Self {
        let host = host.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut proxy = Self {
            port: listener.local_addr().unwrap().port(),
            upstream: (host, port),
            running: Arc::new(AtomicBool::new(true)),
            streams: Arc::default(),
            acceptor: None,
        };
        proxy.serve(listener);
        proxy
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        self.running.store(true, Ordering::SeqCst);
        let (running, streams, upstream) = (
            Arc::clone(&self.running),
            Arc::clone(&self.streams),
            self.upstream.clone(),
        );
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1))
                        else {
                            continue;
                        };
                        let mut list = streams.lock().unwrap();
                        list.push(client.try_clone().unwrap());
                        list.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        }));
    }

    /// The database is gone: the port refuses, open connections are cut.
    pub fn down(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
        for stream in self.streams.lock().unwrap().drain(..) {
            stream.shutdown(Shutdown::Both).ok();
        }
    }

    /// The database is back, on the same port.
    pub fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.serve(listener);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        std::io::copy(&mut from, &mut to).ok();
        to.shutdown(Shutdown::Write).ok();
    });
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}
