//! Sending and receiving lists, maps and strings: the direct paths between native values and
//! the wire (`rt::wire::encode_val`, the whole-collection loops of `decode_typed`) against
//! the item-by-item paths they replace (a wire value tree per message, `to_wire` +
//! `codec::encode_into`; every item through the general decoding loop). Both run in this one
//! process, interleaved, and the ratio is printed.
//!
//! Run with `cargo bench -p chor-runtime --bench wire_lists`.

use chor_runtime::rt::rc::Rc;
use std::hint::black_box;
use std::time::Instant;

use chor_runtime::codec;
use chor_runtime::rt::list::List;
use chor_runtime::rt::val::{Val, to_wire};
use chor_runtime::rt::wire::{decode_typed, decode_typed_itemwise, encode_val};
use chor_runtime::types::{TyNode, TypeTable};
use chor_runtime::value::Message;

/// The median time of `runs` calls of `f`, in microseconds.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let mut t = TypeTable::default();
    let int = t.push(TyNode::Int);
    let str_ = t.push(TyNode::Str);
    let list_int = t.push(TyNode::List(int));
    let list_str = t.push(TyNode::List(str_));
    let map_si = t.push(TyNode::Map(str_, int));

    // Half of the merge sort's first message (200,000 Ints below 1,000,000).
    let mut seed = 42i64;
    let xs: Vec<i64> = (0..100_000)
        .map(|_| {
            seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
            seed % 1_000_000
        })
        .collect();
    let cases = [
        (
            "List<Int>, 100,000 elements",
            Val::List(List::from_ints(xs.clone())),
            list_int,
        ),
        (
            "List<String>, 20,000 elements",
            Val::list((0..20_000).map(|i| Val::str(format!("key{i}"))).collect()),
            list_str,
        ),
        (
            "Map<String, Int>, 20,000 entries",
            Val::Map(Rc::new(
                (0..20_000)
                    .map(|i| (Val::str(format!("key{i}")), Val::Int(i * 7)))
                    .collect(),
            )),
            map_si,
        ),
    ];
    println!(
        "{:<34} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}",
        "message", "encode old", "encode new", "ratio", "decode old", "decode new", "ratio"
    );
    for (name, v, ty) in cases {
        let mut bytes = Vec::new();
        assert!(encode_val(&v, &mut bytes));
        let tree = codec::encode(&Message::Value(to_wire(&v).expect("sendable")));
        assert_eq!(bytes, tree, "{name}: both encoders write the same bytes");
        let mut out = Vec::with_capacity(bytes.len());
        let runs = 31;
        let (mut eo, mut en, mut dold, mut dnew) = (vec![], vec![], vec![], vec![]);
        // Interleaved rounds, so a burst of load elsewhere hits both sides alike.
        for _ in 0..5 {
            eo.push(time(runs, || {
                out.clear();
                let w = to_wire(black_box(&v)).expect("sendable");
                codec::encode_into(&Message::Value(w), &mut out);
                black_box(&out);
            }));
            en.push(time(runs, || {
                out.clear();
                black_box(encode_val(black_box(&v), &mut out));
            }));
            dold.push(time(runs, || {
                black_box(decode_typed_itemwise(black_box(&bytes), &t, ty).expect("typed"));
            }));
            dnew.push(time(runs, || {
                black_box(decode_typed(black_box(&bytes), &t, ty).expect("typed"));
            }));
        }
        let med = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (eo, en, dold, dnew) = (med(eo), med(en), med(dold), med(dnew));
        println!(
            "{name:<34} {eo:>9.0} µs {en:>9.0} µs {:>6.2}×   {dold:>9.0} µs {dnew:>9.0} µs {:>6.2}×",
            en / eo,
            dnew / dold
        );
    }
    println!("(ratio: new time / old time; below 1 is faster)");
}
