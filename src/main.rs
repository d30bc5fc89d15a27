//! The `streamproof` command: parses arguments and hands each command to the crate that does
//! the work. Exit codes: 0 success, 1 an expectation failed, 2 the input or environment is wrong.

mod cli;
mod commands;
mod metrics;
mod orchestrate;
mod plan;
mod platform_file;
mod progress;
mod scenario;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, SchemaCommand, TopicsCommand};

/// mimalloc for Rust and (through its `override` feature) for librdkafka's C allocations: the
/// client allocates every message on its own threads and the application frees it on another,
/// and glibc's malloc then makes both wait on one arena lock for every record (measured: the
/// verification read-back went from 143,000 to 180,000 records/s with mimalloc alone).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (its index in mimalloc's option list).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of handing it back to the system: the client's fetch
/// and send buffers come and go by the megabyte, and pages handed back are zeroed again by the
/// kernel when taken anew (a sixth of the checker's client thread was spent there). A run is a
/// bounded process; its peak memory is unchanged.
fn keep_freed_memory() {
    // SAFETY: sets a process-wide option of the allocator before any thread is started.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Every expectation held.
const EXIT_OK: u8 = 0;
/// An expectation failed.
const EXIT_FAILED: u8 = 1;
/// The scenario, input or environment is wrong.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&args, json),
        Command::Validate(args) => commands::run::validate(&args).map(|()| true),
        Command::Report(args) => commands::report::report(&args).map(|()| true),
        Command::Compare(args) => commands::report::compare(&args, json),
        Command::Matrix(args) => commands::report::matrix(&args, json),
        Command::Copier(args) => commands::copier::copier(&args, json).map(|()| true),
        Command::Up(args) => commands::cluster::up(&args, json).map(|()| true),
        Command::Status(args) => commands::cluster::status(&args, json).map(|()| true),
        Command::Down(args) => commands::cluster::down(&args, json).map(|()| true),
        Command::Broker(args) => commands::broker::broker(&args, json).map(|()| true),
        Command::Topics(TopicsCommand::Apply(args)) => {
            commands::topics::apply(&args, json).map(|()| true)
        }
        Command::Topics(TopicsCommand::Describe(args)) => {
            commands::topics::describe(&args, json).map(|()| true)
        }
        Command::Lag(args) => commands::lag::lag(&args, json).map(|()| true),
        Command::Publish(args) => commands::publish::publish(&args, json).map(|()| true),
        Command::Profiles(args) => commands::profiles::profiles(&args, json).map(|()| true),
        Command::Capacity(args) => commands::capacity::capacity(&args, json).map(|()| true),
        Command::Plan(args) => commands::plan::plan(&args, json),
        Command::Schema(SchemaCommand::Check(args)) => commands::schema::check(&args, json),
        Command::Schema(SchemaCommand::Show(args)) => commands::schema::show(&args).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::from(EXIT_OK),
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
