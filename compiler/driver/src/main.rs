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
        file: PathBuf,
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
        /// Also draw the run as a sequence diagram into this file (SVG; Mermaid for `.mmd`).
        #[arg(long, value_name = "OUT.svg")]
        diagram: Option<PathBuf>,
    },
    /// Run every role of `main` concurrently, printing `[Role] line`.
    Run { file: PathBuf },
    /// Draw the sequence diagram of a choreography (SVG or Mermaid).
    Diagram {
        file: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "OUT.svg")]
        output: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "svg")]
        format: DiagramFormat,
        /// The choreography to draw.
        #[arg(long, default_value = "main", value_name = "NAME")]
        choreography: String,
    },
    /// Format files in place in the canonical layout (comments are kept).
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum DiagramFormat {
    Svg,
    Mermaid,
}

fn main() {
    let cli = Cli::parse();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let code = match cli.command {
        Command::Check { file, format } => {
            chor_driver::cmd_check(&file, format == Format::Json, color)
        }
        Command::Project { file, role } => chor_driver::cmd_project(&file, role.as_deref(), color),
        Command::Simulate {
            file,
            trace,
            diagram: None,
        } => chor_driver::cmd_simulate(&file, trace, color),
        Command::Simulate {
            file,
            trace,
            diagram: Some(out),
        } => chor_driver::cmd_simulate_diagram(&file, trace, &out, color),
        Command::Diagram {
            file,
            output,
            format,
            choreography,
        } => {
            let format = match format {
                DiagramFormat::Svg => chor_driver::DiagramFormat::Svg,
                DiagramFormat::Mermaid => chor_driver::DiagramFormat::Mermaid,
            };
            chor_driver::cmd_diagram(&file, output.as_deref(), format, &choreography, color)
        }
        Command::Fmt { files, check } => chor_driver::cmd_fmt(&files, check, color),
        Command::Run { file } => chor_driver::cmd_run(&file, color),
    };
    std::process::exit(code);
}
