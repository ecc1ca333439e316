//! Peak memory of decoding one received frame, against the frame's size: the bound on how far
//! a peer can make a receiver's memory grow with one message (issue: "bounded memory").
//!
//! Each case runs in a child process (this binary re-run with the case's name), so its peak
//! resident size (`VmHWM`) is its own. Both back ends' receives are measured on the same
//! frames: the typed decoder building native values and building the reference
//! interpreter's values (what its role executables do), each checked as it goes.
//! Prints the ratio of the growth of peak memory to the frame size. Both paths decode within
//! the budget of a receiver with the default `max_message_bytes` (64 MiB: a 16 MiB frame may
//! take 4 × 16 MiB), as they do on a connection; a frame whose decoded form would take more
//! is refused, and the row says so (its peak is what decoding took until the refusal).
//!
//! Run with `cargo bench -p chor-runtime --bench decode_memory`.

use chor_interp::wire::Receiver;
use chor_runtime::codec;
use chor_runtime::codec::Budget;
use chor_runtime::config::DEFAULT_MAX_MESSAGE_BYTES;
use chor_runtime::decode::decode_typed_with;
use chor_runtime::rt::val::{Tables, set_tables};
use chor_runtime::rt::wire::decode_typed_bounded;
use chor_runtime::types::{TyNode, TypeTable};
use std::process::Command;

/// The program the interpreter's values belong to (its struct `P`; `Option` is the
/// standard library's).
const PROGRAM: &str = "struct P { a: Int, b: Int }\nchoreography main(A, B) { A.print(\"x\"); }\n";

/// The frame size of every case.
const FRAME: usize = 16 << 20;

fn status(key: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The cases: element kinds of one big list (or map) per frame.
const CASES: &[&str] = &[
    "units",
    "bools",
    "small ints",
    "large ints",
    "empty strings",
    "1-byte strings",
    "16-byte strings",
    "empty lists",
    "lists of 1 Int",
    "structs {Int,Int}",
    "variants Some(Int)",
    "map Int->Int",
];

fn zigzag(i: i64, out: &mut Vec<u8>) {
    let mut k = ((i << 1) ^ (i >> 63)) as u64;
    while k >= 0x80 {
        out.push((k as u8) | 0x80);
        k >>= 7;
    }
    out.push(k as u8);
}

fn varint(mut k: u64, out: &mut Vec<u8>) {
    while k >= 0x80 {
        out.push((k as u8) | 0x80);
        k >>= 7;
    }
    out.push(k as u8);
}

/// The frame of a case and the type its receive expects. The frame is written byte by byte
/// (building it from a value tree would itself set the peak).
fn case(name: &str) -> (Vec<u8>, TypeTable, u32) {
    let mut t = TypeTable::default();
    let int = t.push(TyNode::Int);
    // The program's struct and variant names, as a native executable registers them.
    set_tables(Tables {
        structs: vec![("P".to_string(), vec!["a".to_string(), "b".to_string()])],
        variants: vec!["None".to_string(), "Some".to_string()],
        struct_ids: [("P".to_string(), 0)].into_iter().collect(),
        variant_ids: [("None".to_string(), 0), ("Some".to_string(), 1)]
            .into_iter()
            .collect(),
    });
    let elem_ty = match name {
        "units" => t.push(TyNode::Unit),
        "bools" => t.push(TyNode::Bool),
        "small ints" | "large ints" => int,
        "empty strings" | "1-byte strings" | "16-byte strings" => t.push(TyNode::Str),
        "empty lists" | "lists of 1 Int" => t.push(TyNode::List(int)),
        "structs {Int,Int}" => t.push(TyNode::Struct {
            name: "P".to_string(),
            shown: "P".to_string(),
            fields: vec![int, int],
        }),
        "variants Some(Int)" => t.push(TyNode::Enum {
            shown: "Option<Int>".to_string(),
            variants: vec![
                ("None".to_string(), vec![]),
                ("Some".to_string(), vec![int]),
            ],
        }),
        _ => int,
    };
    let map = name == "map Int->Int";
    let root = if map {
        t.push(TyNode::Map(int, int))
    } else {
        t.push(TyNode::List(elem_ty))
    };
    let elem = |i: usize, out: &mut Vec<u8>| match name {
        "units" => out.push(0x00),
        "bools" => out.push(0x02),
        "small ints" => out.extend_from_slice(&[0x03, 0x02]),
        "large ints" => {
            out.push(0x03);
            zigzag(i64::MAX - 1, out);
        }
        "empty strings" => out.extend_from_slice(&[0x05, 0x00]),
        "1-byte strings" => out.extend_from_slice(&[0x05, 0x01, b'a']),
        "16-byte strings" => {
            out.extend_from_slice(&[0x05, 0x10]);
            out.extend_from_slice(b"0123456789abcdef");
        }
        "empty lists" => out.extend_from_slice(&[0x07, 0x00]),
        "lists of 1 Int" => out.extend_from_slice(&[0x07, 0x01, 0x03, 0x02]),
        "structs {Int,Int}" => {
            out.extend_from_slice(&[0x09, 0x01, b'P', 0x02, 0x03, 0x02, 0x03, 0x02]);
        }
        "variants Some(Int)" => {
            out.extend_from_slice(&[0x0a, 0x04]);
            out.extend_from_slice(b"Some");
            out.extend_from_slice(&[0x01, 0x03, 0x02]);
        }
        _ => {
            // Map entries in key order: distinct keys, small values.
            out.push(0x03);
            zigzag(i as i64, out);
            out.extend_from_slice(&[0x03, 0x02]);
        }
    };
    // Count the elements that fit, then write the header and the elements.
    let mut probe = Vec::new();
    let mut n = 0usize;
    let mut size = 0usize;
    loop {
        probe.clear();
        elem(n, &mut probe);
        if size + probe.len() > FRAME - 16 {
            break;
        }
        size += probe.len();
        n += 1;
    }
    let mut bytes = Vec::with_capacity(FRAME);
    bytes.extend_from_slice(&[codec::VERSION, 0x00, if map { 0x08 } else { 0x07 }]);
    varint(n as u64, &mut bytes);
    for i in 0..n {
        elem(i, &mut bytes);
    }
    (bytes, t, root)
}

fn child(path: &str, name: &str) {
    let (bytes, t, root) = case(name);
    let frame = bytes.len();
    let prog = chor_check::program::from_source("bench.chor", PROGRAM, vec![]);
    let before = status("VmRSS:");
    let budget = Budget::for_frame(frame, DEFAULT_MAX_MESSAGE_BYTES);
    let kept: Option<Box<dyn std::any::Any>> = match path {
        "native" => decode_typed_bounded(&bytes, &t, root, budget)
            .ok()
            .map(|v| Box::new(v) as Box<dyn std::any::Any>),
        // What the value takes when nothing limits it (the receiver's max_message_bytes
        // 64 times the frame).
        "unlimited" => decode_typed_bounded(&bytes, &t, root, Budget::for_frame(frame, 64 * frame))
            .ok()
            .map(|v| Box::new(v) as Box<dyn std::any::Any>),
        // The interpreter's executables: straight into interpreter values, in the same budget.
        _ => {
            let mut values = Receiver::new(&prog);
            decode_typed_with(&bytes, &t, root, &mut values, budget)
                .ok()
                .map(|v| Box::new(v) as Box<dyn std::any::Any>)
        }
    };
    let peak = status("VmHWM:");
    let verdict = if kept.is_some() { "ok" } else { "refused" };
    println!("{} {frame} {verdict}", peak.saturating_sub(before));
    std::mem::forget(kept);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--child" {
        child(&args[2], &args[3]);
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    println!(
        "peak memory growth of decoding one {} MiB frame",
        FRAME >> 20
    );
    println!(
        "{:<20} {:>26} {:>26} {:>18}",
        "elements", "native (ratio)", "interpreter (ratio)", "native, no limit"
    );
    let mut worst: f64 = 0.0;
    for &name in CASES {
        let mut cols = Vec::new();
        for path in ["native", "interp", "unlimited"] {
            let out = Command::new(&exe)
                .args(["--child", path, name])
                .output()
                .expect("child");
            let line = String::from_utf8_lossy(&out.stdout).to_string();
            let mut words = line.split_whitespace();
            let mut num = || {
                words
                    .next()
                    .map_or(f64::NAN, |x| x.parse::<f64>().unwrap_or(f64::NAN))
            };
            let grew = num();
            let frame = num();
            let verdict = line.split_whitespace().nth(2).unwrap_or("crashed");
            let ratio = grew / frame;
            if path == "unlimited" {
                cols.push(format!(
                    "{:>6.0} MiB ({:>4.1}x)",
                    grew / f64::from(1 << 20),
                    ratio
                ));
                continue;
            }
            worst = worst.max(ratio);
            cols.push(format!(
                "{:>6.0} MiB ({:>4.1}x) {verdict:<7}",
                grew / f64::from(1 << 20),
                ratio
            ));
        }
        println!("{name:<20} {:>26} {:>26} {:>18}", cols[0], cols[1], cols[2]);
    }
    println!("worst ratio (native and interpreter, within the budget): {worst:.1}x the frame size");
}
