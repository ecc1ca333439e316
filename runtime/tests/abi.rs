//! The C ABI as generated code uses it: a session from `--config PATH`, encoded messages
//! sent and received through raw pointers, and a clean close. The peer is a Rust session.
#![allow(unsafe_code)]

mod common;

use std::ffi::{CString, c_char};
use std::thread;

use chor_runtime::abi::{chor_close, chor_recv, chor_send, chor_session_new};
use chor_runtime::codec::{decode, encode};
use chor_runtime::{DeployConfig, Message, Session, Value};
use common::*;

#[test]
fn a_role_runs_through_the_c_abi() {
    let dir = scratch_dir();
    let (a, b) = (free_addr(), free_addr());
    let path = dir.join("deploy.toml");
    std::fs::write(
        &path,
        format!(
            "[roles]\nBuyer = \"{a}\"\nSeller = \"{b}\"\n[runtime]\nconnect_timeout_ms = 5000\n"
        ),
    )
    .expect("write config");
    let cfg = DeployConfig::from_file(&path).expect("config");
    let seller = thread::spawn(move || {
        let s = Session::connect_tcp("Seller", &cfg, FP, locs()).expect("seller");
        let title = s.recv_value("Buyer", 1).expect("title");
        assert_eq!(title, Value::Str("TAPL".into()));
        s.send("Buyer", Message::Value(Value::Int(87)), 2)
            .expect("price");
        assert_eq!(
            s.recv_label("Buyer", &["Buy", "Quit"], 3).expect("label"),
            "Buy"
        );
        s.close().expect("close");
    });

    let args: Vec<CString> = ["Buyer", "--config", path.to_str().expect("utf-8 path")]
        .iter()
        .map(|a| CString::new(*a).expect("no NUL"))
        .collect();
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    let role = CString::new("Buyer").expect("no NUL");
    let loc_strings: Vec<CString> = (0..4)
        .map(|i| CString::new(format!("bookseller.chor:{i}")).expect("no NUL"))
        .collect();
    let loc_ptrs: Vec<*const c_char> = loc_strings.iter().map(|l| l.as_ptr()).collect();
    let seller_name = CString::new("Seller").expect("no NUL");

    // SAFETY: every pointer is valid for the duration of the calls, as the ABI requires.
    unsafe {
        let s = chor_session_new(
            argv.len() as i32,
            argv.as_ptr(),
            role.as_ptr(),
            FP.0.as_ptr(),
            loc_ptrs.as_ptr(),
            loc_ptrs.len(),
        );
        assert!(!s.is_null());
        let title = encode(&Message::Value(Value::Str("TAPL".into())));
        assert_eq!(
            chor_send(s, seller_name.as_ptr(), title.as_ptr(), title.len(), 1),
            0
        );
        let mut ptr: *const u8 = std::ptr::null();
        let mut len = 0usize;
        assert_eq!(chor_recv(s, seller_name.as_ptr(), 2, &mut ptr, &mut len), 0);
        let got = decode(std::slice::from_raw_parts(ptr, len)).expect("well formed");
        assert_eq!(got, Message::Value(Value::Int(87)));
        let buy = encode(&Message::Label("Buy".into()));
        assert_eq!(
            chor_send(s, seller_name.as_ptr(), buy.as_ptr(), buy.len(), 3),
            0
        );
        assert_eq!(chor_close(s), 0);
    }
    seller.join().expect("seller ok");
    let _ = std::fs::remove_dir_all(dir);
}
