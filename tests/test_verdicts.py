"""Verdicts per sentence with the real embedder: supported, contradicted (negated, opposite, another
value) or not stated, markers only on supported sentences, and "Your files don't say" when most of a
draft is not what its sources say. The cases are the ones users met (issue #20)."""

from __future__ import annotations

import pytest

from indexer.embedder import Embedder
from indexer.types import Chunk, Hit
from llm.base import Generator
from rag.citations import (
    CONTRADICTED,
    NO_ANSWER,
    NOT_STATED,
    SUPPORTED,
    Checker,
    CitedAnswer,
    cite,
    conflict,
)
from rag.citations.judge import judge

ARCH_PAGE = (
    "Architectures. Debian provides official builds for amd64, arm64, armel, armhf, i386, mips64el, "
    "ppc64el and s390x. Other ports are maintained unofficially."
)
SECURITY_PAGE = (
    "Upgrading to a new release. Before upgrading, remove the security update lines from "
    "/etc/apt/sources.list, then run apt-get update."
)
FOUNDING_PAGE = "The Debian Project was created by Ian Murdock in 1993. The default shell is bash."
R_PAGE = (
    "Installing R on macOS. Download the installer from CRAN and run it; the R.app GUI is installed "
    "in the Applications folder."
)


def hit(text: str, number: int, page: int = 3) -> Hit:
    return Hit(Chunk(number, page, 0, len(text), text, id=number, path=f"/docs/manual-{number}.pdf"), 0.7)


PASSAGES = [hit(ARCH_PAGE, 1), hit(SECURITY_PAGE, 2), hit(FOUNDING_PAGE, 3)]


@pytest.fixture(scope="module")
def check(embedder: Embedder):
    def run(draft: str, question: str = "What does the manual say?", passages=PASSAGES) -> CitedAnswer:
        return cite(question, draft, passages, embedder.embed, model="test")

    return run


@pytest.mark.parametrize(
    ("claim", "kind"),
    [
        ("No, there is no official Debian build for 64-bit ARM.", "negation"),
        ("Before upgrading, keep the security update lines in /etc/apt/sources.list.", "opposite"),
        ("After upgrading, remove the security update lines from /etc/apt/sources.list.", "opposite"),
        ("The Debian Project was created by Ian Murdock in 1995.", "value"),
        ("The default shell is zsh.", "value"),
    ],
)
def test_a_sentence_that_says_the_opposite_of_its_source_is_contradicted_and_gets_no_marker(
    check, claim: str, kind: str
) -> None:
    answer = check(f"{claim} [1][2][3]")
    [sentence] = answer.sentences
    assert sentence.verdict == CONTRADICTED, sentence
    assert sentence.cites == [] and "[" not in sentence.text
    assert (
        sentence.contradiction is not None and sentence.contradiction.text in ARCH_PAGE + SECURITY_PAGE + FOUNDING_PAGE
    )
    assert conflict(claim, sentence.contradiction.text).kind == kind
    assert answer.refused and answer.text == NO_ANSWER and answer.withheld  # the only sentence: nothing left


@pytest.mark.parametrize(
    "claim",
    [
        "Debian has official builds for arm64.",
        "You should remove the security update lines from sources.list before you upgrade.",
        "Ian Murdock started the Debian Project in 1993.",
        "Debian's default shell is bash.",
    ],
)
def test_a_faithful_paraphrase_is_supported_with_its_marker(check, claim: str) -> None:
    answer = check(claim)
    [sentence] = answer.sentences
    assert sentence.verdict == SUPPORTED and sentence.cites, sentence
    assert not answer.refused and answer.text.endswith(f"[{sentence.cites[0]}].")


def test_a_generic_sentence_about_something_the_library_never_mentions_gets_no_marker(check) -> None:
    # The case: four steps for deploying a Shiny app, footnoted to a page about the Mac GUI.
    draft = (
        "To deploy a Shiny app to shinyapps.io, install the rsconnect package [1]. "
        "Then run deployApp() from the app folder [1]. "
        "Download the installer from CRAN and run it [1]."
    )
    answer = check(draft, "How do I deploy a Shiny app to shinyapps.io?", [hit(R_PAGE, 1)])
    verdicts = [s.verdict for s in answer.sentences]
    assert verdicts == [NOT_STATED, NOT_STATED, SUPPORTED]
    assert answer.refused and answer.text == NO_ANSWER
    assert answer.sources[1].text == R_PAGE  # the closest passage stays with the refusal
    assert [s.cites for s in answer.sentences] == [[], [], [1]]


def test_one_contradicted_sentence_among_supported_ones_is_shown_marked(check) -> None:
    answer = check(
        "The Debian Project was created by Ian Murdock in 1993 [3]. Debian has official builds for arm64 [1]. "
        "Before upgrading, keep the security update lines in /etc/apt/sources.list [2]."
    )
    assert not answer.refused
    assert [s.verdict for s in answer.sentences] == [SUPPORTED, SUPPORTED, CONTRADICTED]
    assert answer.cited == [3, 1]
    contradicted = answer.contradicted[0]
    assert "remove the security update lines" in contradicted.contradiction.text
    assert "keep" in contradicted.reason and "remove" in contradicted.reason
    restored = CitedAnswer.from_dict(answer.to_dict())
    assert restored == answer and restored.contradicted[0].contradiction == contradicted.contradiction


def test_the_verdicts_reach_json_mcp_and_every_export(check, tmp_path) -> None:
    from app.mcp.server import answer_record
    from rag.export import export

    answer = check(
        "The Debian Project was created by Ian Murdock in 1993 [3]. Debian has official builds for arm64 [1]. "
        "Before upgrading, keep the security update lines in /etc/apt/sources.list [2]."
    )
    wrong = "Before upgrading, keep the security update lines in /etc/apt/sources.list."
    record = answer_record(answer)
    assert [s.verdict for s in record.sentences] == [SUPPORTED, SUPPORTED, CONTRADICTED]
    assert record.sentences[2].source == 2 and "remove the security update lines" in record.sentences[2].source_says
    assert [s["verdict"] for s in answer.to_dict()["sentences"]] == [SUPPORTED, SUPPORTED, CONTRADICTED]
    markdown = export([answer], tmp_path / "a.md").read_text()
    assert f"~~{wrong}~~" in markdown and "- Contradicted: “" + wrong in markdown
    page = export([answer], tmp_path / "a.html").read_text()
    assert f"<del class='contradicted' title='Contradicted: “{wrong}”" in page
    pdf = export([answer], tmp_path / "a.pdf")
    from pypdf import PdfReader

    assert "Contradicted: “Before upgrading" in " ".join(PdfReader(pdf).pages[0].extract_text().split())


def test_a_refusal_exports_its_draft_and_the_closest_passages(check, tmp_path) -> None:
    from app.mcp.server import answer_record
    from rag.export import export

    answer = check("Before upgrading, keep the security update lines in /etc/apt/sources.list [2].")
    assert answer.refused and answer.withheld
    markdown = export([answer], tmp_path / "a.md").read_text()
    assert "Your files don't say." in markdown and "### Closest passages" in markdown
    assert "**Draft, withheld: most of it is not what your files say.**" in markdown
    record = answer_record(answer)
    assert record.draft == answer.withheld and [c.number for c in record.closest] == [1, 2, 3]


def test_a_sentence_that_only_repeats_the_question_is_not_an_answer(check) -> None:
    # Seen on the FAQ bench: "The minimum disk space for a basic Debian installation is [3]."
    answer = check(
        "The default shell of the Debian Project is [3].", question="What is the default shell of the Debian Project?"
    )
    [sentence] = answer.sentences
    assert sentence.verdict == NOT_STATED and sentence.cites == [] and "repeats the question" in sentence.reason
    assert answer.refused and answer.text == NO_ANSWER


STREAMED = (
    "Debian provides official builds for amd64 and arm64 [1]. "
    "Before upgrading, keep the security update lines in /etc/apt/sources.list [2]. "
    "The Debian Project was created by Ian Murdock in 1993 [3]."
)


def test_each_sentence_gets_its_verdict_once_complete_while_the_answer_streams(embedder: Embedder) -> None:
    checker = Checker("What does the manual say?", PASSAGES, embedder.embed, model="test")
    second = STREAMED.index("Before")
    half_way = STREAMED[: second + 30]  # the first sentence and half of the second
    progress = checker.progress(half_way)
    assert progress.covered == second and progress.waiting == 0
    [first] = progress.answer.sentences
    assert first.verdict == SUPPORTED and first.cites == [1]
    assert "keep" not in progress.answer.text  # the half sentence waits until it is complete

    progress = checker.progress(STREAMED[: STREAMED.index("The Debian") + 5])  # the third has begun
    assert [s.verdict for s in progress.answer.sentences] == [SUPPORTED, CONTRADICTED]
    assert progress.answer.sentences[1].contradiction.number == 2  # shown with the source sentence at once

    final = checker.progress(STREAMED, complete=True)
    assert final.covered == len(STREAMED)
    assert [s.verdict for s in final.answer.sentences] == [SUPPORTED, CONTRADICTED, SUPPORTED]
    whole = cite("What does the manual say?", STREAMED, PASSAGES, embedder.embed, model="test")
    assert checker.cite(STREAMED).sentences == whole.sentences  # the same check as in one call


def _model_judge(generator: Generator, asked: list[str]):
    """The bundled model as judge (`rag.citations.judge.judge`), noting each claim it is asked about."""

    def run(claim: str, evidence: str) -> str | None:
        asked.append(claim)
        found = judge(generator, claim, evidence)
        return found.verdict if found else None

    return run


def test_the_judge_reads_the_supported_sentences_one_at_a_time_after_the_last_token(
    embedder: Embedder, generator: Generator
) -> None:
    asked: list[str] = []
    checker = Checker(
        "What does the manual say?", PASSAGES, embedder.embed, model="test", judge=_model_judge(generator, asked)
    )
    assert checker.progress(STREAMED[: STREAMED.index("Before") + 5]).waiting == 1
    assert asked == []  # nothing is judged while the model writes
    states = [checker.progress(STREAMED, complete=True)]
    assert states[0].waiting == 2  # the two the words find supported; the contradicted one needs no judge
    while checker.judge_next():
        states.append(checker.progress(STREAMED, complete=True))
    assert [s.waiting for s in states] == [2, 1, 0] and len(asked) == 2
    final = checker.cite(STREAMED)
    assert len(asked) == 2  # the final check asks nothing again
    assert [s.verdict for s in final.sentences] == [s.verdict for s in states[-1].answer.sentences]


def test_after_stop_the_judge_is_not_asked_again(embedder: Embedder, generator: Generator) -> None:
    asked: list[str] = []
    checker = Checker(
        "What does the manual say?", PASSAGES, embedder.embed, model="test", judge=_model_judge(generator, asked)
    )
    assert checker.progress(STREAMED, complete=True).waiting == 2
    checker.judge_next()  # the user pressed Stop after the judge had read one sentence
    stopped = checker.cite(STREAMED, judge_more=False)
    assert len(asked) == 1  # the other sentence keeps the words' verdict
    assert [s.verdict for s in stopped.sentences][1] == CONTRADICTED  # the words' verdicts stand
    assert checker.cite(STREAMED).sentences is not None and len(asked) == 2  # without Stop it is read


UPGRADE_PAGE = (
    "The Debian package maintenance system: The entire system, or any individual component of it, can be "
    "upgraded in place without reformatting, without losing custom configuration files, and (in most cases) "
    "without rebooting the system."
)
CODENAME_PAGE = (
    "They are just codenames. When a Debian distribution is in the development stage, it has no version "
    "number but a codename."
)
APT_PAGE = "apt will remove cached .deb packages by default after sucessful installation of downloaded packages."


@pytest.mark.parametrize(
    ("claim", "page"),
    [
        (
            "You can upgrade the whole system or any single part of it in place, without reformatting or losing "
            "your custom configuration files, and usually without a reboot.",
            UPGRADE_PAGE,
        ),
        (
            "While it is still being developed, a Debian distribution gets a codename rather than a version number.",
            CODENAME_PAGE,
        ),
        ("By default, once apt has installed the downloaded packages, it deletes the cached .deb files.", APT_PAGE),
    ],
)
def test_a_faithful_paraphrase_that_words_its_denials_differently_is_supported(check, claim: str, page: str) -> None:
    # From bench/eval/claims.jsonl, flagged before: a denial running on over a list ("without X or Y")
    # counted once where the page says it twice; "rather than" denies as "no ... but" does; ".deb"
    # was glued to the word before it when a space before punctuation was tidied away.
    answer = check(f"{claim} [1]", passages=[hit(page, 1)])
    [sentence] = answer.sentences
    assert sentence.verdict == SUPPORTED, sentence.reason


@pytest.mark.parametrize(
    ("claim", "page"),
    [
        ("The system cannot be upgraded in place.", UPGRADE_PAGE),
        ("A Debian distribution in the development stage has a version number.", CODENAME_PAGE),
        ("apt keeps cached .deb packages after a successful installation by default.", APT_PAGE),
    ],
)
def test_the_same_pages_still_contradict_a_denial_turned_around(check, claim: str, page: str) -> None:
    answer = check(f"{claim} [1]", passages=[hit(page, 1)])
    [sentence] = answer.sentences
    assert sentence.verdict == CONTRADICTED, sentence.reason
