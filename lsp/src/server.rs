//! The protocol layer: LSP over stdio with tower-lsp-server. Each handler converts positions,
//! calls one function of [`crate::features`] under the database lock, and converts the result.
//!
//! Robustness: every feature call runs on a blocking thread inside `catch_unwind`; a panic is
//! logged to stderr and the request answers "nothing" instead of taking the server down.
//! Diagnostics are published after a quiet period of [`DEBOUNCE`] following the last change.

use crate::Analysis;
use crate::features::{self, CompletionKind, SymbolKind as Sk, TokenKind};
use crate::line_index::LineIndex;
use chor_diagnostics::{FileId, Severity, Span};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

/// The command of the code lenses: arguments `[uri, choreography, role]`; returns the text.
pub const COMMAND_SHOW_PROJECTION: &str = "chor.showProjection";

/// Quiet time after an edit before diagnostics are recomputed and published.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Stack size of the threads that analyse documents (as `chor_interp::STACK_SIZE`).
const ANALYSIS_STACK: usize = 1 << 30;

/// Run the language server on stdin/stdout until the client says `exit`.
pub fn run_stdio(db: impl Analysis + 'static) {
    // Analyses run on blocking threads; they recurse over the syntax tree, which may nest up
    // to `chor_syntax::MAX_NESTING` levels: give them the stack `chor` gives its own phases.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .thread_stack_size(ANALYSIS_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chor lsp: cannot start the async runtime: {e}");
            return;
        }
    };
    runtime.block_on(async {
        let (service, socket) = LspService::new(|client| Backend::new(client, Box::new(db)));
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
}

struct Doc {
    file: FileId,
    version: i32,
    text: Arc<str>,
    lines: Arc<LineIndex>,
}

struct State {
    db: Box<dyn Analysis>,
    docs: HashMap<Uri, Doc>,
    /// The editor's workspace folders: references and rename also look at the programs of
    /// the .chor files there that are not open (they may import an open file).
    workspace: Vec<PathBuf>,
}

/// At most this many .chor files of the workspace are read for references and rename.
const MAX_WORKSPACE_FILES: usize = 2000;

/// The .chor files below `dirs`, skipping hidden folders, `target` and `node_modules`.
fn workspace_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, u32)> = dirs.iter().map(|d| (d.clone(), 0)).collect();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                let skip = name.starts_with('.') || name == "target" || name == "node_modules";
                if !skip && depth < 16 {
                    stack.push((e.path(), depth + 1));
                }
            } else if kind.is_file() && name.ends_with(".chor") {
                out.push(e.path());
                if out.len() >= MAX_WORKSPACE_FILES {
                    return out;
                }
            }
        }
    }
    out
}

impl State {
    fn doc(&self, uri: &Uri) -> Option<&Doc> {
        self.docs.get(uri)
    }

    /// The programs that may use definitions of a file: those of the open files and of the
    /// workspace's other .chor files (read from disk afresh, as they may have changed).
    fn roots(&mut self) -> Vec<FileId> {
        let mut roots: Vec<FileId> = self.docs.values().map(|d| d.file).collect();
        let open: std::collections::HashSet<PathBuf> = self.docs.keys().map(path_of).collect();
        for path in workspace_files(&self.workspace) {
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            if open.contains(&path) {
                continue;
            }
            // Bounded: a huge file or a special file in the workspace is skipped.
            if let Ok(text) = self.db.read_source(&path) {
                roots.push(self.db.set_text(&path, text));
            }
        }
        roots
    }

    fn uri_of(&self, file: FileId) -> Option<Uri> {
        if let Some((uri, _)) = self.docs.iter().find(|(_, d)| d.file == file) {
            return Some(uri.clone());
        }
        if let Some((_, name, text)) = chor_check::stdlib::by_file(file) {
            return Uri::from_file_path(stdlib_copy(name, text)?);
        }
        Uri::from_file_path(self.db.path(file)?)
    }

    /// Text and line index of any file: an open buffer, or a file of the database.
    fn lines_of(&self, file: FileId) -> Option<(Arc<str>, Arc<LineIndex>)> {
        if let Some(d) = self.docs.values().find(|d| d.file == file) {
            return Some((d.text.clone(), d.lines.clone()));
        }
        let text = self.db.text(file)?;
        let lines = Arc::new(LineIndex::new(&text));
        Some((text, lines))
    }

    fn range(&self, span: Span) -> Option<Range> {
        let (text, lines) = self.lines_of(span.file)?;
        Some(range_in(&text, &lines, span))
    }

    fn location(&self, span: Span) -> Option<Location> {
        Some(Location {
            uri: self.uri_of(span.file)?,
            range: self.range(span)?,
        })
    }

    fn offset(&self, uri: &Uri, pos: Position) -> Option<(FileId, u32)> {
        let d = self.doc(uri)?;
        Some((d.file, d.lines.offset(&d.text, pos.line, pos.character)))
    }

    fn diagnostic(&self, d: &chor_diagnostics::Diagnostic) -> Option<Diagnostic> {
        let primary = d.labels.first()?;
        let mut message = d.message.clone();
        if !primary.message.is_empty() && primary.message != d.message {
            message.push_str(&format!("\n{}", primary.message));
        }
        for n in &d.notes {
            message.push_str(&format!("\nnote: {n}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d.labels[1..]
            .iter()
            .filter_map(|l| {
                Some(DiagnosticRelatedInformation {
                    location: self.location(l.span)?,
                    message: if l.message.is_empty() {
                        "related".to_owned()
                    } else {
                        l.message.clone()
                    },
                })
            })
            .collect();
        Some(Diagnostic {
            range: self.range(primary.span)?,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.to_owned())),
            source: Some("chor".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            // The registry's title of the code, for clients that show or filter by it.
            data: chor_diagnostics::codes::title(d.code).map(|t| serde_json::json!({ "title": t })),
            ..Diagnostic::default()
        })
    }

    fn edits(&self, edits: &[(Span, String)]) -> HashMap<Uri, Vec<TextEdit>> {
        let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
        for (span, text) in edits {
            if let (Some(uri), Some(range)) = (self.uri_of(span.file), self.range(*span)) {
                changes.entry(uri).or_default().push(TextEdit {
                    range,
                    new_text: text.clone(),
                });
            }
        }
        changes
    }
}

fn range_in(text: &str, lines: &LineIndex, span: Span) -> Range {
    let (l0, c0) = lines.position(text, span.start);
    let (l1, c1) = lines.position(text, span.end);
    Range::new(Position::new(l0, c0), Position::new(l1, c1))
}

/// Where a document's text lives for the database: its path, or its URI for unsaved buffers.
fn path_of(uri: &Uri) -> PathBuf {
    uri.to_file_path()
        .map(|p| p.into_owned())
        .unwrap_or_else(|| PathBuf::from(uri.as_str()))
}

struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
    /// Bumped by every change; a debounced check runs only if no change came after it.
    generation: Arc<AtomicU64>,
}

/// The order in which handlers reach the state. The LSP framework runs handlers concurrently,
/// but the protocol wants an edit (`didChange`) applied before a request that follows it
/// (`formatting`, `hover`, …) reads the document. Every handler takes its place in this fair
/// (first come, first served) queue on its first poll, which follows the order of the
/// messages, and keeps it until its work on the state is done.
static ORDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Run `f` on the state under the lock, on a blocking thread, catching panics.
async fn run<R: Send + 'static>(
    state: &Arc<Mutex<State>>,
    what: &'static str,
    f: impl FnOnce(&mut State) -> R + Send + 'static,
) -> Option<R> {
    let _turn = ORDER.lock().await;
    let state = state.clone();
    let job = tokio::task::spawn_blocking(move || {
        let mut guard = match state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        catch_unwind(AssertUnwindSafe(|| f(&mut guard)))
    });
    match job.await {
        Ok(Ok(r)) => Some(r),
        Ok(Err(_)) | Err(_) => {
            eprintln!("chor lsp: internal error while computing {what}; request ignored");
            None
        }
    }
}

impl Backend {
    fn new(client: Client, db: Box<dyn Analysis>) -> Backend {
        Backend {
            client,
            state: Arc::new(Mutex::new(State {
                db,
                docs: HashMap::new(),
                workspace: Vec::new(),
            })),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Recompute the diagnostics of every open file and publish them.
    async fn publish_all(state: Arc<Mutex<State>>, client: Client) {
        let batch = run(&state, "diagnostics", |st| {
            // Imported files that are not open are read again: one changed on disk is seen.
            let open: std::collections::HashSet<FileId> =
                st.docs.values().map(|d| d.file).collect();
            crate::analysis::refresh_unopened(&mut *st.db, &open);
            // And the chor.toml of each file's project (its `[sizes]`).
            st.db.refresh_projects();
            let mut out = Vec::new();
            for (uri, doc) in &st.docs {
                if chor_check::stdlib::by_file(doc.file).is_some() {
                    continue;
                }
                let diags: Vec<Diagnostic> = features::diagnostics(&*st.db, doc.file)
                    .iter()
                    .filter_map(|d| st.diagnostic(d))
                    .collect();
                out.push((uri.clone(), diags, doc.version));
            }
            out
        })
        .await;
        for (uri, diags, version) in batch.unwrap_or_default() {
            client.publish_diagnostics(uri, diags, Some(version)).await;
        }
    }

    /// Publish after the debounce delay, unless another change arrives meanwhile.
    fn schedule_diagnostics(&self, delay: Duration) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let counter = self.generation.clone();
        let state = self.state.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if counter.load(Ordering::SeqCst) == generation {
                Backend::publish_all(state, client).await;
            }
        });
    }

    async fn set_doc(&self, uri: Uri, version: i32, text: String) {
        run(&self.state, "an edit", move |st| {
            let shared: Arc<str> = Arc::from(text.as_str());
            let path = path_of(&uri);
            // A standard library file opened through "go to definition" is the library itself,
            // not a program of the user's (it is read-only and gets no diagnostics).
            let file = match stdlib_file_of(&path) {
                Some(file) => file,
                None => st.db.set_text(&path, text),
            };
            let lines = Arc::new(LineIndex::new(&shared));
            st.docs.insert(
                uri,
                Doc {
                    file,
                    version,
                    text: shared,
                    lines,
                },
            );
        })
        .await;
    }
}

/// Where the standard library's files are copied for editors to open (one folder per version).
fn stdlib_dir() -> PathBuf {
    std::env::temp_dir().join(format!("chor-stdlib-{}", env!("CARGO_PKG_VERSION")))
}

/// A read-only copy of a standard library file (`<stdlib>/list.chor`), written when missing
/// or different, so that "go to definition" can show the library's source.
fn stdlib_copy(name: &str, text: &str) -> Option<PathBuf> {
    let dir = stdlib_dir();
    let path = dir.join(name.strip_prefix("<stdlib>/").unwrap_or(name));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(&dir).ok()?;
        if let Ok(meta) = std::fs::metadata(&path) {
            let mut perm = meta.permissions();
            #[allow(clippy::permissions_set_readonly_false)] // replaced right below
            perm.set_readonly(false);
            let _ = std::fs::set_permissions(&path, perm);
        }
        std::fs::write(&path, text).ok()?;
        if let Ok(meta) = std::fs::metadata(&path) {
            let mut perm = meta.permissions();
            perm.set_readonly(true);
            let _ = std::fs::set_permissions(&path, perm);
        }
    }
    Some(path)
}

/// The standard library file that `path` is the copy of, if it is one.
fn stdlib_file_of(path: &std::path::Path) -> Option<FileId> {
    let rel = path.strip_prefix(stdlib_dir()).ok()?.to_str()?;
    let idx = chor_check::stdlib::SOURCES
        .iter()
        .position(|(_, name, _)| name.strip_prefix("<stdlib>/") == Some(rel))?;
    Some(chor_check::stdlib::file_id(idx))
}

fn semantic_legend() -> SemanticTokensLegend {
    let mut modifiers = vec![SemanticTokenModifier::DECLARATION];
    for name in ROLE_MODIFIER_NAMES {
        modifiers.push(SemanticTokenModifier::new(name));
    }
    SemanticTokensLegend {
        token_types: TOKEN_TYPES
            .iter()
            .map(|t| SemanticTokenType::new(t))
            .collect(),
        token_modifiers: modifiers,
    }
}

/// Token types in legend order (custom ones: `role`, `choreography`, `label`).
const TOKEN_TYPES: [&str; 10] = [
    "role",
    "variable",
    "function",
    "choreography",
    "struct",
    "enum",
    "enumMember",
    "property",
    "typeParameter",
    "label",
];

const ROLE_MODIFIER_NAMES: [&str; features::ROLE_MODIFIERS] = [
    "role0", "role1", "role2", "role3", "role4", "role5", "role6", "role7",
];

fn token_type(k: TokenKind) -> u32 {
    match k {
        TokenKind::Role => 0,
        TokenKind::Variable => 1,
        TokenKind::Function => 2,
        TokenKind::Choreography => 3,
        TokenKind::Struct => 4,
        TokenKind::Enum => 5,
        TokenKind::Variant => 6,
        TokenKind::Field => 7,
        TokenKind::TypeParam => 8,
        TokenKind::Label => 9,
    }
}

fn symbol(st: &State, s: &features::Symbol) -> Option<DocumentSymbol> {
    let kind = match s.kind {
        Sk::Import => SymbolKind::FILE,
        Sk::Struct => SymbolKind::STRUCT,
        Sk::Field => SymbolKind::FIELD,
        Sk::Enum => SymbolKind::ENUM,
        Sk::Variant => SymbolKind::ENUM_MEMBER,
        Sk::Function => SymbolKind::FUNCTION,
        Sk::Choreography => SymbolKind::NAMESPACE,
        Sk::Role => SymbolKind::TYPE_PARAMETER,
    };
    let children: Vec<DocumentSymbol> = s.children.iter().filter_map(|c| symbol(st, c)).collect();
    #[allow(deprecated)]
    Some(DocumentSymbol {
        name: s.name.clone(),
        detail: s.detail.clone(),
        kind,
        tags: None,
        deprecated: None,
        range: st.range(s.span)?,
        selection_range: st.range(s.selection)?,
        children: (!children.is_empty()).then_some(children),
    })
}

fn completion_kind(k: CompletionKind) -> CompletionItemKind {
    match k {
        CompletionKind::Variable => CompletionItemKind::VARIABLE,
        CompletionKind::Field => CompletionItemKind::FIELD,
        CompletionKind::Role => CompletionItemKind::TYPE_PARAMETER,
        CompletionKind::Label => CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Function => CompletionItemKind::FUNCTION,
        CompletionKind::Variant => CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Choreography => CompletionItemKind::FUNCTION,
        CompletionKind::Module => CompletionItemKind::MODULE,
        CompletionKind::Keyword => CompletionItemKind::KEYWORD,
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        #[allow(deprecated)] // `root_uri`: for clients without workspace folders
        let folders: Vec<PathBuf> = match (&params.workspace_folders, &params.root_uri) {
            (Some(ws), _) => ws.iter().map(|w| path_of(&w.uri)).collect(),
            (None, Some(root)) => vec![path_of(root)],
            (None, None) => Vec::new(),
        };
        let folders: Vec<PathBuf> = folders.into_iter().filter(|p| p.is_dir()).collect();
        run(&self.state, "initialize", move |st| st.workspace = folders).await;
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".into(), ":".into(), "[".into()]),
                    ..CompletionOptions::default()
                }),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: semantic_legend(),
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            work_done_progress_options: WorkDoneProgressOptions::default(),
                        },
                    ),
                ),
                inlay_hint_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..CodeActionOptions::default()
                    },
                )),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![COMMAND_SHOW_PROJECTION.to_owned()],
                    ..ExecuteCommandOptions::default()
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "chor".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        self.set_doc(d.uri, d.version, d.text).await;
        self.schedule_diagnostics(Duration::ZERO);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().next_back() else {
            return;
        };
        let d = params.text_document;
        self.set_doc(d.uri, d.version, change.text).await;
        self.schedule_diagnostics(DEBOUNCE);
    }

    async fn did_change_watched_files(&self, _params: DidChangeWatchedFilesParams) {
        // Diagnostics read the unopened files again (see `publish_all`).
        self.schedule_diagnostics(DEBOUNCE);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let closed = uri.clone();
        run(&self.state, "closing a file", move |st| {
            st.docs.remove(&closed);
            // The file on disk is the truth again for programs that import it.
            let path = path_of(&closed);
            if let Ok(text) = st.db.read_source(&path) {
                st.db.set_text(&path, text);
            }
        })
        .await;
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
        self.schedule_diagnostics(DEBOUNCE);
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        Ok(run(&self.state, "hover", move |st| {
            let (file, offset) = st.offset(&p.text_document.uri, p.position)?;
            let h = features::hover(&*st.db, file, offset)?;
            let mut value = format!("```chor\n{}\n```", h.signature);
            if let Some(doc) = &h.doc {
                value.push_str("\n\n");
                value.push_str(doc);
            }
            Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                }),
                range: st.range(h.span),
            })
        })
        .await
        .flatten())
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        Ok(run(&self.state, "definition", move |st| {
            let (file, offset) = st.offset(&p.text_document.uri, p.position)?;
            let def = features::definition(&*st.db, file, offset)?;
            Some(GotoDefinitionResponse::Scalar(st.location(def)?))
        })
        .await
        .flatten())
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let include = params.context.include_declaration;
        Ok(run(&self.state, "references", move |st| {
            let (file, offset) = st.offset(&p.text_document.uri, p.position)?;
            let roots = st.roots();
            let spans = features::references(&*st.db, file, offset, include, &roots);
            Some(spans.iter().filter_map(|s| st.location(*s)).collect())
        })
        .await
        .flatten())
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let r = run(&self.state, "rename", move |st| {
            let (file, offset) = st
                .offset(&params.text_document.uri, params.position)
                .ok_or_else(|| "this file is not open".to_owned())?;
            let span = features::prepare_rename(&*st.db, file, offset)?;
            st.range(span)
                .map(PrepareRenameResponse::Range)
                .ok_or_else(|| "nothing to rename here".to_owned())
        })
        .await;
        match r {
            Some(Ok(resp)) => Ok(Some(resp)),
            Some(Err(msg)) => Err(Error::invalid_params(msg)),
            None => Ok(None),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let new_name = params.new_name;
        let r = run(&self.state, "rename", move |st| {
            let (file, offset) = st
                .offset(&p.text_document.uri, p.position)
                .ok_or_else(|| "this file is not open".to_owned())?;
            let roots = st.roots();
            let edits = features::rename(&*st.db, file, offset, &new_name, &roots)?;
            Ok::<_, String>(WorkspaceEdit {
                changes: Some(st.edits(&edits)),
                ..WorkspaceEdit::default()
            })
        })
        .await;
        match r {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(msg)) => Err(Error::invalid_params(msg)),
            None => Ok(None),
        }
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let uri = params.text_document.uri;
        Ok(run(&self.state, "document symbols", move |st| {
            let file = st.doc(&uri)?.file;
            let syms = features::document_symbols(&*st.db, file);
            Some(DocumentSymbolResponse::Nested(
                syms.iter().filter_map(|s| symbol(st, s)).collect(),
            ))
        })
        .await
        .flatten())
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        Ok(run(&self.state, "completion", move |st| {
            let (file, offset) = st.offset(&p.text_document.uri, p.position)?;
            let items = features::completions(&*st.db, file, offset);
            Some(CompletionResponse::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| CompletionItem {
                        label: c.label,
                        kind: Some(completion_kind(c.kind)),
                        detail: c.detail,
                        sort_text: Some(format!("{i:05}")),
                        ..CompletionItem::default()
                    })
                    .collect(),
            ))
        })
        .await
        .flatten())
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let uri = params.text_document.uri;
        Ok(run(&self.state, "semantic tokens", move |st| {
            let doc = st.doc(&uri)?;
            let tokens = features::semantic_tokens(&*st.db, doc.file);
            let mut data = Vec::with_capacity(tokens.len());
            let (mut prev_line, mut prev_col) = (0, 0);
            for t in tokens {
                let (line, col) = doc.lines.position(&doc.text, t.span.start);
                let (end_line, end_col) = doc.lines.position(&doc.text, t.span.end);
                if end_line != line || end_col <= col {
                    continue;
                }
                let mut modifiers = u32::from(t.declaration);
                if let Some(r) = t.role {
                    modifiers |= 1 << (1 + r);
                }
                data.push(SemanticToken {
                    delta_line: line - prev_line,
                    delta_start: if line == prev_line {
                        col - prev_col
                    } else {
                        col
                    },
                    length: end_col - col,
                    token_type: token_type(t.kind),
                    token_modifiers_bitset: modifiers,
                });
                (prev_line, prev_col) = (line, col);
            }
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data,
            }))
        })
        .await
        .flatten())
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let uri = params.text_document.uri;
        let range = params.range;
        Ok(run(&self.state, "inlay hints", move |st| {
            let doc = st.doc(&uri)?;
            let hints = features::inlay_hints(&*st.db, doc.file);
            Some(
                hints
                    .into_iter()
                    .filter_map(|h| {
                        let (line, character) = doc.lines.position(&doc.text, h.offset);
                        let position = Position::new(line, character);
                        (range.start <= position && position <= range.end).then_some(InlayHint {
                            position,
                            label: InlayHintLabel::String(h.label),
                            kind: Some(InlayHintKind::TYPE),
                            text_edits: None,
                            tooltip: None,
                            padding_left: None,
                            padding_right: None,
                            data: None,
                        })
                    })
                    .collect(),
            )
        })
        .await
        .flatten())
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let range = params.range;
        Ok(run(&self.state, "code actions", move |st| {
            let doc = st.doc(&uri)?;
            let start = doc
                .lines
                .offset(&doc.text, range.start.line, range.start.character);
            let end = doc
                .lines
                .offset(&doc.text, range.end.line, range.end.character);
            let fixes = features::quick_fixes(&*st.db, doc.file, start, end);
            Some(
                fixes
                    .iter()
                    .map(|f| {
                        CodeActionOrCommand::CodeAction(CodeAction {
                            title: f.title.clone(),
                            kind: Some(CodeActionKind::QUICKFIX),
                            diagnostics: st.diagnostic(&f.diagnostic).map(|d| vec![d]),
                            edit: Some(WorkspaceEdit {
                                changes: Some(st.edits(&f.edits)),
                                ..WorkspaceEdit::default()
                            }),
                            is_preferred: Some(true),
                            ..CodeAction::default()
                        })
                    })
                    .collect(),
            )
        })
        .await
        .flatten())
    }

    /// `chor fmt` on the buffer: one edit replacing the whole text, or none when the text is
    /// already formatted. A buffer with syntax errors is left alone (the error says why).
    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let uri = params.text_document.uri;
        let r = run(&self.state, "formatting", move |st| {
            let doc = st
                .doc(&uri)
                .ok_or_else(|| "this file is not open".to_owned())?;
            let formatted = chor_teach::fmt::format_source(doc.file, &doc.text).map_err(|ds| {
                ds.first().map_or_else(
                    || "cannot format this file".to_owned(),
                    |d| format!("cannot format this file: {}", d.message),
                )
            })?;
            if *formatted == *doc.text {
                return Ok(Vec::new());
            }
            let whole = Span::new(doc.file, 0, doc.text.len());
            Ok::<_, String>(vec![TextEdit {
                range: range_in(&doc.text, &doc.lines, whole),
                new_text: formatted,
            }])
        })
        .await;
        match r {
            Some(Ok(edits)) => Ok(Some(edits)),
            Some(Err(msg)) => Err(Error::invalid_params(msg)),
            None => Ok(None),
        }
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        Ok(run(&self.state, "code lenses", move |st| {
            let doc = st.doc(&uri)?;
            let lenses = features::lenses(&*st.db, doc.file);
            Some(
                lenses
                    .into_iter()
                    .map(|l| CodeLens {
                        range: range_in(&doc.text, &doc.lines, l.span),
                        command: Some(Command {
                            title: l.title,
                            command: COMMAND_SHOW_PROJECTION.to_owned(),
                            arguments: Some(vec![
                                serde_json::Value::String(uri.as_str().to_owned()),
                                serde_json::Value::String(l.chor),
                                serde_json::Value::String(l.role),
                            ]),
                        }),
                        data: None,
                    })
                    .collect(),
            )
        })
        .await
        .flatten())
    }

    async fn execute_command(
        &self,
        params: ExecuteCommandParams,
    ) -> Result<Option<serde_json::Value>> {
        if params.command != COMMAND_SHOW_PROJECTION {
            return Err(Error::invalid_params(format!(
                "unknown command `{}`",
                params.command
            )));
        }
        let args: Vec<String> = params
            .arguments
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let [uri, chor, role] = args.as_slice() else {
            return Err(Error::invalid_params(
                "expected arguments [uri, choreography, role]",
            ));
        };
        let uri: Uri = uri
            .parse()
            .map_err(|_| Error::invalid_params(format!("not a URI: {uri}")))?;
        let (chor, role) = (chor.clone(), role.clone());
        let r = run(&self.state, "a projection", move |st| {
            let file = st
                .doc(&uri)
                .ok_or_else(|| "this file is not open".to_owned())?
                .file;
            features::projection(&*st.db, file, &chor, &role)
        })
        .await;
        match r {
            Some(Ok(text)) => Ok(Some(serde_json::Value::String(text))),
            Some(Err(msg)) => Err(Error::invalid_params(msg)),
            None => Err(Error::internal_error()),
        }
    }
}
