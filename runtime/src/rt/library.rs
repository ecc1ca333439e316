//! The `#[builtin]` functions of the standard library's conversions and text, sorting and
//! index operations (`float::`, `string::trim` … `string::to_float`, `list::sort`,
//! `list::set/insert/remove`).
//!
//! The value-independent part (on `&str`, `f64` and indexes, with the fault texts) is shared:
//! the reference interpreter calls these same functions, so every back end computes the same
//! result and stops with the same message. The `Val` wrappers below are what native code calls.

use super::list::{List, View as ListView};
use super::val::{Fault, Val, to_display};

/// `float::to_int`: truncation toward zero; NaN and values outside `Int` are faults.
pub fn float_to_int(x: f64) -> Result<i64, Fault> {
    // 2^63 is exact as an f64; every truncated value in [-2^63, 2^63) fits an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let t = x.trunc();
    if x.is_nan() {
        Err("float::to_int of NaN".into())
    } else if (-LIMIT..LIMIT).contains(&t) {
        Ok(t as i64)
    } else {
        Err(format!(
            "float::to_int of {}: out of the range of Int",
            to_display(&Val::Float(x))
        ))
    }
}

/// `string::slice`: characters `start..end`, both clamped to the string.
pub fn str_slice(s: &str, start: i64, end: i64) -> String {
    let n = s.chars().count();
    let clamp = |i: i64| usize::try_from(i.max(0)).unwrap_or(usize::MAX).min(n);
    let (a, b) = (clamp(start), clamp(end));
    if a >= b {
        return String::new();
    }
    s.chars().skip(a).take(b - a).collect()
}

/// `string::find`: the character index of the first occurrence of `needle`.
pub fn str_find(s: &str, needle: &str) -> Option<i64> {
    s.find(needle).map(|byte| s[..byte].chars().count() as i64)
}

/// `string::to_float`: the decimal number written in `s` (Rust's `f64` syntax: optional sign,
/// digits with an optional fraction and exponent, `inf`, `infinity`, `NaN`), or None.
pub fn str_to_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// The position that `list::set`/`remove` (`at_end` false) or `list::insert` (`at_end` true:
/// the length itself is allowed) address, or the fault naming the operation.
pub fn list_index(op: &str, i: i64, len: usize, at_end: bool) -> Result<usize, Fault> {
    let limit = if at_end { len + 1 } else { len };
    match usize::try_from(i) {
        Ok(k) if k < limit => Ok(k),
        _ => Err(format!(
            "list::{op}: index {i} is out of range for a list of length {len}"
        )),
    }
}

fn float(v: &Val) -> Result<f64, Fault> {
    match v {
        Val::Float(x) => Ok(*x),
        other => Err(format!("expected a Float, found {}", to_display(other))),
    }
}
fn int(v: &Val) -> Result<i64, Fault> {
    match v {
        Val::Int(i) => Ok(*i),
        other => Err(format!("expected an Int, found {}", to_display(other))),
    }
}
fn text(v: &Val) -> Result<&str, Fault> {
    match v {
        Val::Str(s) => Ok(s),
        other => Err(format!("expected a String, found {}", to_display(other))),
    }
}
fn list(v: Val) -> Result<List, Fault> {
    match v {
        Val::List(l) => Ok(l),
        other => Err(format!("expected a List, found {}", to_display(&other))),
    }
}

pub fn float_from_int(x: &Val) -> Result<Val, Fault> {
    Ok(Val::Float(int(x)? as f64))
}
pub fn float_to_int_v(x: &Val) -> Result<Val, Fault> {
    float_to_int(float(x)?).map(Val::Int)
}
pub fn float_sqrt(x: &Val) -> Result<Val, Fault> {
    Ok(Val::Float(float(x)?.sqrt()))
}
pub fn float_floor(x: &Val) -> Result<Val, Fault> {
    Ok(Val::Float(float(x)?.floor()))
}
pub fn string_trim(s: &Val) -> Result<Val, Fault> {
    Ok(Val::str(text(s)?.trim()))
}
pub fn string_replace(s: &Val, from: &Val, to: &Val) -> Result<Val, Fault> {
    Ok(Val::str(text(s)?.replace(text(from)?, text(to)?)))
}
pub fn string_slice(s: &Val, start: &Val, end: &Val) -> Result<Val, Fault> {
    Ok(Val::str(str_slice(text(s)?, int(start)?, int(end)?)))
}
pub fn string_find(s: &Val, needle: &Val) -> Result<Val, Fault> {
    Ok(match str_find(text(s)?, text(needle)?) {
        Some(i) => Val::some(Val::Int(i)),
        None => Val::none(),
    })
}
pub fn string_to_upper(s: &Val) -> Result<Val, Fault> {
    Ok(Val::str(text(s)?.to_uppercase()))
}
pub fn string_to_lower(s: &Val) -> Result<Val, Fault> {
    Ok(Val::str(text(s)?.to_lowercase()))
}
pub fn string_to_float(s: &Val) -> Result<Val, Fault> {
    Ok(match str_to_float(text(s)?) {
        Some(x) => Val::some(Val::Float(x)),
        None => Val::none(),
    })
}

/// `list::sum` of Ints, with the fault text of `+`.
pub fn int_sum(xs: impl IntoIterator<Item = i64>) -> Result<i64, Fault> {
    xs.into_iter()
        .try_fold(0i64, |a, x| a.checked_add(x))
        .ok_or_else(|| "integer overflow".to_string())
}

/// `list::sum`.
pub fn list_sum(l: Val) -> Result<Val, Fault> {
    let l = list(l)?;
    let s = match l.view() {
        ListView::Ints(xs) => int_sum(xs.iter().copied())?,
        ListView::Vals(xs) => int_sum(xs.iter().map(int).collect::<Result<Vec<_>, _>>()?)?,
    };
    Ok(Val::Int(s))
}

/// `list::sort`: ascending by the order of `<` (stable).
pub fn list_sort(l: Val) -> Result<Val, Fault> {
    let l = list(l)?;
    let sorted = match l.view() {
        ListView::Ints(xs) => {
            let mut v = xs.to_vec();
            v.sort();
            List::from_ints(v)
        }
        ListView::Vals(_) => {
            let mut v = l.into_vals();
            v.sort();
            List::from_vals(v)
        }
    };
    Ok(Val::List(sorted))
}

/// The list, with `k`, the position `op` addresses (the callers edit it: in place when it is
/// not shared, else on a copy).
fn own(op: &str, l: Val, i: &Val, at_end: bool) -> Result<(List, usize), Fault> {
    let l = list(l)?;
    let k = list_index(op, int(i)?, l.len(), at_end)?;
    Ok((l, k))
}

/// `list::set`: element `i` replaced by `x` (in place when the list is not shared).
pub fn list_set(l: Val, i: &Val, x: Val) -> Result<Val, Fault> {
    let (mut l, k) = own("set", l, i, false)?;
    l.set_at(k, x);
    Ok(Val::List(l))
}

/// `list::insert`: `x` placed before element `i` (at the end when `i` is the length).
pub fn list_insert(l: Val, i: &Val, x: Val) -> Result<Val, Fault> {
    let (mut l, k) = own("insert", l, i, true)?;
    l.insert_at(k, x);
    Ok(Val::List(l))
}

/// `list::remove`: the list without element `i`.
pub fn list_remove(l: Val, i: &Val) -> Result<Val, Fault> {
    let (mut l, k) = own("remove", l, i, false)?;
    l.remove_at(k);
    Ok(Val::List(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_characters_and_clamps() {
        assert_eq!(str_slice("héllo", 1, 3), "él");
        assert_eq!(str_slice("héllo", -5, 99), "héllo");
        assert_eq!(str_slice("héllo", 4, 2), "");
        assert_eq!(str_find("aéb", "b"), Some(2));
        assert_eq!(str_find("aéb", "z"), None);
        assert_eq!(str_find("abc", ""), Some(0));
    }

    #[test]
    fn to_int_truncates_and_faults() {
        assert_eq!(float_to_int(-2.9), Ok(-2));
        assert_eq!(float_to_int(-(2f64.powi(63))), Ok(i64::MIN));
        assert!(float_to_int(2f64.powi(63)).is_err());
        assert_eq!(float_to_int(f64::NAN), Err("float::to_int of NaN".into()));
        assert!(float_to_int(f64::INFINITY).is_err());
    }

    /// Edits by index agree with `Vec`'s, in both forms of a list, shared or not, and with a
    /// dropped prefix.
    #[test]
    fn edits_by_index_match_vec() {
        let show = |v: &Val| to_display(v);
        for start in [vec![1, 2, 3, 4], vec![], vec![7]] {
            for prefix in [0usize, 1] {
                let mut model: Vec<Val> = start.iter().map(|x| Val::Int(*x)).collect();
                let mut l = List::from_ints(start.clone());
                l.drop_front(prefix);
                model.drain(..prefix.min(model.len()));
                let mut v = Val::List(l);
                let keep = v.clone(); // a second reference: the first edit must copy
                let ops: [(&str, i64, Val); 6] = [
                    ("insert", 0, Val::Int(9)),
                    ("set", 0, Val::str("s")),
                    ("insert", 1, Val::Int(5)),
                    ("remove", 0, Val::Unit),
                    ("insert", 2, Val::Float(0.5)),
                    ("set", 1, Val::Int(-1)),
                ];
                for (op, i, x) in ops {
                    let len = model.len();
                    let r = match op {
                        "set" => list_set(v.clone(), &Val::Int(i), x.clone()),
                        "insert" => list_insert(v.clone(), &Val::Int(i), x.clone()),
                        _ => list_remove(v.clone(), &Val::Int(i)),
                    };
                    let ok = list_index(op, i, len, op == "insert");
                    match (r, ok) {
                        (Ok(nv), Ok(k)) => {
                            match op {
                                "set" => model[k] = x,
                                "insert" => model.insert(k, x),
                                _ => {
                                    model.remove(k);
                                }
                            }
                            v = nv;
                        }
                        (Err(a), Err(b)) => assert_eq!(a, b),
                        (r, ok) => panic!("{op} {i}: {r:?} vs {ok:?}"),
                    }
                    assert_eq!(show(&v), show(&Val::list(model.clone())), "{op} {i}");
                }
                let kept: Vec<Val> = start.iter().skip(prefix).map(|x| Val::Int(*x)).collect();
                assert_eq!(
                    show(&keep),
                    show(&Val::list(kept)),
                    "the shared copy is unchanged"
                );
            }
        }
    }

    #[test]
    fn index_ranges() {
        assert_eq!(list_index("insert", 3, 3, true), Ok(3));
        assert!(list_index("set", 3, 3, false).is_err());
        assert_eq!(
            list_index("remove", -1, 2, false),
            Err("list::remove: index -1 is out of range for a list of length 2".into())
        );
    }
}
