//! A profile's `credential_process`: the command is run by the shell (`sh -c`, or `cmd /C` on
//! Windows) and prints `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
//! "Expiration"}` on its standard output. Without `Expiration` the keys are kept for good. The
//! command runs on a blocking thread and is killed after [`PROCESS_TIMEOUT`].

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;

use super::{auth_error, credentials_from_json};
use crate::error::Result;

/// The longest a `credential_process` may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) struct CredentialProcess {
    /// The command line (not shown anywhere: it may carry arguments one would not log).
    command: String,
    profile: String,
}

impl CredentialProcess {
    pub(super) fn new(command: String, profile: &str) -> CredentialProcess {
        CredentialProcess {
            command,
            profile: profile.to_owned(),
        }
    }

    pub(super) fn describe(&self) -> String {
        format!("the credential_process of profile `{}`", self.profile)
    }

    pub(super) async fn fetch(&self) -> Result<Credentials> {
        let what = self.describe();
        let command = self.command.clone();
        let run = tokio::task::spawn_blocking(move || run(&command, PROCESS_TIMEOUT));
        let output = match run.await {
            Ok(Ok(output)) => output,
            Ok(Err(RunError::Spawn(e))) => {
                return Err(auth_error(format!("cannot run {what}: {e}")));
            }
            Ok(Err(RunError::TimedOut)) => {
                return Err(auth_error(format!(
                    "{what} did not finish within {} s and was stopped",
                    PROCESS_TIMEOUT.as_secs()
                )));
            }
            Err(_) => return Err(auth_error(format!("{what} could not be waited for"))),
        };
        if !output.status.success() {
            // Its stderr went to the application's: a helper that fails may print what it holds.
            let message = format!("{what} failed ({}); run it yourself to see why", output.status);
            return Err(auth_error(message));
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            && v.is_object()
            && v.get("Version").and_then(serde_json::Value::as_u64) != Some(1)
        {
            return Err(auth_error(format!(
                "{what} printed JSON without `\"Version\": 1`"
            )));
        }
        credentials_from_json(&output.stdout, &what, "SessionToken", "credential_process")
    }
}

enum RunError {
    Spawn(std::io::Error),
    TimedOut,
}

struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
}

/// Runs `command` in the shell, killing it after `timeout`.
fn run(command: &str, timeout: Duration) -> Result<Output, RunError> {
    let mut cmd = if cfg!(windows) {
        let mut c = Command::new("cmd.exe");
        c.arg("/C").arg(command);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its messages go where the application's own go (as the AWS CLI does), never into
        // modelplug's errors or logs.
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(RunError::Spawn)?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                // The reader threads end when the pipes close; they are not waited for, as a
                // process the command started may still hold them open.
                return Err(RunError::TimedOut);
            }
            Err(e) => return Err(RunError::Spawn(e)),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
    })
}
