//! The bytes of a value message, as chor's runtime writes them (`runtime/src/codec.rs`):
//! `VERSION 0x00 value`, each value a tag and its payload, integers zigzag LEB128.

use crate::Value;

const VERSION: u8 = 1;
const MSG_VALUE: u8 = 0;
const MAX_DEPTH: usize = 512;

/// The message bytes carrying `v`.
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = vec![VERSION, MSG_VALUE];
    value(v, &mut out);
    out
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn string(s: &str, out: &mut Vec<u8>) {
    varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unit => out.push(0),
        Value::Bool(b) => out.push(if *b { 2 } else { 1 }),
        Value::Int(i) => {
            out.push(3);
            varint(((i << 1) ^ (i >> 63)) as u64, out);
        }
        Value::Float(x) => {
            out.push(4);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(5);
            string(s, out);
        }
        Value::Tuple(xs) | Value::List(xs) => {
            out.push(if matches!(v, Value::Tuple(_)) { 6 } else { 7 });
            varint(xs.len() as u64, out);
            xs.iter().for_each(|x| value(x, out));
        }
        Value::Map(es) => {
            out.push(8);
            varint(es.len() as u64, out);
            for (k, x) in es {
                value(k, out);
                value(x, out);
            }
        }
        Value::Struct { name, fields } | Value::Variant { name, fields } => {
            out.push(if matches!(v, Value::Struct { .. }) {
                9
            } else {
                10
            });
            string(name, out);
            varint(fields.len() as u64, out);
            fields.iter().for_each(|x| value(x, out));
        }
    }
}

/// The value of a message; Err says what is malformed.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    match bytes {
        [VERSION, MSG_VALUE, rest @ ..] => {
            let mut r = Reader { b: rest, at: 0 };
            let v = r.value(0)?;
            if r.at != rest.len() {
                return Err("trailing bytes after the value".into());
            }
            Ok(v)
        }
        _ => Err("not a value message of this chor version".into()),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let x = *self.b.get(self.at).ok_or("unexpected end of the value")?;
        self.at += 1;
        Ok(x)
    }
    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let x = self.byte()?;
            n |= u64::from(x & 0x7f) << shift;
            if x < 0x80 {
                return Ok(n);
            }
        }
        Err("varint too long".into())
    }
    /// A count, at most the bytes left (each item takes one byte at least).
    fn count(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.b.len() - self.at)
            .ok_or_else(|| "a count larger than the value".to_string())
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.count()?;
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        String::from_utf8(s.to_vec()).map_err(|_| "a string that is not UTF-8".to_string())
    }
    fn values(&mut self, depth: usize) -> Result<Vec<Value>, String> {
        let n = self.count()?;
        (0..n).map(|_| self.value(depth + 1)).collect()
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("a value nested too deeply".into());
        }
        Ok(match self.byte()? {
            0 => Value::Unit,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => {
                let n = self.varint()?;
                Value::Int(((n >> 1) as i64) ^ -((n & 1) as i64))
            }
            4 => {
                let end = self.at + 8;
                let b = self
                    .b
                    .get(self.at..end)
                    .ok_or("unexpected end of a Float")?;
                self.at = end;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Float(f64::from_bits(u64::from_le_bytes(a)))
            }
            5 => Value::Str(self.string()?),
            6 => Value::Tuple(self.values(depth)?),
            7 => Value::List(self.values(depth)?),
            8 => {
                let n = self.count()?;
                let mut es = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    es.push((k, self.value(depth + 1)?));
                }
                Value::Map(es)
            }
            t @ (9 | 10) => {
                let name = self.string()?;
                let fields = self.values(depth)?;
                if t == 9 {
                    Value::Struct { name, fields }
                } else {
                    Value::Variant { name, fields }
                }
            }
            t => return Err(format!("unknown value tag {t:#x}")),
        })
    }
}
