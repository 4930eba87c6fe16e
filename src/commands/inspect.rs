//! `skyindex inspect FILE [--json]`: the capture's summary or its JSON lines on stdout. A damaged
//! capture is reported with its byte offset, and the exit code is 1, so scripts notice.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use log::error;

use super::CommandError;
use crate::cli::InspectArgs;
use crate::identity::{Identities, IdentityConfig};
use crate::inspect::{damage_offset, json_lines, summary};
use crate::source::capture::CaptureReader;
use crate::verify::{Verifier, VerifyMode, VerifySettings};

/// With `--plc-url`, a verifier with keys from that directory (handles are not checked).
fn verifier(args: &InspectArgs) -> Result<Option<Verifier>, CommandError> {
    let Some(plc_url) = &args.plc_url else {
        return Ok(None);
    };
    let mode = match args.verify.as_str() {
        "full" => VerifyMode::Full,
        "signature" => VerifyMode::Signature,
        other => {
            return Err(CommandError::Config(crate::config::ConfigError::Value {
                flag: "--verify",
                value: other.to_owned(),
                expected: "expected full or signature".into(),
            }))
        }
    };
    let config = IdentityConfig {
        plc_url: plc_url.trim_end_matches('/').to_owned(),
        allow_private_hosts: args.allow_private_hosts,
        plain_http: args.plain_http,
        ..IdentityConfig::default()
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identities = Identities::new(config).map_err(CommandError::Identity)?;
    let stop = crate::shutdown::install().map_err(CommandError::Signals)?;
    let settings = VerifySettings {
        mode,
        handles: false,
    };
    Ok(Some(Verifier::new(settings, Arc::new(identities), stop)))
}

pub fn run(args: &InspectArgs) -> Result<ExitCode, CommandError> {
    let verifier = verifier(args)?;
    let verifier = verifier.as_ref();
    let mut reader = CaptureReader::open(&args.file)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = if args.json {
        json_lines(&mut reader, &mut out, verifier)
    } else {
        summary(&args.file, &mut reader, &mut out, verifier)
    };
    let damage = match written.and_then(|damage| out.flush().map(|()| damage)) {
        Ok(damage) => damage,
        // The reader of our output went away (`| head`): what it wanted, it has.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(CommandError::Output(e)),
    };
    match damage {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            error!(
                "{}: {e}; everything before byte {} was read",
                args.file.display(),
                damage_offset(&e)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
