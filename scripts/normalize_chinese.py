"""Keep user-facing Chinese in Simplified Chinese (zh-CN) and free of pinyin annotations.

Usage: python scripts/normalize_chinese.py [--check] [PATH ...]   (default: every tracked text file)

Traditional characters are converted to simplified with zhconv, except in the files listed in
KEEP_TRADITIONAL, whose job is to accept traditional input (amounts, spreadsheet headings); in
those only annotations are removed. A "pinyin annotation" is a parenthesised romanisation right
after a Chinese character, e.g. "X(fā)", which some editors and converters insert.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import zhconv

ANNOTATION = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)"
)
# What remains when an annotated character was lost in a bad re-encoding: "?" + "(pinyin)"-like
# debris such as "?qū)". It cannot be repaired automatically, so it is only reported.
GARBLED = re.compile(r"\?[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)")
SUFFIXES = {
    ".py",
    ".md",
    ".html",
    ".toml",
    ".example",
    ".mako",
    ".csv",
    ".json",
    ".txt",
    ".js",
    ".css",
    ".ini",
}
KEEP_TRADITIONAL = {"notifier/numbers/amounts.py", "tests/notifier/numbers/test_amounts.py", "notifier/importing/importer.py",
                    "tests/notifier/importing/test_importer.py", "scripts/normalize_chinese.py",
                    "tests/test_text_hygiene.py", "tests/reliability/test_hostile_amounts_segments.py"}  # fmt: skip


def normalize(path: str, text: str) -> str:
    text = ANNOTATION.sub("", text)
    if path in KEEP_TRADITIONAL:
        return text
    return zhconv.convert(text, "zh-cn")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if Path(p).suffix in SUFFIXES or p.endswith(".env.example")]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if not a.startswith("--")] or tracked_files()
    changed = []
    garbled = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            continue
        text = file.read_text(encoding="utf-8")
        if path != "scripts/normalize_chinese.py" and GARBLED.search(text):
            garbled.append(path)
        fixed = normalize(path, text)
        if fixed != text:
            changed.append(path)
            if not check:
                file.write_text(fixed, encoding="utf-8")
    for path in changed:
        print(("needs normalizing: " if check else "normalized: ") + path)
    for path in garbled:
        print("garbled text (rewrite by hand): " + path)
    return 1 if (check and changed) or garbled else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
