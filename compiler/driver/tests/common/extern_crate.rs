//! The extern crate of the generated differential programs (`generate::EXTERN_DECLS`): one
//! function per kind of value that crosses between chor and Rust. Results stay small
//! (`rem_euclid(1000)`), as the generator keeps its Ints, so that the chor code that computes
//! with them never overflows; nothing panics, so every back end runs each program to the end.
//! Not compiled with the tests: `generate::extern_project` writes it into a project that chor
//! builds with cargo.

chor_ffi::chor_struct! {
    /// `struct Pt { x: Int, y: Int }` of the generated programs.
    pub struct Pt { pub x: i64, pub y: i64 }
}

chor_ffi::chor_enum! {
    /// `enum Msg { Num(Int), Pair(Int, Int), Empty }` of the generated programs.
    pub enum Msg { Num(n: i64), Pair(a: i64, b: i64), Empty }
}

/// Scalar: a direct entry in native code.
pub fn ffi_mix(a: i64, b: i64) -> i64 {
    a.wrapping_mul(31).wrapping_add(b).rem_euclid(1000)
}

pub fn ffi_odd(n: i64) -> bool {
    n % 2 != 0
}

pub fn ffi_scale(x: f64, k: i64) -> f64 {
    x * k as f64 / 8.0
}

pub fn ffi_shout(s: String, n: i64) -> String {
    format!("{}{}", s.to_uppercase(), "!".repeat(n.rem_euclid(4) as usize))
}

pub fn ffi_total(xs: Vec<i64>) -> i64 {
    xs.iter()
        .fold(0i64, |a, x| a.wrapping_add(*x))
        .rem_euclid(1000)
}

pub fn ffi_flip(p: Pt) -> Pt {
    Pt { x: p.y, y: p.x }
}

pub fn ffi_classify(n: i64) -> Msg {
    match n.rem_euclid(3) {
        0 => Msg::Num(n.rem_euclid(1000)),
        1 => Msg::Pair(n.rem_euclid(1000), n.rem_euclid(7)),
        _ => Msg::Empty,
    }
}

pub fn ffi_weight(m: Msg) -> i64 {
    match m {
        Msg::Num(n) => n,
        Msg::Pair(a, b) => a.wrapping_mul(2).wrapping_add(b).rem_euclid(1000),
        Msg::Empty => 1,
    }
}

pub fn ffi_div(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        Err(format!("{a} / 0"))
    } else {
        Ok(a.wrapping_div(b))
    }
}

pub fn ffi_lookup(n: i64) -> Option<String> {
    (n % 2 == 0).then(|| format!("k{n}"))
}
