//! The JSON-lines sink: one usage event per line, appended to a file that is rotated by size
//! (`usage.jsonl` → `usage.jsonl.1` → … → `usage.jsonl.<keep>`, the oldest deleted).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Sink;
use crate::usage::UsageEvent;

/// Appends usage events to a file as JSON lines.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<(File, u64)>,
    name: String,
    warned: bool,
}

impl JsonlSink {
    /// A sink writing to `path`, rotated past `max_bytes`, keeping `keep` rotated files.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64, keep: usize) -> JsonlSink {
        let path = path.into();
        JsonlSink {
            name: format!("the JSON-lines sink {}", path.display()),
            path,
            max_bytes: max_bytes.max(1),
            keep,
            file: None,
            warned: false,
        }
    }

    fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        if self
            .file
            .as_ref()
            .is_some_and(|(_, size)| *size > 0 && size + lines.len() as u64 > self.max_bytes)
        {
            self.file = None;
            rotate(&self.path, self.keep)?;
        }
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
            let size = file.metadata()?.len();
            self.file = Some((file, size));
        }
        let (file, size) = self.file.as_mut().expect("opened above");
        file.write_all(lines)?;
        *size += lines.len() as u64;
        Ok(())
    }
}

/// Shifts `path.N` to `path.N+1` (dropping the last) and `path` to `path.1`.
fn rotate(path: &Path, keep: usize) -> io::Result<()> {
    let numbered = |n: usize| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    };
    if keep == 0 {
        return fs::remove_file(path).or_else(ignore_missing);
    }
    fs::remove_file(numbered(keep)).or_else(ignore_missing)?;
    for n in (1..keep).rev() {
        fs::rename(numbered(n), numbered(n + 1)).or_else(ignore_missing)?;
    }
    fs::rename(path, numbered(1)).or_else(ignore_missing)
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write<'a>(&'a mut self, batch: &'a [Arc<UsageEvent>]) -> BoxFuture<'a, ()> {
        let mut lines = Vec::with_capacity(batch.len() * 600);
        for event in batch {
            if serde_json::to_writer(&mut lines, event.as_ref()).is_ok() {
                lines.push(b'\n');
            }
        }
        if let Err(e) = self.append(&lines) {
            self.file = None;
            if !std::mem::replace(&mut self.warned, true) {
                tracing::warn!(target: "modelplug::sinks", "{}: cannot write: {e}", self.name);
            }
        }
        async {}.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_files() {
        let dir = std::env::temp_dir().join(format!("mp-jsonl-{}-{}", std::process::id(), fastrand::u32(..)));
        let path = dir.join("usage.jsonl");
        let mut sink = JsonlSink::new(&path, 10, 2);
        for line in ["aaaaaaaa\n", "bbbbbbbb\n", "cccccccc\n", "dddddddd\n"] {
            sink.append(line.as_bytes()).unwrap();
        }
        let read = |p: &Path| fs::read_to_string(p).unwrap();
        assert_eq!(read(&path), "dddddddd\n");
        assert_eq!(read(&dir.join("usage.jsonl.1")), "cccccccc\n");
        assert_eq!(read(&dir.join("usage.jsonl.2")), "bbbbbbbb\n");
        assert!(!dir.join("usage.jsonl.3").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
