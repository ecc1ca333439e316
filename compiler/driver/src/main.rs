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
    /// Run every role of `main` concurrently, printing `[Role] line`.
    Run { file: PathBuf },
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
}

fn main() {
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
        Command::Run { file } => chor_driver::cmd_run(&file, color),
        Command::Lsp => {
            chor_lsp::run_stdio(chor_driver::db::Database::default());
            0
        }
    };
    std::process::exit(code);
}
