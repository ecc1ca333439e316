//! `chor playground` in a real browser: headless Chromium driven through the DevTools protocol
//! (over a websocket). The test types a program, waits for the diagnostic at the right line,
//! fixes it, steps a run to the end with the page's buttons and compares the printed lines
//! with `chor simulate`; it checks knowledge of choice is shown, the page fits 1280×800, every
//! button has a name and is reached by Tab, and screenshots are not blank. It prints the time
//! from starting `chor playground` to a usable page and the keystroke-to-diagnostic latency.
//!
//! Skipped with a printed notice only when no Chromium binary exists and `CI` is unset; under
//! CI (`CI=true`, where `.ci/run` installs Debian's `chromium`) a missing browser is a failure.
#![cfg(feature = "playground")]
#![allow(clippy::disallowed_methods)] // the test writes screenshots and temporary programs

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Generous: the machine running the tests may be busy with other builds.
const WAIT: Duration = Duration::from_secs(60);

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Kills a child process when dropped (also when the test panics).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of `child`'s stream (stdout or stderr) that contains `needle`, within `WAIT`.
fn line_with(stream: impl std::io::Read + Send + 'static, needle: &'static str) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if line.contains(needle) {
                let _ = tx.send(line);
                // Keep draining so the child never blocks on a full pipe.
            }
        }
    });
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("no line with `{needle}` within {WAIT:?}"))
}

/// A DevTools protocol session with one page.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).expect("connect to the DevTools websocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(WAIT)).expect("read timeout");
        }
        Cdp {
            ws,
            next: 1,
            session: None,
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send to the browser");
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < WAIT,
                "no answer to {method} within {WAIT:?}"
            );
            let m = self.ws.read().expect("read from the browser");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).expect("JSON from the browser");
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Evaluate JavaScript in the page (awaiting a promise) and return its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("`{expr}` threw: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Poll `expr` until it is truthy; its value. Panics naming `what` after `WAIT`.
    fn wait_for(&mut self, expr: &str, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(expr);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if start.elapsed() > WAIT {
                let status = self.eval("document.getElementById('status').textContent");
                panic!("{what}: not within {WAIT:?} (status: {status})");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Press and release a key (Enter also types its character, which activates a button).
    fn key(&mut self, key: &str, code: &str, vk: u32) {
        let down = if key == "Enter" {
            json!({"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "text": "\r"})
        } else {
            json!({"type": "rawKeyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk})
        };
        self.call("Input.dispatchKeyEvent", down);
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk}),
        );
    }

    /// Replace the editor's text by typing `text` (one input event, as a paste).
    fn type_program(&mut self, text: &str) -> u64 {
        self.eval(
            "(() => { const s = document.getElementById('source'); s.focus(); s.select(); })()",
        );
        self.call("Input.insertText", json!({"text": text}));
        self.version()
    }

    /// The number of edits the page has seen.
    fn version(&mut self) -> u64 {
        self.eval("state.version").as_u64().expect("a version")
    }

    /// Wait until the diagnostics (and the run) of edit `v` are shown.
    fn wait_analyzed(&mut self, v: u64) {
        self.wait_for(
            &format!("document.body.dataset.settled === '{v}'"),
            &format!("diagnostics of edit {v}"),
        );
    }

    /// A screenshot, checked for real content; written to `path`.
    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let bytes = base64(r["data"].as_str().expect("PNG data"));
        std::fs::write(path, &bytes).expect("write the screenshot");
        let (colours, dark, w, h) = inspect(&bytes);
        assert_eq!((w, h), (1280, 800), "{}", path.display());
        assert!(colours >= 16, "{}: only {colours} colours", path.display());
        // Text and drawings below the header (the editor's text alone is thousands of pixels).
        assert!(
            dark >= 2_000,
            "{}: only {dark} dark pixels below the header",
            path.display()
        );
    }
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

/// Rows at the top of the page that the (dark) header takes: dark pixels are counted below.
const HEADER_ROWS: usize = 60;

/// (distinct colours, dark pixels below the header, width, height) of a PNG.
fn inspect(png_bytes: &[u8]) -> (usize, usize, u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    let channels = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut dark = 0;
    let row = info.width as usize * channels;
    for (i, px) in buf[..info.buffer_size()].chunks(channels).enumerate() {
        let (r, g, b) = match channels {
            1 | 2 => (px[0], px[0], px[0]),
            _ => (px[0], px[1], px[2]),
        };
        colours.insert((r, g, b));
        let luma = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
        if luma < 110 && i * channels / row >= HEADER_ROWS {
            dark += 1;
        }
    }
    (colours.len(), dark, info.width, info.height)
}

/// `chor simulate FILE`'s output, line by line per role.
fn simulate(file: &Path) -> BTreeMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_chor"))
        .arg("simulate")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("chor simulate runs");
    assert!(
        out.status.success(),
        "chor simulate {}: {out:?}",
        file.display()
    );
    per_role(String::from_utf8_lossy(&out.stdout).lines())
}

/// `[Role] line` lines, grouped by role.
fn per_role<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        let (role, rest) = l
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .unwrap_or_else(|| panic!("not a `[Role] line`: {l:?}"));
        m.entry(role.to_owned()).or_default().push(rest.to_owned());
    }
    m
}

/// The page's printed lines, per role.
fn page_output(cdp: &mut Cdp) -> BTreeMap<String, Vec<String>> {
    let text = cdp.eval("document.getElementById('output').textContent");
    per_role(text.as_str().unwrap_or("").lines())
}

/// One HTTP/1.1 request to the playground; (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).expect("connect to the playground");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("headers");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    (status, body)
}

/// Start `chor playground --port 0` in `dir`; the process and its `host:port`.
fn start_playground(dir: &Path) -> (Killed, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["playground", "--port", "0"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chor playground starts");
    let stdout = server.stdout.take().expect("stdout");
    let server = Killed(server);
    let line = line_with(stdout, "http://127.0.0.1:");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_owned();
    (server, url)
}

/// Without a browser: through the HTTP API, "run to end" on every example prints, role by
/// role, what `chor simulate` prints; bad requests are answered, never crash the server.
#[test]
fn the_api_runs_every_example_like_simulate() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground-api");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (_server, url) = start_playground(&dir);
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let (status, list) = http(&addr, "GET", "/api/examples", "");
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).expect("JSON");
    let examples = list.as_array().expect("a list");
    let on_disk = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"))
        .expect("examples/")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "chor"))
        .count();
    assert_eq!(examples.len(), on_disk, "every example is embedded");
    for ex in examples {
        let name = ex["name"].as_str().expect("a name");
        let source = ex["source"].as_str().expect("a source");
        let body = json!({"source": source, "schedule": [], "then": "end"}).to_string();
        let (status, answer) = http(&addr, "POST", "/api/run", &body);
        assert_eq!(status, 200, "{name}: {answer}");
        let answer: Value = serde_json::from_str(&answer).expect("JSON");
        assert_eq!(
            answer["outcome"]["kind"],
            json!("finished"),
            "{name}: {answer}"
        );
        let printed: Vec<String> = answer["output"]
            .as_array()
            .expect("output")
            .iter()
            .map(|l| {
                format!(
                    "[{}] {}",
                    l[0].as_str().unwrap_or(""),
                    l[1].as_str().unwrap_or("")
                )
            })
            .collect();
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(format!("{name}.chor"));
        assert_eq!(
            per_role(printed.iter().map(String::as_str)),
            simulate(&file),
            "{name}: run to end vs chor simulate"
        );
    }
    // Bad requests: malformed JSON, an unknown role, a schedule that does not fit, a program
    // with errors, a missing body. Each gets an answer, and the server goes on serving.
    let (status, _) = http(&addr, "POST", "/api/run", "{not json");
    assert!((400..500).contains(&status), "{status}");
    let src = examples[0]["source"].as_str().expect("source");
    let body =
        json!({"source": src, "schedule": ["Nobody", "Nobody"], "then": "step", "role": "Ghost"});
    let (status, answer) = http(&addr, "POST", "/api/run", &body.to_string());
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(
        (answer["moved"].clone(), answer["diverged"].clone()),
        (json!(false), json!(true))
    );
    let (status, answer) = http(
        &addr,
        "POST",
        "/api/run",
        &json!({"source": "choreography main(A) { A.print(y); }"}).to_string(),
    );
    assert_eq!(status, 200);
    assert!(answer.contains("fix it to run it"), "{answer}");
    let (status, answer) = http(
        &addr,
        "POST",
        "/api/analyze",
        &json!({"source": "choreography main(A, B) { A. -> }"}).to_string(),
    );
    assert_eq!(status, 200);
    assert!(answer.contains("\"severity\":\"error\""), "{answer}");
    // A role that computes forever between communications: the run stops, and says the
    // role can still move.
    let spin = "choreography Spin(A)(n: Int@A) {\n    let A.m = n + 1;\n    Spin(A)(A.m);\n}\nchoreography main(A, B) {\n    let A.z = 0;\n    A.z -> B._w;\n    Spin(A)(A.z);\n}\n";
    let started = Instant::now();
    let (status, answer) = http(
        &addr,
        "POST",
        "/api/run",
        &json!({"source": spin, "then": "end"}).to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(started.elapsed() < WAIT, "the run stopped");
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["outcome"]["kind"], json!("ongoing"), "{answer}");
    assert_eq!(answer["roles"][1]["status"], json!("done"), "{answer}");
    // An import is read next to where the playground started; its errors name the file.
    std::fs::write(
        dir.join("broken_lib.chor"),
        "fn half(x: Int) -> Int { x / }\n",
    )
    .expect("write");
    let (status, answer) = http(
        &addr,
        "POST",
        "/api/analyze",
        &json!({"source": "import \"broken_lib.chor\";\nchoreography main(A) {\n    A.print(to_string(half(4)));\n}\n"}).to_string(),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    let in_lib = answer["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["severity"] == json!("error"))
        .expect("an error");
    assert!(
        in_lib["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("broken_lib.chor")),
        "{in_lib}"
    );
    // A request for another host name (a page of another site resolved to 127.0.0.1) is refused.
    let refused = {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        write!(
            s,
            "GET /api/examples HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read");
        raw
    };
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let (status, _) = http(&addr, "GET", "/", "");
    assert_eq!(status, 200, "still serving");
}

const BROKEN: &str = "// Two roles: A sends a number, B doubles it and answers.
choreography main(A, B) {
    let A.n = 21;
    A.n -> B.x;
    B.print(\"got \" ++ to_string(y));
    B.x * 2 -> A.twice;
    A.print(\"twice is \" ++ to_string(twice));
}
";

/// Fails knowledge of choice: C's behaviour depends on A's decision, which C is never told.
const NO_CHOICE: &str = "choreography main(A, B, C) {
    let A.go = true;
    if A.go {
        A -> B[Yes];
        B.print(\"yes\");
        C.print(\"working\");
    } else {
        A -> B[No];
    }
}
";

#[test]
fn the_playground_works_in_a_browser() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but no chromium binary is installed (.ci/run installs it)");
        }
        println!(
            "NOTICE: no chromium binary found; the playground browser test is skipped (set CI=true to require it)"
        );
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    // The browser first, so its start-up is not counted in the playground's.
    let mut chrome = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = chrome.stderr.take().expect("stderr");
    let _chrome = Killed(chrome);
    let line = line_with(stderr, "DevTools listening on ");
    let ws_url = line
        .split("DevTools listening on ")
        .nth(1)
        .expect("a websocket address")
        .trim()
        .to_owned();
    let mut cdp = Cdp::connect(&ws_url);
    let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}));
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    cdp.session = Some(
        attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_owned(),
    );
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );
    cdp.call("Page.enable", json!({}));

    // Start the playground and time it until the page is usable (examples loaded, the first
    // program checked and its run shown).
    let started = Instant::now();
    let (_server, url) = start_playground(&dir);
    let listening = started.elapsed();
    cdp.call("Page.navigate", json!({"url": url}));
    cdp.wait_for(
        "document.body && document.body.dataset.ready === '1'",
        "the page becomes usable",
    );
    let usable = started.elapsed();
    println!(
        "PLAYGROUND: listening after {} ms; page usable {} ms after `chor playground` started",
        listening.as_millis(),
        usable.as_millis()
    );

    // The examples are one click away, and the first one is loaded and checked.
    let examples = cdp.eval("document.querySelectorAll('#examples button').length");
    assert!(examples.as_u64().unwrap_or(0) >= 5, "{examples}");
    let text = cdp.eval("document.getElementById('source').value");
    assert!(
        text.as_str().unwrap_or("").contains("choreography"),
        "{text}"
    );
    // Highlighting: keywords and roles are marked up.
    let kw = cdp.eval("document.querySelectorAll('#highlight .tok-kw').length");
    assert!(kw.as_u64().unwrap_or(0) >= 3, "{kw}");
    cdp.screenshot(&dir.join("1-example.png"));

    // The page fits 1280×800: nothing overflows sideways, the view tabs are on screen.
    let fits = cdp.eval(
        "(() => { const r = document.getElementById('tab-simulator').getBoundingClientRect();
                  return document.documentElement.scrollWidth <= 1280 && r.right <= 1280 && r.bottom <= 800; })()",
    );
    assert_eq!(fits, json!(true), "the page does not fit 1280×800");

    // Type a program with an undefined variable on line 5: the diagnostic appears there.
    let v = cdp.type_program(BROKEN);
    cdp.wait_analyzed(v);
    let diag = cdp.wait_for(
        "(() => { const e = document.querySelector('#diagnostics li[data-severity=error]');
                  return e && {line: e.dataset.line, text: e.textContent}; })()",
        "an error diagnostic",
    );
    assert_eq!(diag["line"], json!("5"), "{diag}");
    assert!(diag["text"].as_str().unwrap_or("").contains('y'), "{diag}");
    let marked = cdp.eval("document.querySelectorAll('#gutter .err').length");
    assert_eq!(marked, json!(1), "the gutter marks line 5");
    cdp.screenshot(&dir.join("2-diagnostic.png"));

    // Fix it with one keystroke (`y` becomes `x`); time each keystroke to its diagnostics.
    cdp.eval(
        "(() => { const s = document.getElementById('source'); const i = s.value.indexOf('(y)') + 1;
                  s.focus(); s.setSelectionRange(i, i + 1); })()",
    );
    cdp.call("Input.insertText", json!({"text": "x"}));
    let v = cdp.version();
    cdp.wait_analyzed(v);
    let errors =
        cdp.eval("document.querySelectorAll('#diagnostics li[data-severity=error]').length");
    assert_eq!(errors, json!(0), "the fix removes the error");
    // More keystrokes at the end of the comment on line 1, each waited for.
    for _ in 0..5 {
        cdp.eval(
            "(() => { const s = document.getElementById('source'); const i = s.value.indexOf('\\n');
                      s.focus(); s.setSelectionRange(i, i); })()",
        );
        cdp.call("Input.insertText", json!({"text": "!"}));
        let v = cdp.version();
        cdp.wait_analyzed(v);
    }
    let lat = cdp.eval("window.chorLatencies.map((l) => l.ms)");
    let mut ms: Vec<f64> = lat
        .as_array()
        .expect("latencies")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    // The two edits before were typed as whole programs; keep the single keystrokes.
    let keystrokes = ms.split_off(ms.len() - 6);
    let mut sorted = keystrokes.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "PLAYGROUND: keystroke-to-diagnostic latency over {} keystrokes: median {:.0} ms, max {:.0} ms (80 ms of it is the typing pause before checking)",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    );

    // Step the run to the end with the role buttons, then compare with `chor simulate`.
    cdp.eval("document.getElementById('tab-simulator').click()");
    let mut steps = 0;
    loop {
        let clicked = cdp.eval(
            "(() => { const b = document.querySelector('#roles .step:not(:disabled)');
                      if (!b) return false; b.click(); return true; })()",
        );
        if clicked != json!(true) {
            break;
        }
        steps += 1;
        assert!(steps < 100, "the run does not end");
        cdp.wait_for(
            &format!("document.body.dataset.runSteps === '{steps}'"),
            &format!("step {steps}"),
        );
    }
    assert!(steps >= 2, "{steps} steps");
    assert_eq!(cdp.eval("document.body.dataset.outcome"), json!("finished"));
    let fixed = cdp.eval("document.getElementById('source').value");
    let file = dir.join("fixed.chor");
    std::fs::write(&file, fixed.as_str().expect("text")).expect("write");
    let expected = simulate(&file);
    assert!(!expected.is_empty());
    assert_eq!(
        page_output(&mut cdp),
        expected,
        "stepped run vs chor simulate"
    );
    let arrows = cdp
        .eval("document.querySelectorAll('#run-diagram svg line, #run-diagram svg path').length");
    assert!(
        arrows.as_u64().unwrap_or(0) >= 2,
        "the run is drawn: {arrows}"
    );
    cdp.screenshot(&dir.join("3-stepped.png"));

    // Undo takes one step back; "Run to end" finishes again with the same output.
    cdp.eval("document.getElementById('sim-undo').click()");
    cdp.wait_for(
        &format!("document.body.dataset.runSteps === '{}'", steps - 1),
        "undo",
    );
    cdp.eval("document.getElementById('sim-end').click()");
    cdp.wait_for(
        &format!("document.body.dataset.runSteps === '{steps}'"),
        "run to end",
    );
    assert_eq!(
        page_output(&mut cdp),
        expected,
        "run to end vs chor simulate"
    );

    // An example under a random schedule prints, role by role, what `chor simulate` prints.
    cdp.eval("[...document.querySelectorAll('#examples button')].find((b) => b.textContent === 'ping_pong').click()");
    let v = cdp.version();
    cdp.wait_analyzed(v);
    let runs = cdp.eval("document.body.dataset.runs");
    cdp.eval("document.getElementById('sim-random').click()");
    cdp.wait_for(
        &format!(
            "document.body.dataset.runs !== {runs} && document.body.dataset.outcome === 'finished'"
        ),
        "a random run ends",
    );
    let ping = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ping_pong.chor");
    assert_eq!(
        page_output(&mut cdp),
        simulate(&ping),
        "random schedule vs chor simulate"
    );
    let channels = cdp.eval("document.getElementById('channels').textContent");
    assert_eq!(channels, json!("none"), "nothing left in flight");

    // Knowledge of choice: the error is listed and the diagram marks the role that cannot know.
    let v = cdp.type_program(NO_CHOICE);
    cdp.wait_analyzed(v);
    let koc = cdp.wait_for(
        "(() => { const e = document.querySelector('#diagnostics li[data-severity=error]');
                  return e && {code: e.dataset.code, text: e.textContent, line: e.dataset.line}; })()",
        "a knowledge-of-choice error",
    );
    assert!(
        koc["text"].as_str().unwrap_or("").contains('C'),
        "the error names C: {koc}"
    );
    cdp.eval("document.getElementById('tab-diagram').click()");
    let svg = cdp.eval("document.querySelector('#diagram svg') ? document.querySelector('#diagram svg').textContent : ''");
    let svg = svg.as_str().unwrap_or("");
    let code = koc["code"].as_str().unwrap_or("?");
    assert!(svg.contains(code), "the diagram marks {code}: {svg}");
    let run_msg = cdp.eval("document.getElementById('outcome').textContent");
    assert!(
        run_msg.as_str().unwrap_or("").contains("Fix the errors"),
        "{run_msg}"
    );
    cdp.screenshot(&dir.join("4-knowledge-of-choice.png"));

    // Keyboard: every button has a name, and Tab reaches the editor and the run controls.
    cdp.eval("document.getElementById('tab-simulator').click()");
    let v = cdp.type_program(BROKEN.replace("(y)", "(x)").as_str());
    cdp.wait_analyzed(v);
    // The editor marks where each role acts next: both A's send and B's receive are line 4.
    let next = cdp.eval(
        "[...document.querySelectorAll('#gutter .next')].map((e) => e.textContent + ':' + e.title)",
    );
    assert_eq!(next, json!(["4:next action of A, B"]), "{next}");
    let unnamed = cdp.eval(
        "[...document.querySelectorAll('button, select, textarea')].filter((b) =>
            !(b.getAttribute('aria-label') || b.textContent.trim() || (b.labels && b.labels.length))).length",
    );
    assert_eq!(unnamed, json!(0), "controls without a name");
    cdp.eval("document.activeElement.blur(); window.focus()");
    let mut reached = Vec::new();
    for _ in 0..60 {
        cdp.key("Tab", "Tab", 9);
        let id = cdp.eval("document.activeElement ? (document.activeElement.id || document.activeElement.className || document.activeElement.tagName) : ''");
        reached.push(id.as_str().unwrap_or("").to_owned());
    }
    for want in ["source", "tab-simulator", "sim-end", "sim-random", "step"] {
        assert!(
            reached.iter().any(|r| r == want),
            "Tab never reaches {want}: {reached:?}"
        );
    }
    // Enter on a focused step button steps the role.
    cdp.eval("document.querySelector('#roles .step:not(:disabled)').focus()");
    let before = cdp.eval("document.body.dataset.runSteps");
    cdp.key("Enter", "Enter", 13);
    cdp.wait_for(
        &format!("document.body.dataset.runSteps !== {before}"),
        "Enter on a step button",
    );
    // The focus stays on a step button (the same role's, or the next that can move), so the
    // run can be stepped from the keyboard alone.
    let focus = cdp.eval(
        "document.activeElement.className + ' ' + (document.activeElement.dataset.role || '')",
    );
    assert!(
        focus.as_str().is_some_and(|f| f.starts_with("step ")),
        "focus after a step: {focus}"
    );
    let before = cdp.eval("document.body.dataset.runSteps");
    cdp.key("Enter", "Enter", 13);
    cdp.wait_for(
        &format!("document.body.dataset.runSteps !== {before}"),
        "a second Enter steps again",
    );
    cdp.screenshot(&dir.join("5-keyboard.png"));
    println!("PLAYGROUND: screenshots in {}", dir.display());
}
