//! Why a configuration is refused: the path of the field at fault and the reason in French. The
//! checks of every part of the configuration return it, the documents' settings included (below
//! the configuration, they use this module alone).

use crate::json::JsonError;

/// A configuration refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl From<JsonError> for ConfigError {
    fn from(e: JsonError) -> Self {
        ConfigError { path: e.path, message: e.message }
    }
}

pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

impl crate::Refusal for ConfigError {
    fn code(&self) -> &'static str {
        "invalid_config"
    }
    fn french(&self) -> String {
        self.message.clone()
    }
    fn field(&self) -> Option<String> {
        Some(self.path.clone())
    }
}
