//! The Neovim setup of docs/editors.md, run as written: headless Neovim with that snippet as
//! its init.lua opens a .chor file, starts `chor lsp`, shows the checker's diagnostic at the
//! right line, and formats the buffer into exactly what `chor fmt` writes.
//!
//! Neovim is Debian's package (0.7 on Debian 12), which `.ci/run` installs; without it, and
//! without `CI` set, the test prints a notice and passes.

use std::path::Path;
use std::process::Command;

/// The first ```lua block after the "## Neovim" heading.
fn neovim_snippet() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/editors.md"),
    )
    .expect("docs/editors.md");
    let section = &doc[doc.find("## Neovim").expect("a Neovim section")..];
    let start = section.find("```lua\n").expect("a lua block") + "```lua\n".len();
    let len = section[start..].find("```").expect("the block ends");
    section[start..start + len].to_owned()
}

const PROBE: &str = r#"
local out = {}
local ok = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
table.insert(out, "diagnostics=" .. tostring(ok))
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, "line " .. (d.lnum + 1) .. ": " .. d.message:gsub("\n.*", ""))
end
-- Format the buffer through the server (the API's name changed in 0.8).
if vim.lsp.buf.format then
  vim.lsp.buf.format({ timeout_ms = 10000 })
else
  vim.lsp.buf.formatting_sync(nil, 10000)
end
vim.cmd("write")
vim.fn.writefile(out, "result.txt")
vim.cmd("qa!")
"#;

#[test]
fn neovim_setup_from_the_docs_shows_diagnostics_and_formats() {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nvim is missing: .ci/run installs Debian's neovim"
        );
        eprintln!("notice: nvim not installed; skipping the Neovim setup test");
        return;
    }
    let dir = std::env::temp_dir().join(format!("chor-nvim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("init.lua"), neovim_snippet()).expect("init.lua");
    std::fs::write(dir.join("probe.lua"), PROBE).expect("probe.lua");
    // `x` lives at A but B uses it (line 3); the layout is not canonical either.
    let src = "choreography main(A,B){\nlet A.x=1;\n    B.print(to_string(x));\n}\n";
    std::fs::write(dir.join("t.chor"), src).expect("t.chor");
    let chor = Path::new(env!("CARGO_BIN_EXE_chor"));
    let path = format!(
        "{}:{}",
        chor.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("nvim")
        .args([
            "--headless",
            "-u",
            "init.lua",
            "t.chor",
            "-c",
            "luafile probe.lua",
        ])
        .current_dir(&dir)
        .env("PATH", path)
        .env("HOME", &dir)
        .env("XDG_STATE_HOME", &dir)
        .env("XDG_DATA_HOME", &dir)
        .output()
        .expect("nvim runs");
    let result = std::fs::read_to_string(dir.join("result.txt")).unwrap_or_else(|_| {
        panic!(
            "Neovim wrote no result: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(result.starts_with("diagnostics=true"), "{result}");
    assert!(
        result.contains("line 3: `x` is not available at B"),
        "{result}"
    );
    // What Neovim wrote after formatting is what `chor fmt` makes of the same text.
    let formatted = std::fs::read_to_string(dir.join("t.chor")).expect("t.chor");
    std::fs::write(dir.join("u.chor"), src).expect("u.chor");
    let fmt = Command::new(chor)
        .arg("fmt")
        .arg(dir.join("u.chor"))
        .output()
        .expect("chor fmt");
    assert!(fmt.status.success(), "{fmt:?}");
    let expected = std::fs::read_to_string(dir.join("u.chor")).expect("u.chor");
    assert_ne!(expected, src);
    assert_eq!(formatted, expected);
    let _ = std::fs::remove_dir_all(&dir);
}
