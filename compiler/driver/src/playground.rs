//! `chor playground [--port P]`: serves the playground (crate chor-playground) over the same
//! database as `chor check` and the language server. Built only with the `playground` feature
//! (on by default); without it the command says how to get it.

/// The port `chor playground` listens on when none is given.
pub const DEFAULT_PORT: u16 = 7878;

/// Serve until the process is stopped; prints the address once the page can be loaded.
#[cfg(feature = "playground")]
pub fn cmd_playground(port: u16) -> i32 {
    use std::io::Write;
    // The editor's text is registered as a file of the current directory, so that an
    // `import "x.chor"` in it reads x.chor from there.
    let cwd = std::env::current_dir().unwrap_or_default();
    let app = chor_playground::App::new(
        Box::new(crate::db::Database::default()),
        cwd.join("playground.chor"),
    );
    let served = chor_playground::serve(app, port, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "chor playground: http://{addr}/");
        let _ = out.flush();
        eprintln!("(serving on the loopback interface only; stop with Ctrl-C)");
    });
    match served {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Without the `playground` feature there is no server in the binary.
#[cfg(not(feature = "playground"))]
pub fn cmd_playground(port: u16) -> i32 {
    let _ = port;
    eprintln!(
        "error: this chor was built without the playground; rebuild with `cargo install --features playground` (the default)"
    );
    2
}
