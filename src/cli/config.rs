//! `relink config check`: the effective configuration, secrets redacted, with every invalid
//! value explained.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Sources;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and explain every invalid value.
    Check,
}

pub fn run(command: &ConfigCommand, sources: &Sources) -> ExitCode {
    match command {
        ConfigCommand::Check => {
            match &sources.file {
                Some(path) => println!("# configuration file: {}", path.display()),
                None => println!("# no configuration file: defaults, RELINK_* environment variables and flags"),
            }
            match sources.resolve() {
                Ok(config) => {
                    print!("{}", sources.describe(&config));
                    println!("# the configuration is valid");
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    eprint!("error: {problems}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
