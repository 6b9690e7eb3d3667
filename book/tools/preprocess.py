#!/usr/bin/env python3
"""mdBook preprocessor for the eclat-lab book: text generated from the project itself, at build
time, so that the reference cannot drift from the code.

  {{#eclat-help}}                 `eclat-lab --help`
  {{#eclat-help topo up}}         `eclat-lab topo up --help`
  {{#eclat-help-all}}             every command and subcommand, one section each
  {{#eclat-diagnostic CODE}}      book/src/reference/diagnostics/CODE.eclat and what
                                  `eclat-lab compile` reports on it (extra arguments in CODE.args);
                                  without an example, the first CODE in the compiler's golden
                                  files (lab/pure/eclat/tests/golden/*.diag)
  {{#eclat-lesson-steps ID}}      the steps of lessons/ID/lesson.toml, with their commands
  {{#eclat-lesson-files ID}}      every other file of lessons/ID (starter files, solutions, checks)
  {{#eclat-c-block FILE "START" ["END"]}}
                                  from the first line of FILE (relative to the repository) that
                                  starts with START to the next line starting with END
                                  (default "}"), inclusive: a listing that follows edits of the
                                  file, unlike a line range

  {{#eclat-figure topology FILE.toml}}
  {{#eclat-figure chain SCRIPT.eclat [CHAIN]}}
  {{#eclat-figure path SCRIPT.eclat [NODE]}}
                                  an SVG figure drawn from the repository's file by the lab
                                  itself (`eclat-lab topo draw FILE`, `chain draw SCRIPT
                                  [--chain CHAIN]`, `chain draw SCRIPT --path [--node NODE]`)

Lesson chapters also get the terminal UI at the lesson's key moment under their steps:
book/src/images/lessons/ID.png, taken by `sudo book/tools/screenshot.sh` (its caption in ID.txt).

The binary is $ECLAT_LAB_BIN, else target/debug or target/release, else `eclat-lab` on PATH.
"""
import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

BOOK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BOOK)
GOLDEN = os.path.join(REPO, "lab", "pure", "eclat", "tests", "golden")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_binary():
    cands = [os.environ.get("ECLAT_LAB_BIN", "")]
    cands += [os.path.join(REPO, "target", d, "eclat-lab") for d in ("debug", "release")]
    cands = [c for c in cands if c and os.access(c, os.X_OK)]
    if cands:
        # the newest build describes the current sources best
        return max(cands, key=os.path.getmtime) if not os.environ.get("ECLAT_LAB_BIN") else cands[0]
    return shutil.which("eclat-lab")


BIN = find_binary()
_help_cache = {}


def help_text(args):
    key = tuple(args)
    if key not in _help_cache:
        if not BIN:
            _help_cache[key] = None
        else:
            env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
            out = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True, env=env, timeout=30)
            _help_cache[key] = ANSI.sub("", out.stdout).rstrip() if out.returncode == 0 else None
    return _help_cache[key]


def subcommands(args):
    """Subcommand names listed under `Commands:` in a help text (except `help`)."""
    text = help_text(args) or ""
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)", line)
            if m:
                if m.group(1) != "help":
                    names.append(m.group(1))
            elif line and not line.startswith(" "):
                inside = False
    return names


def fence(text):
    return "```text\n" + text + "\n```"


def missing_binary():
    return ("> This page is generated from the `eclat-lab` binary, which was not found when the book "
            "was built: run `cargo build -p eclat-lab` and build the book again.")


def render_help(args):
    text = help_text(args)
    if text is None:
        return missing_binary() if not BIN else f"> `eclat-lab {' '.join(args)} --help` failed."
    return fence(text)


_reference = None


def json_reference():
    """`eclat-lab dev reference`: the JSON fields of every command's result, from its types."""
    global _reference
    if _reference is None:
        _reference = {}
        if BIN:
            out = subprocess.run([BIN, "dev", "reference"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0:
                _reference = json.loads(out.stdout)
    return _reference


def md_cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def json_table(fields):
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for f in fields:
        rows.append(f"| `{md_cell(f['field'])}` | {md_cell(f['type'])} | {md_cell(f['about']) or '—'} |")
    return "\n".join(rows)


def render_json(args):
    ref = json_reference()
    cmd = " ".join(args)
    for c in ref.get("commands", []):
        if c["command"] == cmd and c["fields"]:
            return ("With `--json`, the result is one JSON object with these fields (nested "
                    "objects as `a.b`, array items as `a[]`):\n\n" + json_table(c["fields"]) + "\n")
    return ""


def render_updates():
    ref = json_reference()
    fields = ref.get("updates", [])
    if not fields:
        return ""
    return ("While `map watch`, `chain trace` and `bench` run, each thing they see is printed as "
            "it comes; with `--json` each is one line of JSON, one of:\n\n" + json_table(fields) + "\n")


def render_help_all():
    if not BIN:
        return missing_binary()
    parts = []

    def walk(args, depth):
        title = "eclat-lab " + " ".join(args) if args else "eclat-lab"
        anchor = "cmd-" + ("-".join(args) if args else "eclat-lab")
        if args:
            parts.append(f"{'#' * min(depth + 1, 6)} `{title}` {{#{anchor}}}\n\n{render_help(args)}\n")
            j = render_json(args)
            if j:
                parts.append(j)
        for sub in subcommands(args):
            walk(args + [sub], depth + 1)

    walk([], 1)
    parts.append("## Streamed results {#cmd-updates}\n\n" + render_updates())
    return "\n".join(parts)


def diagnostics():
    """CODE -> (file, rendered text) for the first example of each code in the golden files."""
    found = {}
    if not os.path.isdir(GOLDEN):
        return found
    for name in sorted(os.listdir(GOLDEN)):
        if not name.endswith(".diag"):
            continue
        block, code = [], None
        for line in open(os.path.join(GOLDEN, name), encoding="utf-8").read().splitlines() + ["[end] "]:
            m = re.match(r"^\[([a-z0-9-]+)\] ", line)
            if m:
                if code and code not in found:
                    found[code] = (name, "\n".join(block).rstrip())
                block, code = [], m.group(1)
            if code:
                block.append(ANSI.sub("", line))
    return found


DIAGS = None


EXAMPLES = os.path.join(BOOK, "src", "reference", "diagnostics")
DIAG_HEAD = re.compile(r"^(?:error: )?\[([a-z0-9-]+)\] (?:Error|Warning)")


def compile_example(code):
    """Source and the compiler's rendering of diagnostic CODE for its example script, or None."""
    src = os.path.join(EXAMPLES, code + ".eclat")
    if not BIN or not os.path.exists(src):
        return None
    args = []
    if os.path.exists(os.path.join(EXAMPLES, code + ".args")):
        args = shlex.split(open(os.path.join(EXAMPLES, code + ".args")).read())
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    out = subprocess.run([BIN, "compile", *args, code + ".eclat"], cwd=EXAMPLES, capture_output=True,
                         text=True, env=env, timeout=30)
    blocks, cur = [], None
    for line in ANSI.sub("", out.stderr + out.stdout).splitlines():
        m = DIAG_HEAD.match(line)
        if m:
            cur = [m.group(1), [line[len("error: "):] if line.startswith("error: ") else line]]
            blocks.append(cur)
        elif cur is not None and not line.startswith("error: ") and not line.startswith("compiled in"):
            cur[1].append(line)
    shown = ["\n".join(b[1]).rstrip() for b in blocks if b[0] == code]
    source = open(src, encoding="utf-8").read().rstrip()
    cmd = " ".join(["eclat-lab compile", *args, code + ".eclat"])
    if not shown:
        # check-book.py fails the build on this marker
        return (f"```python\n{source}\n```\n\n> ECLAT-EXAMPLE-BROKEN: `{cmd}` does not report `{code}` any more.")
    return (f"`{code}.eclat`:\n\n```python\n{source}\n```\n\n`$ {cmd}` (run when this book was built):\n\n"
            + fence("\n".join(shown)))


def render_diagnostic(code):
    global DIAGS
    example = compile_example(code)
    if example:
        return example
    if DIAGS is None:
        DIAGS = diagnostics()
    if code not in DIAGS:
        return "*(No example script for this one yet.)*"
    name, text = DIAGS[code]
    return f"The compiler's output in its golden test `lab/pure/eclat/tests/golden/{name}`:\n\n" + fence(text)


LANG = {".c": "c", ".h": "c", ".eclat": "python", ".toml": "toml", ".sh": "sh", ".py": "python", ".rs": "rust"}


def lesson_dir(lesson_id):
    d = os.path.join(REPO, "lessons", lesson_id)
    if not re.fullmatch(r"[0-9A-Za-z_.-]+", lesson_id) or not os.path.isdir(d):
        raise SystemExit(f"preprocess.py: no lesson folder lessons/{lesson_id}")
    return d


FIGURE_SOURCE = {"topology": "drawn from {file} by `eclat-lab topo draw`",
                 "chain": "the compiled form of the first chain of {file} (`eclat-lab chain draw`): "
                          "each call site, the constants moved before it, the test after it, "
                          "and where every path ends",
                 "path": "the path of a packet through the loader, the HIKe VM and the programs of {file} "
                         "(`eclat-lab chain draw --path`)"}


def draw_command(kind, path, extra):
    """The lab's command that draws a figure of `kind` from the file at `path`."""
    if kind == "topology":
        return ["topo", "draw", path]
    if kind == "chain":
        return ["chain", "draw", path] + (["--chain", extra[0]] if extra else [])
    return ["chain", "draw", path, "--path"] + (["--node", extra[0]] if extra else [])


def render_figure(args):
    if len(args) < 2 or args[0] not in FIGURE_SOURCE:
        raise SystemExit(f"preprocess.py: eclat-figure wants topology|chain|path FILE [ARG], got {args}")
    kind, rel = args[0], args[1]
    # inside an HTML block Markdown is not read: code spans become <code>
    caption = re.sub(r"`([^`]+)`", lambda m: "<code>" + html.escape(m.group(1)) + "</code>",
                     FIGURE_SOURCE[kind].format(file=f"`{rel}`"))
    if not BIN:
        return f"> ECLAT-FIGURE-BROKEN: no eclat-lab binary (`cargo build -p eclat-lab`) to draw {kind} {rel}"
    out = subprocess.run([BIN, *draw_command(kind, os.path.join(REPO, rel), args[2:])], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0 or not out.stdout.startswith("<svg"):
        err = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"> ECLAT-FIGURE-BROKEN: {kind} {rel}: {err}"
    # one HTML block: no blank line inside (the drawer guarantees it for the SVG)
    return f'<figure class="eclat-figure">\n{out.stdout.strip()}\n<figcaption>Figure: {caption}, when this book was built.</figcaption>\n</figure>'


SHOTS = os.path.join(BOOK, "src", "images", "lessons")


def render_screenshot(lesson_id):
    png = os.path.join(SHOTS, lesson_id + ".png")
    if not os.path.exists(png):
        return (f"> ECLAT-SCREENSHOT-MISSING: no picture of lesson {lesson_id} in the terminal UI: "
                f"run `sudo book/tools/screenshot.sh {lesson_id[:2]}`.")
    txt = os.path.join(SHOTS, lesson_id + ".txt")
    caption = open(txt, encoding="utf-8").read().strip() if os.path.exists(txt) else ""
    return (f"## In the terminal UI\n\n![The tutorial at this lesson's key moment](../images/lessons/{lesson_id}.png)\n\n"
            f"*{caption}*" if caption else
            f"## In the terminal UI\n\n![The tutorial at this lesson's key moment](../images/lessons/{lesson_id}.png)")


def render_lesson_steps(lesson_id):
    import tomllib
    path = os.path.join(lesson_dir(lesson_id), "lesson.toml")
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    out = []
    for i, step in enumerate(manifest.get("step", []), 1):
        line = f"{i}. **{step.get('title', '')}.** {step.get('text', '')}"
        if step.get("run"):
            line += f"\n\n   ```text\n   $ sudo eclat-lab {step['run']}\n   ```"
        out.append(line)
    if not out:
        return ""
    return ("## The steps in the tutorial\n\nIn the terminal UI each step is one key press (`r` runs it); from a shell, the same commands:\n\n"
            + "\n".join(out) + "\n\n" + render_screenshot(lesson_id))


def render_lesson_files(lesson_id):
    d = lesson_dir(lesson_id)
    files = []
    for root, dirs, names in os.walk(d):
        dirs.sort()
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), d)
            if rel not in ("README.md", "lesson.toml") and not n.startswith("."):
                files.append(rel)
    if not files:
        return ""
    out = ["## Files of this lesson\n"]
    for rel in files:
        text = open(os.path.join(d, rel), encoding="utf-8", errors="replace").read().rstrip()
        lang = LANG.get(os.path.splitext(rel)[1], "text")
        body = f"```{lang}\n{text}\n```"
        if "solution" in rel:
            out.append(f"<details><summary><code>{rel}</code> (a solution: try first)</summary>\n\n{body}\n\n</details>\n")
        else:
            out.append(f"`lessons/{lesson_id}/{rel}`:\n\n{body}\n")
    return "\n".join(out)


def render_c_block(args):
    if len(args) not in (2, 3):
        raise SystemExit(f"preprocess.py: eclat-c-block wants FILE START [END], got {args}")
    path, start = args[0], args[1]
    end = args[2] if len(args) == 3 else "}"
    lines = open(os.path.join(REPO, path), encoding="utf-8").read().splitlines()
    try:
        i = next(n for n, l in enumerate(lines) if l.startswith(start))
        j = next(n for n in range(i + 1, len(lines)) if lines[n].startswith(end))
    except StopIteration:
        raise SystemExit(f"preprocess.py: {path} has no block from {start!r} to {end!r}")
    return "\n".join(lines[i : j + 1])


DIRECTIVE = re.compile(r"\{\{#(eclat-help-all|eclat-help|eclat-diagnostic|eclat-lesson-steps|eclat-lesson-files|eclat-c-block|eclat-figure)\s*([^}]*)\}\}")


def expand(content):
    def one(m):
        kind, arg = m.group(1), shlex.split(m.group(2))
        if kind == "eclat-help":
            return render_help(arg)
        if kind == "eclat-help-all":
            return render_help_all()
        if kind == "eclat-lesson-steps":
            return render_lesson_steps(arg[0])
        if kind == "eclat-lesson-files":
            return render_lesson_files(arg[0])
        if kind == "eclat-c-block":
            return render_c_block(arg)
        if kind == "eclat-figure":
            return render_figure(arg)
        return render_diagnostic(arg[0] if arg else "")
    return DIRECTIVE.sub(one, content)


# What a lesson writes for what depends on the lab instance (eclat_course::lessons::PLACEHOLDERS):
# the book shows the default instance's values
LAB_PLACEHOLDERS = {"{bpffs}": "/sys/fs/bpf/eclat-lab", "{ns}": ""}


def placeholders(content):
    for k, v in LAB_PLACEHOLDERS.items():
        content = content.replace(k, v)
    return content


def visit(items):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter:
            chapter["content"] = placeholders(expand(chapter["content"]))
            visit(chapter.get("sub_items", []))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0)
    context, book = json.load(sys.stdin)
    visit(book.get("sections") or book.get("items") or [])
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
