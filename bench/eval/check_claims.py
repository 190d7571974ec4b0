"""Check claims.jsonl (and the manuals question sets) against the text of the manuals they quote.

    python bench/eval/get_manuals.py                 # the three PDFs, once
    python bench/eval/check_claims.py [--manuals ~/.cache/Footnotes/manuals]

Needs `pdftotext` (Debian: poppler-utils); nothing from the app. The text of each PDF is
`pdftotext -layout`, less its running heads and page numbers, with words hyphenated at a line end joined
(the hyphen is kept where the document spells the word with one elsewhere) and whitespace made single
spaces. The checks:
- every line is valid JSON with the fields of its set;
- every claim's `evidence` occurs in its `context`, the context in that text, the evidence there once;
- for the swapped kinds, `note` says "old→new", the old words are in the evidence and the new in the claim
  (for `elsewhere`, the new words are also in the context outside the evidence, and not in the evidence);
- the counts per kind and per document meet the set's minimums;
- every answerable question's `gold_answer` is in its document once and in no other;
- no unanswerable question's `absent_terms` is in any of the documents.
Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {
    "debian-faq": "debian-faq.en.pdf",
    "debian-reference": "debian-reference.en.pdf",
    "bash-manual": "bashref.pdf",
}
# The first line of a page that is a running head, not text: FAQ "CHAPTER 3. ...", the Reference
# "Debian Reference   19 / 233", the Bash manual "Chapter 4: Shell Builtin Commands   63".
HEAD = re.compile(
    r"^\s*(CHAPTER \d+\.|APPENDIX [A-Z]\.|CONTENTS$"
    r"|Debian Reference\s+\S+( / \d+)?$"
    r"|(Chapter \d+|Appendix [A-Z]):|\d+$)"
)
FOOT = re.compile(r"^\s*(\d+|[ivxlc]+)\s*$")

KINDS = {
    "faithful": ("supported", 60),
    "negated": ("contradicted", 25),
    "inverted": ("contradicted", 25),
    "number": ("contradicted", 15),
    "name": ("contradicted", 15),
    "identifier": ("contradicted", 15),
    "elsewhere": ("contradicted", 10),
    "unstated": ("not_stated", 25),
}
SWAPPED = {"inverted", "number", "name", "identifier", "elsewhere"}
MIN_TOTAL, MIN_PER_DOCUMENT, MIN_DOCUMENTS = 200, 50, 3
CLAIM_FIELDS = {"id", "document", "kind", "verdict", "evidence", "context", "claim", "note"}


def spaces(text: str) -> str:
    return " ".join(text.split())


def pages(pdf: Path) -> list[list[str]]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    kept = []
    for page in out.split("\f"):
        lines = page.split("\n")
        filled = [i for i, line in enumerate(lines) if line.strip()]
        if filled and HEAD.match(lines[filled[0]]):
            lines[filled[0]] = ""
        if len(filled) > 1 and FOOT.match(lines[filled[-1]]):
            lines[filled[-1]] = ""
        kept.append(lines)
    return kept


def trim(lines: list[str]) -> list[str]:
    """The lines less the blank ones at either end."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return lines[filled[0] : filled[-1] + 1] if filled else []


@cache
def blocks(pdf: Path) -> str:
    """The document's text: one line per block (runs of lines without a blank one), single spaces inside."""
    # A page break is not a paragraph break: a sentence may run on to the next page.
    raw = "\n".join("\n".join(trim(lines)) for lines in pages(pdf))
    words = collections.Counter(w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", raw))

    def join(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        if right[:1].islower() and words[(left + right).lower()] >= words[(left + "-" + right).lower()]:
            return left + right
        return left + "-" + right

    raw = re.sub(r"([A-Za-z]+)-[ \t]*\n[ \t]*([A-Za-z]+)", join, raw)
    out = []
    for block in re.split(r"\n\s*\n", raw):
        line = spaces(block)
        if line:
            out.append(line)
    return "\n".join(out)


@cache
def flat(pdf: Path) -> str:
    return blocks(pdf).replace("\n", " ")


def words_found(term: str, text: str, case: bool) -> bool:
    """Word-start match: `term` where no letter or digit comes right before it."""
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(term), text, 0 if case else re.IGNORECASE) is not None


def word_in(term: str, text: str) -> bool:
    """`term` in `text` as a whole word ("apt" is not in "apt-get")."""
    return re.search(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])", text) is not None


def swap(note: str) -> tuple[str, str] | None:
    m = re.search(r"(.+?)\s*→\s*(.+)", note)
    if not m:
        return None
    return m.group(1).strip().strip("'\"`"), m.group(2).strip().strip("'\"`")


def check_row(row: dict, where: str, manuals: Path, problems: list[str]) -> None:
    """One claim: its kind and verdict agree, its texts are in the document, its swap is where the note says."""
    kind, doc = row["kind"], row["document"]
    if kind not in KINDS or KINDS[kind][0] != row["verdict"]:
        problems.append(f"{where}: kind {kind} with verdict {row['verdict']}")
    evidence, context, claim = row["evidence"], row["context"], row["claim"]
    if any(spaces(v) != v for v in (evidence, context, claim)):
        problems.append(f"{where}: whitespace not normalised")
    if evidence not in context or evidence == context:
        problems.append(f"{where}: evidence not inside a longer context")
    text = flat(manuals / FILES[doc])
    if context not in text:
        problems.append(f"{where}: context not in {FILES[doc]}")
    if text.count(evidence) != 1:
        problems.append(f"{where}: evidence found {text.count(evidence)} times in {FILES[doc]}")
    if claim == evidence:
        problems.append(f"{where}: claim is the evidence itself")
    if kind in SWAPPED:
        check_swap(row, where, problems)


def check_swap(row: dict, where: str, problems: list[str]) -> None:
    """The note's old words are in the evidence, its new words in the claim (and, for `elsewhere`, the context)."""
    evidence, context = row["evidence"], row["context"]
    pair = swap(row["note"])
    if not pair:
        problems.append(f"{where}: note has no old→new")
        return
    old, new = pair
    if old not in evidence or new not in row["claim"]:
        problems.append(f"{where}: swap {old!r}→{new!r} not between evidence and claim")
    if row["kind"] == "elsewhere" and (not word_in(new, context.replace(evidence, " ")) or word_in(new, evidence)):
        problems.append(f"{where}: {new!r} is not elsewhere in the context")


def check_claims(path: Path, manuals: Path, problems: list[str]) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    ids = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{where}: not JSON ({error})")
            continue
        if set(row) != CLAIM_FIELDS or row["document"] not in FILES:
            problems.append(f"{where}: fields {sorted(row)} or document {row.get('document')!r}")
            continue
        if row["id"] in ids:
            problems.append(f"{where}: id {row['id']} twice")
        ids.add(row["id"])
        counts[row["kind"], row["document"]] += 1
        check_row(row, where, manuals, problems)
    return counts


def check_questions(manuals: Path, problems: list[str]) -> tuple[int, int]:
    texts = {doc: flat(manuals / name) for doc, name in FILES.items()}
    unanswerable = answerable = 0
    path = HERE / "manuals_unanswerable.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        unanswerable += 1
        if set(row) != {"id", "question", "answerable", "absent_terms", "note"} or row["answerable"] is not False:
            problems.append(f"{path.name}:{n}: fields")
        for term in row["absent_terms"]:
            acronym = term.upper() == term and any(c.isalpha() for c in term)
            for doc, text in texts.items():
                if acronym and doc == "bash-manual":
                    # The Bash manual sets acronyms in small capitals, which come out in lower case
                    # ("gnu", "posix"): there an acronym is any whole word, whatever its case.
                    found = re.search(r"(?<![A-Za-z0-9])" + re.escape(term) + r"(?![A-Za-z0-9])", text, re.IGNORECASE)
                else:
                    found = words_found(term, text, acronym)  # acronyms case-sensitive, other terms not
                if found:
                    problems.append(f"{path.name}:{n}: {term!r} is in {doc}")
    path = HERE / "manuals_answerable.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        answerable += 1
        if set(row) != {"id", "question", "document", "gold_answer"}:
            problems.append(f"{path.name}:{n}: fields")
        else:
            found = {doc: text.count(row["gold_answer"]) for doc, text in texts.items()}
            if found.get(row["document"]) != 1 or sum(found.values()) != 1:
                problems.append(f"{path.name}:{n}: gold answer found {found}, not once in {row['document']}")
    return unanswerable, answerable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manuals", type=Path, default=Path("~/.cache/Footnotes/manuals"))
    args = parser.parse_args(argv)
    manuals = args.manuals.expanduser()
    problems: list[str] = []
    counts = check_claims(HERE / "claims.jsonl", manuals, problems)
    docs = sorted({d for _, d in counts})
    print("kind".ljust(12) + "".join(d.rjust(18) for d in docs) + "total".rjust(8))
    for kind, (_, least) in KINDS.items():
        row = [counts[kind, d] for d in docs]
        print(kind.ljust(12) + "".join(str(c).rjust(18) for c in row) + str(sum(row)).rjust(8))
        if sum(row) < least:
            problems.append(f"only {sum(row)} {kind} claims (at least {least})")
    per_doc = {d: sum(c for (_, dd), c in counts.items() if dd == d) for d in docs}
    print("total".ljust(12) + "".join(str(per_doc[d]).rjust(18) for d in docs) + str(sum(per_doc.values())).rjust(8))
    if sum(per_doc.values()) < MIN_TOTAL or sum(c >= MIN_PER_DOCUMENT for c in per_doc.values()) < MIN_DOCUMENTS:
        problems.append(f"too few claims: {per_doc}")
    if (HERE / "manuals_unanswerable.jsonl").exists():
        unanswerable, answerable = check_questions(manuals, problems)
        print(f"manuals_unanswerable.jsonl: {unanswerable} questions; manuals_answerable.jsonl: {answerable}")
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
