#!/usr/bin/env python3
"""The shape of the code, measured (docs/architecture.md, « Measured »): crates, Rust lines, files
over 500 lines (a file's `#[cfg(test)]` modules and the test crates aside), the longest functions.

    python3 bench/code_stats.py [root]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
SKIP = {"target", "node_modules", ".git", ".venv", ".venv-sam"}


def rust_files():
    for f in sorted(ROOT.rglob("*.rs")):
        rel = f.relative_to(ROOT)
        if SKIP & set(rel.parts) or rel.parts[0] in ("tests", "bench"):
            continue
        yield rel, f.read_text()


def without_tests(src):
    """The file up to its first `#[cfg(test)]` module (they come last, by our style)."""
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod\s", src, re.M)
    return src[: m.start()] if m else src


def functions(src):
    """(name, lines) of every fn whose body is a brace block, nested ones included."""
    lines = src.split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"\s*(pub(\([a-z]+\))?\s+)?(async\s+)?(const\s+)?fn\s+(\w+)", line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r'"(\\.|[^"\\])*"|//.*', "", lines[j])
            if not started and ";" in code and "{" not in code:
                break
            depth += code.count("{") - code.count("}")
            started = started or "{" in code
            if started and depth <= 0:
                out.append((m.group(5), j - i + 1))
                break
    return out


def main():
    crates = sorted(p.parent.relative_to(ROOT) for p in ROOT.glob("**/Cargo.toml")
                    if not SKIP & set(p.relative_to(ROOT).parts) and p.parent != ROOT)
    total, long_files, fns = 0, [], []
    for rel, src in rust_files():
        code = without_tests(src)
        n = code.count("\n")
        total += n
        if n > 500:
            long_files.append((n, str(rel)))
        fns += [(length, f"{rel}::{name}") for name, length in functions(code)]
    print(f"crates: {len(crates)} ({', '.join(map(str, crates))})")
    print(f"Rust lines outside tests: {total}")
    print(f"files over 500 lines (tests aside): {len(long_files)}")
    for n, f in sorted(long_files, reverse=True):
        print(f"  {n:5} {f}")
    print("longest functions:")
    for n, f in sorted(fns, reverse=True)[:5]:
        print(f"  {n:5} {f}")


if __name__ == "__main__":
    main()
