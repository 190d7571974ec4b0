"""Verdicts: does the evidence sentence say what a claim says, the opposite, or something else?

Attribution finds the passage sentence closest to a claim; closeness is not agreement. "There is no
official arm64 build" sits as close to "Debian supports arm64" as its faithful paraphrase does, and
"keep the lines" as close to "remove the lines". This module compares a claim with its evidence
sentence clause by clause, where an embedding cannot see the difference:

* **polarity**: not, no, never, without, cannot, ``n't`` and the words that deny by themselves
  (unable, forbidden, impossible, lacks, …), counted in the claim's clause and in the evidence
  clause that speaks of the same things; an odd difference is a contradiction;
* **opposites**: a lexicon of pairs (keep/remove, enable/disable, before/after, at least/at most,
  more/less, client/server, …), matched on word stems, where the claim's clause holds one side and
  the evidence clause the other;
* **specifics**: numbers (with their units), versions, acronyms of any length (C, IBM, SAS), names,
  code tokens and identifiers (``NULL``, ``latin1``, ``/etc/fstab``, ``--purge``, ``$HOME``,
  ``dpkg-reconfigure``): one the evidence does not state, where the evidence states another of the
  same shape in its place, is a different value (contradicted); one the evidence does not state at
  all is not stated.

`conflict(claim, evidence)` returns the first difference found, or None.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.text_units import NUMBER_WORDS, STOPWORDS, flat_text, stem, stems, words
from rag.citations.sentences import numbers, passage_sentences

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NOT_STATED = "not_stated"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_STATED)

_NEGATIONS = frozenset(
    """not no never without cannot none nothing neither nor nobody nowhere cant dont doesnt didnt isnt
    arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt mustnt neednt""".split()
)
# Words that deny by themselves: "X is unsupported" says what "X is not supported" says.
_DENYING = (
    "unabl",
    "impossib",
    "forbid",
    "prohibit",
    "disallow",
    "unsupport",
    "unavailab",
    "lack",
    "absent",
    "refus",
    "fail",
    "neither",
    "nonexist",
    "non-exist",
)
# Pairs of opposites, as word stems (a word matches a stem it starts with). Each side may hold
# several stems; a two-word side ("at least") is matched on the joined words ("at_least").
_OPPOSITES = (
    ("keep kept retain preserv", "remov delet drop discard purg"),
    ("enabl activat turn_on switch_on", "disabl deactivat turn_off switch_off"),
    ("befor prior earlier precede", "after later follow"),
    ("increas rais grow", "decreas reduc lower shrink"),
    ("at_least minimum minimal", "at_most maximum maximal"),
    ("more greater higher larger bigger longer", "less fewer lower smaller shorter"),
    ("client", "server"),
    ("allow permit let", "forbid prohibit prevent deny disallow block"),
    ("includ", "exclud omit"),
    ("first", "last"),
    ("older oldest", "newer newest recent latest"),
    ("next follow", "previous preced"),
    ("often frequent", "rare seldom"),
    ("little", "much constant lot"),
    ("little-endian", "big-endian"),
    ("high", "low"),
    ("continu", "stop halt abort"),
    ("upper", "lower"),
    ("graphic gui", "text-based console terminal command-line"),
    ("risk danger", "safe"),
    ("parallel concurren simultan", "sequential one_after serial"),
    ("synchronous", "asynchronous"),
    ("prefer", "avoid"),
    ("append", "overwrit truncat replac"),
    ("interactiv", "non-interactiv batch script"),
    ("need requir", "unnecessar needless"),
    ("true", "false"),
    ("start begin", "stop end finish"),
    ("install", "uninstall remov purg"),
    ("read", "writ"),
    ("input", "output"),
    ("upper uppercase", "lowercase"),
    ("above", "below"),
    ("add", "remov delet subtract"),
    ("open", "clos"),
    ("import", "export"),
    ("upload", "download"),
    ("send sent", "receiv"),
    ("local", "remot"),
    ("public", "privat"),
    ("stabl", "unstabl testing"),
    ("requir mandator compulsor", "optional"),
    ("always", "never sometimes"),
    ("success succeed", "failur fail"),
    ("accept", "reject"),
    ("lock", "unlock"),
    ("mount", "unmount umount"),
    ("encrypt", "decrypt"),
    ("compress", "decompress uncompress"),
    ("visibl shown show", "hidden hide invisib"),
    ("intern", "extern"),
    ("explicit", "implicit"),
    ("global", "local"),
    ("static", "dynamic"),
    ("absolut", "relativ"),
    ("same ident", "differ"),
    ("safe secur", "unsafe insecur danger"),
    ("valid", "invalid"),
    ("legal", "illegal"),
    ("free", "non-free nonfree proprietar"),
    ("fast quick", "slow"),
    ("easi simpl", "hard difficult complex"),
    ("small", "larg big"),
    ("inside", "outside"),
    ("source", "binar"),
    ("left", "right"),
    ("upstream", "downstream"),
    ("automat", "manual"),
    ("case-sensitiv", "case-insensitiv"),
    ("singl", "multipl"),
    ("with", "without"),
)
_PHRASES = re.compile(
    r"\b(at least|at most|turn(?:ed|s)? on|turn(?:ed|s)? off|switch(?:ed|es)? on|switch(?:ed|es)? off)\b"
)
_CLAUSE = re.compile(r"\s*(?:[,;:()]|\s-\s|\b(?:but|whereas|while|although|though|however|unless|except)\b)\s*", re.I)
_TOKEN = re.compile(r"[\w$./+#-]*\w[+#]*|\$\w+")
_VERSION = re.compile(r"^\d+(?:\.\d+)+[a-z]?$")
_CODE = re.compile(r"^(?:--?[a-z][\w-]*|\$\w+|[\w-]*[./_][\w./-]*\w|[a-z]+\d[\w]*|\w*[a-z][A-Z]\w*)$")
_ANSWER_PARTICLE = re.compile(r"^\s*(?:yes|no)\b[,.!:;]?\s*", re.IGNORECASE)
_CAMEL = re.compile(r"[a-z][A-Z]")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9+#&]*$|^[A-Z][a-z]?[A-Z][\w]*$")
_NOT_ACRONYMS = {"I", "A", "OK"}


@dataclass(frozen=True)
class Conflict:
    """Why a claim and its evidence disagree: the kind of difference and the two sides of it."""

    kind: str
    """``negation``, ``opposite``, ``value``, or ``meaning`` (the model judge read it so)."""
    claim_part: str
    source_part: str

    def describe(self) -> str:
        """The difference in words for the reader."""
        if self.kind == "negation":
            return f"the source says the opposite ({self.source_part})"
        if self.kind == "meaning":
            return "read by the model, the source says otherwise"
        return f"the source says {self.source_part}, not {self.claim_part}"


def _words(text: str) -> list[str]:
    """Lower-cased words of a text with the two-word phrases of the lexicon joined (``at_least``) and
    ``n't`` contractions read as one negation word."""
    lowered = flat_text(text).lower().replace("’", "'").replace("n't", "nt").replace("can not", "cannot")
    lowered = re.sub(r"\b(?:whether or not|or not|if not|not only|no matter)\b", " ", lowered)
    lowered = _PHRASES.sub(lambda m: re.sub(r"(\w+)\s+(on|off|least|most)", r"\1_\2", m.group()), lowered)
    lowered = re.sub(r"\b(turn|switch)(?:ed|s|es)?_(on|off)", r"\1_\2", lowered)
    return re.findall(r"[a-z0-9_'-]+", lowered.replace("'", ""))


_SCOPE_WORDS = 2
"""How many content words after a negation it denies, within its clause ("will not overwrite when the
package is upgraded" denies overwriting, not upgrading: "when" ends the denial)."""
_SCOPE_ENDS = frozenset("when if because that which who where unless until once since so".split())
_AS_DENIAL = re.compile(r"\b(?:rather than|instead of)\b", re.IGNORECASE)
_KEEP_FROM = re.compile(r"\b(?:stop|prevent|keep)\w*\s+((?:[\w'-]+\s+){0,4}?)from\b", re.IGNORECASE)
""""stop a service from starting", "prevents a file from being removed": the verb after "from" is denied."""


def denied(text: str) -> dict[str, bool]:
    """Each content stem of a text and whether it is denied there: it is the content word right after a
    negation or a word that denies by itself, in the same clause, or a word listed on with it ("without
    reformatting or losing your files" denies both; "a codename rather than a version number" denies
    the version). A stem said both ways is left out."""
    found: dict[str, set[bool]] = {}
    for clause in clauses(_KEEP_FROM.sub(r"\1 not", _AS_DENIAL.sub(" not ", text))):
        scope = 0
        for word in (part for token in _words(clause) for part in token.split("-") if part):
            if word in _NEGATIONS or word.startswith(_DENYING):
                scope = _SCOPE_WORDS
                continue
            if word in _SCOPE_ENDS:
                scope = 0
            if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
                continue
            found.setdefault(stem(NUMBER_WORDS.get(word, word)), set()).add(scope > 0)
            if scope and not _lists_on(clause, word):
                scope -= 1
    return {key: statuses.pop() for key, statuses in found.items() if len(statuses) == 1}


def _negations(words: list[str]) -> int:
    """How many words deny in a clause."""
    return sum(w in _NEGATIONS or w.startswith(_DENYING) for w in words)


def _lists_on(clause: str, word: str) -> bool:
    """Whether `word` is followed by "or"/"nor" in `clause`: a denial runs on over a list ("without
    reformatting or losing")."""
    return re.search(rf"\b{re.escape(word)}\b\W+(?:\w+\W+)?(?:or|nor)\b", clause.lower()) is not None


def _polarity_differs(claim: str, source: str, claim_words: list[str], source_words: list[str]) -> bool:
    """Whether the claim denies what the source affirms or the reverse: both readings of polarity must
    find it, the parity of the denials in the clauses that speak of the same things and a word the two
    share that one denies and the other does not. Each alone flags faithful paraphrases on the claim
    set ("without reformatting or losing" counts two denials where the page counts three; "doesn't sort
    the results" denies the results where "the results are not sorted" does not); together they flag
    3.6 % of them and 79 % of negated claims, and the judge reads the rest (README)."""
    if _negations(claim_words) % 2 == _negations(source_words) % 2:
        return False
    mine, theirs = denied(claim), denied(source)
    return any(mine[key] != theirs[key] for key in mine.keys() & theirs.keys())


def clauses(text: str) -> list[str]:
    """A sentence cut at its clause boundaries (commas, semicolons, but, while, unless, …)."""
    return [c for c in _CLAUSE.split(flat_text(text)) if c and len(words(c)) >= 1]


def content_stems(text: str) -> set[str]:
    """The stems of a text's content words (numbers spelled out read as digits), negations left out:
    they are compared on their own."""
    return stems(text, leave=_NEGATIONS)


def _overlap(claim: set[str], source: set[str]) -> float:
    """Share of the claim's stems found in the source."""
    return len(claim & source) / max(1, len(claim))


def _aligned(claim: str, candidates: list[str]) -> tuple[str, float]:
    """The candidate (a sentence of the evidence) that holds most of the claim's stems, and that share."""
    spoken = content_stems(claim)
    scored = [(c, _overlap(spoken, content_stems(c))) for c in candidates]
    return max(scored, key=lambda pair: pair[1], default=("", 0.0))


def _side(word: str, side: str) -> bool:
    return any(word.startswith(stem) for stem in side.split())


def _opposite(claim_words: list[str], source_words: list[str]) -> tuple[str, str] | None:
    """A pair of opposites where the claim says one side more often than the source and the source
    says the other side more often than the claim ("must be installed to install" against "must be
    removed to install"); None when there is none."""
    for left, right in _OPPOSITES:
        for mine, theirs in ((left, right), (right, left)):
            said = [w for w in claim_words if _side(w, mine) and not _side(w, theirs)]
            other = [w for w in source_words if _side(w, theirs) and not _side(w, mine)]
            if not said or not other:
                continue
            source_said = sum(_side(w, mine) and not _side(w, theirs) for w in source_words)
            claim_other = sum(_side(w, theirs) and not _side(w, mine) for w in claim_words)
            if len(said) > source_said and len(other) > claim_other:
                return said[0].replace("_", " "), other[0].replace("_", " ")
    return None


def specific_tokens(text: str) -> dict[str, str]:
    """The specifics of a text by shape: ``{token: shape}`` with shapes number, version, acronym,
    code and name. Acronyms and names keep their case; the first word of a sentence is not a name."""
    found: dict[str, str] = {}
    flat = flat_text(text)
    for match in _TOKEN.finditer(flat):
        token = match.group().rstrip(".-/")
        if not token:
            continue
        first = match.start() == 0 or flat[: match.start()].rstrip().endswith((".", ":", "!", "?"))
        if _VERSION.match(token):
            found[token] = "version"
        elif token.isdigit():
            continue  # numbers are compared by `numbers`, which also reads "three"
        elif _ACRONYM.match(token) and token not in _NOT_ACRONYMS and not (first and len(token) == 1):
            found[token] = "acronym"
        elif _CODE.match(token) and (
            not token.replace("-", "").isalpha() or token.startswith("-") or _CAMEL.search(token)
        ):
            found[token.lower()] = "code"
        elif token[0].isupper() and token[1:].islower() and len(token) >= 2 and not first:
            found[token.lower()] = "name"
        elif token.isalpha() and token.islower() and len(token) >= 3 and _unknown_word(token):
            found[token] = "term"
    return found


@cache
def _vocabulary() -> frozenset[str]:
    """The words of the bundled embedder's vocabulary (30 000 common English words and pieces): a
    lower-case word outside it is a term of art, a command or a name (git, dpkg, fstab, sudo). Empty
    when the bundled model is not installed; the check then relies on the other shapes."""
    try:
        from indexer.embedder import default_model_path

        path = Path(default_model_path()) / "vocab.txt"
        return frozenset(path.read_text(encoding="utf-8").split())
    except Exception:  # noqa: BLE001 - no vocabulary only means fewer specifics are recognised
        return frozenset()


_ENGLISH_ENDINGS = ("ing", "ed", "es", "s", "er", "ers", "ly", "ally", "ation", "ations", "able", "ment", "ness", "ity")


def _root(word: str) -> str:
    """A word without an inflection ending, kept at three letters or more (mowed -> mow)."""
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _unknown_word(word: str) -> bool:
    """A lower-case word the vocabulary does not hold and that does not read as an English word
    form (mowed, reconfiguring): git, dpkg, fstab, sudo."""
    vocabulary = _vocabulary()
    return bool(vocabulary) and len(word) <= 5 and word not in vocabulary and not word.endswith(_ENGLISH_ENDINGS)


_QUANTITY = re.compile(
    r"\b(\d+(?:[.,]\d+)?|" + "|".join(NUMBER_WORDS) + r")\b[\s-]*(?:%|percent\b|([a-z]{1,12}))", re.IGNORECASE
)


def quantities(text: str) -> dict[str, str]:
    """``{unit stem: number}`` for the numbers of a text followed by a unit or noun (3 years, five-year,
    2 GB, 64-bit, 50 %)."""
    found: dict[str, str] = {}
    for match in _QUANTITY.finditer(flat_text(text)):
        number = NUMBER_WORDS.get(match.group(1).lower(), match.group(1).replace(",", "."))
        unit = stem((match.group(2) or "%").lower())
        if unit not in STOPWORDS:
            found.setdefault(unit, number)
    return found


def _stated(token: str, shape: str, source: str, source_lower: str) -> bool:
    """Whether the source states a specific (acronyms by case, the rest case-blind)."""
    if shape == "acronym":
        return re.search(rf"(?<![\w+#]){re.escape(token)}(?![\w+#])", source) is not None
    if shape == "term":
        return re.search(rf"(?<![\w$-]){re.escape(_root(token))}", source_lower) is not None
    return re.search(rf"(?<![\w$-]){re.escape(token.lower())}(?![\w-])", source_lower) is not None


def all_specifics(text: str) -> dict[str, str]:
    """`specific_tokens` and the numbers of a text (shape ``number``)."""
    return specific_tokens(text) | {n: "number" for n in numbers(text)}


def stated_in(token: str, shape: str, source: str) -> bool:
    """Whether a source text states one specific."""
    flat = flat_text(source)
    if shape == "number":
        return token in numbers(flat)
    return _stated(token, shape, flat, flat.lower())


def missing_specifics(claim: str, source: str, excused: set[str] = frozenset()) -> dict[str, str]:
    """The claim's specifics (numbers included) that the source does not state: ``{token: shape}``."""
    flat = flat_text(source)
    lower, stated_numbers = flat.lower(), numbers(flat)
    return {
        token: shape
        for token, shape in all_specifics(claim).items()
        if token.lower() not in excused
        and not (token in stated_numbers if shape == "number" else _stated(token, shape, flat, lower))
    }


def _swapped(missing: dict[str, str], claim: str, evidence: str) -> tuple[str, str] | None:
    """A claim specific the evidence does not state, standing where the evidence, aligned word by word
    with the claim, has other words: a different value ("created in 1995" / "created in 1993", "the
    default shell is zsh" / "… is bash")."""
    mine, theirs = _TOKEN.findall(flat_text(claim)), _TOKEN.findall(flat_text(evidence))
    lowered = {token.lower() for token in missing}
    matcher = difflib.SequenceMatcher(None, [w.lower() for w in mine], [w.lower() for w in theirs], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or j2 - j1 > 4 or i2 - i1 > 4:
            continue
        said = [w for w in mine[i1:i2] if w.lower().rstrip(".-/") in lowered or w.rstrip(".-/") in missing]
        other = [w for w in theirs[j1:j2] if w.lower() not in STOPWORDS]
        if said and other and _anchored(matcher, i1, i2):
            return " ".join(mine[i1:i2]), " ".join(theirs[j1:j2])
    return None


def _anchored(matcher: difflib.SequenceMatcher, start: int, end: int) -> bool:
    """Whether a replaced span of the claim has matching words right before or after it, so the two
    sides really stand in the same place."""
    blocks = matcher.get_matching_blocks()
    return any(b.size and (b.a + b.size == start or b.a == end) for b in blocks)


def conflict(claim: str, evidence: str, excused: set[str] = frozenset()) -> Conflict | None:
    """The first disagreement between a claim and the evidence sentence it is closest to: a polarity
    or an opposite in clauses that speak of the same things, or a specific of the claim replaced by
    another of the same shape. None when they agree (or share too little to compare)."""
    claim = _ANSWER_PARTICLE.sub("", claim)  # "No, there is no X" denies once
    sentence, shared = _aligned(claim, [u.text for u in passage_sentences(evidence)] or [evidence])
    if shared >= 0.5:
        # The evidence's clauses that speak of what the claim speaks of ("wipe the burrs once a week;
        # never wash them" says nothing negative of wiping).
        spoken = content_stems(claim)
        relevant = " , ".join(c for c in clauses(sentence) if content_stems(c) & spoken) or sentence
        mine, theirs = _words(claim), _words(relevant)
        if _polarity_differs(claim, relevant, mine, theirs):
            return Conflict("negation", claim, sentence)
        pair = _opposite(mine, theirs)
        if pair:
            return Conflict("opposite", pair[0], pair[1])
    theirs = quantities(evidence)
    for unit, number in quantities(claim).items():
        if unit in theirs and theirs[unit] != number and number not in excused:
            return Conflict("value", f"{number} {unit}", f"{theirs[unit]} {unit}")
    missing = missing_specifics(claim, evidence, excused)
    swap = _swapped(missing, claim, evidence) if missing else None
    return Conflict("value", *swap) if swap else None
