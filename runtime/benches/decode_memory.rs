//! Peak memory of decoding one received frame, against the frame's size: the bound on how far
//! a peer can make a receiver's memory grow with one message (issue: "bounded memory").
//!
//! Each case runs in a child process (this binary re-run with the case's name), so its peak
//! resident size (`VmHWM`) is its own. Two receive paths are measured on the same frames:
//! the native typed decoder (frame → native values, checked as it goes) and the general one
//! (frame → wire value tree → type check), which the interpreter's role executables use.
//! Prints the ratio of the growth of peak memory to the frame size.
//!
//! Run with `cargo bench -p chor-runtime --bench decode_memory`.

use chor_runtime::codec;
use chor_runtime::rt::wire::decode_typed;
use chor_runtime::types::{TyNode, TypeTable};
use chor_runtime::value::Message;
use std::process::Command;

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

/// The frame of a case and the type its receive expects. The frame is written byte by byte
/// (building it from a value tree would itself set the peak).
fn case(name: &str) -> (Vec<u8>, TypeTable, u32) {
    let mut t = TypeTable::default();
    let (elem, ty_elem): (&[u8], TyNode) = match name {
        "units" => (&[0x00], TyNode::Unit),
        "bools" => (&[0x02], TyNode::Bool),
        "small ints" => (&[0x03, 0x02], TyNode::Int),
        "empty strings" => (&[0x05, 0x00], TyNode::Str),
        "empty lists" => (&[0x07, 0x00], TyNode::Any),
        _ => (
            &[
                0x03, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            TyNode::Int,
        ),
    };
    let e = t.push(ty_elem);
    if name == "empty lists" {
        let int = t.push(TyNode::Int);
        t.set(e, TyNode::List(int));
    }
    let root = t.push(TyNode::List(e));
    let n = (FRAME - 16) / elem.len();
    let mut bytes = Vec::with_capacity(FRAME);
    bytes.extend_from_slice(&[codec::VERSION, 0x00, 0x07]);
    let mut k = n as u64;
    while k >= 0x80 {
        bytes.push((k as u8) | 0x80);
        k >>= 7;
    }
    bytes.push(k as u8);
    for _ in 0..n {
        bytes.extend_from_slice(elem);
    }
    (bytes, t, root)
}

fn child(path: &str, name: &str) {
    let (bytes, t, root) = case(name);
    let before = status("VmRSS:");
    let kept = match path {
        "native" => decode_typed(&bytes, &t, root).map(|v| Box::new(v) as Box<dyn std::any::Any>),
        _ => match codec::decode(&bytes) {
            Ok(Message::Value(v)) => t
                .check(root, &v)
                .map(|()| Box::new(v) as Box<dyn std::any::Any>)
                .map_err(|_| panic!("type")),
            _ => panic!("decode"),
        },
    };
    assert!(kept.is_ok(), "the frame decodes");
    let peak = status("VmHWM:");
    println!("{}", peak.saturating_sub(before));
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
        "{:<16} {:>18} {:>18}",
        "elements", "native (ratio)", "wire tree (ratio)"
    );
    let mut worst: f64 = 0.0;
    for name in [
        "units",
        "bools",
        "small ints",
        "large ints",
        "empty strings",
        "empty lists",
    ] {
        let mut cols = Vec::new();
        for path in ["native", "wire"] {
            let out = Command::new(&exe)
                .args(["--child", path, name])
                .output()
                .expect("child");
            let grew: f64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(f64::NAN);
            let ratio = grew / FRAME as f64;
            if path == "native" {
                worst = worst.max(ratio);
            }
            cols.push(format!(
                "{:>8.0} MiB ({:>4.1}x)",
                grew / f64::from(1 << 20),
                ratio
            ));
        }
        println!("{name:<16} {:>18} {:>18}", cols[0], cols[1]);
    }
    println!("worst native ratio: {worst:.1}x the frame size");
}
