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
    /// The size of a family of roles of `main` (`--size Workers=5`; repeatable; default 3).
    #[arg(long = "size", value_name = "FAMILY=N", global = true)]
    size: Vec<String>,
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
        /// The files to check (default: the entry of the project around the working directory).
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
    /// Explore every interleaving of the projected programs; report deadlocks, orphan and
    /// unexpected messages with a trace, or the number of states explored.
    Verify {
        file: PathBuf,
        /// How many nested activations of one choreography a role may enter (default 3).
        #[arg(long, value_name = "N")]
        depth: Option<usize>,
        /// Verify with every family of `main` at each size from 1 to N.
        #[arg(long, value_name = "N")]
        max_size: Option<usize>,
    },
    /// Run the global program in the reference interpreter.
    Simulate {
        /// The program (default: the entry of the project around the working directory).
        file: Option<PathBuf>,
        /// Print every message and selection in order.
        #[arg(long)]
        trace: bool,
        /// Also draw the run as a sequence diagram into this file (SVG; Mermaid for `.mmd`).
        #[arg(long, value_name = "OUT.svg")]
        diagram: Option<PathBuf>,
        /// This role reads FILE as its standard input (repeatable).
        #[arg(long = "stdin", value_name = "ROLE=FILE")]
        stdin: Vec<String>,
        /// Arguments for the program (`env::args()`), after `--`.
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Build one executable per role of `main`, plus a loopback `deploy.toml`.
    Build {
        /// The program (default: the entry of the project around the working directory).
        file: Option<PathBuf>,
        /// Output directory.
        #[arg(short = 'o', long = "out-dir", default_value = "build")]
        out: PathBuf,
        /// Code generator of the role executables.
        #[arg(long, value_enum, default_value = "native")]
        backend: BackendArg,
    },
    /// Build, then run every role as its own process on loopback, printing `[Role] line`.
    Run {
        /// The program (default: the entry of the project around the working directory).
        file: Option<PathBuf>,
        /// Code generator of the role executables.
        #[arg(long, value_enum, default_value = "native")]
        backend: BackendArg,
        /// This role reads FILE as its standard input (repeatable).
        #[arg(long = "stdin", value_name = "ROLE=FILE")]
        stdin: Vec<String>,
        /// Arguments for the program (`env::args()`), after `--`.
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
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
    /// Write a cluster CA and one TLS key pair per role into DIR (for `[security] ca`).
    Keys {
        dir: PathBuf,
        /// The roles, comma-separated (`--roles Buyer,Seller`).
        #[arg(long, required = true)]
        roles: String,
    },
    /// Create a project: NAME/chor.toml, NAME/src/main.chor, a README and a .gitignore.
    New {
        /// The new directory; its last component is the package name.
        name: PathBuf,
        /// Also a Rust crate at NAME/native (`[extern] crate`) with one function that
        /// src/main.chor declares as an `extern fn` and calls.
        #[arg(long = "extern")]
        with_extern: bool,
    },
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
    /// Serve the playground on http://127.0.0.1:PORT/: an editor with live diagnostics,
    /// projections, diagrams and a step-through simulator, in the browser.
    Playground {
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = chor_driver::playground::DEFAULT_PORT)]
        port: u16,
    },
    /// Print what a diagnostic code means (`chor explain E0501`), or every code.
    Explain { code: Option<String> },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum DiagramFormat {
    Svg,
    Mermaid,
}

fn main() {
    // A reader that goes away (`chor check f.chor 2>&1 | head -1`) is no crash: the print
    // macros panic on a closed pipe; end quietly instead, with the status of a process a
    // SIGPIPE ended (128 + 13), as other command-line tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .payload_as_str()
            .is_some_and(|m| m.starts_with("failed printing to std") && m.contains("Broken pipe"))
        {
            std::process::exit(141);
        }
        default_hook(info);
    }));
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
    match chor_driver::parse_sizes(&cli.size) {
        Ok(sizes) => chor_driver::set_family_sizes(sizes),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    }
    match cli.command {
        Command::Check { files, format } => {
            let files = if files.is_empty() {
                match project_entry(None) {
                    Ok(f) => vec![f],
                    Err(code) => return code,
                }
            } else {
                files
            };
            files
                .iter()
                .map(|f| chor_driver::cmd_check(f, format == Format::Json, color))
                .max()
                .unwrap_or(0)
        }
        Command::Project { file, role } => chor_driver::cmd_project(&file, role.as_deref(), color),
        Command::Verify {
            file,
            depth,
            max_size,
        } => chor_driver::cmd_verify_sized(&file, depth, max_size, color),
        Command::Build { file, out, backend } => match project_entry(file) {
            Ok(file) => chor_driver::cmd_build(&file, &out, color, backend.get()),
            Err(code) => code,
        },
        Command::Simulate {
            file,
            trace,
            diagram,
            stdin,
            args,
        } => {
            let (file, world) =
                match project_entry(file).and_then(|f| Ok((f, world(&stdin, args)?))) {
                    Ok(x) => x,
                    Err(code) => return code,
                };
            match diagram {
                None => chor_driver::cmd_simulate_in(&file, trace, color, &world),
                Some(out) => {
                    chor_driver::cmd_simulate_diagram_in(&file, trace, &out, color, &world)
                }
            }
        }
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
        Command::Run {
            file,
            backend,
            stdin,
            args,
        } => match project_entry(file).and_then(|f| Ok((f, world(&stdin, args)?))) {
            Ok((file, w)) => chor_driver::cmd_run_in(&file, color, backend.get(), &w),
            Err(code) => code,
        },
        Command::New { name, with_extern } => {
            match chor_driver::manifest::new_project(&name, with_extern) {
                Ok(files) => {
                    for f in files {
                        eprintln!("wrote {}", f.display());
                    }
                    eprintln!(
                        "created project `{}`: `cd {}` and `chor run`",
                        name.file_name()
                            .map(|n| n.to_string_lossy())
                            .unwrap_or_default(),
                        name.display()
                    );
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            }
        }
        Command::Explain { code } => explain(code.as_deref()),
        Command::Keys { dir, roles } => chor_driver::keys::cmd_keys(&dir, &roles),
        Command::Playground { port } => chor_driver::playground::cmd_playground(port),
        Command::Lsp => {
            chor_lsp::run_stdio(chor_driver::db::Database::default());
            0
        }
    }
}

/// The FILE given, or the entry of the project around the working directory.
fn project_entry(file: Option<PathBuf>) -> Result<PathBuf, i32> {
    match file {
        Some(f) => Ok(f),
        None => chor_driver::manifest::entry_here().map_err(|e| {
            eprintln!("error: {e}");
            2
        }),
    }
}

/// The `--stdin` files and program arguments of `simulate` and `run`.
fn world(stdin: &[String], args: Vec<String>) -> Result<chor_driver::World, i32> {
    match chor_driver::World::parse_stdin(stdin) {
        Ok(stdin) => Ok(chor_driver::World {
            stdin,
            args,
            ..chor_driver::World::default()
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Err(2)
        }
    }
}

/// `chor explain`: the registry of diagnostic codes.
fn explain(code: Option<&str>) -> i32 {
    use chor_diagnostics::codes;
    match code {
        None => {
            for c in codes::CODES {
                println!("{}  {}", c.code, c.title);
            }
            0
        }
        Some(code) => match codes::title(&code.to_ascii_uppercase()) {
            Some(t) => {
                println!("{}: {t}", code.to_ascii_uppercase());
                println!("See docs/types.md and docs/projection.md for the rules behind it.");
                0
            }
            None => {
                eprintln!("error: unknown diagnostic code `{code}`; `chor explain` lists them all");
                1
            }
        },
    }
}
