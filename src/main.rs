//! `skyindex`: parse the command line, set up logging and signals, run the command, print the
//! error chain once and exit with a code that says how it went.

use std::process::ExitCode;

use clap::Parser;
use log::error;
use skyindex::cli::{Cli, Command};
use skyindex::config::RunConfig;
use skyindex::run::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = skyindex::logging::init(&cli.log_level, cli.log_file.as_deref()) {
        eprintln!("skyindex: {e}");
        return ExitCode::from(2);
    }
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            error!("{e}");
            if cli.log_file.is_some() {
                eprintln!("skyindex: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Run(args) => {
            let config = RunConfig::from_args(&args)?;
            // tungstenite's rustls needs a process-wide crypto provider.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let stop = skyindex::shutdown::install()?;
            match skyindex::run::run(&config, stop)? {
                Outcome::Clean => Ok(ExitCode::SUCCESS),
                Outcome::SourceError(e) => {
                    error!(
                        "source failed: {e}; everything before it is indexed and the cursor saved"
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Migrate(args) => skyindex::ops::migrate(&args).map(|()| ExitCode::SUCCESS),
        Command::Inspect(args) => skyindex::inspect::run(&args),
        Command::Capture(args) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let stop = skyindex::shutdown::install()?;
            skyindex::tools::capture::run(&args, &stop).map(|()| ExitCode::SUCCESS)
        }
        Command::Replay(args) => {
            let stop = skyindex::shutdown::install()?;
            skyindex::tools::replay::serve(&args, &stop).map(|()| ExitCode::SUCCESS)
        }
        Command::Health(args) => Ok(skyindex::ops::health(&args)),
        Command::Status(args) => skyindex::ops::status(&args).map(|()| ExitCode::SUCCESS),
    }
}
