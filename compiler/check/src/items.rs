//! Items: duplicate definitions, the types of struct fields and enum variants, function and
//! choreography signatures, and the bodies of local functions.

use crate::cx::{AdtInfo, AdtKind, Checker, ChorSig, FieldInfo, FnSig, VariantInfo, Why};
use crate::program::ItemRef;
use crate::types::Ty;
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::{ChorDef, ChorParam, ExprKind, FnDef, Ident, Item};
use std::rc::Rc;

/// The names of the built-in types; no user type may take them (E0111).
pub const BUILTIN_TYPES: [&str; 6] = ["Int", "Float", "Bool", "String", "List", "Map"];

impl<'p> Checker<'p> {
    pub fn report_duplicates(&mut self) {
        for (first, second, name) in &self.p.duplicates {
            let (mut first, mut second) = (*first, *second);
            // When a user item collides with the standard library, point at the user's item.
            if crate::stdlib::by_file(second.file).is_some()
                && crate::stdlib::by_file(first.file).is_none()
            {
                std::mem::swap(&mut first, &mut second);
            }
            let in_std = crate::stdlib::by_file(first.file).is_some();
            let mut d = Diagnostic::error(
                "E0100",
                format!("the name `{name}` is defined more than once"),
                second,
                format!("`{name}` redefined here"),
            )
            .with_label(
                first,
                if in_std {
                    format!("`{name}` is already defined in the standard library")
                } else {
                    format!("previous definition of `{name}`")
                },
            );
            d = d.with_help(if in_std {
                "choose another name: the standard library's items are always in scope"
            } else {
                "rename one of them (functions, types, choreographies and variants share one namespace)"
            });
            self.emit(d);
        }
    }

    fn generics_of(&mut self, gs: &[Ident]) -> Vec<Rc<str>> {
        let mut out: Vec<Rc<str>> = Vec::new();
        for (i, g) in gs.iter().enumerate() {
            if let Some(prev) = gs[..i].iter().find(|p| p.name == g.name) {
                self.emit(
                    Diagnostic::error(
                        "E0110",
                        format!("the generic parameter `{}` is declared twice", g.name),
                        g.span,
                        "declared again here",
                    )
                    .with_label(prev.span, "first declared here"),
                );
            }
            out.push(Rc::from(g.name.as_str()));
        }
        out
    }

    /// Give every struct and enum an id, then resolve the types of their fields.
    pub fn collect_adts(&mut self) {
        let items = self.items();
        for (u, i, item) in &items {
            let (name, generics) = match item {
                Item::Struct(s) => (&s.name, &s.generics),
                Item::Enum(e) => (&e.name, &e.generics),
                _ => continue,
            };
            if BUILTIN_TYPES.contains(&name.name.as_str()) && !self.p.units[*u].is_stdlib {
                // A type position always means the built-in type, but a struct literal or a
                // pattern would find the user's type: two types behind one name.
                let what = if matches!(item, Item::Struct(_)) {
                    "struct"
                } else {
                    "enum"
                };
                self.emit(
                    Diagnostic::error(
                        "E0111",
                        format!("the {what} `{}` has the name of a built-in type", name.name),
                        name.span,
                        format!("`{}` is a built-in type", name.name),
                    )
                    .with_help(format!(
                        "choose another name, e.g. `My{}`: the built-in types {} are always in scope",
                        name.name,
                        BUILTIN_TYPES.join(", ")
                    )),
                );
            }
            let generics = self.generics_of(generics);
            let id = self.env.adts.len() as u32;
            self.env.adts.push(AdtInfo {
                name: name.name.clone(),
                generics,
                name_span: name.span,
                kind: AdtKind::Struct(Vec::new()),
            });
            self.env.adt_of.insert(ItemRef { unit: *u, item: *i }, id);
            self.adt_items.push(ItemRef { unit: *u, item: *i });
        }
        for (u, i, item) in &items {
            let module = self.p.units[*u].module.as_deref();
            let Some(&id) = self.env.adt_of.get(&ItemRef { unit: *u, item: *i }) else {
                continue;
            };
            let generics = self.env.adts[id as usize].generics.clone();
            let kind = match item {
                Item::Struct(s) => {
                    let mut fields: Vec<FieldInfo> = Vec::new();
                    for f in &s.fields {
                        if let Some(prev) = fields.iter().find(|p| p.name == f.name.name) {
                            let prev = prev.span;
                            self.emit(
                                Diagnostic::error(
                                    "E0110",
                                    format!(
                                        "the field `{}` is declared twice in `{}`",
                                        f.name.name, s.name.name
                                    ),
                                    f.name.span,
                                    "declared again here",
                                )
                                .with_label(prev, "first declared here"),
                            );
                            continue;
                        }
                        let ty = self.resolve_ty(&f.ty, module, &generics);
                        fields.push(FieldInfo {
                            name: f.name.name.clone(),
                            ty,
                            span: f.name.span,
                        });
                    }
                    AdtKind::Struct(fields)
                }
                Item::Enum(e) => {
                    let mut variants = Vec::new();
                    for v in &e.variants {
                        let fields = v
                            .fields
                            .iter()
                            .map(|t| self.resolve_ty(t, module, &generics))
                            .collect();
                        variants.push(VariantInfo {
                            name: v.name.name.clone(),
                            fields,
                            span: v.name.span,
                        });
                    }
                    AdtKind::Enum(variants)
                }
                _ => continue,
            };
            self.env.adts[id as usize].kind = kind;
        }
        let fields: Vec<Vec<&Ty>> = self
            .env
            .adts
            .iter()
            .map(|a| match &a.kind {
                AdtKind::Struct(fs) => fs.iter().map(|f| &f.ty).collect(),
                AdtKind::Enum(vs) => vs.iter().flat_map(|v| v.fields.iter()).collect(),
            })
            .collect();
        self.env.adt_fn = crate::types::adts_holding_fns(&fields);
    }

    /// Signatures of every function and choreography.
    pub fn collect_sigs(&mut self) {
        for (u, i, item) in self.items() {
            let unit = &self.p.units[u];
            let module = unit.module.as_deref();
            let r = ItemRef { unit: u, item: i };
            match item {
                Item::Fn(f) => {
                    let generics = self.generics_of(&f.generics);
                    let mut params = Vec::new();
                    for (k, p) in f.params.iter().enumerate() {
                        if let Some(prev) =
                            f.params[..k].iter().find(|q| q.name.name == p.name.name)
                        {
                            self.emit(
                                Diagnostic::error(
                                    "E0110",
                                    format!("the parameter `{}` is declared twice", p.name.name),
                                    p.name.span,
                                    "declared again here",
                                )
                                .with_label(prev.name.span, "first declared here"),
                            );
                        }
                        let ty = self.resolve_ty(&p.ty, module, &generics);
                        params.push((p.name.name.clone(), ty));
                    }
                    let ret = match &f.ret {
                        Some(t) => self.resolve_ty(t, module, &generics),
                        None => Ty::unit(),
                    };
                    let name = match module {
                        Some(m) => format!("{m}::{}", f.name.name),
                        None => f.name.name.clone(),
                    };
                    self.env.fns.insert(
                        r,
                        FnSig {
                            name,
                            generics,
                            params,
                            ret,
                            name_span: f.name.span,
                        },
                    );
                }
                Item::Chor(c) => {
                    self.quiet = unit.name == crate::mono::INSTANCES_UNIT;
                    let generics = self.generics_of(&c.generics);
                    let sig = self.chor_signature(c, module, &generics, unit.is_stdlib, false);
                    self.quiet = false;
                    self.env.chors.insert(r, sig);
                }
                _ => {}
            }
        }
    }

    /// The signature of a choreography, or of a choreography type (`is_type`: a signature
    /// without statements, whose parameters may be unnamed), with the type parameters in
    /// scope.
    pub fn chor_signature(
        &mut self,
        c: &ChorDef,
        module: Option<&str>,
        generics: &[Rc<str>],
        is_stdlib: bool,
        is_type: bool,
    ) -> ChorSig {
        let mut roles: Vec<(String, Span)> = Vec::new();
        for role in &c.roles {
            if let Some((_, prev)) = roles.iter().find(|(n, _)| *n == role.name) {
                let prev = *prev;
                self.emit(
                    Diagnostic::error(
                        "E0201",
                        format!(
                            "the role `{}` is declared twice in `{}`",
                            role.name, c.name.name
                        ),
                        role.span,
                        "declared again here",
                    )
                    .with_label(prev, "first declared here")
                    .with_help("every role of a choreography must have a distinct name"),
                );
                continue;
            }
            roles.push((role.name.clone(), role.span));
        }
        let role_idx = |cx: &mut Checker<'_>, id: &Ident, what: &str| -> Option<usize> {
            let found = roles.iter().position(|(n, _)| *n == id.name);
            match found {
                Some(k) => {
                    cx.reference(id.span, roles[k].1);
                    Some(k)
                }
                None => {
                    let mut d = Diagnostic::error(
                        "E0200",
                        format!(
                            "unknown role `{}` in the {what} of `{}`",
                            id.name, c.name.name
                        ),
                        id.span,
                        format!("`{}` is not a role of `{}`", id.name, c.name.name),
                    );
                    if let Some(s) =
                        crate::cx::suggest(&id.name, roles.iter().map(|(n, _)| n.as_str()))
                    {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    } else {
                        d = d.with_help(format!(
                            "declare it among the roles: `choreography {}(…, {})`",
                            c.name.name, id.name
                        ));
                    }
                    cx.emit(d);
                    None
                }
            }
        };
        let mut params = Vec::new();
        let mut chors = Vec::new();
        if is_type && c.name.name != "chor" {
            self.emit(
                Diagnostic::error(
                    "E0738",
                    format!("expected a choreography type, found `{}`", c.name.name),
                    c.name.span,
                    "a choreography type starts with `chor`",
                )
                .with_help("write the signature as `chor(X, Y)(Int@X) -> Int@Y`"),
            );
        }
        for (k, p) in c.params.iter().enumerate() {
            // A family parameter `x: T@Ws` is one parameter per member, each at its own role
            // (see families.rs): those share the name.
            let per_member = |q: &ChorParam| {
                q.span_is(p) && q.role.name != p.role.name && p.role.name.ends_with(']')
            };
            if let Some(prev) = c.params[..k]
                .iter()
                .find(|q| !p.name.name.is_empty() && q.name.name == p.name.name && !per_member(q))
            {
                self.emit(
                    Diagnostic::error(
                        "E0110",
                        format!("the parameter `{}` is declared twice", p.name.name),
                        p.name.span,
                        "declared again here",
                    )
                    .with_label(prev.name.span, "first declared here"),
                );
            }
            if let Some(ct) = &p.chor {
                if is_type {
                    self.emit(
                        Diagnostic::error(
                            "E0738",
                            "a choreography type cannot take a choreography",
                            ct.span,
                            "a choreography-typed parameter inside a choreography type",
                        )
                        .with_help("only choreographies take choreographies as arguments"),
                    );
                }
                let sub = self.chor_signature(ct, module, generics, is_stdlib, true);
                params.push((p.name.name.clone(), Ty::Error, None, p.name.span));
                chors.push(Some(sub));
                continue;
            }
            let ty = self.resolve_ty(&p.ty, module, generics);
            let ri = role_idx(self, &p.role, "parameters");
            params.push((p.name.name.clone(), ty, ri, p.name.span));
            chors.push(None);
        }
        let ret = match &c.ret {
            Some((t, role)) => {
                let ty = self.resolve_ty(t, module, generics);
                let ri = role_idx(self, role, "return type");
                Some((ty, ri, t.span().to(role.span)))
            }
            None => None,
        };
        // Agreed parameters and results: the roles of each group.
        let group_idx =
            |cx: &mut Checker<'_>, g: &chor_syntax::ast::Group, what: &str| -> Vec<usize> {
                let mut v: Vec<usize> = Vec::new();
                for id in &g.roles {
                    if let Some(k) = role_idx(cx, id, what)
                        && !v.contains(&k)
                    {
                        v.push(k);
                    }
                }
                cx.group_of_one(g, !v.is_empty());
                v
            };
        let param_groups: Vec<Vec<usize>> = c
            .params
            .iter()
            .map(|p| match &p.group {
                Some(g) => group_idx(self, g, "parameters"),
                None => Vec::new(),
            })
            .collect();
        let mut results = Vec::new();
        for res in &c.results {
            let ty = self.resolve_ty(&res.ty, module, generics);
            let held: Vec<usize> = match &res.group {
                Some(g) => group_idx(self, g, "return type"),
                None => role_idx(self, &res.role, "return type")
                    .into_iter()
                    .collect(),
            };
            let end = res.group.as_ref().map_or(res.role.span, |g| g.span);
            let span = res.ty.span().to(end);
            // A role receives at most one result: each role's projection returns
            // one value.
            let twice = held.iter().copied().find(|r| {
                results
                    .iter()
                    .any(|(_, rs, _): &(Ty, Vec<usize>, Span)| rs.contains(r))
            });
            if let Some(r) = twice {
                let name = roles.get(r).map(|(n, _)| n.clone()).unwrap_or_default();
                self.emit(
                    Diagnostic::error(
                        "E0703",
                        format!("`{name}` holds two results of `{}`", c.name.name),
                        span,
                        format!("a second result at {name}"),
                    )
                    .with_help(format!(
                        "return one value at {name}: a tuple, e.g. `(Int, String)@{name}`"
                    )),
                );
            }
            results.push((ty, held, span));
        }
        if c.name.name == "main"
            && !is_stdlib
            && !is_type
            && let (Some(first), Some(last)) = (c.generics.first(), c.generics.last())
        {
            self.emit(
                Diagnostic::error(
                    "E0211",
                    "`main` takes roles only, not type parameters",
                    first.span.to(last.span),
                    "type parameters are not allowed here",
                )
                .with_help("`main` is run as it is: write the types its values have"),
            );
        }
        if c.name.name == "main" && !is_stdlib && !is_type {
            if let Some(first) = c.params.first() {
                let last = c.params.last().map_or(first.role.span, |p| p.role.span);
                self.emit(
                    Diagnostic::error(
                        "E0211",
                        "`main` takes roles only, not values",
                        first.name.span.to(last),
                        "value parameters are not allowed here",
                    )
                    .with_help("create the values inside `main` with `let R.x = …;`"),
                );
            }
            if let Some((t, role)) = &c.ret {
                self.emit(
                    Diagnostic::error(
                        "E0211",
                        "`main` cannot return a value",
                        t.span().to(role.span),
                        "remove this return type",
                    )
                    .with_help("print the result at a role instead, e.g. `R.print(x);`"),
                );
            }
        }
        ChorSig {
            name: c.name.name.clone(),
            roles,
            params,
            ret,
            param_groups,
            results,
            name_span: c.name.span,
            generics: generics.to_vec(),
            chors,
        }
    }

    pub fn check_fn(&mut self, u: usize, i: usize, f: &'p FnDef) {
        let unit = &self.p.units[u];
        let Some(sig) = self.env.fns.get(&ItemRef { unit: u, item: i }).cloned() else {
            return;
        };
        if f.is_extern() {
            self.check_extern(f, &sig);
        }
        for a in f.attrs.iter().filter(|a| a.name.name != "extern") {
            if a.name.name != "builtin" && a.name.name != "internal" {
                self.emit(
                    Diagnostic::error(
                        "E0108",
                        format!("unknown attribute `#[{}]`", a.name.name),
                        a.span,
                        "not a known attribute",
                    )
                    .with_help("the only attributes are `#[builtin]` and `#[internal]`, used by the standard library"),
                );
            } else if !unit.is_stdlib {
                self.emit(
                    Diagnostic::error(
                        "E0108",
                        format!("`#[{}]` is reserved for the standard library", a.name.name),
                        a.span,
                        if a.name.name == "builtin" {
                            "only the standard library's primitives are built in"
                        } else {
                            "only the standard library has internal helpers"
                        },
                    )
                    .with_help(if a.name.name == "builtin" {
                        "give the function a body"
                    } else {
                        "remove `#[internal]`: a function of yours is visible in your program"
                    }),
                );
            }
        }
        let Some(body) = &f.body else {
            if !f.is_builtin() && !f.is_extern() {
                self.emit(
                    Diagnostic::error(
                        "E0109",
                        format!("the function `{}` has no body", f.name.name),
                        f.name.span,
                        "a body `{ … }` is missing",
                    )
                    .with_help("only `#[builtin]` functions of the standard library are declared without a body"),
                );
            }
            return;
        };
        self.begin_body(unit.module.as_deref(), sig.generics.clone());
        let ret_span = f.ret.as_ref().map_or(f.name.span, |t| t.span());
        self.ret = Some((sig.ret.clone(), ret_span));
        self.note_params(
            sig.params.iter().map(|(_, t)| t.clone()).collect(),
            vec![Vec::new(); sig.params.len()],
        );
        for (k, (p, (_, ty))) in f.params.iter().zip(sig.params.iter()).enumerate() {
            self.bind_var(
                &p.name,
                ty.clone(),
                crate::cx::NO_ROLE,
                crate::ir::Res::Param(k as u32),
            );
        }
        let t = self.expr(body);
        let why = if f.ret.is_some() {
            Why::Label(ret_span, "expected because of this return type")
        } else {
            Why::Label(
                f.name.span,
                "this function has no `-> T`, so it returns `()`",
            )
        };
        // Point at the tail expression when there is one.
        let at = match &body.kind {
            ExprKind::Block(b) => b.tail.as_ref().map_or(body.span.end_point(), |t| t.span),
            _ => body.span,
        };
        self.unify_at(&sig.ret, &t, at, why);
        self.end_body();
    }
}
