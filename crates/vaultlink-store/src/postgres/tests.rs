//! The PostgreSQL store against a real server: each test starts its own (Debian's `postgresql`
//! package: `initdb` and `pg_ctl` in a temporary directory, as the `postgres` user when the
//! tests run as root, which the server refuses to run as). Without the server binaries the
//! tests fail, saying what to install; they never pass without a server.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A PostgreSQL server of its own, stopped (immediately) when dropped.
struct TempServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
    /// More `-c name=value` settings for the server.
    settings: String,
}

fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect(
        "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install Debian's postgresql \
         package (scripts/prerequisites does)",
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl TempServer {
    fn start() -> Self {
        Self::start_with(|_| String::new())
    }

    /// A server that takes TLS connections only (`hostssl` in its `pg_hba.conf`), with `cert_pem`
    /// and `key_pem` as its certificate.
    fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        Self::start_with(|dir| {
            let file = |name: &str, text: &str| {
                let p = dir.join(name);
                std::fs::write(&p, text).unwrap();
                std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
                if is_root() {
                    assert!(Command::new("chown").arg("postgres:").arg(&p).status().unwrap().success());
                }
                p.display().to_string()
            };
            let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n";
            format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c hba_file={}",
                file("server.crt", cert_pem),
                file("server.key", key_pem),
                file("pg_hba.conf", hba)
            )
        })
    }

    /// A server whose settings `settings` writes (its files in the given directory).
    fn start_with(settings: impl FnOnce(&Path) -> String) -> Self {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let as_root = is_root();
        if as_root {
            let ok = Command::new("chown").arg("postgres:").arg(dir.path()).status().unwrap().success();
            assert!(ok, "chown postgres: {} failed (is there a postgres user?)", dir.path().display());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data = dir.path().join("data");
        let settings = settings(dir.path());
        let server = Self { dir, bin, port, as_root, settings };
        server.run("initdb", &["-D", path(&data), "-U", "vaultlink", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        server.start_again();
        server
    }

    /// Starts the (stopped) server again on its port.
    fn start_again(&self) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1{}", self.port, self.dir.path().display(), self.settings);
        let (data, log) = (self.dir.path().join("data"), self.dir.path().join("log"));
        self.run("pg_ctl", &["-D", path(&data), "-o", &options, "-l", path(&log), "-w", "start"]);
    }

    /// Stops the server, ending its connections (`-m fast`).
    fn stop(&self) {
        self.run("pg_ctl", &["-D", path(&self.dir.path().join("data")), "-m", "fast", "-w", "stop"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_root {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=vaultlink dbname=postgres", self.port)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Drop for TempServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", path(&data), "-m", "immediate", "stop"];
        let _ = if self.as_root {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        };
    }
}

fn put(key: &str, value: &[u8]) -> Op {
    Op::Put { key: key.into(), value: value.to_vec() }
}

#[test]
fn batches_meta_and_the_log_survive_a_reopen() {
    let server = TempServer::start();
    {
        let store = PostgresStore::open(&server.url()).unwrap();
        assert!(store.load_all().unwrap().is_empty());
        let seqs: Vec<Seq> = (0..5u8).map(|i| store.append(&[put(&format!("k{i}"), &[i])]).unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(store.syncs(), 0);
        store.sync(seqs[2]).unwrap();
        assert_eq!(store.syncs(), 1, "one commit covers every batch appended before it");
        for s in &seqs {
            store.sync(*s).unwrap();
        }
        assert_eq!(store.syncs(), 1, "batches already committed are not committed again");
        assert_eq!(store.append(&[]).unwrap(), 5, "an empty batch names the last one");
        let seq = store.append(&[Op::Delete { key: "k0".into() }, put("a", b"first")]).unwrap();
        store.sync(seq).unwrap();
        store.set_meta("rootKeyCheck", b"abc").unwrap();
        // Appended but never synced: nobody was told it is durable, and it is not.
        store.append(&[put("lost", b"x")]).unwrap();
    }
    let store = PostgresStore::open(&server.url()).unwrap();
    let keys: Vec<String> = store.load_all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a", "k1", "k2", "k3", "k4"], "in key order, the delete applied, the unsynced batch absent");
    assert_eq!(store.meta("rootKeyCheck").unwrap().as_deref(), Some(&b"abc"[..]));
    assert_eq!(store.meta("nothing").unwrap(), None);
    // Positions are the store's own; the log continues after its last position and holds every
    // committed batch.
    let seq = store.append(&[put("b", b"2")]).unwrap();
    assert_eq!(seq, 1);
    store.sync(seq).unwrap();
    let mut client = Client::connect(&server.url(), NoTls).unwrap();
    let logged: Vec<i64> =
        client.query("SELECT seq FROM vaultlink_log ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(logged, [1, 2, 3, 4, 5, 6, 7]);
    let sixth: Vec<u8> = client.query_one("SELECT ops FROM vaultlink_log WHERE seq = 6", &[]).unwrap().get(0);
    assert_eq!(sixth, encode(&[Op::Delete { key: "k0".into() }, put("a", b"first")]));
}

#[test]
fn concurrent_writers_all_land_in_fewer_commits() {
    let server = TempServer::start();
    let store = std::sync::Arc::new(PostgresStore::open(&server.url()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let seq = store.append(&[put(&format!("t{t}-{i:02}"), b"v")]).unwrap();
                    store.sync(seq).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.load_all().unwrap().len(), 200);
    println!("200 batches from 8 writers in {} commits", store.syncs());
}

/// Two processes writing one database cannot both commit the same position: the second one's
/// commit fails, every later write of that store is refused until it recovers, and a recovered
/// store continues the log after the other writer's batches.
#[test]
fn a_second_writer_of_the_same_positions_is_refused_until_it_recovers() {
    let server = TempServer::start();
    let first = PostgresStore::open(&server.url()).unwrap();
    let second = PostgresStore::open(&server.url()).unwrap();
    let seq = first.append(&[put("a", b"1")]).unwrap();
    first.sync(seq).unwrap();
    let lost = second.append(&[put("a", b"2")]).unwrap();
    assert!(matches!(second.sync(lost), Err(StoreError::Unavailable(_))));
    assert!(matches!(second.append(&[put("b", b"3")]), Err(StoreError::Unavailable(_))));
    assert!(matches!(second.sync(lost), Err(StoreError::Unavailable(_))), "asked again, still lost");
    let all = PostgresStore::open(&server.url()).unwrap().load_all().unwrap();
    assert_eq!(all, [("a".to_string(), b"1".to_vec())], "the refused batch left nothing");

    assert_eq!(first.recover().unwrap(), None, "a store that has not failed has nothing to recover");
    let records = second.recover().unwrap().expect("recovered");
    assert_eq!(records, all, "recovery hands back what the database holds");
    assert!(matches!(second.sync(lost), Err(StoreError::Unavailable(_))), "a lost batch stays lost");
    let seq = second.append(&[put("b", b"3")]).unwrap();
    assert!(seq > lost, "positions only grow");
    second.sync(seq).unwrap();
    let mut client = Client::connect(&server.url(), NoTls).unwrap();
    let logged: Vec<i64> =
        client.query("SELECT seq FROM vaultlink_log ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(logged, [1, 2], "the log continues after the other writer's batch");
}

/// A database that goes away fails the commit in flight with `Unavailable`; recovery fails while
/// it is down and succeeds once it is back, with every committed batch kept.
#[test]
fn a_stopped_server_fails_writes_until_it_is_back() {
    let server = TempServer::start();
    let store = PostgresStore::open(&server.url()).unwrap();
    let seq = store.append(&[put("kept", b"1")]).unwrap();
    store.sync(seq).unwrap();
    server.stop();
    let lost = store.append(&[put("lost", b"2")]).unwrap();
    assert!(matches!(store.sync(lost), Err(StoreError::Unavailable(_))));
    assert!(matches!(store.append(&[put("x", b"3")]), Err(StoreError::Unavailable(_))));
    assert!(matches!(store.recover(), Err(StoreError::Unavailable(_))), "still down");
    server.start_again();
    let records = store.recover().unwrap().expect("recovered");
    assert_eq!(records, [("kept".to_string(), b"1".to_vec())]);
    let seq = store.append(&[put("after", b"4")]).unwrap();
    store.sync(seq).unwrap();
    let keys: Vec<String> = store.load_all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["after", "kept"]);

    // A restart while nobody writes costs no write: the broken connection is replaced when the
    // next writer takes the lease, before anything is sent on it.
    server.stop();
    server.start_again();
    assert!(store.lease().unwrap().is_empty());
    let seq = store.append(&[put("idle", b"5")]).unwrap();
    store.sync(seq).unwrap();
    store.release().unwrap();
    assert_eq!(store.load_all().unwrap().len(), 3);
}

/// Replicas: the lease hands a writer what the others committed, one writer at a time holds it,
/// and a follower is woken by the commit and catches up.
#[test]
fn replicas_take_turns_and_see_each_others_batches() {
    let server = TempServer::start();
    let a = std::sync::Arc::new(PostgresStore::open(&server.url()).unwrap());
    let b = std::sync::Arc::new(PostgresStore::open(&server.url()).unwrap());

    assert!(a.lease().unwrap().is_empty());
    let seq = a.append(&[put("from-a", b"1")]).unwrap();
    a.sync(seq).unwrap();
    // B waits for the lease while A holds it.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || tx.send(b.lease().unwrap()).unwrap())
    };
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "B got the lease while A held it");
    a.release().unwrap();
    let missed = rx.recv_timeout(Duration::from_secs(10)).expect("B gets the lease once A gives it up");
    waiter.join().unwrap();
    assert_eq!(missed, [vec![put("from-a", b"1")]], "taking the lease hands over what A committed");

    // A follows: woken by B's commit, it catches up with it.
    let follower = {
        let a = a.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            a.wait_for_others(Duration::from_secs(20));
            started.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let seq = b.append(&[put("from-b", b"2"), Op::Delete { key: "from-a".into() }]).unwrap();
    b.sync(seq).unwrap();
    b.release().unwrap();
    assert!(follower.join().unwrap() < Duration::from_secs(10), "the notification woke the follower");
    assert_eq!(a.catch_up().unwrap(), [vec![put("from-b", b"2"), Op::Delete { key: "from-a".into() }]]);
    assert!(a.catch_up().unwrap().is_empty(), "each batch is handed over once");
    // The log has both batches in order, each once.
    assert!(a.lease().unwrap().is_empty());
    a.release().unwrap();
    let mut client = Client::connect(&server.url(), NoTls).unwrap();
    let logged: Vec<i64> =
        client.query("SELECT seq FROM vaultlink_log ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(logged, [1, 2]);
}

#[test]
fn the_log_is_pruned_and_a_replica_left_behind_it_reloads() {
    let server = TempServer::start();
    let keep = Retention { batches: 10, age: 0.0, every: 16 };
    let a = PostgresStore::open(&server.url()).unwrap().with_retention(keep);
    let b = PostgresStore::open(&server.url()).unwrap().with_retention(keep);
    assert!(b.catch_up().unwrap().is_empty(), "B has seen the whole (empty) log");
    assert!(a.lease().unwrap().is_empty());
    for i in 0..40u8 {
        let seq = a.append(&[put(&format!("k{i:02}"), &[i])]).unwrap();
        a.sync(seq).unwrap();
    }
    a.release().unwrap();
    assert_eq!(a.syncs(), 40, "one commit, so one log position, per batch");
    let mut client = Client::connect(&server.url(), NoTls).unwrap();
    let logged: Vec<i64> =
        client.query("SELECT seq FROM vaultlink_log ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    // Pruned at positions 16 and 32, each time keeping the newest 10: 23 to 40 are left.
    assert_eq!(logged, (23..=40).collect::<Vec<i64>>());
    // B cannot catch up batch by batch: it fails, refuses writes, and a recover reloads it.
    let e = b.catch_up().unwrap_err();
    assert!(matches!(&e, StoreError::Unavailable(m) if m.contains("pruned")), "{e}");
    assert!(b.append(&[put("refused", b"1")]).is_err(), "a store left behind takes no write");
    let records = b.recover().unwrap().expect("a store left behind reloads");
    assert_eq!(records.len(), 40);
    assert_eq!(records, a.load_all().unwrap());
    // Then it follows from the log's end again.
    assert!(a.lease().unwrap().is_empty());
    let seq = a.append(&[put("after", b"2")]).unwrap();
    a.sync(seq).unwrap();
    a.release().unwrap();
    assert_eq!(b.catch_up().unwrap(), [vec![put("after", b"2")]]);
    // Nothing young is pruned: with the default age, the same traffic keeps every batch.
    let young = Retention { age: 3600.0, ..keep };
    let c = PostgresStore::open(&server.url()).unwrap().with_retention(young);
    assert!(c.lease().unwrap().is_empty());
    for i in 0..40u8 {
        let seq = c.append(&[put(&format!("y{i:02}"), &[i])]).unwrap();
        c.sync(seq).unwrap();
    }
    c.release().unwrap();
    let count: i64 = client.query_one("SELECT count(*) FROM vaultlink_log", &[]).unwrap().get(0);
    assert_eq!(count, 18 + 1 + 40, "batches younger than the age are kept");
}

#[test]
fn with_sslmode_require_the_store_speaks_tls_and_checks_the_certificate() {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    let server = TempServer::start_tls(&cert, &key);
    let tls = format!("{} sslmode=require", server.url());
    // Trusted through the CA given: it connects, writes, reads back and follows, all over TLS.
    let store = PostgresStore::open_trusting(&tls, Some(cert.as_bytes())).unwrap();
    let seq = store.append(&[put("k", b"v")]).unwrap();
    store.sync(seq).unwrap();
    assert_eq!(store.load_all().unwrap(), [("k".to_string(), b"v".to_vec())]);
    let other = PostgresStore::open_trusting(&tls, Some(cert.as_bytes())).unwrap();
    assert!(other.lease().unwrap().is_empty());
    let seq = other.append(&[put("from-other", b"2")]).unwrap();
    other.sync(seq).unwrap();
    other.release().unwrap();
    assert_eq!(store.catch_up().unwrap(), [vec![put("from-other", b"2")]]);
    // The server takes no connection in the clear: what worked above was TLS.
    let e = PostgresStore::open(&server.url()).unwrap_err();
    assert!(e.to_string().contains("no encryption") || e.to_string().contains("pg_hba.conf"), "{e}");
    // A certificate nobody vouches for is refused, as libpq's `require` would not.
    let e = PostgresStore::open(&tls).unwrap_err();
    assert!(e.to_string().to_ascii_lowercase().contains("certificate"), "{e}");
    for bad in [&b"not a certificate"[..], b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
        assert!(PostgresStore::open_trusting(&tls, Some(bad)).is_err());
    }
}

#[test]
fn the_log_encoding_reads_back_and_refuses_what_it_did_not_write() {
    let ops = vec![put("a", b""), Op::Delete { key: "b/c".into() }, put("", &[0, 255])];
    assert_eq!(decode(&encode(&ops)), Some(ops.clone()));
    assert_eq!(decode(&[]), Some(vec![]));
    let bytes = encode(&ops);
    assert_eq!(decode(&bytes[..bytes.len() - 1]), None, "cut short");
    assert_eq!(decode(b"X\0\0\0\0"), None, "unknown tag");
}
