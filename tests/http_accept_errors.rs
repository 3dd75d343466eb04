//! Accept errors (issue 11, item 2): when the process runs out of descriptors, `accept()`
//! fails with EMFILE; the server reports it, retries after a short backoff and serves a
//! client once the idle connections have gone away. Its own file: it lowers this test
//! process's descriptor limit.
#![cfg(all(unix, feature = "hyper"))]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::handshake::{client_config, level, server_config, PASSWORD};
use ntlm::http::auth::Scheme;
use ntlm::http::hyper_client::{AuthClient, ClientOptions};
use ntlm::http::hyper_server::{serve, ServerEvent, ServerOptions};
use ntlm::policy::ServerPolicy;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Opens N connections to ADDR once a line arrives on stdin, says how many, and holds them
/// until stdin closes.
const HOLDER: &str = r#"
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.stdin.readline()
held = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        held.append(s)
    except OSError:
        s.close()
print(len(held), flush=True)
sys.stdin.read()
"#;

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_descriptor_exhaustion_and_serves_again() {
    let mut options = ServerOptions::new(Arc::new(server_config(ServerPolicy::domain_controller(
        level(3),
    ))));
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = log.clone();
    options.events = Arc::new(move |e: ServerEvent| {
        if let Ok(mut l) = sink.lock() {
            l.push(e.to_string());
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, options));
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The holder starts with this process's full limit; then this process (the server) is
    // left 40 descriptors more than it has open.
    let mut holder = Command::new("python3")
        .args(["-c", HOLDER, "127.0.0.1", &addr.port().to_string(), "150"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let before = getrlimit(Resource::Nofile);
    let low = open_descriptors() + 40;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(low),
            maximum: before.maximum,
        },
    )
    .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(stdin, "go").unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let held: u64 = line.trim().parse().unwrap();
    assert!(held > low, "the holder opened only {held} connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let failures = log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("accept failed") && l.contains("open files"))
        .count();
    assert!(
        failures >= 1,
        "no EMFILE reported: {:?}",
        log.lock().unwrap()
    );
    assert!(!server.is_finished(), "the server stopped");

    // The idle connections go away; a legitimate client logs on (the limit still low).
    drop(stdin);
    holder.wait().unwrap();
    let started = std::time::Instant::now();
    let mut client_options = ClientOptions::new(client_config(level(3), PASSWORD));
    client_options.schemes = vec![Scheme::Ntlm];
    let response = tokio::time::timeout(Duration::from_secs(10), async {
        let mut client = AuthClient::connect(&format!("http://{addr}/"), client_options).await?;
        client.get("/").await
    })
    .await
    .expect("not served within 10 s")
    .expect("logon failed");
    assert_eq!(response.status, 200);
    eprintln!(
        "{held} connections against a limit of {low} descriptors: {failures} accept errors \
         reported; served {:?} after the holder left",
        started.elapsed()
    );
    assert!(!server.is_finished());
    setrlimit(Resource::Nofile, before).unwrap();
}
