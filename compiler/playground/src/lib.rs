//! chor-playground: `chor playground`, a local web page for learning choreographies.
//!
//! The page (plain HTML, CSS and JavaScript embedded in the binary: it works offline) has an
//! editor with live diagnostics, the projection of every role, the sequence diagram, and a
//! step-through simulator where the user picks which role moves next.
//!
//! The server keeps no run state: every request carries the source text (and, for a run, the
//! schedule so far), and the answer is computed from scratch — diagnostics through the same
//! [`Analysis`] (the driver's incremental database) as the language server, runs by replaying
//! the schedule in [`chor_step::Stepper`]. Undo is "replay one step fewer". Only the loopback
//! interface is served.

use axum::Router;
use axum::extract::{Json, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chor_check::Program;
use chor_diagnostics::{Diagnostic, FileId, Severity, Span};
use chor_lsp::Analysis;
use chor_step::{ActionKind, Outcome, Status, Stepper};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod examples {
    include!(concat!(env!("OUT_DIR"), "/examples.rs"));
}
pub use examples::EXAMPLES;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Steps a "run to end" or "random schedule" takes at most in one request (a protocol that
/// never ends stops there and can be continued).
pub const RUN_LIMIT: usize = 20_000;
/// How long a "run to end" or "random schedule" goes on at most in one request.
pub const RUN_TIME: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest source text the playground accepts.
pub const MAX_SOURCE: usize = 1 << 20;

/// The state shared by the request handlers.
pub struct App {
    analysis: Mutex<Box<dyn Analysis>>,
    /// The path the editor's text is registered under (imports resolve next to it).
    path: PathBuf,
}

impl App {
    /// `path` names the editor's buffer in the database (it need not exist on disk).
    pub fn new(analysis: Box<dyn Analysis>, path: PathBuf) -> App {
        App {
            analysis: Mutex::new(analysis),
            path,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Analysis>> {
        match self.analysis.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Diagnostics, projections and the diagram of `source` (`/api/analyze`).
    pub fn analyze(&self, source: &str, chor: Option<&str>) -> Value {
        let mut a = self.lock();
        analyze(&mut **a, &self.path, source, chor)
    }

    /// Replay `schedule`, then do `then`, and describe the state (`/api/run`). The database
    /// is held only to check and project: other requests go on while the run is replayed.
    pub fn run(&self, source: &str, schedule: &[String], then: &Then) -> Value {
        let prepared = {
            let mut a = self.lock();
            prepare(&mut **a, &self.path, source)
        };
        match prepared {
            Ok(r) => r.run(schedule, then),
            Err(e) => e,
        }
    }
}

/// What a run request does after replaying its schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Nothing,
    Step(String),
    ToEnd,
    Random(u64),
}

/// Line numbers of spans, for the files whose text is at hand.
struct Lines {
    texts: HashMap<FileId, Arc<str>>,
    root: FileId,
}

impl Lines {
    fn new(a: &dyn Analysis, root: FileId) -> Lines {
        let mut texts = HashMap::new();
        if let Some(t) = a.text(root) {
            texts.insert(root, t);
        }
        Lines { texts, root }
    }
    /// 1-based (line, column) of the start and end of `span` in the editor's text, or `None`
    /// for a span in another file.
    fn range(&self, span: Span) -> Option<(usize, usize, usize, usize)> {
        if span.file != self.root {
            return None;
        }
        let t = self.texts.get(&span.file)?;
        let (l1, c1) = chor_diagnostics::line_col(t, span.start);
        let (l2, c2) = chor_diagnostics::line_col(t, span.end);
        Some((l1, c1, l2, c2))
    }
    fn line(&self, span: Span) -> Value {
        self.range(span).map_or(Value::Null, |(l, ..)| json!(l))
    }
}

fn diagnostic_json(d: &Diagnostic, lines: &Lines, a: &dyn Analysis) -> Value {
    // A diagnostic about an imported file names it (the editor shows the root file only).
    let file = d
        .primary_span()
        .filter(|sp| sp.file != lines.root)
        .map(|sp| {
            a.path(sp.file).map_or_else(
                || "the standard library".to_owned(),
                |p| p.display().to_string(),
            )
        });
    let primary = d.labels.first().and_then(|l| lines.range(l.span));
    let (line, col, end_line, end_col) = primary
        .map_or((None, None, None, None), |(a, b, c, e)| {
            (Some(a), Some(b), Some(c), Some(e))
        });
    json!({
        "severity": if d.severity == Severity::Error { "error" } else { "warning" },
        "file": file,
        "code": d.code,
        "message": d.message,
        "line": line, "col": col, "end_line": end_line, "end_col": end_col,
        "labels": d.labels.iter().map(|l| json!({"line": lines.line(l.span), "message": l.message})).collect::<Vec<_>>(),
        "notes": d.notes,
        "help": d.help,
    })
}

/// The user's choreographies (not the standard library's), in source order.
fn choreographies(prog: &Program) -> Vec<(String, Span)> {
    let mut v: Vec<(String, Span)> = prog
        .chors
        .values()
        // Instances of generic choreographies are not the user's: they share the generic's
        // text.
        .filter(|r| {
            prog.units
                .get(r.unit)
                .is_some_and(|u| !u.is_stdlib && u.name != chor_check::mono::INSTANCES_UNIT)
        })
        .filter_map(|r| prog.chor_def(*r))
        .map(|c| (c.name.name.clone(), c.span))
        .collect();
    v.sort_by_key(|(_, sp)| (sp.file, sp.start));
    v
}

/// Diagnostics, roles, projections and the sequence diagram of `source`.
pub fn analyze(a: &mut dyn Analysis, path: &Path, source: &str, chor: Option<&str>) -> Value {
    if source.len() > MAX_SOURCE {
        return json!({"error": format!("the program is longer than {MAX_SOURCE} bytes")});
    }
    let root = a.set_text(path, source.to_owned());
    let diags = a.diagnostics(root);
    let prog = a.resolved(root);
    let lines = Lines::new(a, root);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    let roles: Vec<String> = prog
        .chor("main")
        .map(|m| m.roles.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    let chors = choreographies(&prog);
    let syntax_ok = !prog.diagnostics.iter().any(Diagnostic::is_error);
    // The choreography drawn: the one asked for, else the one the first error is in (so a
    // program failing knowledge of choice shows where), else `main`.
    let first_error = errors.first().and_then(|d| d.primary_span());
    let drawn = chor
        .filter(|c| chors.iter().any(|(n, _)| n == c))
        .map(str::to_owned)
        .or_else(|| {
            first_error.and_then(|sp| {
                chors
                    .iter()
                    .find(|(_, c)| c.file == sp.file && c.start <= sp.start && sp.end <= c.end)
                    .map(|(n, _)| n.clone())
            })
        })
        .or_else(|| {
            chors
                .iter()
                .find(|(n, _)| n == "main")
                .map(|(n, _)| n.clone())
        })
        .or_else(|| chors.first().map(|(n, _)| n.clone()));
    let (diagram, diagram_error) = match (&drawn, syntax_ok) {
        (Some(name), true) => match chor_teach::from_choreography_marked(&prog, name, &diags) {
            Ok(d) => (Some(chor_teach::svg::render(&d)), None),
            Err(e) => (None, Some(e)),
        },
        (_, false) => (
            None,
            Some("fix the syntax errors to see the diagram".to_owned()),
        ),
        (None, true) => (
            None,
            Some("this program defines no choreography".to_owned()),
        ),
    };
    let (projections, projection_error) = if !errors.is_empty() {
        (
            Vec::new(),
            Some("fix the errors to see the projections".to_owned()),
        )
    } else if prog.chor("main").is_none() {
        (
            Vec::new(),
            Some("the program has no `choreography main(...)`".to_owned()),
        )
    } else {
        match chor_project::project_program(&prog, "main") {
            Ok(locals) => (
                locals
                    .iter()
                    .map(|l| json!({"role": l.role, "text": l.to_text()}))
                    .collect(),
                None,
            ),
            Err(d) => (
                Vec::new(),
                Some(
                    d.iter()
                        .map(|d| d.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
        }
    };
    json!({
        "diagnostics": diags.iter().map(|d| diagnostic_json(d, &lines, a)).collect::<Vec<_>>(),
        "errors": errors.len(),
        "roles": roles,
        "choreographies": chors.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        "diagram_of": drawn,
        "diagram": diagram,
        "diagram_error": diagram_error,
        "projections": projections,
        "projection_error": projection_error,
    })
}

fn kind_name(k: ActionKind) -> &'static str {
    match k {
        ActionKind::Send => "send",
        ActionKind::Select => "select",
        ActionKind::Receive => "receive",
        ActionKind::Branch => "branch",
        ActionKind::Local => "local",
    }
}

/// A checked program ready to run: its projections and how to name lines.
pub struct Runnable {
    prog: Arc<Program>,
    locals: Vec<chor_project::LocalProgram>,
    lines: Lines,
}

/// Check and project `source` for a run; `Err` is the answer to give (the program has errors
/// or no `main`).
pub fn prepare(a: &mut dyn Analysis, path: &Path, source: &str) -> Result<Runnable, Value> {
    if source.len() > MAX_SOURCE {
        return Err(json!({"error": format!("the program is longer than {MAX_SOURCE} bytes")}));
    }
    let root = a.set_text(path, source.to_owned());
    let diags = a.diagnostics(root);
    let n = diags.iter().filter(|d| d.is_error()).count();
    if n > 0 {
        return Err(json!({"error": format!(
            "the program has {n} error{}: fix {} to run it",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" }
        )}));
    }
    let prog = a.resolved(root);
    if prog.chor("main").is_none() {
        return Err(json!({"error": "the program has no `choreography main(...)` to run"}));
    }
    let locals = match chor_project::project_program(&prog, "main") {
        Ok(l) => l,
        Err(d) => {
            let msgs: Vec<String> = d.iter().map(|d| d.message.clone()).collect();
            return Err(json!({"error": msgs.join("; ")}));
        }
    };
    Ok(Runnable {
        prog,
        locals,
        lines: Lines::new(a, root),
    })
}

/// Run `source`'s projections: replay `schedule`, do `then`, and describe the state.
pub fn run(
    a: &mut dyn Analysis,
    path: &Path,
    source: &str,
    schedule: &[String],
    then: &Then,
) -> Value {
    match prepare(a, path, source) {
        Ok(r) => r.run(schedule, then),
        Err(e) => e,
    }
}

impl Runnable {
    /// Replay `schedule`, do `then`, and describe the state.
    pub fn run(&self, schedule: &[String], then: &Then) -> Value {
        // The evaluator recurses on the stack: run on a thread with room for deep recursion.
        chor_interp::with_big_stack(|| {
            let mut s = Stepper::new(&self.prog, &self.locals);
            let replayed = s.replay(schedule);
            s.set_deadline(std::time::Instant::now() + RUN_TIME);
            let moved = match then {
                Then::Nothing => true,
                Then::Step(r) => s.step(r),
                Then::ToEnd => s.run_to_end(RUN_LIMIT) > 0,
                Then::Random(seed) => s.run_random(*seed, RUN_LIMIT) > 0,
            };
            state_json(&s, &self.lines, replayed < schedule.len(), moved)
        })
    }
}

fn state_json(s: &Stepper<'_>, lines: &Lines, diverged: bool, moved: bool) -> Value {
    let roles: Vec<Value> = s
        .views()
        .into_iter()
        .map(|v| {
            let (status, fault, fault_line) = match &v.status {
                Status::Running => ("running", None, Value::Null),
                Status::Done => ("done", None, Value::Null),
                Status::Failed { message, span } => (
                    "failed",
                    Some(message.clone()),
                    span.map_or(Value::Null, |sp| lines.line(sp)),
                ),
            };
            json!({
                "role": v.role,
                "status": status,
                "fault": fault,
                "fault_line": fault_line,
                "enabled": v.enabled,
                "next": v.next.map(|n| json!({
                    "kind": kind_name(n.kind),
                    "text": n.text,
                    "line": lines.line(n.span),
                    "within": n.within,
                    "waits_on": n.waits_on,
                })),
                "vars": v.vars.iter().map(|(n, x)| json!([n, x])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let outcome = match s.outcome() {
        Outcome::Ongoing => json!({"kind": "ongoing", "text": "some role can move"}),
        Outcome::Finished => json!({"kind": "finished", "text": "every role finished"}),
        Outcome::Failed { role, message } => {
            json!({"kind": "failed", "text": format!("role {role} failed: {message}")})
        }
        Outcome::Stuck { waiting } => json!({"kind": "stuck", "text": format!(
            "no role can move; {} wait{} for a message that never comes",
            waiting.join(", "),
            if waiting.len() == 1 { "s" } else { "" }
        )}),
    };
    let d = chor_teach::from_run(&s.roles(), s.events());
    json!({
        "roles": roles,
        "channels": s.channels().into_iter().map(|(from, to, msgs)| json!({"from": from, "to": to, "messages": msgs})).collect::<Vec<_>>(),
        "output": s.output().iter().map(|(r, l)| json!([r, l])).collect::<Vec<_>>(),
        "schedule": s.schedule(),
        "outcome": outcome,
        "moved": moved,
        "diverged": diverged,
        "diagram": chor_teach::svg::render(&d),
    })
}

fn text_field<'a>(body: &'a Value, key: &str) -> &'a str {
    body.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Parse the body of `/api/run`.
pub fn parse_run(body: &Value) -> (String, Vec<String>, Then) {
    let source = text_field(body, "source").to_owned();
    let schedule = body
        .get("schedule")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let then = match text_field(body, "then") {
        "step" => Then::Step(text_field(body, "role").to_owned()),
        "end" => Then::ToEnd,
        "random" => Then::Random(body.get("seed").and_then(Value::as_u64).unwrap_or(1)),
        _ => Then::Nothing,
    };
    (source, schedule, then)
}

async fn blocking(f: impl FnOnce() -> Value + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
            .into_response(),
    }
}

async fn api_analyze(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Response {
    blocking(move || {
        let chor = body.get("chor").and_then(Value::as_str);
        app.analyze(text_field(&body, "source"), chor)
    })
    .await
}

async fn api_run(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Response {
    blocking(move || {
        let (source, schedule, then) = parse_run(&body);
        app.run(&source, &schedule, &then)
    })
    .await
}

async fn api_examples() -> Response {
    let list: Vec<Value> = EXAMPLES
        .iter()
        .map(|(name, source)| json!({"name": name, "source": source}))
        .collect();
    Json(Value::Array(list)).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Whether a request's `Host` names this machine's loopback interface. A web page from
/// elsewhere that gets its own name resolved to 127.0.0.1 ("DNS rebinding") sends its own name
/// as the host: refused, so that no other site can use the server (which reads the files an
/// `import` names).
pub fn loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let name = match host.rsplit_once(':') {
        // `[::1]:7878`, `127.0.0.1:7878`, `localhost:7878`
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    )
}

async fn check_host(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if loopback_host(host) {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the playground answers requests for 127.0.0.1 or localhost only",
        )
            .into_response()
    }
}

/// The routes of the playground.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/examples", get(api_examples))
        .route("/api/analyze", post(api_analyze))
        .route("/api/run", post(api_run))
        .layer(axum::middleware::from_fn(check_host))
        .with_state(app)
}

/// Serve the playground on `127.0.0.1:port` (0 picks a free port) until the process ends;
/// `ready` is called with the address once the socket listens.
pub fn serve(app: App, port: u16, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        ready(addr);
        axum::serve(listener, router(Arc::new(app)))
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_are_served() {
        for ok in [
            "127.0.0.1:7878",
            "localhost:7878",
            "LOCALHOST",
            "[::1]:80",
            "127.0.0.1",
        ] {
            assert!(loopback_host(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example:7878",
            "127.0.0.1.evil.example",
            "localhost.evil.example:7878",
            "",
        ] {
            assert!(!loopback_host(Some(bad)), "{bad}");
        }
        assert!(!loopback_host(None));
    }

    #[test]
    fn run_requests_are_read_leniently() {
        let body = json!({"source": "x", "schedule": ["A", 3, "B"], "then": "random", "seed": 9});
        assert_eq!(
            parse_run(&body),
            (
                "x".to_owned(),
                vec!["A".to_owned(), "B".to_owned()],
                Then::Random(9)
            )
        );
        let (_, schedule, then) = parse_run(&json!({"then": "step", "role": "C"}));
        assert!(schedule.is_empty());
        assert_eq!(then, Then::Step("C".to_owned()));
        assert_eq!(parse_run(&json!([])).2, Then::Nothing);
    }
}
