//! Protocol test of `chor lsp`: spawns the built binary and speaks JSON-RPC over its stdio the
//! way an editor does — initialize, open a file with an error, receive the diagnostic, hover,
//! definition, references, completion, the knowledge-of-choice quick fix, code lenses and the
//! projection command, semantic tokens, symbols, inlay hints, rename, an edit that fixes the
//! file, garbage input, shutdown and exit. Every wait is bounded by a timeout.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications that arrived while waiting for a response.
    pending: Vec<Value>,
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chor"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chor lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.trim().parse::<usize>().ok();
                    }
                }
                let Some(len) = len else { return };
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn recv(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => v,
            Err(_) => panic!("timed out waiting for the server"),
        }
    }

    /// Send a request and wait for its response (answering server-to-client requests).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = self.recv(deadline);
            if v.get("method").is_some() {
                if let Some(sid) = v.get("id") {
                    // A request from the server (e.g. a refresh): answer it.
                    let sid = sid.clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": sid, "result": null}));
                } else {
                    self.pending.push(v);
                }
                continue;
            }
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let v = self.request(method, params);
        assert!(v.get("error").is_none(), "{method} failed: {v}");
        v["result"].clone()
    }

    /// The next `publishDiagnostics` for `uri` that satisfies `pred`.
    fn diagnostics(&mut self, uri: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let found = self.pending.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uri
                    && n["params"]["diagnostics"]
                        .as_array()
                        .is_some_and(|d| pred(d))
            });
            if let Some(i) = found {
                let n = self.pending.remove(i);
                return n["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            let v = self.recv(deadline);
            if v.get("method").is_some() && v.get("id").is_none() {
                self.pending.push(v);
            }
        }
    }
}

const SRC: &str = r#"struct Quote { title: String, price: Int }

choreography main(Buyer, Seller) {
    let Buyer.title = "TAPL";
    Buyer.title -> Seller.title;
    let Seller.quote = Quote { title: title, price: 87 };
    Seller.quote.price -> Buyer.price;
    if Buyer.price <= 100 {
        Seller.print("sold " ++ quote.title);
    } else {
        Buyer.print("too expensive");
    }
}
"#;

/// (line, character) of the `nth` occurrence of `needle`, plus `shift` characters.
fn pos(needle: &str, nth: usize, shift: usize) -> Value {
    let mut from = 0;
    for _ in 0..nth {
        from += SRC[from..].find(needle).expect("needle") + 1;
    }
    let i = from + SRC[from..].find(needle).expect("needle") + shift;
    let line = SRC[..i].matches('\n').count();
    let col = i - SRC[..i].rfind('\n').map_or(0, |p| p + 1);
    json!({"line": line, "character": col})
}

fn file_uri() -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("chor-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("shop.chor");
    std::fs::write(&path, SRC).expect("write");
    let path = std::fs::canonicalize(&path).expect("canonical");
    let uri = format!("file://{}", path.display());
    (path, uri)
}

#[test]
fn lsp_session_over_stdio() {
    let (_path, uri) = file_uri();
    let doc = json!({"uri": uri});
    let mut c = Client::start();

    let init = c.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"], 1, "full sync: {caps}");
    assert_eq!(caps["hoverProvider"], true);
    let legend = &caps["semanticTokensProvider"]["legend"];
    assert_eq!(legend["tokenTypes"][0], "role");
    assert_eq!(legend["tokenModifiers"][1], "role0");
    c.notify("initialized", json!({}));

    // Open a file with a knowledge-of-choice error: the diagnostic arrives at line 8.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "chor", "version": 1, "text": SRC}}),
    );
    let diags = c.diagnostics(&uri, |d| !d.is_empty());
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "E0501");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["range"]["start"]["line"], 7, "{d}");
    let msg = d["message"].as_str().unwrap_or("");
    assert!(
        msg.starts_with("Seller cannot know which branch Buyer chose"),
        "{msg}"
    );
    assert!(msg.contains("help: "), "{msg}");
    let related = d["relatedInformation"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !related.is_empty(),
        "secondary labels become related information: {d}"
    );
    assert_eq!(related[0]["location"]["uri"], uri);

    // Hover: type and role.
    let h = c.result(
        "textDocument/hover",
        json!({"textDocument": doc, "position": pos("quote.title", 0, 2)}),
    );
    let text = h["contents"]["value"].as_str().unwrap_or("");
    assert!(text.contains("quote: Quote @ Seller"), "{h}");

    // Definition: Seller's `title` is the one received on line 5.
    let def = c.result(
        "textDocument/definition",
        json!({"textDocument": doc, "position": pos("title: title", 0, 8)}),
    );
    assert_eq!(def["uri"], uri);
    assert_eq!(def["range"]["start"], pos("title;", 0, 0), "{def}");

    // References of the role Seller.
    let refs = c.result(
        "textDocument/references",
        json!({"textDocument": doc, "position": pos("Seller)", 0, 0), "context": {"includeDeclaration": true}}),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(5), "{refs}");

    // Completion: the fields of `quote`, and the roles in statement position.
    let comp = c.result(
        "textDocument/completion",
        json!({"textDocument": doc, "position": pos("quote.title", 0, 6)}),
    );
    let labels: Vec<&str> = comp
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(labels, ["price", "title"], "{comp}");
    let comp = c.result(
        "textDocument/completion",
        json!({"textDocument": doc, "position": pos("    Buyer.print(\"too", 0, 4)}),
    );
    let labels: Vec<&str> = comp
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect())
        .unwrap_or_default();
    assert!(labels.starts_with(&["Buyer", "Seller"]), "{labels:?}");

    // The quick fix inserts the missing selections.
    let actions = c.result(
        "textDocument/codeAction",
        json!({"textDocument": doc, "range": {"start": pos("if Buyer", 0, 0), "end": pos("if Buyer", 0, 0)},
               "context": {"diagnostics": diags}}),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix", "{actions}");
    let edits = action["edit"]["changes"][&uri]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let inserted: Vec<&str> = edits.iter().filter_map(|e| e["newText"].as_str()).collect();
    assert_eq!(
        inserted,
        [
            "\n        Buyer -> Seller[Then];",
            "\n        Buyer -> Seller[Else];"
        ]
    );

    // Code lenses and the projection they run.
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": doc}));
    let titles: Vec<&str> = lenses
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["command"]["title"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(titles, ["project for Buyer", "project for Seller"]);
    let cmd = &lenses[0]["command"];
    assert_eq!(cmd["command"], "chor.showProjection");
    // With the E0501 error the projection reports it; the fixed file projects (below).
    let failed = c.request(
        "workspace/executeCommand",
        json!({"command": cmd["command"], "arguments": cmd["arguments"]}),
    );
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("E0501"),
        "{failed}"
    );

    // Semantic tokens: one 5-number group per token, roles coloured by index.
    let toks = c.result(
        "textDocument/semanticTokens/full",
        json!({"textDocument": doc}),
    );
    let data = toks["data"].as_array().cloned().unwrap_or_default();
    assert!(!data.is_empty() && data.len() % 5 == 0, "{toks}");

    // Symbols with the roles as children; inlay hints with inferred types.
    let syms = c.result("textDocument/documentSymbol", json!({"textDocument": doc}));
    assert_eq!(syms[1]["name"], "main");
    assert_eq!(syms[1]["children"][1]["name"], "Seller");
    let hints = c.result(
        "textDocument/inlayHint",
        json!({"textDocument": doc, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}}),
    );
    assert_eq!(hints[0]["label"], ": String", "{hints}");

    // Rename Seller's `quote`.
    let edit = c.result(
        "textDocument/rename",
        json!({"textDocument": doc, "position": pos("quote", 0, 0), "newName": "offer"}),
    );
    assert_eq!(
        edit["changes"][&uri].as_array().map(Vec::len),
        Some(3),
        "{edit}"
    );

    // Apply the fix as the editor would: the error goes away (after the debounce).
    let fixed = SRC
        .replace("<= 100 {", "<= 100 { Buyer -> Seller[Then];")
        .replace("} else {", "} else { Buyer -> Seller[Else];");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diags = c.diagnostics(&uri, |d| d.is_empty());
    assert!(diags.is_empty());
    let proj = c.result(
        "workspace/executeCommand",
        json!({"command": "chor.showProjection", "arguments": [uri, "main", "Seller"]}),
    );
    let proj = proj.as_str().unwrap_or("");
    assert!(
        proj.starts_with("// role Seller\nproc main@Seller(Buyer, Seller)"),
        "{proj}"
    );
    assert!(proj.contains("branch Buyer {"), "{proj}");

    // Garbage input never brings the server down.
    for junk in [
        "choreography main(A {{ let A. = ;",
        "\u{0}\u{ffff}}}}\"",
        "",
    ] {
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": junk}]}),
        );
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            let r = c.request(
                method,
                json!({"textDocument": doc, "position": {"line": 0, "character": 20}}),
            );
            assert!(r.get("error").is_none(), "{method} on junk: {r}");
        }
    }

    // Shutdown and exit: the process ends by itself.
    let r = c.request("shutdown", Value::Null);
    assert!(r.get("error").is_none(), "{r}");
    c.notify("exit", Value::Null);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = c.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "chor lsp did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// References and rename of a definition in an open library file reach the workspace's files
/// that import it without being open (read from disk), and follow their edits on disk.
#[test]
fn references_and_rename_reach_unopened_files_of_the_workspace() {
    let dir = std::env::temp_dir().join(format!("chor-lsp-ws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("app")).expect("tmp dir");
    std::fs::create_dir_all(dir.join("target")).expect("tmp dir");
    let dir = std::fs::canonicalize(&dir).expect("canonical");
    let lib = "fn price_of(title: String) -> Int { 87 }\n";
    std::fs::write(dir.join("lib.chor"), lib).expect("write");
    let app = "import \"../lib.chor\";\n\nchoreography main(A, B) {\n    let A.p = price_of(\"x\");\n    A.p -> B.p;\n    B.print(price_of(\"y\") + p);\n}\n";
    std::fs::write(dir.join("app/main.chor"), app).expect("write");
    // Files under target/ are build output, not sources: never searched.
    std::fs::write(dir.join("target/copy.chor"), app).expect("write");
    let lib_uri = format!("file://{}", dir.join("lib.chor").display());
    let app_uri = format!("file://{}", dir.join("app/main.chor").display());
    let root_uri = format!("file://{}", dir.display());

    let mut c = Client::start();
    c.result(
        "initialize",
        json!({"processId": null, "capabilities": {},
               "workspaceFolders": [{"uri": root_uri, "name": "ws"}]}),
    );
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": lib_uri, "languageId": "chor", "version": 1, "text": lib}}),
    );
    // Once its diagnostics arrive, the server has the buffer.
    c.diagnostics(&lib_uri, |_| true);
    let at = json!({"line": 0, "character": 4});
    let refs = c.result(
        "textDocument/references",
        json!({"textDocument": {"uri": lib_uri}, "position": at, "context": {"includeDeclaration": true}}),
    );
    let refs = refs.as_array().cloned().unwrap_or_default();
    let in_app: Vec<u64> = refs
        .iter()
        .filter(|r| r["uri"] == app_uri)
        .filter_map(|r| r["range"]["start"]["line"].as_u64())
        .collect();
    assert_eq!(in_app, [3, 5], "uses in the unopened importer: {refs:?}");
    assert!(refs.iter().any(|r| r["uri"] == lib_uri), "{refs:?}");
    assert!(
        !refs
            .iter()
            .any(|r| r["uri"].as_str().is_some_and(|u| u.contains("/target/"))),
        "{refs:?}"
    );

    // The importer changes on disk (not open): a third use is found.
    std::fs::write(
        dir.join("app/main.chor"),
        app.replace(
            "    A.p -> B.p;\n",
            "    A.print(price_of(\"z\"));\n    A.p -> B.p;\n",
        ),
    )
    .expect("write");
    let edit = c.result(
        "textDocument/rename",
        json!({"textDocument": {"uri": lib_uri}, "position": at, "newName": "quote_for"}),
    );
    assert_eq!(
        edit["changes"][&app_uri].as_array().map(Vec::len),
        Some(3),
        "{edit}"
    );
    assert_eq!(
        edit["changes"][&lib_uri].as_array().map(Vec::len),
        Some(1),
        "{edit}"
    );
    let _ = c.request("shutdown", json!(null));
    c.notify("exit", json!(null));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An open file's diagnostics follow its unopened import on disk: the server reads unopened
/// files again before each round of diagnostics (here triggered by a watched-file change).
#[test]
fn diagnostics_follow_an_unopened_import_that_changes_on_disk() {
    let dir = std::env::temp_dir().join(format!("chor-lsp-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let dir = std::fs::canonicalize(&dir).expect("canonical");
    std::fs::write(
        dir.join("lib.chor"),
        "fn price_of(title: String) -> Int { 87 }\n",
    )
    .expect("write");
    let app = "import \"lib.chor\";\n\nchoreography main(A, B) {\n    let A.p = price_of(\"x\");\n    A.p -> B.q;\n    B.print(to_string(q));\n}\n";
    let app_uri = format!("file://{}", dir.join("main.chor").display());
    let lib_uri = format!("file://{}", dir.join("lib.chor").display());
    let mut c = Client::start();
    c.result("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": app_uri, "languageId": "chor", "version": 1, "text": app}}),
    );
    c.diagnostics(&app_uri, |d| d.is_empty());
    // The function is renamed in the unopened file: the call in the open one is an error.
    std::fs::write(
        dir.join("lib.chor"),
        "fn cost_of(title: String) -> Int { 87 }\n",
    )
    .expect("write");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": lib_uri, "type": 2}]}),
    );
    let d = c.diagnostics(&app_uri, |d| {
        d.iter().any(|x| {
            x["message"]
                .as_str()
                .is_some_and(|m| m.contains("price_of"))
        })
    });
    let call = d
        .iter()
        .find(|x| {
            x["message"]
                .as_str()
                .is_some_and(|m| m.contains("price_of"))
        })
        .expect("the error");
    assert_eq!(call["range"]["start"]["line"], json!(3), "{d:?}");
    let _ = c.request("shutdown", json!(null));
    c.notify("exit", json!(null));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Formatting through the server gives exactly what `chor fmt` writes; a formatted buffer needs
/// no edit; a buffer with syntax errors is refused with the reason. Diagnostics carry the
/// registry's title of their code.
#[test]
fn formatting_is_chor_fmt_and_diagnostics_carry_their_code_title() {
    let dir = std::env::temp_dir().join(format!("chor-lsp-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("messy.chor");
    let messy = "choreography main(A,B){let A.x=1;A.x->B.y;B.print(to_string(y));}\n";
    std::fs::write(&path, messy).expect("write");
    let path = std::fs::canonicalize(&path).expect("canonical");
    let uri = format!("file://{}", path.display());
    let doc = json!({"uri": uri});
    let fmt = Command::new(env!("CARGO_BIN_EXE_chor"))
        .arg("fmt")
        .arg(&path)
        .output()
        .expect("chor fmt runs");
    assert!(fmt.status.success(), "{fmt:?}");
    let formatted = std::fs::read_to_string(&path).expect("formatted");
    assert_ne!(formatted, messy);

    let mut c = Client::start();
    let init = c.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    assert_eq!(init["capabilities"]["documentFormattingProvider"], true);
    c.notify("initialized", json!({}));
    let opts = json!({"tabSize": 4, "insertSpaces": true});
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "chor", "version": 1, "text": messy}}),
    );
    let edits = c.result(
        "textDocument/formatting",
        json!({"textDocument": doc, "options": opts}),
    );
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edits[0]["newText"], formatted.as_str());
    assert_eq!(
        edits[0]["range"]["start"],
        json!({"line": 0, "character": 0})
    );
    assert_eq!(edits[0]["range"]["end"], json!({"line": 1, "character": 0}));

    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": formatted}]}),
    );
    let none = c.result(
        "textDocument/formatting",
        json!({"textDocument": doc, "options": opts}),
    );
    assert_eq!(none, json!([]));

    let broken = "choreography main(A, B) {\n    let A.x = ;\n}\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": broken}]}),
    );
    let diags = c.diagnostics(&uri, |d| !d.is_empty());
    let title = diags[0]["data"]["title"].as_str().unwrap_or("");
    assert!(
        !title.is_empty() && diags[0]["code"].as_str().is_some(),
        "{diags:?}"
    );
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": doc, "options": opts}),
    );
    let msg = r["error"]["message"].as_str().unwrap_or("");
    assert!(msg.starts_with("cannot format this file"), "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Go to definition" on a standard library function opens the library's source (a read-only
/// copy), and opening that file publishes no diagnostics of its own.
#[test]
fn definition_reaches_the_standard_library() {
    let dir = std::env::temp_dir().join(format!("chor-lsp-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("uses_std.chor");
    let src = "choreography main(A, B) {\n    let A.n = list::len([1, 2]);\n    A.n -> B.n;\n    B.print(to_string(n));\n}\n";
    std::fs::write(&path, src).expect("write");
    let path = std::fs::canonicalize(&path).expect("canonical");
    let uri = format!("file://{}", path.display());
    let mut c = Client::start();
    c.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "chor", "version": 1, "text": src}}),
    );
    let first = c.diagnostics(&uri, |_| true);
    assert!(first.is_empty(), "{first:?}");
    let def = c.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 22}}),
    );
    let target = def["uri"].as_str().unwrap_or("").to_owned();
    assert!(target.ends_with("/list.chor"), "{def}");
    let lib_path = PathBuf::from(target.trim_start_matches("file://"));
    let lib = std::fs::read_to_string(&lib_path).expect("the copy exists");
    let line = def["range"]["start"]["line"].as_u64().expect("line") as usize;
    assert!(
        lib.lines().nth(line).unwrap_or("").contains("fn len"),
        "line {line} of {}: {lib}",
        lib_path.display()
    );
    assert!(
        std::fs::metadata(&lib_path)
            .expect("meta")
            .permissions()
            .readonly()
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": target, "languageId": "chor", "version": 1, "text": lib}}),
    );
    // The user's file is published again (empty); the library never is.
    let diags = c.diagnostics(&uri, |_| true);
    assert!(diags.is_empty(), "{diags:?}");
    c.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 10}}),
    );
    assert!(
        !c.pending.iter().any(|m| m["params"]["uri"] == json!(target)
            && !m["params"]["diagnostics"]
                .as_array()
                .is_none_or(Vec::is_empty)),
        "diagnostics published for the library: {:?}",
        c.pending
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A document nested 40,000 levels deep is analysed like any other (its phases run on a big
/// stack in the server too), and one nested beyond the limit gets E0005; the server stays up.
#[test]
fn deeply_nested_documents_do_not_crash_the_server() {
    let dir = std::env::temp_dir().join(format!("chor-lsp-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let mut c = Client::start();
    c.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    c.notify("initialized", json!({}));
    for (name, n, want) in [("ok", 40_000, None), ("deep", 60_000, Some("E0005"))] {
        let path = dir.join(format!("{name}.chor"));
        let text = format!(
            "choreography main(A, B) {{\n    let A.x = {}1;\n    A.print(to_string(x));\n}}\n",
            "- ".repeat(n)
        );
        std::fs::write(&path, &text).expect("write");
        let uri = format!("file://{}", path.display());
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "chor", "version": 1, "text": text}}),
        );
        let diags = c.diagnostics(&uri, |_| true);
        // Errors only: `B` takes no part, which is a warning here.
        let codes: Vec<&str> = diags
            .iter()
            .filter(|d| d["severity"] == 1)
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert_eq!(
            codes,
            want.into_iter().collect::<Vec<_>>(),
            "{name}: {diags:?}"
        );
        let h = c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 24}}),
        );
        assert!(h.get("error").is_none(), "{name}: {h}");
    }
}
