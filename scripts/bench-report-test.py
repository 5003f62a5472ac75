#!/usr/bin/env python3
"""Tests for scripts/bench-report.py on made-up inputs: a criterion tree
with chosen medians, a hand-written proxy.json in the shape
scripts/bench-proxy writes, and an allocation-test log. Checks the ratios
and verdicts it computes from them, and that a missing, stale or malformed
input fails the report with the file's name instead of leaving a blank.

Run: python3 scripts/bench-report-test.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "bench-report.py")

PROXY = {
    "commit": "0123456789ab",
    "machine": {"cores": 2, "cpu": "Test CPU", "kernel": "6.1.0-test"},
    "wrk": "-t2 -c64 -d10s",
    "rounds": 3,
    "scenarios": {
        "allowed": {
            "upstream": {"rps": 60000, "p99_ms": 2.0, "cpu_us": 10, "errors": 0},
            "corsair": {"rps": 41000, "p99_ms": 3.5, "cpu_us": 20, "errors": 0},
            "nginx": {"rps": 40000, "p99_ms": 3.6, "cpu_us": 25, "errors": 0},
        },
        "preflight": {
            "upstream": {"rps": 60000, "p99_ms": 2.0, "cpu_us": 10, "errors": 0},
            "corsair": {"rps": 80000, "p99_ms": 1.5, "cpu_us": 15, "errors": 0},
            "nginx": {"rps": 79000, "p99_ms": 1.5, "cpu_us": 16, "errors": 0},
        },
        # nginx faster here: two missed targets.
        "refused": {
            "upstream": {"rps": 60000, "p99_ms": 2.0, "cpu_us": 10, "errors": 0},
            "corsair": {"rps": 70000, "p99_ms": 1.9, "cpu_us": 15, "errors": 0},
            "nginx": {"rps": 75000, "p99_ms": 1.7, "cpu_us": 14, "errors": 3},
        },
    },
    "idle_kib": {"corsair": 2000, "nginx": 3000, "connections": 1000},
}

ALLOC_OK = """running 7 tests
test hostile_request_header_lists_are_refused_without_allocating ... ok
test the_counter_counts ... ok
test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
exit status: 0
"""


def medians():
    """group -> function -> median ns, every id the report expects."""
    m = {}
    for scenario in ["actual_allowed", "preflight_allowed", "preflight_refused", "actual_no_origin"]:
        # corsair's overhead 50 ns; tower-http's 400 (exact) and 500 (list): 8x and 10x,
        # except preflight_refused where the list variant is only 3x.
        list_ns = 250.0 if scenario == "preflight_refused" else 600.0
        m[scenario] = {"bare": 100.0, "floor": 120.0, "corsair": 150.0, "tower_http": 500.0, "tower_http_list": list_ns}
        # actix: corsair slower than actix-cors on actual_no_origin only.
        actix_cors = 1000.0 if scenario == "actual_no_origin" else 1500.0
        m[f"actix/{scenario}"] = {"bare": 900.0, "corsair": 1100.0, "actix_cors": actix_cors}
    m["origins_scale"] = {
        "3_origins/exact": 100.0,
        "3_origins/miss": 100.0,
        "3_origins_1_pattern/pattern": 200.0,
        "11000_origins/exact": 110.0,  # +10%: met
        "11000_origins/pattern": 260.0,  # +30%: missed
        "11000_origins/miss": 95.0,  # -5%: met
        "1000000_origins/exact": 115.0,  # +15%: met
        "1000000_origins/pattern": 210.0,  # +5%, but 11,000 missed
        "1000000_origins/miss": 90.0,  # -10%: met
    }
    m["adversarial"] = {}
    m["actix/adversarial"] = {}
    for case in ["names_1mib", "commas_1mib", "spaces_1mib", "lines_1024"]:
        heavy = 25_000.0 if case == "lines_1024" else 500.0  # overhead 25 µs: missed
        m["adversarial"].update(
            {f"{case}/bare": 100.0, f"{case}/corsair": 100.0 + heavy, f"{case}/tower_http_list": 300.0}
        )
        m["actix/adversarial"].update(
            {f"{case}/bare": 900.0, f"{case}/corsair": 1000.0, f"{case}/actix_cors": 2_000_000.0}
        )
    return m


def safe(name):
    return name.replace("/", "_")


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        self.criterion = os.path.join(self.root, "criterion")
        for group, functions in medians().items():
            for function, value in functions.items():
                self.write_estimate(group, function, value)
        self.proxy = os.path.join(self.root, "proxy.json")
        with open(self.proxy, "w") as file:
            json.dump(PROXY, file)
        self.alloc = os.path.join(self.root, "alloc.txt")
        with open(self.alloc, "w") as file:
            file.write(ALLOC_OK)
        self.answers = os.path.join(self.root, "answers.tsv")
        with open(self.answers, "w") as file:
            file.write("actix_cors\tnames_1mib\t200\tacao\n")
        self.out = os.path.join(self.root, "results.md")

    def tearDown(self):
        self.dir.cleanup()

    def estimate_path(self, group, function):
        return os.path.join(self.criterion, safe(group), safe(function), "new", "estimates.json")

    def write_estimate(self, group, function, value):
        path = self.estimate_path(group, function)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            json.dump({"mean": {"point_estimate": value * 2}, "median": {"point_estimate": value}}, file)

    def run_report(self, *extra, proxy=True):
        argv = [sys.executable, REPORT, "--criterion", self.criterion, "--alloc", self.alloc]
        argv += ["--answers", self.answers, "--out", self.out, "--repo", HERE, *extra]
        if proxy:
            argv += ["--proxy", self.proxy]
        return subprocess.run(argv, capture_output=True, text=True)

    def report(self, *extra, proxy=True):
        result = self.run_report(*extra, proxy=proxy)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.out) as file:
            return file.read()

    def line(self, text, start):
        rows = [row for row in text.splitlines() if row.startswith(start)]
        self.assertEqual(len(rows), 1, f"one row starting with {start!r} in\n{text}")
        return rows[0]

    def test_ratios_and_verdicts(self):
        text = self.report()
        # 400 / 50 and 500 / 50.
        row = self.line(text, "| actual_allowed | 100 ns |")
        self.assertIn("| 8.0x | 10.0x | met |", row)
        # The list variant at 150 / 50 = 3x misses the 4x target.
        row = self.line(text, "| preflight_refused | 100 ns |")
        self.assertIn("| 8.0x | 3.0x | **missed** |", row)
        self.assertIn("(no target)", self.line(text, "| actual_no_origin | 100 ns |"))
        # actix: corsair 1100 vs actix-cors 1000.
        self.assertIn("**missed**", self.line(text, "| actual_no_origin | 900 ns |"))
        self.assertIn("| 3.0x | met |", self.line(text, "| actual_allowed | 900 ns |"))
        self.assertIn("| 110 ns | +10.0% | 115 ns | +15.0% | met", self.line(text, "| exact hit |"))
        # 11,000 misses the target, so the kind does though 1,000,000 meets it.
        self.assertIn("+30.0% | 210 ns | +5.0% | **missed**", self.line(text, "| pattern hit |"))
        self.assertIn("-5.0% | 90.0 ns | -10.0% | met", self.line(text, "| miss |"))
        self.assertIn("| 25.0 µs |", self.line(text, "| lines_1024 |"))
        self.assertIn("(200 +ACAO)", self.line(text, "| names_1mib |"))
        self.assertIn("| 41,000 | 40,000 | met | 3.50 | 3.60 | met |", self.line(text, "| allowed |"))
        self.assertIn("**missed** | 1.90 | 1.70 | **missed** | 0 / 3", self.line(text, "| refused |"))
        self.assertIn("corsair 2,000 KiB, nginx 3,000 KiB", text)
        self.assertIn("Allocation test (`cargo test --release -p corsair --test alloc`): passed", text)
        # 3 ratio + 4 actix + 3 flat + 4 adversarial + 1 alloc + 6 proxy targets;
        # missed: preflight_refused ratio, actix no-origin, pattern, lines_1024, 2 proxy.
        self.assertIn("15 of 21 targets met.", text)

    def test_without_proxy(self):
        text = self.report(proxy=False)
        self.assertIn("Not run (`BENCH_SKIP_PROXY=1`)", text)
        self.assertIn("of 15 targets met.", text)

    def test_instruction_counts_join_the_tower_and_flat_cost_tables(self):
        tower = {"bare": 1000, "floor": 1500, "corsair": 2000, "tower_http": 5000, "tower_http_list": 6000}
        counts = {scenario: dict(tower) for scenario in
                  ["actual_allowed", "preflight_allowed", "preflight_refused", "actual_no_origin"]}
        counts["origins_scale"] = {
            "3_origins/exact": 3000, "11000_origins/exact": 3000, "1000000_origins/exact": 3000,
            "3_origins_1_pattern/pattern": 4000, "11000_origins/pattern": 4000,
            "1000000_origins/pattern": 4000,
            "3_origins/miss": 3000, "11000_origins/miss": 3150, "1000000_origins/miss": 3300,
        }
        path = os.path.join(self.root, "instructions.json")
        with open(path, "w") as file:
            json.dump(counts, file)
        text = self.report("--instructions", path)
        # (5000 - 1000) / (2000 - 1000) and (6000 - 1000) / (2000 - 1000).
        self.assertIn("| 4.0x | 5.0x | 8.0x | 10.0x |", self.line(text, "| actual_allowed | 1,000 |"))
        # The timings keep the verdict; the counts sit beside them.
        self.assertIn("| **missed** | 4,000 | 4,000 | +0.0% | 4,000 | +0.0% |",
                      self.line(text, "| pattern hit |"))
        self.assertIn("| met | 3,000 | 3,150 | +5.0% | 3,300 | +10.0% |", self.line(text, "| miss |"))
        # Counts without the flat-cost group: the table keeps its timings only.
        del counts["origins_scale"]
        with open(path, "w") as file:
            json.dump(counts, file)
        text = self.report("--instructions", path)
        self.assertTrue(self.line(text, "| miss |").endswith("| -5.0% | 90.0 ns | -10.0% | met |"))

    def test_a_missing_estimate_is_an_error_naming_the_file(self):
        path = self.estimate_path("actix/preflight_allowed", "actix_cors")
        os.remove(path)
        result = self.run_report()
        self.assertEqual(result.returncode, 1)
        self.assertIn(path, result.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_a_stale_estimate_is_an_error(self):
        result = self.run_report("--since", str(time.time() + 60))
        self.assertEqual(result.returncode, 1)
        self.assertIn("stale estimate", result.stderr)

    def test_a_malformed_proxy_json_is_an_error(self):
        broken = json.loads(json.dumps(PROXY))
        del broken["scenarios"]["preflight"]["nginx"]
        with open(self.proxy, "w") as file:
            json.dump(broken, file)
        result = self.run_report()
        self.assertEqual(result.returncode, 1)
        self.assertIn(self.proxy, result.stderr)
        self.assertIn("nginx", result.stderr)

    def test_a_failed_allocation_test_misses_its_target(self):
        with open(self.alloc, "w") as file:
            file.write(ALLOC_OK.replace(" ... ok\ntest the", " ... FAILED\ntest the").replace(
                "exit status: 0", "exit status: 101"))
        text = self.report()
        self.assertIn("**failed**", text)
        self.assertIn("`hostile_request_header_lists_are_refused_without_allocating`: FAILED", text)
        self.assertIn("- **missed**: no allocation in the check", text)


if __name__ == "__main__":
    unittest.main()
