#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target from the conformance table.

    python3 fuzz/seed.py [CORPUS_DIR]      (default: fuzz/corpus)

Each seed is a file named after the SHA-1 of its content, as libFuzzer
names its own, so running this again adds nothing twice and never removes
what fuzzing found. The table is crates/corsair/tests/conformance/cases.toml;
the input formats are described in fuzz/src/lib.rs and each target's file.
"""

import hashlib
import json
import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLE = ROOT / "crates/corsair/tests/conformance/cases.toml"


def value(v):
    """A header value: a string, or the table's long-value generator form."""
    if isinstance(v, str):
        return v
    return v.get("prefix", "") + v["repeat"] * v["times"] + v.get("suffix", "")


def header_lines(pairs):
    return "".join(f"{name}: {value(v)}\n" for name, v in pairs)


def policy_sections(text):
    """Each [policies.NAME] section exactly as written, without its header."""
    sections, name, lines = {}, None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            if name is not None:
                sections[name] = "".join(lines)
            name, lines = None, []
            if line.startswith("[policies."):
                name = line.strip()[len("[policies.") : -1]
            continue
        if name is not None:
            lines.append(line)
    if name is not None:
        sections[name] = "".join(lines)
    return sections


def main():
    corpus = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz/corpus"
    text = TABLE.read_text()
    table = tomllib.loads(text)
    policies = table["policies"]
    cases = table["case"]
    seeds = {}

    def add(target, content):
        if isinstance(content, str):
            content = content.encode()
        seeds.setdefault(target, set()).add(content)

    # Configurations, as written in the table and as JSON.
    for name, section in policy_sections(text).items():
        add("config_toml", section)
    for name, policy in policies.items():
        add("config_json", json.dumps(policy, indent=2))
        add("config_json", json.dumps(policy))
        for origin in policy["allow_origins"]:
            add("request_origin", origin)

    origins_by_policy = {}
    for case in cases:
        headers = [(n.lower(), value(v)) for n, v in case.get("headers", [])]
        origins = [v for n, v in headers if n == "origin"]
        acrm = [v for n, v in headers if n == "access-control-request-method"]
        acrh = [v for n, v in headers if n == "access-control-request-headers"]
        for origin in origins:
            add("request_origin", origin)
        origins_by_policy.setdefault(case["policy"], []).extend(origins)
        if acrh:
            add("request_headers", "\n".join(acrh))

        # The whole request, with the application's headers.
        app = case.get("app_headers", [])
        add("check", f"{case['method']}\n{header_lines(case.get('headers', []))}\n{header_lines(app)}")

        # The browser's view: the script's request and the server's answer.
        expect = case.get("expect", {})
        status = expect.get("status", 200)
        answer = [(n, v) for n, v in expect.get("headers", {}).items()]
        answer += [(n, v) for n, v in app if not n.lower().startswith("access-control-")]
        preflight = case["method"] == "OPTIONS" and bool(acrm)
        method = acrm[0] if preflight else case["method"]
        names = ",".join(acrh).replace(" ", "").split(",") if acrh else []
        script = "".join(f"{name}: 1\n" for name in names if name)
        flags = "i" if policies[case["policy"]].get("allow_credentials") else "o"
        if preflight and not script and method in ("GET", "HEAD", "POST"):
            flags += "f"
        page = origins[0] + "/" if origins and origins[0].startswith("http") else None
        control = f"{status} {flags}" + (f" {page}" if page else "")
        add(
            "browser_checks",
            f"{method} https://api.example.com/items/1\n{control}\n{script}\n{header_lines(answer)}",
        )

    # Patterns with the origins sent to them.
    for name, policy in policies.items():
        entries = "\n".join(policy["allow_origins"][:8])
        sent = "\n".join(dict.fromkeys(origins_by_policy.get(name, [])))
        add("origin_pattern", f"{entries}\n\n{sent}")
        for entry in policy["allow_origins"]:
            add("origin_pattern", entry)

    total = 0
    for target, contents in sorted(seeds.items()):
        directory = corpus / target
        directory.mkdir(parents=True, exist_ok=True)
        for content in contents:
            (directory / hashlib.sha1(content).hexdigest()).write_bytes(content)
        total += len(contents)
        print(f"{target}: {len(contents)} seeds")
    print(f"{total} seeds in {corpus}")


if __name__ == "__main__":
    main()
