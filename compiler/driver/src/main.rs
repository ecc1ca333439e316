//! The `chor` command line.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "chor",
    version,
    about = "Compiler for the .chor choreographic programming language"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run all checks and print diagnostics; exit 1 on error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format of the diagnostics.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Print the projected local program of each role of `main`.
    Project {
        file: PathBuf,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
    },
    /// Run the global program in the reference interpreter.
    Simulate {
        file: PathBuf,
        /// Print every message and selection in order.
        #[arg(long)]
        trace: bool,
    },
    /// Build one executable per role of `main`, plus a loopback `deploy.toml`.
    Build {
        file: PathBuf,
        /// Output directory.
        #[arg(short = 'o', long = "out-dir", default_value = "build")]
        out: PathBuf,
    },
    /// Build, then run every role as its own process on loopback, printing `[Role] line`.
    Run { file: PathBuf },
}

fn main() {
    // Deeply nested source text must not overflow the stack of the recursive phases.
    let code = chor_driver::with_big_stack_or_inline(real_main);
    std::process::exit(code);
}

fn real_main() -> i32 {
    // A role executable built by `chor build` carries its program: run that role.
    if let Some(payload) = chor_driver::host::embedded_payload() {
        return chor_driver::host::role_main(payload);
    }
    let cli = Cli::parse();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let code = match cli.command {
        Command::Check { files, format } => files
            .iter()
            .map(|f| chor_driver::cmd_check(f, format == Format::Json, color))
            .max()
            .unwrap_or(0),
        Command::Project { file, role } => chor_driver::cmd_project(&file, role.as_deref(), color),
        Command::Simulate { file, trace } => chor_driver::cmd_simulate(&file, trace, color),
        Command::Build { file, out } => chor_driver::cmd_build(&file, &out, color),
        Command::Run { file } => chor_driver::cmd_run(&file, color),
    };
    code
}
