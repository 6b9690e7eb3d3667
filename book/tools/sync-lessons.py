#!/usr/bin/env python3
"""Give every lessons/NN-name folder its chapter: book/src/lessons/NN-name.md (the lesson's own
README included, plus its steps and files, expanded at build time) and a line in SUMMARY.md,
in lesson order. Idempotent: run it after adding a lesson.   python3 book/tools/sync-lessons.py
With --committed, only lessons whose README.md git already tracks (to commit the book alone).
"""
import subprocess
import sys
import os
import re
import tomllib

BOOK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BOOK)
SRC = os.path.join(BOOK, "src")
LESSON_DIR = re.compile(r"^(\d\d)-[a-z0-9-]+$")

CHAPTER = """{{{{#include ../../../lessons/{id}/README.md}}}}

{{{{#eclat-lesson-steps {id}}}}}

{{{{#eclat-lesson-files {id}}}}}
"""


def tracked(name):
    r = subprocess.run(["git", "-C", REPO, "ls-files", "--error-unmatch", f"lessons/{name}/README.md"],
                       capture_output=True)
    return r.returncode == 0


def lessons():
    committed_only = "--committed" in sys.argv
    out = []
    for name in sorted(os.listdir(os.path.join(REPO, "lessons"))):
        # a folder becomes a lesson when it has its text (README.md)
        if LESSON_DIR.match(name) and os.path.isfile(os.path.join(REPO, "lessons", name, "README.md")) \
                and (not committed_only or tracked(name)):
            title = name
            manifest = os.path.join(REPO, "lessons", name, "lesson.toml")
            if os.path.exists(manifest):
                with open(manifest, "rb") as f:
                    title = tomllib.load(f).get("title", name)
            out.append((name, title))
    return out


def main():
    summary_path = os.path.join(SRC, "SUMMARY.md")
    summary = open(summary_path, encoding="utf-8").read().splitlines()
    start = summary.index("# Lessons")
    end = next(i for i in range(start + 1, len(summary)) if summary[i].startswith("# "))
    entries = []
    for lesson_id, title in lessons():
        path = os.path.join(SRC, "lessons", lesson_id + ".md")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(CHAPTER.format(id=lesson_id))
            print(f"created book/src/lessons/{lesson_id}.md")
        entries.append(f"- [{int(lesson_id[:2])}. {title}](lessons/{lesson_id}.md)")
    new = summary[: start + 1] + [""] + entries + [""] + summary[end:]
    if new != summary:
        with open(summary_path, "w", encoding="utf-8") as f:
            f.write("\n".join(new) + "\n")
        print("updated book/src/SUMMARY.md")


if __name__ == "__main__":
    main()
