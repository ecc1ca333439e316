//! Self tail calls as loops: a local function's body starts at a loop header whose parameters
//! are the function's parameter words, and a call of the function itself in tail position
//! drops the frame's variables and jumps back to the header with the new arguments. A
//! `return_call` would do the same in constant stack too, but pays the prologue and epilogue
//! (saving and restoring the callee-saved registers) on every iteration, and the register
//! allocator cannot keep loop-invariant values (a list the loop only reads) in registers
//! across it.

use super::*;
use cranelift_codegen::ir::Block;

/// The loop a local function's self tail calls jump back to.
pub(super) struct SelfLoop {
    /// The function whose body is the loop.
    pub(super) item: ItemRef,
    /// The loop header: one parameter per parameter word of the function.
    pub(super) header: Block,
    /// The tags fixed by the parameters' declared types (see [`param_tags`]).
    pub(super) tags: Vec<Option<u64>>,
}

impl<'a, 'p> Fx<'a, 'p> {
    /// In the entry block of local function `item` (after [`Fx::start`]): makes the loop header,
    /// jumps to it with the entry's parameters and continues there; returns the header's
    /// parameters, which the body binds instead of the entry's. The header is sealed at the
    /// end, when every back edge is known.
    pub(super) fn enter_self_loop(
        &mut self,
        item: ItemRef,
        tags: &[Option<u64>],
        ps: &[Value],
    ) -> Vec<Value> {
        let header = self.b.create_block();
        let words: Vec<Value> = ps
            .iter()
            .map(|_| self.b.append_block_param(header, I64))
            .collect();
        self.b.ins().jump(header, &args(ps));
        self.b.switch_to_block(header);
        self.self_loop = Some(SelfLoop {
            item,
            header,
            tags: tags.to_vec(),
        });
        words
    }

    /// A tail call of `r` with evaluated arguments, as a jump back to the loop header when `r`
    /// is the function being lowered (not from an inlined body); `None` otherwise.
    pub(super) fn self_tail_jump(&mut self, r: ItemRef, vals: &[Vv]) -> Option<Vv> {
        if self.inlining {
            return None;
        }
        let l = self.self_loop.as_ref().filter(|l| l.item == r)?;
        let header = l.header;
        let words = arg_words(&l.tags, vals);
        // As before a `return_call`: the arguments are owned, the frame's variables go.
        self.drop_all();
        self.b.ins().jump(header, &args(&words));
        self.unreachable_block();
        Some(self.unit())
    }
}
