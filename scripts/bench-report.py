#!/usr/bin/env python3
"""Turns one run of scripts/bench into target/bench/results.md.

Reads the criterion medians (target/criterion/<group>/<function>/new/
estimates.json, `median.point_estimate`, in ns), the allocation test's
output, the answers the benches recorded for the hostile inputs, the
instruction counts (target/bench/instructions.json, written by
scripts/bench-instructions) and the proxy comparison (target/bench/
proxy.json, written by scripts/bench-proxy), then writes a markdown report
with the verdicts of the targets of issue 19:

1. the tower layer's overhead over the bare service is at least 3x below
   tower-http's `AllowOrigin::list` in every scenario, and deciding a
   preflight costs at most 500 instructions over the floor;
2. at most 2 heap allocations per request over the bare application, for
   every kind of request;
3. the proxy uses no more CPU per request than nginx and serves at least as
   many requests per second (allowed and refused; preflights: req/s);
4. an idle keep-alive connection holds at most 4 KiB, measured with 10,000;
5. an optional feature the policy does not use (`origin-source`) costs the
   requests nothing (0.5% of instructions, for code placement).

Library verdicts come from instruction counts only: the wall-clock medians
are reported, and decide nothing. Two verdicts are kept from issue 7: no
allocation in the check, hostile inputs included, and the flat cost with
the size of the policy (now in instructions). A measurement that was not
taken (BENCH_SKIP_INSTRUCTIONS=1, BENCH_SKIP_PROXY=1) is a missed target.

Every expected estimate must exist, and, with --since, be newer than the
start of the run: a missing or stale one is an error naming the file, never
a blank cell. So is an allocation log without the per-request counts.

Exit status: 0 when the report is written (whatever the verdicts; they are
in the report), 1 when an input is missing or malformed.
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
TOWER = ["bare", "floor", "corsair", "tower_http", "tower_http_list"]
ACTIX = ["bare", "corsair", "actix_cors"]
# Target 1: tower-http `AllowOrigin::list`'s overhead over corsair's, in
# instructions, in every scenario; and a preflight's decision over the floor.
RATIO_MIN = 3.0
PREFLIGHT_DECISION_MAX = 500
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
# Target 2, and the guarantee kept from issue 7 (crates/corsair/tests/alloc.rs).
ALLOC_MAX_OVER_BARE = 2
ALLOC_TOWER_TEST = "a_tower_request_allocates_at_most_two_more_than_the_bare_application"
ALLOC_HOSTILE_TEST = "hostile_request_header_lists_are_refused_without_allocating"
ALLOC_LINE = re.compile(
    r"allocations per request: (?P<kind>[^,\n]+), application headers (?P<headers>no|yes): "
    r"corsair (?P<corsair>\d+), bare (?P<bare>\d+)[ \t\r]*$",
    re.M,
)
PROXY_SCENARIOS = ["allowed", "preflight", "refused"]
# Target 4.
IDLE_MAX_KIB = 4.0
IDLE_CONNECTIONS = 10_000
# Target 5: the `origin-source` build may cost this much more (per mille):
# two builds of the same code place it differently.
FEATURE_TOLERANCE_PER_MILLE = 5
FEATURE = "origin-source"

NOT_COUNTED = "not counted (BENCH_SKIP_INSTRUCTIONS=1)"
NOT_MEASURED = "not measured (BENCH_SKIP_PROXY=1)"

# The order of the "Targets" list: issue 19's targets by number, the
# allocation guarantee of issue 7 after target 2, the flat cost last.
ORDER = {"1": 0, "2": 1, "2 kept": 2, "3": 3, "4": 4, "5": 5, "kept": 6}


class Missing(Exception):
    """An input the report needs is absent, stale or malformed."""


class Verdicts:
    """The verdicts, each filed under its target, listed in ORDER."""

    def __init__(self):
        self.entries = []

    def add(self, target, label, ok, detail):
        self.entries.append((ORDER[target], len(self.entries), label, bool(ok), detail))

    def listed(self):
        return [(label, ok, detail) for _, _, label, ok, detail in sorted(self.entries)]


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


def fmt_ratio(value, digits=1):
    if value is None:
        return "n/a"
    return "∞" if value == float("inf") else f"{value:.{digits}f}x"


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


# ------------------------------------------------------------ instructions --


def load_json(path, what):
    """The JSON file at `path`; `what` it holds names it in the errors."""
    try:
        with open(path) as file:
            return json.load(file)
    except OSError as error:
        raise Missing(f"no {what}: {path}: {error.strerror}") from error
    except ValueError as error:
        raise Missing(f"malformed {what} {path}: {error}") from error


def read_instructions(path):
    """instructions.json as a dict, or None when it was not given."""
    if not path:
        return None
    counts = load_json(path, "instruction counts")
    if not isinstance(counts, dict):
        raise Missing(f"malformed instruction counts {path}: not an object")
    return counts


def count(value, path, where):
    """One instruction count, an integer, or Missing naming the file."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Missing(f"malformed instruction counts {path}: {where} is {value!r}")
    return int(value)


def instructions_section(counts, path, verdicts):
    """Target 1: the tower scenarios in instructions per request."""
    title = "## Library overhead: tower, in instructions (target 1)\n\n"
    ratio_label = (
        "target 1, {}: tower-http `AllowOrigin::list` overhead ≥ "
        f"{RATIO_MIN:g}x corsair's, in instructions"
    )
    decision_label = (
        "target 1, preflight decision: corsair − floor ≤ "
        f"{PREFLIGHT_DECISION_MAX} instructions (preflight_allowed)"
    )
    if counts is None:
        for scenario in SCENARIOS:
            verdicts.add("1", ratio_label.format(scenario), False, NOT_COUNTED)
        verdicts.add("1", decision_label, False, NOT_COUNTED)
        return title + "Not run (`BENCH_SKIP_INSTRUCTIONS=1`): the five verdicts of target 1 are missed."
    rows = []
    n = {}
    for scenario in SCENARIOS:
        try:
            n[scenario] = {
                function: count(counts[scenario][function], path, f"{scenario}.{function}")
                for function in TOWER
            }
        except (KeyError, TypeError) as error:
            raise Missing(
                f"malformed instruction counts {path}: no {scenario}.{error}") from error
        c = n[scenario]
        over = {function: c[function] - c["bare"] for function in TOWER[1:]}
        listed = ratio(over["tower_http_list"], over["corsair"])
        ok = listed is not None and listed >= RATIO_MIN
        verdicts.add("1", ratio_label.format(scenario), ok, fmt_ratio(listed, 2))
        rows.append(
            [scenario]
            + [f"{c[function]:,}" for function in TOWER]
            + [f"{over[function]:,}" for function in TOWER[1:]]
            + [
                fmt_ratio(ratio(over["tower_http"], over["corsair"]), 2),
                fmt_ratio(ratio(over["tower_http"], over["floor"]), 2),
                fmt_ratio(ratio(over["tower_http_list"], over["floor"]), 2),
                fmt_ratio(listed, 2),
                met(ok),
            ]
        )
    preflight = n["preflight_allowed"]
    decision = preflight["corsair"] - preflight["floor"]
    decision_ok = decision <= PREFLIGHT_DECISION_MAX
    verdicts.add("1", decision_label, decision_ok, f"{decision:,} instructions")
    header = (
        ["scenario"]
        + TOWER
        + [f"{function} overhead" for function in TOWER[1:]]
        + ["exact / corsair", "exact / floor", "list / floor", "list / corsair",
           f"target list / corsair ≥ {RATIO_MIN:g}x"]
    )
    return (
        title
        + "Instructions per request, harness included, counted by callgrind "
        "(`scripts/bench-instructions`, the median of three runs); these counts "
        "decide target 1. Overhead = the layer's count − `bare` (the inner service "
        "alone). A layer answering a preflight itself never calls the inner service, "
        "so its overhead on a preflight can come out below zero. `floor` writes the "
        "same answer as corsair by hand, the cheapest way known, from static values "
        "and without looking at the request: what a layer spends above it is what "
        "deciding costs it. Ratios are tower-http's overhead over corsair's (or over "
        "the floor's: the ratio a layer would reach if deciding cost it nothing); "
        "n/a when neither overhead is above zero. The target is on "
        "`AllowOrigin::list` (`tower_http_list`), which does the same work as "
        "corsair; `tower_http` (an exact origin) is shown for reference. "
        "tower-http's counts move by up to 10% between runs, with the heap states "
        "its reallocations meet; corsair's by a few instructions.\n\n"
        + table(header, rows)
        + f"\n\nPreflight decision (`preflight_allowed`, corsair − floor): "
        f"{decision:,} instructions; target ≤ {PREFLIGHT_DECISION_MAX}: {met(decision_ok)}."
    )


def feature_section(counts, path, verdicts):
    """Target 5: the corsair layer built with an unused optional feature
    against the default build, in instructions per request."""
    title = "## Cost of an unused feature, in instructions (target 5)\n\n"
    label = (
        "target 5, {}: unused `origin-source` costs nothing "
        f"(≤ +{FEATURE_TOLERANCE_PER_MILLE / 10:g}% instructions)"
    )
    feature_cost = None if counts is None else counts.get("feature_cost")
    if feature_cost is None:
        if counts is None:
            reason = NOT_COUNTED
            text = "Not run (`BENCH_SKIP_INSTRUCTIONS=1`)"
        else:
            reason = "not counted (no `feature_cost` in instructions.json)"
            text = f"Not counted ({path} has no `feature_cost`)"
        for scenario in SCENARIOS:
            verdicts.add("5", label.format(scenario), False, reason)
        return title + text + ": the four verdicts of target 5 are missed."
    rows = []
    for scenario in SCENARIOS:
        try:
            default = count(feature_cost["default"][scenario], path,
                            f"feature_cost.default.{scenario}")
            featured = count(feature_cost[FEATURE][scenario], path,
                             f"feature_cost.{FEATURE}.{scenario}")
        except (KeyError, TypeError) as error:
            raise Missing(
                f"malformed instruction counts {path}: no feature_cost entry {error}") from error
        # Integers: `default * 1.005` in floating point can land a hair
        # below the exact bound.
        ok = featured * 1000 <= default * (1000 + FEATURE_TOLERANCE_PER_MILLE)
        change = (featured - default) / default if default > 0 else float("inf")
        verdicts.add("5", label.format(scenario), ok, f"{change:+.2%}")
        rows.append([
            scenario,
            f"{default:,}",
            f"{featured:,}",
            f"{featured - default:+,}",
            f"{change:+.2%}",
            met(ok),
        ])
    header = [
        "scenario",
        "default features",
        f"with `{FEATURE}`",
        "difference",
        "difference %",
        f"target ≤ +{FEATURE_TOLERANCE_PER_MILLE / 10:g}%",
    ]
    return (
        title
        + "The corsair layer's instructions per request (the tower bench's `corsair` "
        "function, harness included, counted by callgrind), built from "
        "`crates/feature-cost` with corsair's default features only, and with "
        f"`{FEATURE}` on but no source configured. Two builds place the same code at "
        f"different addresses, which moves a count a little: up to "
        f"+{FEATURE_TOLERANCE_PER_MILLE / 10:g}% is taken as no cost.\n\n"
        + table(header, rows)
    )


# ------------------------------------------------------------- allocations --


def read_alloc(path):
    """The saved output of `cargo test --release -p corsair --test alloc --
    --nocapture` (and its `exit status: N` line): (text, passed, detail),
    passed being the hostile-input guarantee kept from issue 7."""
    if not os.path.isfile(path):
        raise Missing(f"no allocation test output: {path} does not exist")
    with open(path) as file:
        text = file.read()
    status_line = re.search(r"^exit status: (\d+)$", text, re.M)
    if not status_line:
        raise Missing(f"malformed allocation test output {path}: no exit status line")
    passed = status_line.group(1) == "0"
    hostile_result = test_result(text, ALLOC_HOSTILE_TEST)
    summary = re.search(r"^test result: .*$", text, re.M)
    detail = summary.group(0) if summary else "no test summary (did it build?)"
    return (text, passed and hostile_result == "ok",
            f"{detail}; `{ALLOC_HOSTILE_TEST}`: {hostile_result}")


def test_result(text, name):
    """libtest's word for one test (ok, FAILED, ignored), or "not run"."""
    found = re.search(rf"^test {name} \.\.\. (\w+)", text, re.M)
    return found.group(1) if found else "not run"


def alloc_section(path, alloc, verdicts):
    """Target 2 from the per-request counts the tower test prints, and the
    check's guarantee kept from issue 7."""
    text, hostile_ok, hostile_detail = alloc
    counted = list(ALLOC_LINE.finditer(text))
    if not counted:
        raise Missing(
            f"no allocation counts per request in {path} (lines 'allocations per request: "
            "...'): the allocation test of an older build, or run without --nocapture?"
        )
    rows = []
    worst = None
    for line in counted:
        corsair, bare = int(line["corsair"]), int(line["bare"])
        over = corsair - bare
        worst = over if worst is None else max(worst, over)
        rows.append([line["kind"], line["headers"], corsair, bare, f"{over:+}",
                     met(over <= ALLOC_MAX_OVER_BARE)])
    tower_result = test_result(text, ALLOC_TOWER_TEST)
    ok = worst <= ALLOC_MAX_OVER_BARE and tower_result == "ok"
    verdicts.add(
        "2",
        f"target 2: at most {ALLOC_MAX_OVER_BARE} heap allocations per request over bare, "
        "every request kind (tests/alloc.rs)",
        ok,
        f"largest {worst:+} over bare, in {len(counted)} rows; "
        f"`{ALLOC_TOWER_TEST}`: {tower_result}",
    )
    verdicts.add(
        "2 kept",
        "kept from issue 7: no allocation in the check, hostile inputs included (tests/alloc.rs)",
        hostile_ok,
        hostile_detail,
    )
    header = ["request", "application headers", "corsair", "bare", "over bare",
              f"target ≤ {ALLOC_MAX_OVER_BARE}"]
    return (
        "## Heap allocations per request (target 2)\n\n"
        "Counted by `cargo test --release -p corsair --test alloc -- --nocapture` "
        f"(`{ALLOC_TOWER_TEST}`): allocations of one request through the corsair layer "
        "and through the bare application, after a warm-up, with an application that "
        "sets no headers of its own and one that does. Target 2 is met when every "
        f"row is at most {ALLOC_MAX_OVER_BARE} over bare and that test passed "
        f"(its result: {tower_result}).\n\n"
        + table(header, rows)
        + "\n\nKept from issue 7, no allocation in `Policy::check`, hostile inputs "
        f"included: {'passed' if hostile_ok else '**failed**'} ({hostile_detail})."
    )


# ------------------------------------------------------------- flat cost --


def scale_section(median, counts, path, verdicts):
    """The flat cost with the size of the policy: timings reported, the
    verdict (kept from issue 7) on the instruction counts."""
    scale = None if counts is None else counts.get("origins_scale")
    if counts is None:
        reason = NOT_COUNTED
    elif scale is None:
        reason = "not counted (no `origins_scale` in instructions.json)"
    else:
        reason = None
    if scale is not None and not isinstance(scale, dict):
        raise Missing(f"malformed instruction counts {path}: origins_scale is {scale!r}")
    rows = []
    for kind, small_name, large_names in SCALE_ROWS:
        small = median("origins_scale", small_name)
        row = [kind, ns(small)]
        for large_name in large_names:
            large = median("origins_scale", large_name)
            change = (large - small) / small if small > 0 else float("inf")
            row += [ns(large), f"{change:+.1%}"]
        label = (f"kept from issue 7, flat cost, {kind}: 3 vs 11,000 and 1,000,000 origins "
                 f"(< {SCALE_MAX_SPREAD:.0%}, in instructions)")
        if scale is None:
            verdicts.add("kept", label, False, reason)
            row.append("**missed** (not counted)")
            rows.append(row)
            continue
        try:
            small_n = count(scale[small_name], path, f"origins_scale.{small_name}")
            ok = True
            changes = []
            row.append(f"{small_n:,}")
            for large_name in large_names:
                large_n = count(scale[large_name], path, f"origins_scale.{large_name}")
                # Flat cost: a large policy costs less than 20% more (or
                # less) than the small one for the same kind of match.
                change = (large_n - small_n) / small_n if small_n > 0 else float("inf")
                ok = ok and abs(change) < SCALE_MAX_SPREAD
                changes.append(f"{change:+.1%}")
                row += [f"{large_n:,}", f"{change:+.1%}"]
        except KeyError as error:
            raise Missing(
                f"malformed instruction counts {path}: no origins_scale/{error.args[0]}"
            ) from error
        verdicts.add("kept", label, ok, " and ".join(changes))
        row.append(met(ok))
        rows.append(row)
    header = ["match", "3 origins", "11,000", "difference", "1,000,000", "difference"]
    if scale is not None:
        header += [
            "instructions, 3 origins",
            "instructions, 11,000",
            "difference",
            "instructions, 1,000,000",
            "difference",
        ]
    header.append(f"target < {SCALE_MAX_SPREAD:.0%} (instructions)")
    return (
        "## Flat cost with the size of the policy (corsair, tower, allowed-origin GET)\n\n"
        "The large policies are 10,000 and 999,000 exact origins, each with 1,000 "
        "`https://*.tenantN.example.com` patterns. Timings are medians per request, "
        "reported; instruction counts decide (callgrind, `scripts/bench-instructions`). "
        f"The target, kept from issue 7: a large policy costs less than "
        f"{SCALE_MAX_SPREAD:.0%} more (or less) than the small one, for each kind of "
        "match.\n\n"
        + table(header, rows)
    )


# ---------------------------------------------------------------- timings --


def library_section(median):
    rows = []
    for scenario in SCENARIOS:
        t = {function: median(scenario, function) for function in TOWER}
        over = {function: t[function] - t["bare"] for function in TOWER[1:]}
        rows.append(
            [scenario]
            + [ns(t[function]) for function in TOWER]
            + [ns(over[function]) for function in TOWER[1:]]
            + [
                fmt_ratio(ratio(over["tower_http"], over["corsair"])),
                fmt_ratio(ratio(over["tower_http_list"], over["corsair"])),
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
    ]
    return (
        "## Library overhead: tower (median per request)\n\n"
        "Reported; instruction counts decide. The requests counted in instructions "
        "above, timed by criterion; overhead, floor and ratios as there.\n\n"
        + table(header, rows)
    )


def actix_section(median):
    rows = []
    for scenario in SCENARIOS:
        group = f"actix/{scenario}"
        t = {function: median(group, function) for function in ACTIX}
        ours = t["corsair"] - t["bare"]
        theirs = t["actix_cors"] - t["bare"]
        rows.append(
            [
                scenario,
                ns(t["bare"]),
                ns(t["corsair"]),
                ns(t["actix_cors"]),
                ns(ours),
                ns(theirs),
                fmt_ratio(ratio(theirs, ours)),
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
    ]
    return (
        "## Library overhead: actix-web (median per request)\n\n"
        "Reported; instruction counts decide. Requests are built outside the timing; "
        "overhead and ratio as above.\n\n"
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


def adversarial_section(median, answers):
    rows = []
    for case in ADVERSARIAL:
        t = {f: median("adversarial", f"{case}/{f}") for f in ["bare", "corsair", "tower_http_list"]}
        a = {f: median("actix/adversarial", f"{case}/{f}") for f in ["bare", "corsair", "actix_cors"]}
        rows.append(
            [
                case,
                ns(t["bare"]),
                ns(t["corsair"]),
                ns(t["corsair"] - t["bare"]),
                f"{ns(t['tower_http_list'] - t['bare'])} ({answers.get(('tower_http_list', case), '?')})",
                ns(a["bare"]),
                ns(a["corsair"]),
                ns(a["corsair"] - a["bare"]),
                f"{ns(a['actix_cors'] - a['bare'])} ({answers.get(('actix_cors', case), '?')})",
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
    ]
    return (
        "## Adversarial `Access-Control-Request-Headers` (preflights from the allowed origin)\n\n"
        "Reported; no target. corsair refuses every input with 403 and no "
        "`Access-Control-Allow-Origin` (asserted by the benches before timing). The "
        "peers' answers are shown as status (+ACAO when they allowed the origin).\n\n"
        + table(header, rows)
    )


# ------------------------------------------------------------------ proxy --

CPU_LABEL = "target 3, {}: proxy CPU time per request ≤ nginx's"
RPS_LABEL = "target 3, {}: proxy req/s ≥ nginx's"
PREFLIGHT_RPS_LABEL = "target 3, preflight: proxy req/s ≥ nginx's (preflights stay ahead)"
IDLE_LABEL = (f"target 4: idle keep-alive connection ≤ {IDLE_MAX_KIB:g} KiB, "
              f"measured with {IDLE_CONNECTIONS:,} idle connections")


def proxy_labels():
    """Target 3's verdicts in the order listed: (scenario, what, label)."""
    return [
        ("allowed", "cpu_us", CPU_LABEL.format("allowed")),
        ("refused", "cpu_us", CPU_LABEL.format("refused")),
        ("allowed", "rps", RPS_LABEL.format("allowed")),
        ("refused", "rps", RPS_LABEL.format("refused")),
        ("preflight", "rps", PREFLIGHT_RPS_LABEL),
    ]


def proxy_skipped(verdicts):
    for _, _, label in proxy_labels():
        verdicts.add("3", label, False, NOT_MEASURED)
    verdicts.add("4", IDLE_LABEL, False, NOT_MEASURED)
    return ("## Proxy: `corsair proxy` vs nginx (targets 3 and 4)\n\n"
            "Not run (`BENCH_SKIP_PROXY=1`). Targets 3 and 4 are missed: not measured.")


def number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} is {value!r}")
    return float(value)


def proxy_section(path, verdicts):
    data = load_json(path, "proxy results")
    try:
        runs = {}
        for scenario in PROXY_SCENARIOS:
            runs[scenario] = {
                target: {
                    key: number(data["scenarios"][scenario][target][key],
                                f"{scenario}.{target}.{key}")
                    for key in ["rps", "p99_ms", "cpu_us", "errors"]
                }
                for target in ["upstream", "corsair", "nginx"]
            }
        idle = {key: number(data["idle_kib"][key], f"idle_kib.{key}")
                for key in ["corsair", "nginx", "connections"]}
        wrk, rounds, commit = data["wrk"], data["rounds"], data["commit"]
        machine = data.get("machine", {})
    except (KeyError, TypeError) as error:
        raise Missing(f"malformed proxy results {path}: missing or bad {error!r}") from error

    cells = {}
    for scenario, what, label in proxy_labels():
        ours, nginx = runs[scenario]["corsair"], runs[scenario]["nginx"]
        if ours["rps"] <= 0 or nginx["rps"] <= 0 or (
                what == "cpu_us" and (ours["cpu_us"] <= 0 or nginx["cpu_us"] <= 0)):
            # A run that served nothing measured nothing.
            ok, detail = False, "nothing measured (a zero in proxy.json)"
        else:
            share = ours[what] / nginx[what]
            ok = ours[what] <= nginx[what] if what == "cpu_us" else ours[what] >= nginx[what]
            detail = f"{share:.2f}x nginx's"
        verdicts.add("3", label, ok, detail)
        cells[(scenario, what)] = met(ok)

    rows = []
    for scenario in PROXY_SCENARIOS:
        up, ours, nginx = (runs[scenario][target] for target in ["upstream", "corsair", "nginx"])
        rps_share = ours["rps"] / nginx["rps"] if nginx["rps"] > 0 else None
        cpu_share = ours["cpu_us"] / nginx["cpu_us"] if nginx["cpu_us"] > 0 else None
        rows.append([
            scenario,
            f"{up['rps']:,.0f}",
            f"{ours['rps']:,.0f}",
            f"{nginx['rps']:,.0f}",
            fmt_ratio(rps_share, 2),
            cells.get((scenario, "rps"), "(no target)"),
            f"{up['cpu_us']:.1f}",
            f"{ours['cpu_us']:.1f}",
            f"{nginx['cpu_us']:.1f}",
            fmt_ratio(cpu_share, 2),
            cells.get((scenario, "cpu_us"), "(no target)"),
            f"{up['p99_ms']:.2f} / {ours['p99_ms']:.2f} / {nginx['p99_ms']:.2f}",
            f"{ours['errors']:.0f} / {nginx['errors']:.0f}",
        ])
    header = [
        "scenario",
        "upstream req/s",
        "corsair req/s",
        "nginx req/s",
        "req/s corsair / nginx",
        "target ≥ nginx",
        "upstream CPU µs/req",
        "corsair CPU µs/req",
        "nginx CPU µs/req",
        "CPU corsair / nginx",
        "target ≤ nginx",
        "p99 ms upstream / corsair / nginx (reported)",
        "errors corsair / nginx",
    ]

    connections = int(idle["connections"])
    idle_ok = idle["corsair"] <= IDLE_MAX_KIB and connections >= IDLE_CONNECTIONS
    if connections < IDLE_CONNECTIONS:
        idle_detail = (f"{idle['corsair']:,.1f} KiB with {connections:,} connections; the "
                       f"target asks for {IDLE_CONNECTIONS:,} (set BENCH_IDLE={IDLE_CONNECTIONS})")
    else:
        idle_detail = f"{idle['corsair']:,.1f} KiB with {connections:,} connections"
    verdicts.add("4", IDLE_LABEL, idle_ok, idle_detail)

    rounds_text = f"{rounds} round{'s' if rounds != 1 else ''}"
    return (
        "## Proxy: `corsair proxy` vs nginx (targets 3 and 4)\n\n"
        f"wrk `{wrk}` on loopback, {rounds_text}, commit {commit}, "
        f"{machine.get('cores', '?')} cores, {machine.get('cpu', '?')}. CPU µs/req is "
        "the server processes' user and system time over the requests served; the "
        "ratios are corsair's figure over nginx's in the same run. Target 3: no more "
        "CPU per request than nginx and at least its req/s (allowed and refused; "
        "preflights: req/s). p99 is reported only.\n\n"
        + table(header, rows)
        + f"\n\nTarget 4, memory per idle keep-alive connection (VmRSS growth), with "
        f"{connections:,} open: corsair {idle['corsair']:,.1f} KiB, nginx "
        f"{idle['nginx']:,.1f} KiB (for reference); target ≤ {IDLE_MAX_KIB:g} KiB with "
        f"{IDLE_CONNECTIONS:,} connections: {met(idle_ok)}"
        + ("." if connections >= IDLE_CONNECTIONS else
           f" (measured with {connections:,}; the target asks for {IDLE_CONNECTIONS:,}: "
           f"set BENCH_IDLE={IDLE_CONNECTIONS}).")
    )


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
    verdicts = Verdicts()
    try:
        counts = read_instructions(args.instructions)
        sections = [
            "# corsair benchmarks",
            machine_section(args),
            instructions_section(counts, args.instructions, verdicts),
            feature_section(counts, args.instructions, verdicts),
            alloc_section(args.alloc, read_alloc(args.alloc), verdicts),
            scale_section(median, counts, args.instructions, verdicts),
            library_section(median),
            actix_section(median),
            adversarial_section(median, read_answers(args.answers)),
            proxy_section(args.proxy, verdicts) if args.proxy else proxy_skipped(verdicts),
        ]
    except Missing as error:
        print(f"bench-report: {error}", file=sys.stderr)
        return 1

    listed = verdicts.listed()
    summary = [f"- {met(ok)}: {label} — {detail}" for label, ok, detail in listed]
    reached = sum(1 for _, ok, _ in listed if ok)
    sections.append(
        "## Targets\n\n"
        "Issue 19's targets by number, and two kept from issue 7. A measurement "
        "that was not taken is a missed target.\n\n"
        + "\n".join(summary)
        + f"\n\n{reached} of {len(listed)} targets met."
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as file:
        file.write("\n\n".join(sections) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
