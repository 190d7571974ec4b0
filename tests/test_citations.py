"""Citations by attribution, with the real embedder: markers kept, corrected or added, evidence spans
in page coordinates, and answers withheld only when nothing in them is supported."""

from __future__ import annotations

import json
import re

import pytest

from indexer.embedder import Embedder
from indexer.types import Chunk, Hit
from rag.citations import CitedAnswer, Evidence, SentenceCheck, cite, passage_sentences, split_answer
from rag.prompt import NO_ANSWER, REFUSAL

GUIDE_PAGE = (
    "Aurora 3 coffee grinder. Owner's guide.\n"
    "Warranty. The Aurora 3 is covered by a warranty of three years from the date of purchase. Keep the\n"
    "receipt as proof of purchase.\n"
    "Cleaning. Empty the bean hopper before cleaning. Wipe the burrs with the supplied brush once a week;\n"
    "never wash them with water.\n"
)
KETTLE_PAGE = (
    "Descaling. The Zephyr-9 kettle should be descaled every four weeks with white vinegar. Fill it "
    "halfway, boil it, and let it stand for an hour before rinsing."
)
SHOP_PAGE = "Shipping. Orders above 50 euros ship free within Germany. Delivery takes two to four working days."
WARRANTY = "The Aurora 3 is covered by a warranty of three years from the date of purchase."


def chunk_of(page_text: str, start: int, page: int, doc_id: int, path: str) -> Chunk:
    """A passage of a page that starts at `start`: `chunk.text == page_text[char_start:char_end]`."""
    return Chunk(doc_id, page, start, len(page_text), page_text[start:], id=doc_id, path=path)


GUIDE = chunk_of(GUIDE_PAGE, GUIDE_PAGE.index("Warranty."), 6, 1, "/docs/aurora-guide.pdf")
KETTLE = chunk_of(KETTLE_PAGE, 0, 2, 2, "/docs/kettle.pdf")
SHOP = chunk_of(SHOP_PAGE, 0, 1, 3, "/docs/shop.txt")
PASSAGES = [Hit(GUIDE, 0.8), Hit(KETTLE, 0.6), Hit(SHOP, 0.4)]


@pytest.fixture(scope="module")
def check(embedder: Embedder):
    """`cite` over the three passages with the real embedder."""

    def run(draft: str, question: str = "What do the manuals say?") -> CitedAnswer:
        return cite(question, draft, PASSAGES, embedder.embed, model="test")

    return run


def plain(text: str) -> str:
    """A sentence without its markers."""
    return re.sub(r"\s*\[\d+\]", "", text)


def by_sentence(answer: CitedAnswer) -> dict[str, SentenceCheck]:
    return {plain(s.text): s for s in answer.sentences}


def test_a_draft_without_markers_is_shown_with_attributed_citations(check) -> None:
    answer = check(f"{WARRANTY} The Zephyr-9 kettle should be descaled every four weeks with white vinegar.")
    assert not answer.refused and not answer.withheld
    assert answer.text == (
        "The Aurora 3 is covered by a warranty of three years from the date of purchase [1]. "
        "The Zephyr-9 kettle should be descaled every four weeks with white vinegar [2]."
    )
    assert answer.cited == [1, 2]
    assert all(s.supported and s.model_cites == [] for s in answer.sentences)


def test_a_verbatim_copy_is_supported_even_when_the_passage_says_more(check) -> None:
    answer = check("Wipe the burrs with the supplied brush once a week.")
    [sentence] = answer.sentences
    assert sentence.supported and sentence.cites == [1]
    assert sentence.support >= 0.9


def test_a_paraphrase_keeps_the_models_marker(check) -> None:
    answer = check("The grinder has a three-year warranty that starts on the day of purchase [1].")
    [sentence] = answer.sentences
    assert sentence.supported and sentence.cites == [1] and sentence.model_cites == [1]


def test_an_invented_sentence_is_flagged_and_the_rest_is_shown(check) -> None:
    answer = check(f"{WARRANTY} The Aurora 3 grinder was designed by a team of astronauts in Houston.")
    sentences = by_sentence(answer)
    assert not answer.refused
    assert sentences[WARRANTY].supported
    invented = sentences["The Aurora 3 grinder was designed by a team of astronauts in Houston."]
    assert not invented.supported and invented.cites == [] and invented.reason
    assert answer.weak_sentences == [invented]


def test_a_changed_number_is_flagged_with_its_reason(check) -> None:
    answer = check("The Aurora 3 is covered by a warranty of five years from the date of purchase [1].")
    [sentence] = answer.sentences
    assert not sentence.supported
    assert "5" in sentence.reason


def test_a_wrong_marker_is_corrected_to_the_passage_that_supports_the_sentence(check) -> None:
    answer = check("The Zephyr-9 kettle should be descaled every four weeks [1]. Delivery takes two to four days [2].")
    first, second = answer.sentences
    assert first.model_cites == [1] and first.cites == [2]
    assert second.model_cites == [2] and second.cites == [3]
    assert answer.text == (
        "The Zephyr-9 kettle should be descaled every four weeks [2]. Delivery takes two to four days [3]."
    )


def test_markers_written_after_the_full_stop_move_to_the_end_of_their_sentence(check) -> None:
    answer = check("Keep the receipt as proof of purchase. [1] Orders above 50 euros ship free within Germany.")
    assert (
        answer.text == "Keep the receipt as proof of purchase [1]. Orders above 50 euros ship free within Germany [3]."
    )


def test_evidence_spans_open_the_page_at_the_supporting_sentence(check) -> None:
    assert GUIDE.char_start > 0
    answer = check(f"The Aurora 3 has a three-year warranty [1]. {KETTLE_PAGE.split('. ')[1]}.")
    [evidence] = answer.sentences[0].evidence
    assert evidence.number == 1
    assert GUIDE_PAGE[evidence.char_start : evidence.char_end] == WARRANTY == evidence.text
    assert answer.evidence_for(1) == evidence
    kettle = answer.evidence_for(2)
    assert kettle is not None and KETTLE_PAGE[kettle.char_start : kettle.char_end] == kettle.text
    assert answer.evidence_for(3) is None


def test_passage_sentences_keep_their_offsets() -> None:
    for sentence in passage_sentences(GUIDE.text):
        assert GUIDE.text[sentence.start : sentence.end] == sentence.text
    assert WARRANTY in [s.text for s in passage_sentences(GUIDE.text)]


def test_a_refusal_that_goes_on_to_state_supported_facts_is_an_answer(check) -> None:
    answer = check("I don't know exactly, but the sources say the Aurora 3 has a three-year warranty.")
    assert not answer.refused and not answer.withheld
    [sentence] = answer.sentences
    assert sentence.supported and sentence.cites == [1]
    assert answer.text.endswith("three-year warranty [1].")


@pytest.mark.parametrize("draft", [REFUSAL, "I do not know. The sources do not say how to repair the motor."])
def test_a_pure_refusal_stays_a_refusal(check, draft: str) -> None:
    answer = check(draft)
    assert answer.refused and answer.text == NO_ANSWER
    assert answer.cited == [] and answer.withheld == "" and answer.sentences == []


def test_a_draft_with_nothing_supported_is_withheld_but_kept(check) -> None:
    draft = "Penguins live in Antarctica and eat krill [1]. The Eiffel Tower was finished in 1889."
    answer = check(draft)
    assert answer.refused and answer.text == NO_ANSWER and answer.cited == []
    assert plain(answer.withheld) == plain(draft)


def test_connective_text_needs_no_marker(check) -> None:
    answer = check(f"Yes. {WARRANTY}")
    first, second = answer.sentences
    assert first.text == "Yes." and first.cites == [] and first.supported
    assert second.cites == [1]


def test_list_items_are_checked_one_by_one() -> None:
    sentences = split_answer("Steps:\n- Empty the bean hopper [1].\n- Wipe the burrs, e.g. with the brush.\n1. Done.")
    assert [s.core for s in sentences] == [
        "Steps:",
        "Empty the bean hopper",
        "Wipe the burrs, e.g. with the brush",
        "Done",
    ]
    assert sentences[1].model_cites == [1]


def test_an_answer_round_trips_through_json_and_old_dicts_still_load(check) -> None:
    answer = check(f"{WARRANTY} The Aurora 3 grinder was designed by astronauts in Houston.")
    answer.timing = {"seconds": 1.5}
    data = json.loads(json.dumps(answer.to_dict()))
    assert CitedAnswer.from_dict(data) == answer
    assert isinstance(CitedAnswer.from_dict(data).sentences[0].evidence[0], Evidence)
    old = json.loads(json.dumps(data))
    for sentence in old["sentences"]:
        del sentence["evidence"], sentence["model_cites"]
    restored = CitedAnswer.from_dict(old)
    assert [s.evidence for s in restored.sentences] == [[], []]
    assert restored.text == answer.text and restored.sources == answer.sources
    assert restored.evidence_for(1) is None


@pytest.mark.parametrize("draft", ["[1] [1][2]", "Bonjour,", "[2]."])
def test_a_draft_with_no_words_is_a_refusal_with_the_draft_kept(check, draft: str) -> None:
    answer = check(draft)
    assert answer.refused and answer.text == NO_ANSWER and answer.withheld


def test_a_markdown_link_to_a_source_number_is_read_as_its_citation(check) -> None:
    answer = check(f"[{WARRANTY}](1)")
    assert not answer.refused and answer.cited == [1]
    assert answer.text == f"{WARRANTY[:-1]} [1]."


def test_an_added_marker_points_to_the_passage_that_states_the_claim_not_one_merely_close_to_it(
    embedder: Embedder,
) -> None:
    # Seen on a real answer: the blog sentence is closer in embedding space (cosine 0.79 against 0.77)
    # but says nothing about how often; the calendar states it.
    calendar = "# Lawn care calendar\n\nIn summer, mow the lawn once a week and leave the grass at least 5 cm tall.\n"
    blog = (
        "Keep the receipt for your lawn mower and register its warranty online. Mowing the lawn is more fun in summer."
    )
    hits = [
        Hit(chunk_of(calendar, 0, 1, 1, "/docs/lawn-care.md"), 0.7),
        Hit(chunk_of(blog, 0, 1, 2, "/docs/blog.txt"), 0.5),
    ]
    answer = cite(
        "How often should the lawn be mowed in summer?",
        "The lawn should be mowed once a week in summer.",
        hits,
        embedder.embed,
        model="test",
    )
    assert answer.text == "The lawn should be mowed once a week in summer [1]."


FAQ_PAGE = (
    "9.2 Must I go into single user mode in order to upgrade a package? No. Packages can be upgraded in place, "
    "even in running systems. 9.3 Do I have to keep all those .deb archive files on my disk? No. If you have "
    "downloaded the files to your disk then after you have installed the packages, you can remove them from "
    "your system."
)
FAQ = chunk_of(FAQ_PAGE, 0, 50, 4, "/docs/debian-faq.pdf")
KEEP = "Do I have to keep the downloaded .deb files afterwards?"


@pytest.mark.parametrize(
    "draft",
    ["No, you do not have to keep the downloaded .deb files afterwards.", "No, you don't have to keep the .deb files."],
)
def test_a_no_that_an_faq_gives_its_own_question_is_supported_by_that_no(embedder: Embedder, draft: str) -> None:
    """Read as words, the FAQ's question ("Do I have to keep …?") said the opposite of a right "no"."""
    answer = cite(KEEP, draft, [Hit(FAQ, 0.9)], embedder.embed)
    assert not answer.refused and answer.cited == [1]
    (check,) = answer.sentences
    assert check.verdict == "supported" and check.evidence[0].text == "No."
    assert FAQ_PAGE[check.evidence[0].char_start : check.evidence[0].char_end] == "No."


def test_a_yes_where_the_faq_says_no_withholds_the_answer(embedder: Embedder) -> None:
    """The chat of 6 December: a follow-up answered "Yes, you have to keep …" beside the page's "No." and
    was shown, its second sentence footnoted."""
    draft = "Yes, you have to keep the downloaded .deb files afterwards. You can remove them from your system [1]."
    answer = cite(KEEP, draft, [Hit(FAQ, 0.9)], embedder.embed)
    assert answer.refused and answer.withheld.startswith("Yes, you have to keep")
    first = answer.sentences[0]
    assert first.verdict == "contradicted" and first.contradiction is not None
    assert first.contradiction.text == "No." and "answers 'no'" in first.reason


def test_a_yes_to_another_question_than_the_faqs_is_not_read_against_its_no(embedder: Embedder) -> None:
    """'Can I upgrade without single user mode?' yes and 'Must I go into single user mode?' no agree: a
    different verb (can, must) and a denial on one side only leave the FAQ's no out of it."""
    draft = "Yes, you can upgrade a package without going into single user mode [1]."
    answer = cite(
        "Can I upgrade a package without going into single user mode?", draft, [Hit(FAQ, 0.9)], embedder.embed
    )
    assert not any("answers 'no'" in s.reason for s in answer.sentences)


@pytest.mark.parametrize(("opening", "withheld"), [("Yes.", True), ("No.", False)])
def test_a_bare_yes_or_no_is_read_as_said_of_the_question(embedder: Embedder, opening: str, withheld: bool) -> None:
    """Seen on the FAQ: "Yes. … you can remove them from your system [1]." was shown for "Do I have to keep
    the .deb files after installing the packages?"."""
    draft = f"{opening} After you have installed the packages, you can remove them from your system [1]."
    answer = cite(
        "Do I have to keep the .deb files after installing the packages?", draft, [Hit(FAQ, 0.9)], embedder.embed
    )
    assert answer.refused is withheld
    assert answer.sentences[0].verdict == ("contradicted" if withheld else "supported")


FREE_PAGE = (
    "Debian is free software. When we speak of free software, we refer to freedom, not price. Free software "
    "means that you have the freedom to distribute copies of free software, that you receive source code or "
    "can get it if you want it, and that you can change the software. Debian offers no support contracts of its own."
)


@pytest.mark.parametrize(
    "draft",
    [
        "The price of a Debian support contract is not mentioned in the sources [1].",
        "The documents do not mention the price of a Debian support contract [1].",
    ],
)
def test_sources_said_to_be_silent_in_other_words_make_a_refusal_not_a_footnoted_fact(
    embedder: Embedder, draft: str
) -> None:
    """Seen in a chat: "The price of a Debian support contract is not mentioned in the sources [8]." was
    checked as a fact and footnoted to the FAQ's "freedom, not price"."""
    passage = Hit(chunk_of(FREE_PAGE, 0, 10, 5, "/docs/debian-faq.pdf"), 0.5)
    answer = cite("What is the price of a Debian support contract?", draft, [passage], embedder.embed)
    assert answer.refused and answer.text == NO_ANSWER and answer.cited == []
