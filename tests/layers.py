#!/usr/bin/env python3
"""The layers of lab/, checked from the code itself (run by run-tests.sh):

1. crates depend only on crates of lower floors:
   pure (hike < eclat, model) < kernel < service < course < faces;
2. only the kernel crate uses the crates that reach the kernel (aya, aya-obj, netlink-*,
   socket2); the pure crates use none that do I/O (tokio, nix, libc, notify, include_dir);
   the faces use nix/libc for the terminal only (termios, a pseudo-terminal, SIGPIPE);
3. no two modules of a crate import each other, directly or in a circle (a module is a file;
   `crate::a::b`, `super::x` and `super::super::x` paths are read, comments and the tests at
   the end of a file are not).

Exit 1 with what is wrong."""
import os, re, sys, tomllib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
CRATES = {  # folder -> (package, floor)
    'lab/pure/hike': ('hike', 0),
    'lab/pure/eclat': ('eclat', 1),
    'lab/pure/model': ('eclat-model', 1),
    'lab/kernel': ('eclat-kernel', 2),
    'lab/service': ('eclat-service', 3),
    'lab/course': ('eclat-course', 4),
    'lab/faces': ('eclat-lab', 5),
}
KERNEL_ONLY = {'aya', 'aya-obj', 'netlink-packet-route', 'netlink-packet-core', 'netlink-sys',
               'rtnetlink', 'socket2'}
NO_IO = {'tokio', 'tokio-util', 'nix', 'libc', 'notify', 'include_dir', 'socket2', 'aya'}
TERMINAL_ONLY = {'nix', 'libc'}

errors = []
floor_of = {pkg: floor for pkg, floor in CRATES.values()}

def strip(text):
    text = re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return text

for folder, (pkg, floor) in CRATES.items():
    with open(os.path.join(ROOT, folder, 'Cargo.toml'), 'rb') as f:
        deps = tomllib.load(f).get('dependencies', {})
    for d in deps:
        if d in floor_of and floor_of[d] >= floor and d != pkg:
            errors.append(f'{pkg} (floor {floor}) depends on {d} (floor {floor_of[d]})')
        if d in KERNEL_ONLY and pkg != 'eclat-kernel':
            errors.append(f'{pkg} depends on {d}: only eclat-kernel reaches the kernel')
        if floor <= 1 and d in NO_IO:
            errors.append(f'{pkg} is pure but depends on {d}')

# faces: nix and libc only in the terminal's files
faces_src = os.path.join(ROOT, 'lab/faces/src')
for dp, _, fs in os.walk(faces_src):
    for fn in fs:
        if not fn.endswith('.rs'):
            continue
        p = os.path.join(dp, fn)
        rel = os.path.relpath(p, faces_src)
        text = strip(open(p, encoding='utf-8').read())
        for m in re.finditer(r'\b(nix|libc)::(\w+)', text):
            ok = rel in ('main.rs', 'tui/mod.rs', 'bench/figures.rs')
            if not ok:
                errors.append(f'lab/faces/src/{rel} uses {m.group(1)}::{m.group(2)}: the faces '
                              'use nix/libc for the terminal only')

def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == 'mod':
        rel = rel[:-1]
    return rel

for folder, (pkg, _) in CRATES.items():
    src = os.path.join(ROOT, folder, 'src')
    edges = {}
    for dp, _, fs in os.walk(src):
        for fn in fs:
            if not fn.endswith('.rs'):
                continue
            p = os.path.join(dp, fn)
            rel = module_of(src, p)
            if rel in (['lib'], ['main']) or not rel:
                continue
            me = '/'.join(rel)
            text = strip(open(p, encoding='utf-8').read())
            out = edges.setdefault(me, set())
            mods_here = rel if fn == 'mod.rs' else rel[:-1]
            for m in re.finditer(r'\bcrate((?:::\w+)+)', text):
                parts = m.group(1).strip(':').split('::')
                # the deepest module of the path that exists
                tgt = []
                for part in parts:
                    cand = tgt + [part]
                    if os.path.exists(os.path.join(src, *cand) + '.rs') or \
                       os.path.isdir(os.path.join(src, *cand)):
                        tgt = cand
                    else:
                        break
                if tgt and tgt != rel[:len(tgt)]:
                    out.add('/'.join(tgt))
            for m in re.finditer(r'\b((?:super::)+)(\w+)', text):
                ups = m.group(1).count('super::')
                base = mods_here[:len(mods_here) - ups] if ups <= len(mods_here) else []
                cand = base + [m.group(2)]
                if os.path.exists(os.path.join(src, *cand) + '.rs') or \
                   os.path.isdir(os.path.join(src, *cand)):
                    t = '/'.join(cand)
                    if t != me and not me.startswith(t + '/'):
                        out.add(t)
    # an edge to a module is an edge to every ancestor folder module too? no: only the file
    idx, low, st, on, n = {}, {}, [], set(), [0]
    sys.setrecursionlimit(10000)
    def sc(v):
        idx[v] = low[v] = n[0]; n[0] += 1; st.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in idx:
                sc(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                errors.append(f'{pkg}: modules import each other: {" <-> ".join(sorted(comp))}')
    for v in list(edges):
        if v not in idx:
            sc(v)

if errors:
    print('\n'.join(errors))
    sys.exit(1)
print(f'layers: {len(CRATES)} crates in order, kernel crates only in eclat-kernel, '
      'no module cycles')
