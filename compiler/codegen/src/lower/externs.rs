//! Direct calls of Rust externs whose parameters and result are scalars (`Int`, `Float`,
//! `Bool`; a result may also be `()`): the glue exports `chor_xd_NAME`, which takes the
//! payload words as C arguments and returns the result's payload, so a call is a C call with
//! no argument tuple, no encoding and no runtime in between. The entry returns two words (a
//! `repr(C)` pair, in two registers): the result's payload and zero, or, when the extern
//! panicked (caught in the glue), the message's length and address; the generated code tests
//! the second word and stops the role naming the extern and the line, as the generic entry
//! (`chor_x_NAME`, still used for every other signature and by the interpreters) does.

use super::*;
use cranelift_codegen::ir::types::I64 as WORD;

/// A scalar type of an extern's signature, passed as one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `i64`, as is.
    Int,
    /// `f64`, its bits.
    Float,
    /// `bool`, 0 or 1.
    Bool,
}

/// The scalar signature of an extern: its parameters, and its result (`None` for `()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarSig {
    pub params: Vec<Scalar>,
    pub ret: Option<Scalar>,
}

fn scalar(tag: Option<u64>) -> Option<Scalar> {
    match tag? {
        TAG_INT => Some(Scalar::Int),
        TAG_FLOAT => Some(Scalar::Float),
        TAG_BOOL => Some(Scalar::Bool),
        _ => None,
    }
}

/// The scalar signature of `def`, when every parameter and the result are scalars: the glue
/// then exports a direct entry for it (the driver writes it, code generation calls it; both
/// decide with this function).
pub fn scalar_extern(def: &FnDef) -> Option<ScalarSig> {
    if !def.is_extern() || !def.generics.is_empty() {
        return None;
    }
    let params = def
        .params
        .iter()
        .map(|p| scalar(static_tag(&p.ty, &def.generics)))
        .collect::<Option<Vec<_>>>()?;
    let ret = match &def.ret {
        None => None,
        Some(t) => match static_tag(t, &def.generics)? {
            TAG_UNIT => None,
            tag => Some(scalar(Some(tag))?),
        },
    };
    Some(ScalarSig { params, ret })
}

impl<'a, 'p> Fx<'a, 'p> {
    /// A call of an extern with a scalar signature through the glue's direct entry; `None`
    /// for any other extern.
    pub(super) fn call_extern_direct(
        &mut self,
        def: &FnDef,
        vals: &[Vv],
        span: Span,
    ) -> Option<Vv> {
        let sig = scalar_extern(def)?;
        if sig.params.len() != vals.len() {
            return None;
        }
        let name = format!("chor_xd_{}", def.name.name);
        let id = self.cg.glue_words(&name, vals.len(), 2);
        let words: Vec<Value> = vals.iter().map(|v| v.b).collect();
        let f = self.fref(id);
        // A direct call (`call rel32`) when the glue is linked into the executable (see the
        // driver's `externs::static_object`); against the shared library the linker makes it
        // a call of a PLT entry instead.
        self.b.func.dfg.ext_funcs[f].colocated = true;
        let call = self.b.ins().call(f, &words);
        // Two words back: the result and zero, or a panic's message as length and address.
        let (r, msg) = match self.b.inst_results(call) {
            [r, msg] => (*r, *msg),
            _ => return None,
        };
        let failed = self.b.ins().icmp_imm_s(IntCC::NotEqual, msg, 0);
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.ins().brif(failed, bad, &[], ok, &[]);
        self.b.switch_to_block(bad);
        self.b.seal_block(bad);
        let free = self.cg.glue_func("chor_x_free", 2, 0);
        let ff = self.fref(free);
        let fa = self.b.ins().func_addr(WORD, ff);
        let l = self.loc(span);
        self.rt("chor_rt_extern_failed", &[msg, r, fa, l], 0);
        self.b.ins().trap(TrapCode::unwrap_user(1));
        self.b.switch_to_block(ok);
        self.b.seal_block(ok);
        Some(match sig.ret {
            Some(Scalar::Int) => Vv {
                t: self.tag(TAG_INT),
                b: r,
            },
            Some(Scalar::Float) => Vv {
                t: self.tag(TAG_FLOAT),
                b: r,
            },
            // The glue widens a `bool` to the word 0 or 1.
            Some(Scalar::Bool) => Vv {
                t: self.tag(TAG_BOOL),
                b: r,
            },
            None => self.unit(),
        })
    }
}
