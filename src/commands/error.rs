//! Why a command failed, with its context; `main` prints the chain once and exits with
//! [`CommandError::exit_code`].

use std::process::ExitCode;

use thiserror::Error;

use crate::config::ConfigError;
use crate::db::DbError;
use crate::logging::LoggingError;
use crate::pipeline::service::SpawnError;
use crate::source::capture::CaptureError;
use crate::source::recorder::RecordError;
use crate::source::websocket::EndpointError;

#[derive(Debug, Error)]
pub enum CommandError {
    #[error(transparent)]
    Logging(#[from] LoggingError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("setting up identity resolution")]
    Identity(#[source] crate::identity::SetupError),
    #[error("installing signal handlers")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    Owner(#[from] crate::pipeline::owner::OwnerError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Relay(#[from] EndpointError),
    #[error("listening on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("replay")]
    Replay(#[source] std::io::Error),
    #[error("writing output")]
    Output(#[source] std::io::Error),
}

impl CommandError {
    /// 2 when the logger could not start (nothing else could be said), 1 for everything else.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CommandError::Logging(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}
