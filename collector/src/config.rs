//! The collector's settings: flags, then environment variables (`MODELPLUG_COLLECTOR_*`), then a
//! YAML file (`--config`), then defaults — the first that sets a value wins. The file is a flat
//! mapping of the flags' names with `_` (`db: postgres://…`, `events_retention_days: 30`);
//! mistakes are reported with the file, line and key.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// The keys a config file may set.
pub const FILE_KEYS: [&str; 15] = [
    "db",
    "listen",
    "tls_cert",
    "tls_key",
    "max_body_mb",
    "events_retention_days",
    "rollups_retention_days",
    "sqlite_synchronous",
    "pg_pool_size",
    "log_format",
    "metrics_public",
    "admin_key_file",
    "shutdown_grace_s",
    "policy_signing_key",
    "price_data",
];

/// A config file that cannot be used: `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong, naming the key.
    pub message: String,
}

/// The settings a config file holds: key → (value, line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSettings {
    file: String,
    values: BTreeMap<String, (String, usize)>,
}

#[derive(Default)]
struct Flat {
    depth: usize,
    key: Option<(String, usize)>,
    values: Vec<(String, String, usize)>,
    error: Option<(usize, String)>,
}

impl MarkedEventReceiver for Flat {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line();
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.depth += 1;
                if self.depth > 1 {
                    let key = self.key.take().map(|k| k.0).unwrap_or_default();
                    self.error = Some((
                        line,
                        format!("`{key}`: expected a single value, not a list or mapping"),
                    ));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => self.depth = self.depth.saturating_sub(1),
            Event::Scalar(text, ..) if self.depth == 1 => match self.key.take() {
                None => self.key = Some((text, line)),
                Some((k, l)) => self.values.push((k, text, l)),
            },
            Event::Scalar(..) => self.error = Some((line, "the file must be a mapping of settings".into())),
            _ => {}
        }
    }
}

impl FileSettings {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<FileSettings, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Reads config text (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<FileSettings, ConfigError> {
        let err = |line: usize, message: String| ConfigError {
            file: file.to_owned(),
            line,
            message,
        };
        let mut flat = Flat::default();
        Parser::new_from_str(text)
            .load(&mut flat, false)
            .map_err(|e| err(e.marker().line(), e.info().to_owned()))?;
        if let Some((line, message)) = flat.error {
            return Err(err(line, message));
        }
        let mut values = BTreeMap::new();
        for (k, v, line) in flat.values {
            if !FILE_KEYS.contains(&k.as_str()) {
                return Err(err(
                    line,
                    format!("`{k}` is not a setting (known: {})", FILE_KEYS.join(", ")),
                ));
            }
            if values.insert(k.clone(), (v, line)).is_some() {
                return Err(err(line, format!("`{k}` is set twice")));
            }
        }
        Ok(FileSettings {
            file: file.to_owned(),
            values,
        })
    }

    /// A text setting.
    pub fn text(&self, key: &str) -> Option<String> {
        self.values.get(key).map(|(v, _)| v.clone())
    }

    /// A number setting; an unreadable one is an error naming its line.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        match self.values.get(key) {
            None => Ok(None),
            Some((v, line)) => v.parse().map(Some).map_err(|_| ConfigError {
                file: self.file.clone(),
                line: *line,
                message: format!("`{key}`: expected a whole number"),
            }),
        }
    }

    /// A boolean setting.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.values.get(key).map(|(v, l)| (v.as_str(), *l)) {
            None => Ok(None),
            Some(("true" | "yes" | "on", _)) => Ok(Some(true)),
            Some(("false" | "no" | "off", _)) => Ok(Some(false)),
            Some((_, line)) => Err(ConfigError {
                file: self.file.clone(),
                line,
                message: format!("`{key}`: expected true or false"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_file_reads_and_mistakes_name_the_line() {
        let s = FileSettings::parse(
            "c.yaml",
            "db: sqlite://x.db\nevents_retention_days: 30\nmetrics_public: yes\n",
        )
        .unwrap();
        assert_eq!(s.text("db").as_deref(), Some("sqlite://x.db"));
        assert_eq!(s.number::<u32>("events_retention_days").unwrap(), Some(30));
        assert_eq!(s.flag("metrics_public").unwrap(), Some(true));
        let e = FileSettings::parse("c.yaml", "db: x\nlisen: 1\n").unwrap_err();
        assert_eq!((e.line, e.file.as_str()), (2, "c.yaml"));
        assert!(e.message.contains("`lisen`"));
        let e = FileSettings::parse("c.yaml", "db: x\npg_pool_size: many\n").unwrap();
        assert_eq!(e.number::<usize>("pg_pool_size").unwrap_err().line, 2);
        assert_eq!(FileSettings::parse("c.yaml", "db:\n  - a\n").unwrap_err().line, 2);
        assert!(FileSettings::parse("c.yaml", "db: [").is_err());
    }
}
