#!/usr/bin/env python3
"""The architecture's guard (docs/architecture.md), run by `scripts/test` and CI.

1. The domain crate has no I/O dependency: `cargo tree -p domain` lists no async runtime, web
   framework, HTTP client, database, AWS SDK or OS randomness.
2. The crates depend on each other in one direction only: domain <- store <- services, edge <-
   functions (no lower crate names a higher one in its manifest).
3. No import cycle between the files of a crate: every `crate::`/`super::`/`self::` path of a
   file's non-test code is resolved to the file that defines it, and the graph of files has no
   strongly connected component of more than one file. A path through a crate root's or a
   folder module's re-export (`pub use`) is followed to the file the item comes from; a module
   may use its parent's own items (the parent declares it: that is not counted as a cycle).
4. No Lambda links the embedded store: the functions' tree, built as `sam build` builds them (without
   the store's `embedded` feature), has no `redb` (docs/store.md).

Exit status 1 with what is wrong; prints a summary otherwise.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN_IN_DOMAIN = re.compile(
    r"^(tokio|axum|hyper|tower|tower-http|reqwest|redb|lambda_http|lambda_runtime|getrandom|"
    r"mio|socket2|rustls|aws-[a-z0-9-]+)$"
)
LAYERS = {  # crate -> the workspace crates it may depend on
    "domain": set(),
    "store": {"domain"},
    "services": {"domain", "store"},
    "edge": {"domain", "store"},
}


def fail(msg):
    print(f"check_layers: {msg}", file=sys.stderr)
    return 1


FUNCTIONS = ["towns", "accounts", "calendar", "basket", "news", "staff", "notifier", "documents",
             "invoices", "schoolyear"]


def dependencies(*packages):
    """The normal dependencies of `packages` built together (their features unified)."""
    args = ["cargo", "tree", "-e", "normal", "--prefix", "none"] + [a for p in packages for a in ("-p", p)]
    out = subprocess.run(args + ["--offline"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted({line.split()[0] for line in out.stdout.splitlines() if line.strip()})


def domain_dependencies():
    return dependencies("domain")


def manifest_deps(crate):
    text = (ROOT / "crates" / crate / "Cargo.toml").read_text()
    deps = text.split("[dependencies]", 1)[1].split("\n[", 1)[0]
    return {m.group(1) for m in re.finditer(r"^([a-z0-9_-]+)", deps, re.M)}


# ---- the file graph -------------------------------------------------------------------------

def strip_tests(src):
    """The file without its `#[cfg(test)]` items (a test module may use anything)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{", src):
        if m.start() < i:
            continue
        out.append(src[i:m.start()])
        depth, j = 0, m.end() - 1
        while j < len(src):
            if src[j] == "{":
                depth += 1
            elif src[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    out.append(src[i:])
    text = "".join(out)
    text = re.sub(r"//[^\n]*", "", text)  # comments, doc links included
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split(" as ")[0]]
    head, rest = tree.split("{", 1)
    body = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    return [head + p if p != "self" else head.rstrip(":") for part in parts for p in expand_use(part)]


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path (tuple) -> file
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src).with_suffix("")
            parts = tuple(p for p in rel.parts if p not in ("lib", "main", "mod"))
            if f.name in ("lib.rs", "main.rs") and f.parent != src:
                continue  # a binary's root under src/bin is a crate of its own
            if "bin" in rel.parts:
                continue
            self.files[parts] = f
        self.reexports = {}  # (module, name) -> module path it comes from
        for mod, f in self.files.items():
            if f.name not in ("lib.rs", "mod.rs"):
                continue
            for m in re.finditer(r"pub(\([a-z]+\))?\s+use\s+([^;]+);", strip_tests(f.read_text())):
                for path in expand_use(m.group(2)):
                    segs = [s for s in path.split("::") if s]
                    if segs and segs[0] in ("crate", "self", "super"):
                        target = self.resolve(mod, segs, follow=False)
                    else:
                        target = self.resolve(mod, ["self"] + segs, follow=False)
                    if target is not None:
                        self.reexports[(mod, segs[-1])] = target

    def resolve(self, here, segs, follow=True):
        """The file module a path names, or None for the crate root, std or another crate."""
        if segs[0] == "crate":
            base, segs = (), segs[1:]
        elif segs[0] == "self":
            base, segs = here, segs[1:]
        elif segs[0] == "super":
            base = here
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        else:
            return None
        best = base
        for s in segs:
            if best + (s,) in self.files:
                best = best + (s,)
            else:
                if follow and (best, s) in self.reexports:
                    return self.reexports[(best, s)]
                break
        return best

    def graph(self):
        edges = {m: set() for m in self.files}
        for mod, f in self.files.items():
            code = strip_tests(f.read_text())
            paths = []
            for m in re.finditer(r"\buse\s+([^;]+);", code):
                paths += expand_use(m.group(1))
            inline = re.sub(r"\buse\s+[^;]+;", "", code)
            paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", inline)
            for p in paths:
                segs = [s for s in p.split("::") if s]
                if not segs or segs[0] not in ("crate", "self", "super"):
                    continue
                target = self.resolve(mod, segs)
                if target is None or target == mod or target not in self.files:
                    continue
                if self.files[target].name in ("lib.rs", "mod.rs"):
                    # an aggregator: a path through it to an item it defines itself is an edge;
                    # declaring children is not
                    if mod[: len(target)] == target:
                        continue
                edges[mod].add(target)
        return edges


def cycles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    status = 0
    deps = domain_dependencies()
    bad = [d for d in deps if FORBIDDEN_IN_DOMAIN.match(d)]
    if bad:
        status = fail(f"the domain crate depends on I/O crates: {', '.join(bad)}")
    if "redb" in dependencies(*FUNCTIONS):
        status = fail("a Lambda links the embedded store (redb): only the local portal and the tests "
                      "may turn on the store's `embedded` feature")
    for crate, allowed in LAYERS.items():
        ours = manifest_deps(crate) & (set(LAYERS) | set(FUNCTIONS))
        if ours - allowed:
            status = fail(f"crate {crate} depends on {', '.join(sorted(ours - allowed))} (allowed: "
                          f"{', '.join(sorted(allowed)) or 'none'})")
    srcs = sorted(ROOT.glob("crates/*/src")) + sorted(ROOT.glob("functions/*/src")) + [ROOT / "infra/local/src"]
    total = 0
    for src in srcs:
        crate = Crate(src)
        total += len(crate.files)
        for comp in cycles(crate.graph()):
            names = sorted(str(crate.files[m].relative_to(ROOT)) for m in comp)
            status = fail(f"import cycle in {src.parent.name}: {' <-> '.join(names)}")
    if status == 0:
        print(f"check_layers: domain has {len(deps)} dependencies, none doing I/O; no embedded store in "
              f"a Lambda; crates layered; "
              f"{total} files in {len(srcs)} crates, no import cycle")
    return status


if __name__ == "__main__":
    sys.exit(main())
