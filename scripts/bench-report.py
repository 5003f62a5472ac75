#!/usr/bin/env python3
"""Turns one run of scripts/bench into target/bench/results.md.

Reads the criterion medians (target/criterion/<group>/<function>/new/
estimates.json, `median.point_estimate`, in ns), the allocation test's
output, the answers the benches recorded for the hostile inputs, and the
proxy comparison (target/bench/proxy.json, written by scripts/bench-proxy),
then writes a markdown report with one table per target of issue 7 and a
verdict per target.

Every expected estimate must exist, and, with --since, be newer than the
start of the run: a missing or stale one is an error naming the file, never
a blank cell. The proxy section is skipped only when --proxy is not given.

Exit status: 0 when the report is written (whatever the verdicts; they are
in the report and on stderr), 1 when an input is missing or malformed.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

# The criterion ids the benches define (see the headers of
# crates/corsair/benches/overhead.rs and actix.rs).
SCENARIOS = ["actual_allowed", "preflight_allowed", "preflight_refused", "actual_no_origin"]
# The scenarios where issue 7 asks for at least 4x less overhead than tower-http.
RATIO_TARGET = {"actual_allowed", "preflight_allowed", "preflight_refused"}
RATIO_MIN = 4.0
TOWER = ["bare", "floor", "corsair", "tower_http", "tower_http_list"]
ACTIX = ["bare", "corsair", "actix_cors"]
# Each kind of match, with the small policy and with the two large ones
# (10,000 exact origins and 999,000, each with 1,000 patterns).
SCALE_ROWS = [
    ("exact hit", "3_origins/exact", ["11000_origins/exact", "1000000_origins/exact"]),
    ("pattern hit", "3_origins_1_pattern/pattern",
     ["11000_origins/pattern", "1000000_origins/pattern"]),
    ("miss", "3_origins/miss", ["11000_origins/miss", "1000000_origins/miss"]),
]
SCALE_MAX_SPREAD = 0.20
ADVERSARIAL = ["names_1mib", "commas_1mib", "spaces_1mib", "lines_1024"]
ADVERSARIAL_MAX_NS = 10_000.0
ALLOC_HOSTILE_TEST = "hostile_request_header_lists_are_refused_without_allocating"
PROXY_SCENARIOS = ["allowed", "preflight", "refused"]


class Missing(Exception):
    """An input the report needs is absent, stale or malformed."""


def safe(name):
    """Criterion's directory name for a group or function id."""
    return re.sub(r'[?"/\\*<>:|^]', "_", name)


class Medians:
    def __init__(self, root, since):
        self.root = root
        self.since = since

    def __call__(self, group, function):
        path = os.path.join(self.root, safe(group), safe(function), "new", "estimates.json")
        if not os.path.isfile(path):
            raise Missing(f"no estimate for {group}/{function}: {path} does not exist")
        if self.since is not None and os.path.getmtime(path) < self.since:
            raise Missing(
                f"stale estimate for {group}/{function}: {path} predates this run "
                "(was the bench filtered out, or did it fail?)"
            )
        try:
            with open(path) as file:
                value = json.load(file)["median"]["point_estimate"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise Missing(f"malformed estimate {path}: {error!r}") from error
        if not isinstance(value, (int, float)):
            raise Missing(f"malformed estimate {path}: median is {value!r}")
        return float(value)


def ns(value):
    sign, value = ("-", -value) if value < 0 else ("", value)
    if value >= 100_000:
        return f"{sign}{value / 1000:,.0f} µs"
    if value >= 10_000:
        return f"{sign}{value / 1000:,.1f} µs"
    return f"{sign}{value:,.0f} ns" if value >= 100 else f"{sign}{value:,.1f} ns"


def ratio(numerator, denominator):
    """The peer's overhead over corsair's; None when corsair's is not
    positive (within the noise of `bare`) and the peer's is not either."""
    if denominator > 0:
        return numerator / denominator
    return float("inf") if numerator > 0 else None


def fmt_ratio(value):
    if value is None:
        return "n/a"
    return "∞" if value == float("inf") else f"{value:.1f}x"


def met(ok):
    return "met" if ok else "**missed**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def command_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_section(args):
    commit = command_output(["git", "-C", args.repo, "rev-parse", "--short=12", "HEAD"])
    dirty = command_output(["git", "-C", args.repo, "status", "--porcelain", "--untracked-files=no"])
    if dirty and dirty != "unknown":
        commit += " (with uncommitted changes)"
    rows = [
        ("CPU", cpu_model()),
        ("cores", os.cpu_count()),
        ("kernel", platform.release()),
        ("rustc", command_output(["rustc", "--version"])),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit),
        ("command", f"`{args.command}`"),
    ]
    return table(["machine", ""], rows)


def library_section(median, verdicts):
    rows = []
    for scenario in SCENARIOS:
        t = {function: median(scenario, function) for function in TOWER}
        over = {function: t[function] - t["bare"] for function in TOWER[1:]}
        exact = ratio(over["tower_http"], over["corsair"])
        listed = ratio(over["tower_http_list"], over["corsair"])
        if scenario in RATIO_TARGET:
            # Both tower-http variants must be at least 4x slower: `exact`
            # does less work (no comparison), `list` does the same work.
            ok = None not in (exact, listed) and min(exact, listed) >= RATIO_MIN
            verdicts.append((f"library overhead vs tower-http, {scenario} (≥ {RATIO_MIN:g}x)", ok))
            target = met(ok)
        else:
            target = "(no target)"
        rows.append(
            [
                scenario,
                ns(t["bare"]),
                ns(t["floor"]),
                ns(t["corsair"]),
                ns(t["tower_http"]),
                ns(t["tower_http_list"]),
                ns(over["floor"]),
                ns(over["corsair"]),
                ns(over["tower_http"]),
                ns(over["tower_http_list"]),
                fmt_ratio(exact),
                fmt_ratio(listed),
                target,
            ]
        )
    header = [
        "scenario",
        "bare",
        "floor",
        "corsair",
        "tower-http exact",
        "tower-http list",
        "floor overhead",
        "corsair overhead",
        "exact overhead",
        "list overhead",
        "exact / corsair",
        "list / corsair",
        f"target ≥ {RATIO_MIN:g}x",
    ]
    return (
        "## Library overhead: tower (median per request)\n\n"
        "Overhead = the layer's time − `bare` (the inner service alone). "
        "Ratio = tower-http's overhead / corsair's (n/a when neither overhead is "
        "above zero). A layer answering a preflight itself never calls the inner "
        "service, so its overhead on a preflight can come out below zero. "
        "`floor` writes the same answer as corsair by hand, the cheapest way "
        "known, from static values and without looking at the request: what "
        "a layer spends above it is what deciding costs it.\n\n"
        + table(header, rows)
    )


def instructions_section(path):
    """The tower scenarios in instructions per request (callgrind): no
    verdict, the timings carry those; this says what the noise hides."""
    if not path:
        return "## Library overhead: tower, in instructions\n\nNot run (`BENCH_SKIP_INSTRUCTIONS=1`)."
    try:
        with open(path) as file:
            counts = json.load(file)
        rows = []
        for scenario in SCENARIOS:
            n = {function: int(counts[scenario][function]) for function in TOWER}
            over = {function: n[function] - n["bare"] for function in TOWER[1:]}
            rows.append(
                [scenario]
                + [f"{n[function]:,}" for function in TOWER]
                + [f"{over[function]:,}" for function in TOWER[1:]]
                + [
                    fmt_ratio(ratio(over["tower_http"], over["corsair"])),
                    fmt_ratio(ratio(over["tower_http_list"], over["corsair"])),
                    fmt_ratio(ratio(over["tower_http"], over["floor"])),
                    fmt_ratio(ratio(over["tower_http_list"], over["floor"])),
                ]
            )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Missing(f"unreadable {path}: {error}") from error
    header = (
        ["scenario"]
        + TOWER
        + [f"{function} overhead" for function in TOWER[1:]]
        + ["exact / corsair", "list / corsair", "exact / floor", "list / floor"]
    )
    return (
        "## Library overhead: tower, in instructions\n\n"
        "Instructions per request, harness included, counted by callgrind "
        "(`scripts/bench-instructions`, the median of three runs): the same "
        "requests as above, without the machine's noise (tower-http's counts "
        "still move by up to 10% between runs, with the heap states its "
        "reallocations meet; corsair's by a few instructions). `exact / floor` "
        "and `list / floor` are the ratios a layer would reach if deciding "
        "cost it nothing.\n\n" + table(header, rows)
    )


def actix_section(median, verdicts):
    rows = []
    for scenario in SCENARIOS:
        group = f"actix/{scenario}"
        t = {function: median(group, function) for function in ACTIX}
        ours = t["corsair"] - t["bare"]
        theirs = t["actix_cors"] - t["bare"]
        ok = t["corsair"] < t["actix_cors"]
        verdicts.append((f"actix overhead below actix-cors, {scenario}", ok))
        rows.append(
            [
                scenario,
                ns(t["bare"]),
                ns(t["corsair"]),
                ns(t["actix_cors"]),
                ns(ours),
                ns(theirs),
                fmt_ratio(ratio(theirs, ours)),
                met(ok),
            ]
        )
    header = [
        "scenario",
        "bare",
        "corsair",
        "actix-cors",
        "corsair overhead",
        "actix-cors overhead",
        "actix-cors / corsair",
        "target corsair < actix-cors",
    ]
    return (
        "## Library overhead: actix-web (median per request)\n\n"
        "Requests are built outside the timing; overhead and ratio as above. The "
        "target compares the medians themselves: corsair's below actix-cors's.\n\n"
        + table(header, rows)
    )


def scale_counts(path):
    """The flat-cost group's instruction counts from instructions.json, or
    None when they were not counted."""
    if not path:
        return None
    try:
        with open(path) as file:
            counts = json.load(file).get("origins_scale")
        if counts is None:
            return None
        return {name: int(n) for name, n in counts.items()}
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise Missing(f"unreadable {path}: {error}") from error


def scale_section(median, verdicts, counts=None):
    rows = []
    for kind, small_name, large_names in SCALE_ROWS:
        small = median("origins_scale", small_name)
        row = [kind, ns(small)]
        ok = True
        for large_name in large_names:
            large = median("origins_scale", large_name)
            # Flat cost: a large policy costs less than 20% more (or less)
            # than the small one for the same kind of match.
            change = (large - small) / small if small > 0 else float("inf")
            ok = ok and abs(change) < SCALE_MAX_SPREAD
            row += [ns(large), f"{change:+.1%}"]
        verdicts.append(
            (f"flat cost, {kind}: 3 vs 11,000 and 1,000,000 origins (< {SCALE_MAX_SPREAD:.0%})", ok))
        row.append(met(ok))
        if counts is not None:
            try:
                small_n = counts[small_name]
                row.append(f"{small_n:,}")
                for large_name in large_names:
                    large_n = counts[large_name]
                    row += [f"{large_n:,}", f"{(large_n - small_n) / small_n:+.1%}"]
            except KeyError as error:
                raise Missing(f"no instruction count for origins_scale/{error}") from error
        rows.append(row)
    header = [
        "match",
        "3 origins",
        "11,000",
        "difference",
        "1,000,000",
        "difference",
        f"target < {SCALE_MAX_SPREAD:.0%}",
    ]
    if counts is not None:
        header += [
            "instructions, 3 origins",
            "instructions, 11,000",
            "difference",
            "instructions, 1,000,000",
            "difference",
        ]
    note = (
        "The large policies are 10,000 and 999,000 exact origins, each with 1,000 "
        "`https://*.tenantN.example.com` patterns. "
        + (
            ""
            if counts is None
            else "Timings are medians per request; the instruction counts (callgrind, "
            "`scripts/bench-instructions`) are the same requests without the "
            "machine's noise."
        )
        + "\n\n"
    )
    return (
        "## Flat cost with the size of the policy (corsair, tower, allowed-origin GET)\n\n"
        + note
        + table(header, rows)
    )


def read_answers(path):
    answers = {}
    if not path or not os.path.isfile(path):
        return answers
    with open(path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 4:
                library, case, status, acao = fields
                answers[(library, case)] = f"{status}{' +ACAO' if acao == 'acao' else ''}"
    return answers


def read_alloc(path):
    """(passed, detail) from the saved output of `cargo test --test alloc`."""
    if not os.path.isfile(path):
        raise Missing(f"no allocation test output: {path} does not exist")
    with open(path) as file:
        text = file.read()
    status_line = re.search(r"^exit status: (\d+)$", text, re.M)
    if not status_line:
        raise Missing(f"malformed allocation test output {path}: no exit status line")
    passed = status_line.group(1) == "0"
    hostile = re.search(rf"^test {ALLOC_HOSTILE_TEST} \.\.\. (\w+)", text, re.M)
    summary = re.search(r"^test result: .*$", text, re.M)
    detail = summary.group(0) if summary else "no test summary (did it build?)"
    hostile_result = hostile.group(1) if hostile else "not run"
    return passed and hostile_result == "ok", f"{detail}; `{ALLOC_HOSTILE_TEST}`: {hostile_result}"


def adversarial_section(median, verdicts, alloc, answers):
    rows = []
    for case in ADVERSARIAL:
        t = {f: median("adversarial", f"{case}/{f}") for f in ["bare", "corsair", "tower_http_list"]}
        a = {f: median("actix/adversarial", f"{case}/{f}") for f in ["bare", "corsair", "actix_cors"]}
        tower_over = t["corsair"] - t["bare"]
        actix_over = a["corsair"] - a["bare"]
        ok = max(tower_over, actix_over) < ADVERSARIAL_MAX_NS
        verdicts.append((f"adversarial {case} refused in < {ns(ADVERSARIAL_MAX_NS)}", ok))
        rows.append(
            [
                case,
                ns(t["bare"]),
                ns(t["corsair"]),
                ns(tower_over),
                f"{ns(t['tower_http_list'] - t['bare'])} ({answers.get(('tower_http_list', case), '?')})",
                ns(a["bare"]),
                ns(a["corsair"]),
                ns(actix_over),
                f"{ns(a['actix_cors'] - a['bare'])} ({answers.get(('actix_cors', case), '?')})",
                met(ok),
            ]
        )
    header = [
        "input",
        "tower bare",
        "corsair",
        "corsair overhead",
        "tower-http list overhead (answer)",
        "actix bare",
        "corsair (actix)",
        "corsair overhead (actix)",
        "actix-cors overhead (answer)",
        f"target < {ns(ADVERSARIAL_MAX_NS)}",
    ]
    alloc_ok, alloc_detail = alloc
    verdicts.append(("no allocation in the check, hostile inputs included (tests/alloc.rs)", alloc_ok))
    return (
        "## Adversarial `Access-Control-Request-Headers` (preflights from the allowed origin)\n\n"
        "corsair refuses every input with 403 and no `Access-Control-Allow-Origin` (asserted "
        "by the benches before timing). The peers' answers are shown as status "
        "(+ACAO when they allowed the origin); they are references, not targets.\n\n"
        + table(header, rows)
        + f"\n\nAllocation test (`cargo test --release -p corsair --test alloc`): "
        f"{'passed' if alloc_ok else '**failed**'} ({alloc_detail})."
    )


def proxy_section(path, verdicts):
    try:
        with open(path) as file:
            data = json.load(file)
    except OSError as error:
        raise Missing(f"no proxy results: {path}: {error.strerror}") from error
    except ValueError as error:
        raise Missing(f"malformed proxy results {path}: {error}") from error
    try:
        rows = []
        for scenario in PROXY_SCENARIOS:
            runs = data["scenarios"][scenario]
            up, ours, nginx = runs["upstream"], runs["corsair"], runs["nginx"]
            rps_ok = ours["rps"] >= nginx["rps"]
            p99_ok = ours["p99_ms"] <= nginx["p99_ms"]
            verdicts.append((f"proxy {scenario}: req/s ≥ nginx", rps_ok))
            verdicts.append((f"proxy {scenario}: p99 ≤ nginx", p99_ok))
            rows.append(
                [
                    scenario,
                    f"{up['rps']:,.0f}",
                    f"{ours['rps']:,.0f}",
                    f"{nginx['rps']:,.0f}",
                    met(rps_ok),
                    f"{ours['p99_ms']:.2f}",
                    f"{nginx['p99_ms']:.2f}",
                    met(p99_ok),
                    f"{ours['errors']} / {nginx['errors']}",
                ]
            )
        idle = data["idle_kib"]
        machine = data.get("machine", {})
        header = [
            "scenario",
            "upstream req/s",
            "corsair req/s",
            "nginx req/s",
            "target ≥ nginx",
            "corsair p99 ms",
            "nginx p99 ms",
            "target ≤ nginx",
            "errors corsair / nginx",
        ]
        return (
            "## Proxy: `corsair proxy` vs nginx (wrk on loopback)\n\n"
            f"wrk `{data['wrk']}`, {data['rounds']} round{'s' if data['rounds'] != 1 else ''}, "
            f"commit {data['commit']}, "
            f"{machine.get('cores', '?')} cores, {machine.get('cpu', '?')}.\n\n"
            + table(header, rows)
            + f"\n\nMemory per idle keep-alive connection, with {idle['connections']:,} open: "
            f"corsair {idle['corsair']:,} KiB, nginx {idle['nginx']:,} KiB (reported, no target)."
        )
    except (KeyError, TypeError, ZeroDivisionError) as error:
        raise Missing(f"malformed proxy results {path}: missing or bad {error!r}") from error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--criterion", required=True, help="criterion's output directory")
    parser.add_argument("--alloc", required=True, help="saved output of the allocation test")
    parser.add_argument("--answers", help="answers the benches recorded for the hostile inputs")
    parser.add_argument("--proxy", help="proxy.json from scripts/bench-proxy (omit to skip)")
    parser.add_argument(
        "--instructions", help="instructions.json from scripts/bench-instructions (omit to skip)"
    )
    parser.add_argument("--since", type=float, help="reject estimates older than this epoch")
    parser.add_argument("--command", default="scripts/bench", help="the command, for the report")
    parser.add_argument("--repo", default=".", help="the repository, for the commit")
    parser.add_argument("--out", required=True, help="the markdown file to write")
    args = parser.parse_args()

    median = Medians(args.criterion, args.since)
    verdicts = []
    try:
        sections = [
            "# corsair benchmarks",
            machine_section(args),
            library_section(median, verdicts),
            instructions_section(args.instructions),
            actix_section(median, verdicts),
            scale_section(median, verdicts, scale_counts(args.instructions)),
            adversarial_section(median, verdicts, read_alloc(args.alloc), read_answers(args.answers)),
        ]
        if args.proxy:
            sections.append(proxy_section(args.proxy, verdicts))
        else:
            sections.append("## Proxy\n\nNot run (`BENCH_SKIP_PROXY=1`).")
    except Missing as error:
        print(f"bench-report: {error}", file=sys.stderr)
        return 1

    summary = [f"- {met(ok)}: {what}" for what, ok in verdicts]
    missed = sum(1 for _, ok in verdicts if not ok)
    sections.append(
        "## Targets\n\n"
        + "\n".join(summary)
        + f"\n\n{len(verdicts) - missed} of {len(verdicts)} targets met."
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as file:
        file.write("\n\n".join(sections) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
