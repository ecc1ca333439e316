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

/// How role executables run their program.
#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum BackendArg {
    /// Native code compiled with Cranelift and linked with the runtime.
    Native,
    /// The reference interpreter embedded in a copy of `chor`.
    Interp,
}

impl BackendArg {
    fn get(self) -> chor_driver::host::Backend {
        match self {
            BackendArg::Native => chor_driver::host::Backend::Native,
            BackendArg::Interp => chor_driver::host::Backend::Interp,
        }
    }
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
        /// Code generator of the role executables.
        #[arg(long, value_enum, default_value = "native")]
        backend: BackendArg,
    },
    /// Build, then run every role as its own process on loopback, printing `[Role] line`.
    Run {
        file: PathBuf,
        /// Code generator of the role executables.
        #[arg(long, value_enum, default_value = "native")]
        backend: BackendArg,
    },
}

fn main() {
    // A role executable built by `chor build` carries its program: run that role.
    if let Some(payload) = chor_driver::host::embedded_payload() {
        std::process::exit(chor_driver::host::role_main(payload));
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
        Command::Build { file, out, backend } => {
            chor_driver::cmd_build(&file, &out, color, backend.get())
        }
        Command::Run { file, backend } => chor_driver::cmd_run(&file, color, backend.get()),
    };
    std::process::exit(code);
}
