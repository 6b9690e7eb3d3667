#!/usr/bin/env python3
"""Checks of the eclat-lab book, run by run-tests.sh after `mdbook build book`:
- every lesson (lessons/NN-name/README.md) has its chapter, in lesson order, including its README;
- every {{#include}} and {{#eclat-c-block}} target exists, and no directive is left unexpanded;
- every relative link and #anchor of the built HTML resolves;
- every diagnostic code of the compiler (lab/pure/eclat/src) has its section in the reference;
- the commands page was generated from the binary, and every JSON field on it has a meaning;
- every figure ({{#eclat-figure}}) was drawn: one SVG per directive in the built page;
- every lesson has its terminal UI picture (a PNG from book/tools/screenshot.sh);
- every lesson ends with "Further reading" that cites the bibliography, and every work of the
  bibliography is cited somewhere;
- no line of an exercise's solution (a line its starter does not have) is printed outside a
  folded <details> block, in a lesson's text or in its built chapter.
Exit status 1 with one line per problem.   python3 book/tools/check-book.py
"""
import html
import html.parser
import os
import re
import shlex
import sys
import urllib.parse

BOOK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BOOK)
SRC = os.path.join(BOOK, "src")
OUT = os.path.join(BOOK, "book")
problems = []


def problem(msg):
    problems.append(msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def check_lessons():
    summary = read(os.path.join(SRC, "SUMMARY.md"))
    listed = re.findall(r"\]\(lessons/([^)]+)\.md\)", summary)
    lessons = sorted(n for n in os.listdir(os.path.join(REPO, "lessons"))
                     if re.match(r"^\d\d-", n) and os.path.isfile(os.path.join(REPO, "lessons", n, "README.md")))
    fix = "run `python3 book/tools/sync-lessons.py`"
    for lesson in lessons:
        if lesson not in listed:
            problem(f"lessons/{lesson} has no chapter in book/src/SUMMARY.md ({fix})")
            continue
        chapter = os.path.join(SRC, "lessons", lesson + ".md")
        if not os.path.exists(chapter):
            problem(f"book/src/lessons/{lesson}.md is missing ({fix})")
        elif f"../../../lessons/{lesson}/README.md" not in read(chapter):
            problem(f"book/src/lessons/{lesson}.md does not include lessons/{lesson}/README.md")
    for lesson in listed:
        if lesson not in lessons:
            problem(f"SUMMARY.md lists lessons/{lesson}.md but lessons/{lesson}/README.md does not exist")
    if listed != sorted(listed):
        problem(f"lessons are not in order in SUMMARY.md: {listed} ({fix})")


def markdown_files():
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".md"):
                yield os.path.join(root, n)


def check_includes():
    for path in markdown_files():
        rel = os.path.relpath(path, BOOK)
        text = read(path)
        for m in re.finditer(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)[^}]*\}\}", text):
            target = m.group(2).split(":")[0]
            if not os.path.isfile(os.path.normpath(os.path.join(os.path.dirname(path), target))):
                problem(f"{rel}: {{{{#{m.group(1)}}}}} target {target} does not exist")
        for m in re.finditer(r"\{\{#eclat-c-block\s+([^}]*)\}\}", text):
            target = shlex.split(m.group(1))[0]
            if not os.path.isfile(os.path.join(REPO, target)):
                problem(f"{rel}: eclat-c-block file {target} does not exist")


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for attr in ("href", "src"):
            if a.get(attr) and not (tag == "link" or tag == "script"):
                self.links.append(a[attr])


def check_html():
    if not os.path.isdir(OUT):
        problem("book/book does not exist: run `mdbook build book` first")
        return
    pages = {}
    for root, _, names in os.walk(OUT):
        for n in names:
            if n.endswith(".html") and n not in ("404.html", "toc.html"):
                p = Page()
                p.feed(read(os.path.join(root, n)))
                pages[os.path.relpath(os.path.join(root, n), OUT)] = p
    for page, p in sorted(pages.items()):
        text = read(os.path.join(OUT, page))
        for m in re.finditer(r"\{\{#[a-z_-]+[^}]*\}\}", text):
            problem(f"{page}: directive left unexpanded: {m.group(0)}")
        for m in re.finditer(r"\{(bpffs|ns)\}", text):
            problem(f"{page}: lab placeholder left unexpanded: {m.group(0)} (tools/preprocess.py expands it)")
        for m in re.finditer(r"ECLAT-EXAMPLE-BROKEN: (.*?)</", text):
            problem(f"{page}: {html.unescape(re.sub('<[^>]+>', '', m.group(1)))}")
        for link in p.links:
            u = urllib.parse.urlsplit(link)
            if u.scheme or link.startswith("//") or link.startswith("mailto:"):
                continue
            target = page if not u.path else os.path.normpath(os.path.join(os.path.dirname(page), urllib.parse.unquote(u.path)))
            if not u.path and not u.fragment:
                continue
            full = os.path.join(OUT, target)
            if not os.path.exists(full):
                problem(f"{page}: broken link {link}")
            elif u.fragment and target.endswith(".html") and target in pages and u.fragment not in pages[target].ids:
                problem(f"{page}: link {link}: no #{u.fragment} in {target}")


def check_diagnostics():
    codes = set()
    for root, _, names in os.walk(os.path.join(REPO, "lab", "pure", "eclat", "src")):
        for n in names:
            if n.endswith(".rs"):
                codes |= set(re.findall(r"\b(?:error|warning)\(\s*\"([a-z0-9-]+)\"", read(os.path.join(root, n))))
    page = read(os.path.join(SRC, "reference", "diagnostics.md"))
    documented = set(re.findall(r"^### `([a-z0-9-]+)`", page, re.M))
    for code in sorted(codes - documented):
        problem(f"diagnostic `{code}` (lab/pure/eclat/src) has no section in book/src/reference/diagnostics.md")
    examples = os.path.join(SRC, "reference", "diagnostics")
    for n in sorted(os.listdir(examples)):
        if os.path.splitext(n)[0] not in documented:
            problem(f"book/src/reference/diagnostics/{n} is the example of no documented diagnostic")
    for code in sorted(documented - codes):
        problem(f"book/src/reference/diagnostics.md documents `{code}`, which the compiler no longer has")


def check_commands():
    page = os.path.join(OUT, "reference", "commands.html")
    if not os.path.exists(page):
        return
    text = read(page)
    if 'id="cmd-doctor"' not in text:
        problem("reference/commands.html was built without the eclat-lab binary (cargo build -p eclat-lab first)")
    # a JSON field whose meaning cell is the preprocessor's dash has no doc comment
    blank = re.findall(r"<tr><td><code>([^<]*)</code></td><td>[^<]*</td><td>\u2014</td></tr>", text)
    if blank:
        problem(f"reference/commands.html: {len(blank)} JSON field(s) without a meaning "
                f"(`{html.unescape(blank[0])}` first): write `///` comments on them "
                f"(`cargo test -p eclat-lab --bin eclat-lab every_field` names each command and field)")


def check_figures():
    for path in markdown_files():
        wanted = len(re.findall(r"\{\{#eclat-figure\s", read(path)))
        if not wanted:
            continue
        rel = os.path.relpath(path, SRC)
        page = os.path.join(OUT, os.path.splitext(rel)[0] + ".html")
        if not os.path.exists(page):
            continue
        text = read(page)
        for m in re.finditer(r"ECLAT-FIGURE-BROKEN: (.*?)</", text):
            problem(f"{rel}: figure not drawn: {html.unescape(re.sub('<[^>]+>', '', m.group(1)))}")
        got = len(re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="eclat-figure"', text))
        if got != wanted:
            problem(f"{rel}: {wanted} figure directives but {got} SVG figures in {os.path.relpath(page, BOOK)}")


def png_size(path):
    """(width, height) of a PNG file, or None if it is not one."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def check_screenshots():
    shots = os.path.join(SRC, "images", "lessons")
    for lesson in sorted(n for n in os.listdir(os.path.join(REPO, "lessons")) if re.match(r"^\d\d-", n)):
        png = os.path.join(shots, lesson + ".png")
        if not os.path.exists(png):
            problem(f"lesson {lesson} has no terminal UI picture: run `sudo book/tools/screenshot.sh {lesson[:2]}`")
            continue
        size = png_size(png)
        if not size or size[0] < 600 or size[1] < 300:
            problem(f"book/src/images/lessons/{lesson}.png is not a terminal picture (PNG size {size})")


def check_citations():
    bib_path = os.path.join(SRC, "reference", "bibliography.md")
    if not os.path.exists(bib_path):
        problem("book/src/reference/bibliography.md is missing")
        return
    entries = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', read(bib_path)))
    cited = set()
    for path in list(markdown_files()) + [os.path.join(REPO, "lessons", n, "README.md")
                                          for n in os.listdir(os.path.join(REPO, "lessons"))]:
        if os.path.exists(path) and os.path.abspath(path) != os.path.abspath(bib_path):
            cited |= set(re.findall(r"bibliography\.md#([a-z0-9-]+)", read(path)))
    for key in sorted(entries - cited):
        problem(f"bibliography entry #{key} is cited nowhere")
    for lesson in sorted(n for n in os.listdir(os.path.join(REPO, "lessons")) if re.match(r"^\d\d-", n)):
        readme = os.path.join(REPO, "lessons", lesson, "README.md")
        if not os.path.exists(readme):
            continue
        text = read(readme)
        m = re.search(r"^## Further reading\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not m:
            problem(f"lessons/{lesson}/README.md has no `## Further reading` section")
        elif "bibliography.md#" not in m.group(1):
            problem(f"lessons/{lesson}/README.md: its Further reading cites nothing from the bibliography")


def code_line(line):
    """A line of C or eCLAT without its comment, whitespace collapsed (as the course's test)."""
    for c in ("//", "/*", " # "):
        i = line.find(c)
        if i >= 0:
            line = line[:i]
    if line.lstrip().startswith(("#", "*")):
        line = ""
    return " ".join(line.split()).rstrip(";{ ")


def solution_lines(starter, solution, common):
    """The lines of a solution that its starter does not have, less the `common` ones (the
    lab's own sources and every starter print those anyway: they give nothing away)."""
    have = {code_line(l) for l in starter.splitlines()} | common
    return sorted({c for c in map(code_line, solution.splitlines()) if len(c) >= 8 and c not in have})


def unfolded_text(text):
    """`text` (Markdown or HTML) without its <details> blocks, tags and entities."""
    text = re.sub(r"<details\b.*?</details>", "", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def leaked(text, lines, common=frozenset()):
    """The solution lines that `text` prints outside folded blocks (a shown line that is
    itself a line of a starter or of the lab's sources is not a leak)."""
    shown = [code_line(l) for l in unfolded_text(text).splitlines()]
    return [s for s in lines if any(s in l for l in shown if l not in common)]


def common_lines():
    common = set()
    for root, _, names in os.walk(os.path.join(REPO, "ebpf-modules")):
        for n in names:
            if n.endswith((".c", ".h", ".eclat")):
                common |= {code_line(l) for l in read(os.path.join(root, n)).splitlines()}
    for lesson in os.listdir(os.path.join(REPO, "lessons")):
        starter = os.path.join(REPO, "lessons", lesson, "starter")
        if os.path.isdir(starter):
            for n in os.listdir(starter):
                common |= {code_line(l) for l in read(os.path.join(starter, n)).splitlines()}
    return common


def check_solutions():
    common = common_lines()
    for lesson in sorted(n for n in os.listdir(os.path.join(REPO, "lessons")) if re.match(r"^\d\d-", n)):
        d = os.path.join(REPO, "lessons", lesson)
        sol = os.path.join(d, "solution")
        if not os.path.isdir(sol):
            continue
        lines = []
        for n in sorted(os.listdir(sol)):
            starter = os.path.join(d, "starter", n)
            lines += solution_lines(read(starter) if os.path.exists(starter) else "",
                                    read(os.path.join(sol, n)), common)
        places = [(f"lessons/{lesson}/README.md", os.path.join(d, "README.md")),
                  (f"book/lessons/{lesson}.html", os.path.join(OUT, "lessons", lesson + ".html"))]
        for name, path in places:
            if os.path.exists(path):
                for line in leaked(read(path), lines, common):
                    problem(f"{name} prints a line of the solution outside a folded block: `{line}` "
                            "(fold it in <details>, or say it without the code)")


def main():
    check_lessons()
    check_includes()
    check_html()
    check_diagnostics()
    check_commands()
    check_figures()
    check_screenshots()
    check_citations()
    check_solutions()
    for p in problems:
        print("book: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("book: lessons, includes, links and references all check out")


if __name__ == "__main__":
    main()
