//! `relink completions bash|zsh|fish`: the shell completion script for the whole command tree,
//! generated from the clap definitions so it never falls behind them.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, ValueEnum};
use clap_complete::Shell as Generator;

/// The shells relink writes completions for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    shell: Shell,
}

pub fn run(args: &CompletionsArgs) -> ExitCode {
    let generator = match args.shell {
        Shell::Bash => Generator::Bash,
        Shell::Zsh => Generator::Zsh,
        Shell::Fish => Generator::Fish,
    };
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut command, "relink", &mut script);
    // `relink completions bash | head` closes the pipe early: end quietly, as other tools do.
    match std::io::stdout().lock().write_all(&script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(error) => {
            eprintln!("error: cannot write the completion script: {error}");
            ExitCode::FAILURE
        }
    }
}
