//! What a policy of a million origins costs to build, to reload and to
//! hold: `allow_origins_file` with 1,000,000 lines (999,000 exact origins
//! and 1,000 `https://*.tenantN.example.com` patterns).
//!
//! ```text
//! cargo bench -p corsair --bench origins_file
//! ```
//!
//! - Memory is counted, not sampled: a global allocator wraps `System` and
//!   keeps the bytes live, so the heap a policy holds is the difference
//!   before and after building it (the file's bytes, read line by line,
//!   are not kept). It is printed first, for 3 origins and for the
//!   million, with the bytes per origin.
//! - `origins_file/build_1000000`: `Policy::new` on the file: open, read,
//!   parse and check each line, insert it.
//! - `origins_file/reload_1000000`: `Cors::reload_origins_file` after the
//!   file changed: the same read, plus the swap that puts the new policy in
//!   force and the drop of the old one.
//!
//! The cost of matching a request against the million is in the
//! `overhead` bench's `origins_scale` group: it does not depend on the
//! size of the list.

#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use corsair::policy::Policy;
use corsair::{Config, Cors};
use criterion::Criterion;

/// The bytes live on the heap, all threads together.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

#[allow(clippy::cast_possible_wrap)]
// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many lines the large file has.
const MILLION: usize = 1_000_000;

/// Writes `count` origins to `path`: exact origins, and one pattern in
/// every thousand lines.
fn write_origins(path: &Path, count: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "# {count} tenants").unwrap();
    for n in 0..count {
        if n % 1000 == 999 {
            writeln!(file, "https://*.tenant{n}.example.com").unwrap();
        } else {
            writeln!(file, "https://site{n}.example.org").unwrap();
        }
    }
    file.flush().unwrap();
}

fn config(path: &Path) -> Config {
    Config {
        allow_origins_file: Some(path.to_owned()),
        allow_credentials: true,
        allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        ..Config::default()
    }
}

/// The heap bytes `build` leaves live, and its result.
fn held<T>(build: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE.load(Ordering::SeqCst);
    let value = black_box(build());
    (value, LIVE.load(Ordering::SeqCst) - before)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("three.txt");
    write_origins(&small, 3);
    let large = dir.path().join("million.txt");
    write_origins(&large, MILLION);

    println!("heap held by the policy (counted by the global allocator):");
    for (count, path) in [(3, &small), (MILLION, &large)] {
        let started = Instant::now();
        let (policy, bytes) = held(|| Policy::new(config(path)).unwrap());
        let elapsed = started.elapsed();
        #[allow(clippy::cast_precision_loss)]
        let per_origin = bytes as f64 / count as f64;
        println!(
            "  {count:>9} origins: {bytes:>11} bytes ({per_origin:.1} per origin), built once in {elapsed:.2?}"
        );
        drop(policy);
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .configure_from_args();
    let mut group = c.benchmark_group("origins_file");
    group.bench_function("build_1000000", |b| {
        b.iter(|| Policy::new(config(&large)).unwrap());
    });
    let cors = Cors::new(config(&large)).unwrap();
    group.bench_function("reload_1000000", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                // A change the stamp sees (a comment more), made outside
                // the timing.
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&large)
                    .unwrap();
                writeln!(file, "# touched").unwrap();
                drop(file);
                let started = Instant::now();
                assert!(cors.reload_origins_file().unwrap());
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
    c.final_summary();
}
