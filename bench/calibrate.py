"""Calibrate the citation check (rag/citations/) on labelled sentences built from the Debian FAQ.

For a sample of ../shared/eval/debian-faq/questions.jsonl, the passages a model would get are the
gold passage (the chunk of the gold page that holds most of the gold answer) and the three chunks of
other pages that share most words with the question. Answer sentences of five kinds are made for them,
deterministically and without any LLM:

* **verbatim**: a sentence of the gold passage, as a reader would copy it (line-break hyphens joined);
* **paraphrased**: a verbatim sentence rewritten by rule: words swapped for synonyms from a small hand
  list, articles and fillers dropped, clauses reordered ("If A, B." -> "B if A."; "A; B" -> "B; A"),
  and a shortened form that keeps only the main clause (an answer that says less than its passage:
  the case of issue #9). The FAQ's gold answers are extracts of the page, not rephrasings (the
  script prints how many of their sentences are verbatim on the page), so they are not used as
  paraphrases;
* **other page**: a true FAQ sentence from a page at least two pages away from every passage;
* **invented**: a gold sentence with a number swapped for another number of the FAQ, or a name
  swapped for a name of another page, or a templated false claim that reuses two words of the gold
  sentence ("The X was removed from Debian in 2004 because nobody maintained the Y any more.");
* **negated** (reported, not in the goal): a gold sentence with "not" inserted; an embedding and
  word-overlap check cannot see a negation, and this row says so.

It prints, for a sweep of thresholds, how many sentences of each kind would be flagged
(``supported=False``), how often a supported sentence is attributed to the gold passage, and how many
drafts would be withheld, then the end-to-end result of `cite` at the module's constants.
``--save`` writes the labelled set as JSON lines. About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.chunker import Chunker
from indexer.embedder import Embedder
from indexer.loaders import load
from indexer.text_units import stems
from indexer.types import Chunk, Hit
from rag import citations
from rag.citations import attribute, cite, passage_sentences

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "debian-faq"
KINDS = ("verbatim", "paraphrased", "other page", "invented", "negated")

SYNONYMS = {
    "provides": "offers",
    "provide": "offer",
    "includes": "contains",
    "include": "contain",
    "uses": "employs",
    "use": "employ",
    "allows": "lets",
    "allow": "let",
    "large": "big",
    "many": "numerous",
    "numerous": "many",
    "help": "assist",
    "get": "obtain",
    "shows": "displays",
    "show": "display",
    "find": "locate",
    "starts": "begins",
    "start": "begin",
    "choose": "pick",
    "select": "pick",
    "needs": "requires",
    "need": "require",
    "required": "needed",
    "usually": "normally",
    "often": "frequently",
    "program": "application",
    "programs": "applications",
    "computer": "machine",
    "computers": "machines",
    "information": "details",
    "available": "obtainable",
    "makes": "creates",
    "make": "create",
    "called": "named",
    "important": "essential",
    "possible": "feasible",
    "currently": "at present",
    "want": "wish",
    "easy": "simple",
    "several": "a number of",
    "about": "regarding",
    "because": "since",
    "before": "prior to",
    "install": "set up",
    "installed": "set up",
    "update": "upgrade",
    "remove": "delete",
    "check": "verify",
    "must": "has to",
    "can": "may",
    "developers": "maintainers",
    "software": "programs",
    "distribution": "distro",
    "packages": "bundles",
    "package": "bundle",
    "system": "platform",
    "version": "release",
    "versions": "releases",
    "users": "people",
    "user": "person",
    "list": "index",
    "mailing": "e-mail",
    "project": "effort",
    "free": "libre",
    "run": "execute",
    "running": "executing",
    "file": "document",
    "files": "documents",
    "different": "distinct",
    "new": "fresh",
    "ask": "enquire",
}
FILLERS = {"the", "a", "an", "very", "also", "just", "really", "actually"}
SUBORDINATORS = ("If", "When", "Although", "Because", "Since", "Once", "Unless", "While", "After", "Before")
TEMPLATES = (
    "The {a} was removed from Debian in {n} because nobody maintained the {b} any more.",
    "Using {a} requires a paid licence for every {b} in commercial use.",
    "The Debian project stopped supporting {a} on {b} systems after version {n}.",
    "Every {a} is developed by a single company and is only sold together with {b}.",
)


@dataclass(frozen=True)
class Labelled:
    """One answer sentence, its kind, and the question whose passages it is checked against."""

    question: int
    kind: str
    subtype: str
    text: str


@dataclass
class Case:
    """One question with its four passages (the gold one first in `gold`) and labelled sentences."""

    index: int
    qid: str
    question: str
    passages: list[Chunk]
    gold: int
    sentences: list[Labelled]


def flat(text: str) -> str:
    """Text as a reader would copy it: line-break hyphens joined, whitespace collapsed, no bullet."""
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"^[•▪●◦\-*]\s*", "", " ".join(text.split()))


def usable(sentence: str) -> bool:
    """A sentence worth labelling: a statement of six content words or more, not a heading."""
    return len(stems(sentence)) >= 6 and not sentence.endswith("?") and len(sentence) <= 400


def paraphrases(sentence: str) -> list[tuple[str, str]]:
    """Rule-made paraphrases of a sentence: reworded and reordered, and shortened to its main clause."""
    words = [SYNONYMS.get(w.lower(), w) if w.lower() in SYNONYMS else w for w in sentence.rstrip(".").split()]
    words = [w for w in words if w.lower() not in FILLERS]
    reworded = " ".join(words)
    match = re.match(rf"^({'|'.join(SUBORDINATORS)}) ([^,]+), (.+)$", reworded)
    if match:
        reworded = f"{match.group(3)[0].upper()}{match.group(3)[1:]} {match.group(1).lower()} {match.group(2)}"
    elif "; " in reworded:
        first, second = reworded.split("; ", 1)
        reworded = f"{second[0].upper()}{second[1:]}; {first[0].lower()}{first[1:]}"
    found = [("reworded", reworded.rstrip(".;:,") + ".")]
    short = re.split(r"; |: |, which | and (?=\w+ \w+ \w+)|, (?=\w+ \w+ \w+)", sentence, maxsplit=1)[0]
    if short != sentence and len(short.split()) >= 5:
        found.append(("shortened", short.rstrip(".;:,") + "."))
    return found


def merged(passage: Chunk) -> list[str]:
    """Two neighbouring sentences of a passage told as one: each cut to its main clause, reworded,
    joined by "and" (an answer that sums up more than one passage sentence)."""
    units = [flat(u.text) for u in passage_sentences(passage.text)]
    for first, second in itertools.pairwise(units):
        if usable(first) and usable(second):
            a, b = paraphrases(first)[-1][1].rstrip("."), paraphrases(second)[-1][1].rstrip(".")
            return [f"{a}, and {b[0].lower()}{b[1:]}."]
    return []


def invented(
    sentence: str, rng: random.Random, pool: dict[str, list[str]], passages_text: str
) -> list[tuple[str, str]]:
    """False sentences made from a gold sentence: a swapped number, a swapped name, a templated claim."""
    found = []
    digits = re.findall(r"\b\d+\b", sentence)
    candidates = [n for n in pool["numbers"] if n not in passages_text]
    if digits and candidates:
        target = digits[0]
        same = [n for n in candidates if len(n) == len(target)] or candidates
        found.append(("number swapped", re.sub(rf"\b{target}\b", rng.choice(same), sentence, count=1)))
    names = [w for w in re.findall(r"(?<=\s)[A-Z][a-z]{3,}\b", sentence) if w in pool["names"]]
    others = [n for n in pool["names"] if n not in passages_text]
    if names and others:
        found.append(("name swapped", re.sub(rf"\b{names[0]}\b", rng.choice(others), sentence)))
    nouns = [w for w in re.findall(r"\b[a-z]{5,}\b", sentence) if w not in {"which", "there", "their", "these"}]
    if len(nouns) >= 2:
        template = rng.choice(TEMPLATES)
        found.append(("templated", template.format(a=nouns[0], b=nouns[-1], n=rng.choice(pool["years"]))))
    return found


def negated(sentence: str) -> str | None:
    """The sentence with "not" after its first "is", "are", "can" or "will", if it has one."""
    match = re.search(r"\b(is|are|can|will|does|do)\b", sentence)
    return None if not match else sentence[: match.end()] + " not" + sentence[match.end() :]


def load_chunks(embedder: Embedder) -> list[Chunk]:
    """The FAQ chunked as the indexer would."""
    document = load(EVAL / "debian-faq.en.pdf")
    chunker = Chunker(embedder.token_spans_factory())
    return [replace(c, id=i, path="debian-faq.en.pdf") for i, c in enumerate(chunker.chunk_pages(1, document.pages))]


def keyword_rank(question: str, chunks: list[Chunk]) -> list[Chunk]:
    """Chunks by the share of the question's content words they hold (a cheap stand-in for the
    app's hybrid search; the passages it brings are as on-topic as retrieved ones)."""
    words = stems(question)
    return sorted(chunks, key=lambda c: (-len(words & stems(c.text)), c.id))


def build_cases(questions: list[dict], chunks: list[Chunk]) -> list[Case]:
    """The labelled sentences of each sampled question over its passages."""
    everything = "\n".join(c.text for c in chunks)
    pool = {
        "numbers": sorted(set(re.findall(r"\b\d{2,5}\b", everything))),
        "names": sorted({w for w in re.findall(r"(?<=\s)[A-Z][a-z]{3,}\b", everything)} - {"This", "That", "There"}),
        "years": sorted(set(re.findall(r"\b(?:19[89]\d|20[0-2]\d)\b", everything))),
    }
    cases = []
    for index, q in enumerate(questions):
        rng = random.Random(index)
        on_page = [c for c in chunks if c.page == q["gold_page_1based"]]
        answer_words = stems(q["gold_answer"])
        gold = max(on_page, key=lambda c: len(stems(c.text) & answer_words))
        distractors = [c for c in keyword_rank(q["question"], chunks) if c.page != gold.page][:3]
        passages = distractors[:]
        passages.insert(index % 4, gold)
        pages = {c.page for c in passages}
        text = "\n".join(flat(c.text) for c in passages)
        own = [flat(u.text) for u in passage_sentences(gold.text)]
        own = [s for s in own if usable(s)]
        rng.shuffle(own)
        sentences = [Labelled(index, "verbatim", "copied", s) for s in own[:2]]
        for s in own[:2]:
            sentences += [Labelled(index, "paraphrased", kind, p) for kind, p in paraphrases(s)]
        sentences += [Labelled(index, "paraphrased", "merged", m) for m in merged(gold)]
        far = [c for c in chunks if all(abs(c.page - p) >= 2 for p in pages)]
        other = [flat(u.text) for u in passage_sentences(rng.choice(far).text)]
        sentences += [Labelled(index, "other page", "true elsewhere", s) for s in [s for s in other if usable(s)][:2]]
        for s in own[:2]:
            sentences += [Labelled(index, "invented", kind, t) for kind, t in invented(s, rng, pool, text)]
        negation = negated(own[0]) if own else None
        if negation:
            sentences.append(Labelled(index, "negated", "not inserted", negation))
        cases.append(Case(index, q["id"], q["question"], passages, passages.index(gold) + 1, sentences))
    return cases


@dataclass(frozen=True)
class Scored:
    """A labelled sentence's scores: best complete (all numbers stated) and best raw score, and
    whether its best passage is the gold one."""

    item: Labelled
    complete: float
    raw: float
    to_gold: bool


def score(cases: list[Case], embed) -> list[Scored]:
    """Attribute every labelled sentence of every case (one embedding call per question)."""
    scored = []
    for case in cases:
        sources = dict(enumerate(case.passages, start=1))
        found = attribute([s.text for s in case.sentences], sources, embed, case.question)
        for item, matches in zip(case.sentences, found, strict=True):
            complete = [m for m in matches.values() if not m.missing]
            best = max(complete, key=lambda m: m.score, default=None)
            raw = max((m.score for m in matches.values()), default=0.0)
            scored.append(Scored(item, best.score if best else 0.0, raw, bool(best) and best.number == case.gold))
    return scored


def percent(part: int, whole: int) -> str:
    """A share as a right-aligned percentage."""
    return f"{100 * part / whole:5.1f} %" if whole else "    - "


def sweep(scored: list[Scored]) -> None:
    """The flag table: share of each kind flagged at each threshold."""
    by_kind = defaultdict(list)
    for s in scored:
        by_kind[s.item.kind].append(s)
    supported = by_kind["verbatim"] + by_kind["paraphrased"]
    print(f"\nflagged (supported=False) by threshold; n = {', '.join(f'{k} {len(by_kind[k])}' for k in KINDS)}")
    header = ["threshold", "verbatim", "paraphrased", "supported", "other page", "invented", "negated"]
    print(" | ".join(f"{h:>11}" for h in header))
    for threshold in np.arange(0.40, 0.76, 0.025):
        row = [f"{threshold:11.3f}"]
        for group in (by_kind["verbatim"], by_kind["paraphrased"], supported):
            row.append(f"{percent(sum(s.complete < threshold for s in group), len(group)):>11}")
        for kind in ("other page", "invented", "negated"):
            group = by_kind[kind]
            row.append(f"{percent(sum(s.complete < threshold for s in group), len(group)):>11}")
        print(" | ".join(row))
    print("\ninvented flagged by subtype at the module threshold", citations.SUPPORT_THRESHOLD)
    subtypes = defaultdict(list)
    for s in by_kind["invented"] + by_kind["paraphrased"]:
        subtypes[(s.item.kind, s.item.subtype)].append(s)
    for (kind, subtype), group in sorted(subtypes.items()):
        flagged = sum(s.complete < citations.SUPPORT_THRESHOLD for s in group)
        print(f"  {kind:<12} {subtype:<15} {percent(flagged, len(group))} of {len(group)}")
    print("\nbelow the withhold bar (raw score) by bar:")
    for bar in np.arange(0.30, 0.56, 0.05):
        cells = [f"{k} {percent(sum(s.raw < bar for s in by_kind[k]), len(by_kind[k]))}" for k in KINDS[:4]]
        print(f"  {bar:.2f}: " + "   ".join(cells))
    print("\nscore percentiles (5th / 25th / 50th) of the best complete match:")
    for kind in KINDS:
        values = np.array([s.complete for s in by_kind[kind]])
        if len(values):
            print(f"  {kind:<12} " + " / ".join(f"{v:.2f}" for v in np.percentile(values, [5, 25, 50])))
    attributed = sum(s.to_gold for s in supported if s.complete >= citations.SUPPORT_THRESHOLD)
    shown = sum(s.complete >= citations.SUPPORT_THRESHOLD for s in supported)
    print(f"\nsupported sentences attributed to the gold passage (of those not flagged): {percent(attributed, shown)}")


def end_to_end(cases: list[Case], embed) -> None:
    """`cite` at the module's constants on whole drafts without markers: correct drafts (verbatim and
    paraphrased sentences), wrongly cited correct drafts, and invented drafts."""
    shown = corrected = withheld_invented = withheld_correct = total_wrong = 0
    invented_drafts = correct_drafts = 0
    for case in cases:
        hits = [Hit(c, 1.0) for c in case.passages]
        good = [s.text for s in case.sentences if s.kind in ("verbatim", "paraphrased")][:3]
        bad = [s.text for s in case.sentences if s.kind == "invented" and s.subtype == "templated"][:2]
        if good:
            correct_drafts += 1
            answer = cite(case.question, " ".join(good), hits, embed)
            shown += not answer.refused
            withheld_correct += bool(answer.withheld)
            wrong = case.gold % len(hits) + 1
            marked = " ".join(f"{s.rstrip('.')} [{wrong}]." for s in good[:1])
            answer = cite(case.question, marked, hits, embed)
            total_wrong += 1
            corrected += bool(answer.sentences) and answer.sentences[0].cites == [case.gold]
        if bad:
            invented_drafts += 1
            answer = cite(case.question, " ".join(bad), hits, embed)
            withheld_invented += bool(answer.withheld)
    print(
        f"\nend to end at SUPPORT_THRESHOLD={citations.SUPPORT_THRESHOLD}, WITHHOLD_BELOW={citations.WITHHOLD_BELOW}:\n"
        f"  correct drafts without markers shown: {percent(shown, correct_drafts)} of {correct_drafts} "
        f"(withheld {withheld_correct})\n"
        f"  a correct sentence cited to the wrong passage, corrected to the gold one: "
        f"{percent(corrected, total_wrong)} of {total_wrong}\n"
        f"  drafts of templated inventions withheld: {percent(withheld_invented, invented_drafts)} of {invented_drafts}"
    )


def cached(embedder: Embedder):
    """The embedder's function with a cache, so the sweep and the end-to-end run embed each text once."""
    memory: dict[str, np.ndarray] = {}

    def embed(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in memory]
        if missing:
            memory.update(zip(missing, embedder.embed(missing), strict=True))
        return np.stack([memory[t] for t in texts]) if texts else np.zeros((0, embedder.dim), dtype=np.float32)

    return embed


def gold_answers_are_extracts(questions: list[dict], chunks: list[Chunk]) -> str:
    """How many gold-answer sentences appear verbatim on their gold page (they are extracts)."""
    pages = defaultdict(str)
    for c in chunks:
        pages[c.page] += " " + flat(c.text)
    sentences = [
        (s, q["gold_page_1based"]) for q in questions for s in re.split(r"(?<=[.!?])\s+", q["gold_answer"]) if usable(s)
    ]
    found = sum(flat(s)[:60] in " ".join(pages[p].split()) for s, p in sentences)
    return f"{found} of {len(sentences)} gold-answer sentences start verbatim on their page"


def main() -> None:
    """Build the labelled set, score it, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=60, help="questions sampled from the 120")
    parser.add_argument("--save", type=Path, help="write the labelled set here as JSON lines")
    args = parser.parse_args()
    started = time.perf_counter()
    questions = [json.loads(line) for line in (EVAL / "questions.jsonl").read_text().splitlines() if line.strip()]
    questions = random.Random(0).sample(questions, min(args.questions, len(questions)))
    embedder = Embedder()
    embed = cached(embedder)
    chunks = load_chunks(embedder)
    print(f"{len(chunks)} chunks; {gold_answers_are_extracts(questions, chunks)}")
    print(f"loaded and embedded the FAQ in {time.perf_counter() - started:.0f} s")
    cases = build_cases(questions, chunks)
    if args.save:
        with args.save.open("w", encoding="utf-8") as out:
            for case in cases:
                for s in case.sentences:
                    passages = [[c.page, c.char_start, c.char_end] for c in case.passages]
                    row = {"id": case.qid, "kind": s.kind, "subtype": s.subtype, "sentence": s.text}
                    out.write(json.dumps(row | {"gold": case.gold, "passages": passages}, ensure_ascii=False) + "\n")
    scored = score(cases, embed)
    print(f"scored {len(scored)} sentences at {time.perf_counter() - started:.0f} s")
    sweep(scored)
    end_to_end(cases, embed)
    print(f"\n{len(cases)} questions in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
