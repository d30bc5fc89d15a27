//! The `streamproof` command: parses arguments and hands each command to the crate that does
//! the work. Exit codes: 0 success, 1 an expectation failed, 2 the input or environment is wrong.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, TopicsCommand};

/// Every expectation held.
const EXIT_OK: u8 = 0;
/// The scenario, input or environment is wrong.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Up(args) => commands::cluster::up(&args, json),
        Command::Status(args) => commands::cluster::status(&args, json),
        Command::Down(args) => commands::cluster::down(&args, json),
        Command::Topics(TopicsCommand::Apply(args)) => commands::topics::apply(&args, json),
        Command::Topics(TopicsCommand::Describe(args)) => commands::topics::describe(&args, json),
        Command::Lag(args) => commands::lag::lag(&args, json),
        Command::Publish(args) => commands::publish::publish(&args, json),
        Command::Profiles(args) => commands::profiles::profiles(&args, json),
        Command::Capacity(args) => commands::capacity::capacity(&args, json),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
