//! Rendering test: headless Chromium draws every example's SVG diagram (and the diagram of each
//! example's most interesting procedure), and the screenshot must show a real drawing — several
//! distinct colours and enough dark pixels where the text and the lines are.
//!
//! Skipped with a printed notice only when no Chromium binary exists and `CI` is unset; under CI
//! (`CI=true`, where `.ci/run` installs Debian's `chromium`) a missing browser is a failure.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the examples from disk (the crate itself does no I/O)

use chor_check::program::from_source;
use chor_teach::{from_choreography, svg};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Screenshot `svg_file` into `png`; panics with the browser's output on failure or timeout.
fn screenshot(browser: &Path, svg_file: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,900")
        .arg(format!("file://{}", svg_file.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => {
                assert!(
                    status.success(),
                    "chromium failed on {}: {status}",
                    svg_file.display()
                );
                return;
            }
            None if start.elapsed() > Duration::from_secs(120) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium did not finish on {} within 120 s",
                    svg_file.display()
                );
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// (distinct colours, dark pixels, width, height) of a PNG.
fn inspect(png_file: &Path) -> (usize, usize, u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).expect("screenshot exists"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    let channels = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut dark = 0;
    for px in buf[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = match channels {
            1 | 2 => (px[0], px[0], px[0]),
            _ => (px[0], px[1], px[2]),
        };
        colours.insert((r, g, b));
        let luma = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
        if luma < 110 {
            dark += 1;
        }
    }
    (colours.len(), dark, info.width, info.height)
}

#[test]
fn chromium_renders_every_example_diagram() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but no chromium binary is installed (.ci/run installs it)");
        }
        println!(
            "NOTICE: no chromium binary found; the rendering test is skipped (set CI=true to require it)"
        );
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("render");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    files.sort();
    let mut rendered = 0;
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable");
        let prog = from_source(&path.display().to_string(), &src, vec![]);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_owned();
        // main, plus the first other choreography (the protocol proper in most examples).
        let mut names = vec!["main".to_owned()];
        let parsed = chor_syntax::parse(chor_diagnostics::FileId(0), &src);
        if let Some(other) = parsed.file.iter().find_map(|i| match i {
            chor_syntax::ast::Item::Chor(c) if c.name.name != "main" => Some(c.name.name.clone()),
            _ => None,
        }) {
            names.push(other);
        }
        for name in names {
            let d = from_choreography(&prog, &name).expect("exists");
            let svg_file = dir.join(format!("{stem}-{name}.svg"));
            let png_file = dir.join(format!("{stem}-{name}.png"));
            std::fs::write(&svg_file, svg::render(&d)).expect("write svg");
            let profile = dir.join(format!("profile-{stem}-{name}"));
            screenshot(&browser, &svg_file, &png_file, &profile);
            let (colours, dark, w, h) = inspect(&png_file);
            assert_eq!((w, h), (1200, 900), "{}", png_file.display());
            assert!(
                colours >= 8,
                "{}: only {colours} colours",
                png_file.display()
            );
            assert!(
                dark >= 1000,
                "{}: only {dark} dark pixels",
                png_file.display()
            );
            println!("{stem}-{name}: {colours} colours, {dark} dark pixels");
            rendered += 1;
        }
    }
    assert!(rendered >= 14, "only {rendered} diagrams rendered");
    println!("rendered {rendered} diagrams into {}", dir.display());
}
