//! A throwaway PostgreSQL server for the tests: `initdb` in a temporary directory, `postgres`
//! on a loopback port, stopped when the test process ends (a watchdog shell sees it go). Run
//! as an unprivileged user when the tests run as root (PostgreSQL refuses root).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running server.
pub struct Pg {
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|r| {
            r.flatten()
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .expect("PostgreSQL is not installed: `make test` installs it (Debian package `postgresql`)")
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// `cmd` run as the `postgres` user when we are root.
fn command(bin: PathBuf, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shared server of this test process, started on first use.
pub fn server() -> &'static Pg {
    static PG: OnceLock<Pg> = OnceLock::new();
    PG.get_or_init(|| {
        let bin = bin_dir();
        let root = as_root();
        let dir = std::env::temp_dir().join(format!("mp-collector-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if root {
            assert!(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.join("data");
        let out = command(bin.join("initdb"), root)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let postgres = command(bin.join("postgres"), root);
        let argv: Vec<String> = std::iter::once(postgres.get_program().to_string_lossy().into_owned())
            .chain(postgres.get_args().map(|a| a.to_string_lossy().into_owned()))
            .collect();
        // The watchdog: stops the server (fast shutdown) once this test process is gone.
        let script = r#"pg="$1"; shift; me="$1"; shift; "$@" & child=$!
            while kill -0 "$me" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.3; done
            kill -INT "$child" 2>/dev/null; wait "$child"; rm -rf "$pg""#;
        // Not waited for: it outlives this function and ends after the test process.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", script, "pg-watchdog"])
            .arg(&dir)
            .arg(std::process::id().to_string())
            .args(&argv)
            .args(["-D"])
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Accepting TCP is not yet accepting queries.
        std::thread::sleep(Duration::from_millis(300));
        Pg { port }
    })
}

/// A new, empty database on the shared server: its URL.
pub async fn fresh_database(name: &str) -> String {
    let pg = server();
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
    let start = Instant::now();
    let (client, conn) = loop {
        match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
            Ok(c) => break c,
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("PostgreSQL: {e}"),
        }
    };
    tokio::spawn(conn);
    let db = format!("{name}_{}", fastrand_suffix());
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port)
}

fn fastrand_suffix() -> String {
    format!("{:x}", uuid::Uuid::new_v4().as_u128() & 0xffff_ffff)
}
