//! Peer benchmark: the same distributed programs written in chor (compiled natively, one
//! process per role) and in ChoRus 0.5 (the Rust choreography library), run side by side and
//! printed as ratios from one run.
//!
//! Workloads (same algorithm, data and messages on both sides):
//! - start-up: three roles, `A.x -> B.x; B.x -> C.x; C.print(x)` (what a program pays before
//!   its first message arrives, and to end);
//! - distributed merge sort of 200,000 Ints generated at Alice, three roles rotating as in
//!   examples/merge_sort.chor, lists of at most 1,000 elements sorted locally; the same with
//!   the cutoff at N (one local sort, the control);
//! - a replicated key-value store as examples/kv_store.chor, 20,000 requests (two thirds
//!   `Put`, one third `Get`), without the per-request printing.
//!
//! ChoRus runs its three roles as threads of one child process, over its in-process
//! `LocalTransport`, over plain TCP (a `Transport` written here: one loopback connection per
//! pair of roles, `TCP_NODELAY`, a `u32` length then ChoRus's serde_json bytes, one `write`
//! per message) and, with `--http`, over its `HttpTransport`. Every contender is timed from
//! spawning its processes to their exit, the median of several interleaved runs, once with
//! every process pinned to one CPU (affinity set as `taskset -c 0` does, inherited by the
//! children) and once unpinned. The outputs of both sides are compared.
//!
//! Start-up is measured the same way on both sides: the clock starts before the first
//! process is spawned (chor: the three role executables built beforehand by `chor build`,
//! started directly as `chor run` starts them — each role's address bound first and the
//! socket handed to the role, listeners first — without `chor run`'s build; ChoRus:
//! this benchmark's own executable as one child running the three roles as threads); "until
//! the message arrived" stops it at the first byte on any child's stdout (the program prints
//! once its second message is delivered), the first row at the exit of the last process.
//! Every workload has a row with the user and system CPU time of the child processes
//! (`getrusage`), which moves less than wall time with the load of a shared machine. The
//! floor printed above each table is what spawning and reaping processes that do nothing
//! costs: three for chor, one for ChoRus, which is structural (chor runs a process per role).
//!
//! Needs the `chor` compiler: `CHOR=path/to/chor`, or `cargo build -p chor` at the workspace
//! root first. Run with `cargo run --release --bin peers [-- --http] [--runs N]`;
//! `CHOR_PEERS_ONLY=startup` (or `sort`, `kv`) runs only the matching workloads.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use chor_runtime::config::DeployConfig;
use chor_runtime::startup::spawn_with_listener;
use chorus_lib::core::{
    ChoreoOp, Choreography, ChoreographyLocation, Located, LocationSet, Portable, Projector,
    Transport,
};
use chorus_lib::transport::http::{HttpTransport, HttpTransportConfigBuilder};
use chorus_lib::transport::local::{LocalTransport, LocalTransportChannelBuilder};
use serde::{Deserialize, Serialize};

const SORT_N: usize = 200_000;
const SORT_CUTOFF: usize = 1_000;
const KV_REQUESTS: usize = 20_000;

// ------------------------------------------------------------------------------ the algorithms

/// The data of the sort: an LCG, as the chor program's `gen`.
fn gen_list(n: usize) -> Vec<i64> {
    let mut seed = 42i64;
    let mut xs = Vec::with_capacity(n);
    for _ in 0..n {
        xs.push(seed % 1_000_000);
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    }
    xs
}

fn merge(xs: &[i64], ys: &[i64]) -> Vec<i64> {
    let (mut i, mut j) = (0, 0);
    let mut acc = Vec::new();
    while i < xs.len() && j < ys.len() {
        if xs[i] <= ys[j] {
            acc.push(xs[i]);
            i += 1
        } else {
            acc.push(ys[j]);
            j += 1
        }
    }
    acc.extend_from_slice(&xs[i..]);
    acc.extend_from_slice(&ys[j..]);
    acc
}

fn sort(xs: Vec<i64>) -> Vec<i64> {
    let n = xs.len();
    if n <= 1 {
        return xs;
    }
    let left = sort(xs[..n / 2].to_vec());
    let right = sort(xs[n / 2..].to_vec());
    merge(&left, &right)
}

#[derive(Serialize, Deserialize, Clone, Debug)]
enum Request {
    Put(String, String),
    Get(String),
    Stop,
}

/// What the client tells both servers (chor's selection label).
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
enum Label {
    Put,
    Get,
    Stop,
}

fn requests(n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            let k = format!("k{}", (i * 7) % 1000);
            if i % 3 == 2 {
                Request::Get(k)
            } else {
                Request::Put(k, i.to_string())
            }
        })
        .collect()
}

const CHOR_LIB: &str = r#"
fn gen(n: Int, seed: Int, acc: List<Int>) -> List<Int> {
    if n == 0 { acc } else { gen(n - 1, (seed * 1103515245 + 12345) % 2147483648, list::push(acc, seed % 1000000)) }
}

fn append_from(xs: List<Int>, i: Int, acc: List<Int>) -> List<Int> {
    match list::get(xs, i) {
        None => acc,
        Some(x) => append_from(xs, i + 1, list::push(acc, x)),
    }
}

fn merge(xs: List<Int>, i: Int, ys: List<Int>, j: Int, acc: List<Int>) -> List<Int> {
    match list::get(xs, i) {
        None => append_from(ys, j, acc),
        Some(x) => match list::get(ys, j) {
            None => append_from(xs, i, acc),
            Some(y) => if x <= y {
                merge(xs, i + 1, ys, j, list::push(acc, x))
            } else {
                merge(xs, i, ys, j + 1, list::push(acc, y))
            },
        },
    }
}

fn sort(xs: List<Int>) -> List<Int> {
    let n = list::len(xs);
    if n <= 1 {
        xs
    } else {
        let left = sort(list::take(xs, n / 2));
        let right = sort(list::drop(xs, n / 2));
        merge(left, 0, right, 0, [])
    }
}
"#;

fn chor_sort(n: usize, cutoff: usize) -> String {
    format!(
        r#"{CHOR_LIB}
choreography Sort(A, B, C)(xs: List<Int>@A) -> List<Int>@A {{
    let A.n = list::len(xs);
    if A.n <= {cutoff} {{
        A -> B, C[Done];
        let A.s = sort(xs);
        return A.s;
    }} else {{
        A -> B, C[Split];
        let A.left = list::take(xs, n / 2);
        let A.right = list::drop(xs, n / 2);
        A.left -> B.left;
        A.right -> C.right;
        let B.sorted = Sort(B, C, A)(B.left);
        let C.sorted = Sort(C, A, B)(C.right);
        B.sorted -> A.sorted_left;
        C.sorted -> A.sorted_right;
        let A.merged = merge(sorted_left, 0, sorted_right, 0, []);
        return A.merged;
    }}
}}

choreography main(Alice, Bob, Carol) {{
    let Alice.xs = gen({n}, 42, []);
    let Alice.sorted = Sort(Alice, Bob, Carol)(Alice.xs);
    Alice.print(list::len(sorted));
    Alice.print(list::get(sorted, 0));
    Alice.print(list::get(sorted, {last}));
}}
"#,
        last = n - 1
    )
}

fn chor_kv(n: usize) -> String {
    format!(
        r#"
enum Request {{ Put(String, String), Get(String), Stop }}

fn requests(i: Int, n: Int, acc: List<Request>) -> List<Request> {{
    if i == n {{
        acc
    }} else {{
        let k = "k" ++ to_string((i * 7) % 1000);
        if i % 3 == 2 {{
            requests(i + 1, n, list::push(acc, Get(k)))
        }} else {{
            requests(i + 1, n, list::push(acc, Put(k, to_string(i))))
        }}
    }}
}}

choreography Serve(Client, Primary, Backup)(
    requests: List<Request>@Client,
    i: Int@Client,
    acks: Int@Client,
    hits: Int@Client,
    store: Map<String, String>@Primary,
    replica: Map<String, String>@Backup,
) {{
    let Client.next = option::unwrap_or(list::get(requests, i), Stop);
    let Client.i = i + 1;
    match Client.next {{
        Put(key, value) => {{
            Client -> Primary, Backup[Put];
            let Client.entry = (key, value);
            Client.entry -> Primary.entry;
            Primary.entry -> Backup.entry;
            let Backup.replica = map::insert(replica, entry.0, entry.1);
            Backup.entry.0 -> Primary.ack;
            let Primary.store = map::insert(store, entry.0, entry.1);
            Primary.ack -> Client.ack;
            let Client.acks = acks + 1;
            Serve(Client, Primary, Backup)(Client.requests, Client.i, Client.acks, Client.hits, Primary.store, Backup.replica);
        }},
        Get(key) => {{
            Client -> Primary, Backup[Get];
            Client.key -> Primary.key;
            let Primary.found = map::get(store, key);
            Primary.found -> Client.found;
            let Client.hits = match found {{ Some(_) => hits + 1, None => hits }};
            Serve(Client, Primary, Backup)(Client.requests, Client.i, Client.acks, Client.hits, Primary.store, Backup.replica);
        }},
        Stop => {{
            Client -> Primary, Backup[Stop];
            Client.print("acks " ++ to_string(acks) ++ " hits " ++ to_string(hits));
        }},
    }}
}}

choreography main(Client, Primary, Backup) {{
    let Client.requests = requests(0, {n}, []);
    let Client.i = 0;
    let Client.acks = 0;
    let Client.hits = 0;
    let Primary.store: Map<String, String> = map::new();
    let Backup.replica: Map<String, String> = map::new();
    Serve(Client, Primary, Backup)(Client.requests, Client.i, Client.acks, Client.hits, Primary.store, Backup.replica);
}}
"#
    )
}

const CHOR_STARTUP: &str = r#"
choreography main(Alice, Bob, Carol) {
    let Alice.x = 1;
    Alice.x -> Bob.x;
    Bob.x -> Carol.x;
    Carol.print(x);
}
"#;

// ------------------------------------------------------------------------------ ChoRus

#[derive(ChoreographyLocation)]
struct Alice;
#[derive(ChoreographyLocation)]
struct Bob;
#[derive(ChoreographyLocation)]
struct Carol;

type Roles = LocationSet!(Alice, Bob, Carol);

struct Startup;

impl Choreography for Startup {
    type L = Roles;
    fn run(self, op: &impl ChoreoOp<Self::L>) {
        let x = op.locally(Alice, |_| 1i64);
        let x = op.comm(Alice, Bob, &x);
        let x = op.comm(Bob, Carol, &x);
        op.locally(Carol, |un| println!("{}", un.unwrap(&x)));
    }
}

struct SortMain {
    n: usize,
    cutoff: usize,
}

impl Choreography for SortMain {
    type L = Roles;
    fn run(self, op: &impl ChoreoOp<Self::L>) {
        let xs = op.locally(Alice, |_| gen_list(self.n));
        let sorted = op.call(Sort::<Alice, Bob, Carol>::new(xs, self.cutoff));
        op.locally(Alice, |un| {
            let s = un.unwrap(&sorted);
            println!("{}\n{:?}\n{:?}", s.len(), s.first(), s.last());
        });
    }
}

/// `Sort(A, B, C)` of the chor program, after ChoRus's own mergesort example.
struct Sort<A: ChoreographyLocation, B: ChoreographyLocation, C: ChoreographyLocation> {
    xs: Located<Vec<i64>, A>,
    cutoff: usize,
    roles: PhantomData<(B, C)>,
}

impl<A: ChoreographyLocation, B: ChoreographyLocation, C: ChoreographyLocation> Sort<A, B, C> {
    fn new(xs: Located<Vec<i64>, A>, cutoff: usize) -> Self {
        Sort {
            xs,
            cutoff,
            roles: PhantomData,
        }
    }
}

impl<A: ChoreographyLocation, B: ChoreographyLocation, C: ChoreographyLocation>
    Choreography<Located<Vec<i64>, A>> for Sort<A, B, C>
{
    type L = LocationSet!(A, B, C);
    fn run(self, op: &impl ChoreoOp<Self::L>) -> Located<Vec<i64>, A> {
        let (a, b, c) = (A::new(), B::new(), C::new());
        let cutoff = self.cutoff;
        // The choice, to both helpers (chor's `A -> B, C[Done]` / `[Split]`).
        let small = op.broadcast(a, op.locally(a, |un| un.unwrap(&self.xs).len() <= cutoff));
        if small {
            return op.locally(a, |un| sort(un.unwrap(&self.xs).clone()));
        }
        let left = op.locally(a, |un| {
            let xs = un.unwrap(&self.xs);
            xs[..xs.len() / 2].to_vec()
        });
        let right = op.locally(a, |un| {
            let xs = un.unwrap(&self.xs);
            xs[xs.len() / 2..].to_vec()
        });
        let left = op.comm(a, b, &left);
        let right = op.comm(a, c, &right);
        let sorted_b = op.call(Sort::<B, C, A>::new(left, cutoff));
        let sorted_c = op.call(Sort::<C, A, B>::new(right, cutoff));
        let sorted_left = op.comm(b, a, &sorted_b);
        let sorted_right = op.comm(c, a, &sorted_c);
        op.locally(a, |un| {
            merge(un.unwrap(&sorted_left), un.unwrap(&sorted_right))
        })
    }
}

/// The key-value store: Alice is the client, Bob the primary, Carol the backup.
struct Kv {
    n: usize,
}

impl Choreography for Kv {
    type L = Roles;
    fn run(self, op: &impl ChoreoOp<Self::L>) {
        let (client, primary, backup) = (Alice, Bob, Carol);
        let reqs = op.locally(client, |_| requests(self.n));
        let store = op.locally(primary, |_| Mutex::new(BTreeMap::<String, String>::new()));
        let replica = op.locally(backup, |_| Mutex::new(BTreeMap::<String, String>::new()));
        let counts = op.locally(client, |_| Mutex::new((0usize, 0usize)));
        let mut i = 0;
        loop {
            let next = op.locally(client, |un| {
                un.unwrap(&reqs).get(i).cloned().unwrap_or(Request::Stop)
            });
            i += 1;
            let label = op.broadcast(
                client,
                op.locally(client, |un| match un.unwrap(&next) {
                    Request::Put(..) => Label::Put,
                    Request::Get(_) => Label::Get,
                    Request::Stop => Label::Stop,
                }),
            );
            match label {
                Label::Put => {
                    let entry = op.locally(client, |un| match un.unwrap(&next) {
                        Request::Put(k, v) => (k.clone(), v.clone()),
                        _ => unreachable!(),
                    });
                    let entry_p = op.comm(client, primary, &entry);
                    let entry_b = op.comm(primary, backup, &entry_p);
                    let ack = op.locally(backup, |un| {
                        let (k, v) = un.unwrap(&entry_b);
                        let mut m = un.unwrap(&replica).lock().expect("replica");
                        m.insert(k.clone(), v.clone());
                        k.clone()
                    });
                    let ack_p = op.comm(backup, primary, &ack);
                    op.locally(primary, |un| {
                        let (k, v) = un.unwrap(&entry_p);
                        let mut m = un.unwrap(&store).lock().expect("store");
                        m.insert(k.clone(), v.clone());
                    });
                    let _ack_c = op.comm(primary, client, &ack_p);
                    op.locally(client, |un| {
                        un.unwrap(&counts).lock().expect("counts").0 += 1
                    });
                }
                Label::Get => {
                    let key = op.locally(client, |un| match un.unwrap(&next) {
                        Request::Get(k) => k.clone(),
                        _ => unreachable!(),
                    });
                    let key = op.comm(client, primary, &key);
                    let found = op.locally(primary, |un| {
                        let m = un.unwrap(&store).lock().expect("store");
                        m.get(un.unwrap(&key)).cloned()
                    });
                    let found = op.comm(primary, client, &found);
                    op.locally(client, |un| {
                        if un.unwrap(&found).is_some() {
                            un.unwrap(&counts).lock().expect("counts").1 += 1;
                        }
                    });
                }
                Label::Stop => {
                    op.locally(client, |un| {
                        let (acks, hits) = *un.unwrap(&counts).lock().expect("counts");
                        println!("acks {acks} hits {hits}");
                    });
                    return;
                }
            }
        }
    }
}

/// ChoRus over plain TCP: one loopback connection per pair of roles, a `u32` length and the
/// serde_json bytes ChoRus's own transports send, one `write` per message.
struct TcpTransport<L: LocationSet, Target> {
    locations: Vec<&'static str>,
    out: BTreeMap<&'static str, Mutex<BufWriter<TcpStream>>>,
    inp: BTreeMap<&'static str, Mutex<BufReader<TcpStream>>>,
    marker: PhantomData<(L, Target)>,
}

impl<L: LocationSet, Target: ChoreographyLocation> Transport<L, Target>
    for TcpTransport<L, Target>
{
    fn locations(&self) -> Vec<&'static str> {
        self.locations.clone()
    }

    fn send<V: Portable>(&self, _from: &str, to: &str, data: &V) {
        let bytes = serde_json::to_vec(data).expect("serializable");
        let mut w = self.out[to].lock().expect("writer");
        w.write_all(&(bytes.len() as u32).to_le_bytes())
            .and_then(|()| w.write_all(&bytes))
            .and_then(|()| w.flush())
            .expect("send");
    }

    fn receive<V: Portable>(&self, from: &str, _at: &str) -> V {
        let mut r = self.inp[from].lock().expect("reader");
        let mut len = [0u8; 4];
        r.read_exact(&mut len).expect("frame length");
        let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
        r.read_exact(&mut buf).expect("frame");
        serde_json::from_slice(&buf).expect("well-formed")
    }
}

/// Connects every pair of the three roles over loopback; one transport per role.
fn tcp_transports() -> (
    TcpTransport<Roles, Alice>,
    TcpTransport<Roles, Bob>,
    TcpTransport<Roles, Carol>,
) {
    let names = [Alice::name(), Bob::name(), Carol::name()];
    let mut ends: Vec<Vec<(&'static str, TcpStream)>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for i in 0..3 {
        for j in i + 1..3 {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            let a = TcpStream::connect(l.local_addr().expect("address")).expect("connect");
            let (b, _) = l.accept().expect("accept");
            a.set_nodelay(true).expect("nodelay");
            b.set_nodelay(true).expect("nodelay");
            ends[i].push((names[j], a));
            ends[j].push((names[i], b));
        }
    }
    fn make<T>(ends: Vec<(&'static str, TcpStream)>) -> TcpTransport<Roles, T> {
        let mut out = BTreeMap::new();
        let mut inp = BTreeMap::new();
        for (peer, s) in ends {
            let r = s.try_clone().expect("clone");
            out.insert(peer, Mutex::new(BufWriter::with_capacity(1 << 16, s)));
            inp.insert(peer, Mutex::new(BufReader::with_capacity(1 << 16, r)));
        }
        TcpTransport {
            locations: Roles::to_string_list(),
            out,
            inp,
            marker: PhantomData,
        }
    }
    let mut it = ends.into_iter();
    let (a, b, c) = (
        it.next().expect("A"),
        it.next().expect("B"),
        it.next().expect("C"),
    );
    (make(a), make(b), make(c))
}

/// Runs the choreography `$c` as all three roles, each on its own thread, over the
/// transports `$ta`, `$tb`, `$tc` (a macro: ChoRus's location-set proofs are resolved for
/// each concrete transport type).
macro_rules! run3 {
    ($ta:expr, $tb:expr, $tc:expr, $c:expr) => {{
        let (ta, tb, tc) = ($ta, $tb, $tc);
        let hb = thread::spawn(move || Projector::new(Bob, tb).epp_and_run($c));
        let hc = thread::spawn(move || Projector::new(Carol, tc).epp_and_run($c));
        Projector::new(Alice, ta).epp_and_run($c);
        hb.join().expect("Bob");
        hc.join().expect("Carol");
    }};
}

/// ChoRus's HTTP transport of the location `$me`, listening on loopback port `$pm`, with its
/// two peers on theirs.
macro_rules! http_transport {
    ($me:expr, $pm:expr; $o1:expr, $p1:expr; $o2:expr, $p2:expr) => {
        HttpTransport::new(
            HttpTransportConfigBuilder::for_target($me, ("127.0.0.1", $pm))
                .with($o1, ("127.0.0.1", $p1))
                .with($o2, ("127.0.0.1", $p2))
                .build(),
        )
    };
}

/// Runs `$c` over the transport named `$t`.
macro_rules! over {
    ($t:expr, $c:expr) => {{
        match $t {
            "local" => {
                let ch = LocalTransportChannelBuilder::new()
                    .with(Alice)
                    .with(Bob)
                    .with(Carol)
                    .build();
                run3!(
                    LocalTransport::new(Alice, ch.clone()),
                    LocalTransport::new(Bob, ch.clone()),
                    LocalTransport::new(Carol, ch),
                    $c
                );
            }
            "tcp" => {
                let (a, b, c) = tcp_transports();
                run3!(a, b, c, $c);
            }
            _ => {
                let [pa, pb, pc] = free_ports();
                run3!(
                    http_transport!(Alice, pa; Bob, pb; Carol, pc),
                    http_transport!(Bob, pb; Alice, pa; Carol, pc),
                    http_transport!(Carol, pc; Alice, pa; Bob, pb),
                    $c
                );
            }
        }
    }};
}

/// Three distinct free loopback ports (three binds in turn can return one port twice: the
/// ChoRus roles then wait for each other forever).
fn free_ports() -> [u16; 3] {
    let p = chor_runtime::startup::free_ports(3).expect("free ports");
    [p[0], p[1], p[2]]
}

/// Child mode: `peers --chorus-role ROLE PORT_ALICE PORT_BOB PORT_CAROL WORKLOAD`: one role
/// of a ChoRus program over its HTTP transport, in a process of its own, as a deployment of
/// ChoRus on several hosts runs (the like-for-like contender of chor's process per role).
fn chorus_role(role: &str, ports: [u16; 3], workload: &str) {
    let [pa, pb, pc] = ports;
    macro_rules! one {
        ($c:expr) => {{
            match role {
                "Alice" => Projector::new(Alice, http_transport!(Alice, pa; Bob, pb; Carol, pc))
                    .epp_and_run($c),
                "Bob" => Projector::new(Bob, http_transport!(Bob, pb; Alice, pa; Carol, pc))
                    .epp_and_run($c),
                _ => Projector::new(Carol, http_transport!(Carol, pc; Alice, pa; Bob, pb))
                    .epp_and_run($c),
            }
        }};
    }
    match workload {
        "startup" => one!(Startup),
        other => panic!("a process per role is measured for start-up only, not {other}"),
    }
}

/// Child mode: `peers --raw-role ROLE [ADDR]`: one role of the start-up program over plain
/// TCP with nothing else (no framing, handshake, threads or checks), in a process of its own
/// and accepting on the socket handed to it as chor's roles are: the floor of any design with
/// a process per role. Alice dials Bob at ADDR and writes 1; Bob accepts it, reads it, dials
/// Carol at ADDR and writes it on; Carol accepts it, reads it and prints it.
fn raw_role(role: &str, addr: Option<&str>) {
    use std::os::unix::io::FromRawFd;
    let handed = || {
        let fd: i32 = std::env::var(chor_runtime::startup::LISTEN_FD_VAR)
            .expect("a handed listener")
            .parse()
            .expect("a descriptor");
        // SAFETY: the parent handed this process the listening socket under that number, and
        // nothing else in this process owns it.
        #[allow(unsafe_code)]
        unsafe {
            TcpListener::from_raw_fd(fd)
        }
    };
    let receive = || {
        let (mut s, _) = handed().accept().expect("accept");
        let mut b = [0u8; 8];
        s.read_exact(&mut b).expect("read");
        i64::from_le_bytes(b)
    };
    let send = |x: i64| {
        let mut s = TcpStream::connect(addr.expect("an address")).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.write_all(&x.to_le_bytes()).expect("write");
    };
    match role {
        "Alice" => send(1),
        "Bob" => send(receive()),
        _ => println!("{}", receive()),
    }
}

/// Child mode: `peers --chorus TRANSPORT WORKLOAD`.
fn chorus_child(transport: &str, workload: &str) {
    match workload {
        "startup" => over!(transport, Startup),
        "sort" => over!(
            transport,
            SortMain {
                n: SORT_N,
                cutoff: SORT_CUTOFF,
            }
        ),
        "sort-local" => over!(
            transport,
            SortMain {
                n: SORT_N,
                cutoff: SORT_N,
            }
        ),
        _ => over!(transport, Kv { n: KV_REQUESTS }),
    }
}

// ------------------------------------------------------------------------------ the runs

/// Where the `chor` compiler is.
fn chor_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("CHOR") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for profile in ["release", "debug"] {
        let p = root.join("target").join(profile).join("chor");
        if p.exists() {
            return p;
        }
    }
    eprintln!("error: no chor compiler: run `cargo build -p chor` at the root, or set CHOR");
    std::process::exit(2);
}

/// Builds a chor program natively; returns its output directory (role executables and the
/// loopback deploy.toml).
fn build_chor(dir: &Path, name: &str, src: &str) -> PathBuf {
    let file = dir.join(format!("{name}.chor"));
    std::fs::write(&file, src).expect("write the program");
    let out = dir.join(name);
    let o = Command::new(chor_exe())
        .args(["build", "-o"])
        .arg(&out)
        .arg(&file)
        .output()
        .expect("chor runs");
    assert!(
        o.status.success(),
        "chor build {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// One contender: how to start its processes.
enum Run {
    /// Every role executable of a chor build.
    Chor(PathBuf, [&'static str; 3]),
    /// This binary as a ChoRus child.
    Chorus(&'static str),
    /// This binary as three ChoRus children over HTTP, one per role.
    ChorusProcs,
    /// This binary as three children over plain TCP, one per role (`raw_role`).
    RawProcs,
}

/// Runs a contender once; returns the wall time from spawning to the last exit, the time
/// until the first byte of output arrived (the start-up program prints once its last message
/// is delivered), both in ms, and the concatenated output.
fn run_once(run: &Run, workload: &str) -> (f64, f64, f64, String) {
    let cpu_before = children_cpu_ms();
    let t = Instant::now();
    let children: Vec<_> = match run {
        Run::Chor(dir, roles) => {
            // As `chor run` starts them (compiler/driver/src/host.rs): every role's address
            // bound first and its socket handed to the role, then the roles in the reverse
            // order of their names (listeners first); outputs stay in role order.
            let config = dir.join("deploy.toml");
            let deploy = DeployConfig::from_file(&config).expect("deploy.toml");
            let listeners: Vec<TcpListener> = roles
                .iter()
                .map(|r| {
                    TcpListener::bind(deploy.listen_of(r).expect("an address"))
                        .expect("bind a role's address")
                })
                .collect();
            let mut order: Vec<usize> = (0..roles.len()).collect();
            order.sort_by(|&a, &b| roles[b].cmp(roles[a]));
            let mut slots: Vec<_> = roles.iter().map(|_| None).collect();
            for i in order {
                let mut cmd = Command::new(dir.join(roles[i]));
                cmd.arg("--config").arg(&config).stdout(Stdio::piped());
                slots[i] = Some(spawn_with_listener(&mut cmd, &listeners[i]).expect("role starts"));
            }
            drop(listeners);
            slots.into_iter().flatten().collect()
        }
        Run::RawProcs => {
            // Started as chor's roles are: listeners bound first and handed over, Carol first.
            let bob = TcpListener::bind("127.0.0.1:0").expect("bind");
            let carol = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = |l: &TcpListener| l.local_addr().expect("bound").to_string();
            let me = std::env::current_exe().expect("own path");
            let start = |role: &str, to: Option<String>, l: Option<&TcpListener>| {
                let mut cmd = Command::new(&me);
                cmd.arg("--raw-role")
                    .arg(role)
                    .args(to)
                    .stdout(Stdio::piped());
                match l {
                    Some(l) => spawn_with_listener(&mut cmd, l),
                    None => cmd.spawn(),
                }
                .expect("child starts")
            };
            let c = start("Carol", None, Some(&carol));
            let b = start("Bob", Some(addr(&carol)), Some(&bob));
            let a = start("Alice", Some(addr(&bob)), None);
            vec![a, b, c]
        }
        Run::ChorusProcs => {
            let ports = free_ports();
            let mut children: Vec<_> = ["Carol", "Bob", "Alice"]
                .iter()
                .map(|role| {
                    Command::new(std::env::current_exe().expect("own path"))
                        .arg("--chorus-role")
                        .arg(role)
                        .args(ports.map(|p| p.to_string()))
                        .arg(workload)
                        .stdout(Stdio::piped())
                        .spawn()
                        .expect("child starts")
                })
                .collect();
            // Outputs in role order.
            children.reverse();
            children
        }
        Run::Chorus(transport) => vec![
            Command::new(std::env::current_exe().expect("own path"))
                .args(["--chorus", transport, workload])
                .stdout(Stdio::piped())
                .spawn()
                .expect("child starts"),
        ],
    };
    let readers: Vec<_> = children
        .into_iter()
        .map(|mut c| {
            let mut o = c.stdout.take().expect("piped");
            thread::spawn(move || {
                let mut first = None;
                let mut text = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match o.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            first.get_or_insert_with(Instant::now);
                            text.extend_from_slice(&buf[..n]);
                        }
                    }
                }
                let status = c.wait().expect("ends");
                (status, first, text)
            })
        })
        .collect();
    let mut out = String::new();
    let mut first: Option<Instant> = None;
    for r in readers {
        let (status, f, text) = r.join().expect("reader");
        assert!(status.success(), "{workload} failed");
        if let Some(f) = f {
            first = Some(first.map_or(f, |g| g.min(f)));
        }
        out.push_str(&String::from_utf8_lossy(&text));
    }
    let total = t.elapsed().as_secs_f64() * 1e3;
    let first = first.map_or(total, |f| f.duration_since(t).as_secs_f64() * 1e3);
    (total, first, children_cpu_ms() - cpu_before, out)
}

/// User and system CPU time of every child process waited for so far, in ms.
fn children_cpu_ms() -> f64 {
    // SAFETY: a zeroed rusage is a valid value; getrusage only writes it.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(u.ru_utime) + ms(u.ru_stime)
}

fn set_affinity(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read and write it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        let r = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(r, 0, "sched_setaffinity");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--chorus") {
        chorus_child(&args[2], &args[3]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--raw-role") {
        raw_role(&args[2], args.get(3).map(String::as_str));
        return;
    }
    if args.get(1).map(String::as_str) == Some("--chorus-role") {
        let port = |i: usize| args[i].parse::<u16>().expect("a port");
        chorus_role(&args[2], [port(3), port(4), port(5)], &args[6]);
        return;
    }
    let http = args.iter().any(|a| a == "--http");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5);
    // CHOR_PEERS_ONLY=substring runs only the matching workloads (startup, sort, kv).
    let only = std::env::var("CHOR_PEERS_ONLY").unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("chor-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    eprintln!("building the chor programs with {}", chor_exe().display());
    let abc = ["Alice", "Bob", "Carol"];
    let workloads: Vec<(&str, &str, Run)> = vec![
        (
            "start-up of 3 roles",
            "startup",
            Run::Chor(build_chor(&dir, "startup", CHOR_STARTUP), abc),
        ),
        (
            "merge sort 200k, cutoff 1,000",
            "sort",
            Run::Chor(
                build_chor(&dir, "sort", &chor_sort(SORT_N, SORT_CUTOFF)),
                abc,
            ),
        ),
        (
            "merge sort 200k, cutoff N",
            "sort-local",
            Run::Chor(
                build_chor(&dir, "sort_local", &chor_sort(SORT_N, SORT_N)),
                abc,
            ),
        ),
        (
            "key-value store, 20,000 requests",
            "kv",
            Run::Chor(
                build_chor(&dir, "kv", &chor_kv(KV_REQUESTS)),
                ["Client", "Primary", "Backup"],
            ),
        ),
    ];
    let mut transports = vec!["local", "tcp"];
    if http {
        transports.push("http");
    }
    let all: Vec<usize> = (0..thread::available_parallelism().map_or(1, |n| n.get())).collect();
    let pin: usize = std::env::var("CHOR_PIN_CPU")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for (mode, cpus) in [("pinned to CPU", vec![pin]), ("unpinned", all.clone())] {
        set_affinity(&cpus);
        println!();
        if cpus.len() == 1 {
            println!("## every process {mode} {pin}; medians of {runs} runs (ms)");
        } else {
            println!("## {mode}; medians of {runs} runs (ms)");
        }
        // The floor of start-up: spawning and reaping processes that do nothing (chor starts
        // three, the ChoRus contenders one).
        let floor = |n: usize| {
            median(
                (0..runs.max(5))
                    .map(|_| {
                        let t = Instant::now();
                        let cs: Vec<_> = (0..n)
                            .map(|_| Command::new("true").spawn().expect("true runs"))
                            .collect();
                        for mut c in cs {
                            c.wait().expect("true ends");
                        }
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect(),
            )
        };
        println!(
            "(spawning and reaping processes that do nothing: 3 take {:.1} ms, 1 takes {:.1} ms)",
            floor(3),
            floor(1)
        );
        print!("{:<34} {:>9}", "workload", "chor");
        for t in &transports {
            print!(" {:>12}", format!("ChoRus {t}"));
        }
        if http {
            print!(" {:>12}", "http ×3 proc");
        }
        print!(" {:>12}", "TCP ×3 proc");
        for t in &transports {
            print!(" {:>11}", format!("chor/{t}"));
        }
        if http {
            print!(" {:>11}", "chor/×3proc");
        }
        print!(" {:>11}", "chor/TCP×3");
        println!();
        for (name, workload, chor_run) in &workloads {
            if !workload.contains(only.as_str()) {
                continue;
            }
            let mut contenders: Vec<Run> = vec![];
            for t in &transports {
                contenders.push(Run::Chorus(t));
            }
            // ChoRus over HTTP with a process per role, as chor runs: start-up only.
            if http {
                contenders.push(Run::ChorusProcs);
            }
            // The floor of a process per role: plain TCP, start-up only.
            contenders.push(Run::RawProcs);
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); 1 + contenders.len()];
            let mut firsts: Vec<Vec<f64>> = vec![Vec::new(); 1 + contenders.len()];
            let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); 1 + contenders.len()];
            let mut expected: Option<String> = None;
            // HTTP is slow on the key-value store (a blocking POST per message): fewer runs.
            for round in 0..runs {
                for (i, run) in std::iter::once(chor_run).chain(&contenders).enumerate() {
                    if round >= 3 && matches!(run, Run::Chorus("http")) && *workload == "kv" {
                        continue;
                    }
                    if matches!(run, Run::ChorusProcs | Run::RawProcs) && *workload != "startup" {
                        continue;
                    }
                    let (ms, first, cpu, out) = run_once(run, workload);
                    cpus[i].push(cpu);
                    match &expected {
                        None => expected = Some(out),
                        Some(e) => assert_eq!(&out, e, "{name}: outputs differ"),
                    }
                    times[i].push(ms);
                    firsts[i].push(first);
                }
            }
            let mut rows = vec![(name.to_string(), times)];
            if *workload == "startup" {
                rows.push(("  … until the message arrived".to_string(), firsts));
            }
            // CPU time moves less than wall time with the load of a shared machine.
            rows.push(("  … CPU time of the processes".to_string(), cpus));
            for (name, times) in rows {
                // A contender not run on this workload has no times: shown as "-".
                let med: Vec<Option<f64>> = times
                    .into_iter()
                    .map(|t| (!t.is_empty()).then(|| median(t)))
                    .collect();
                let chor = med[0].unwrap_or(f64::NAN);
                print!("{name:<34} {chor:>9.1}");
                for m in &med[1..] {
                    match m {
                        Some(m) => print!(" {m:>12.1}"),
                        None => print!(" {:>12}", "-"),
                    }
                }
                for m in &med[1..] {
                    match m {
                        Some(m) => print!(" {:>10.2}×", chor / m),
                        None => print!(" {:>11}", "-"),
                    }
                }
                println!();
            }
        }
    }
    set_affinity(&all);
    let _ = std::fs::remove_dir_all(&dir);
}
