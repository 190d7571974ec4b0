"""The answer view and the look, on real widgets offscreen: Markdown answers with citation chips and
source cards, streaming that touches only the last turn, and light and dark themes that stay readable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_pdf
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.passages import Preview
from app.gui import theme
from app.gui.chat_view import ChatView
from app.gui.rich_text import markdown_html
from app.gui.source_viewer import SourceViewer
from indexer.types import Chunk
from rag.citations import CitedAnswer, SentenceCheck

GUIDE = "/docs/aurora3-guide.pdf"
NOTES = "/docs/beekeeping-notes.md"
ANSWER = (
    "Descale the **Aurora 3** when the light comes on [1]:\n\n"
    "- every *two months* with hard water [1]\n"
    "- every four months with soft water [2]\n\n"
    "| Water | Interval |\n|---|---|\n| hard | 2 months |\n| soft | 4 months |\n\n"
    "Run `descale --full` once [2]."
)


def _chunk(path: str, page: int, text: str) -> Chunk:
    return Chunk(doc_id=1, page=page, char_start=0, char_end=len(text), text=text, id=page, path=path)


def _answer(question: str = "How often should I descale?", text: str = ANSWER) -> CitedAnswer:
    sources = {
        1: _chunk(GUIDE, 12, "Descale every two months when your water is hard."),
        2: _chunk(NOTES, 1, "With soft water, four months between descalings is enough."),
    }
    return CitedAnswer(question, text, sources, cited=[1, 2])


def _chat(qtbot: QtBot) -> ChatView:
    chat = ChatView()
    qtbot.addWidget(chat)
    chat.resize(700, 500)
    chat.show()
    return chat


def _answer_turn(chat: ChatView, question: str, tokens: list[str]) -> None:
    chat.start_turn(question)
    chat.set_status("Reading the passages…")
    answer = _answer(question)
    chat.show_evidence([Preview(n, chunk, chunk.text) for n, chunk in answer.sources.items()])
    for token in tokens:
        chat.append_token(token)
    chat.finish_turn(answer)


def test_streaming_changes_only_the_last_turn_and_a_finished_answer_is_rendered_once(qtbot: QtBot) -> None:
    chat = _chat(qtbot)
    tokens = [word + " " for word in ANSWER.split(" ")]
    for n in range(5):
        _answer_turn(chat, f"Question {n}?", tokens)
    earlier = chat.toPlainText()
    earlier_blocks = chat.document().blockCount()
    changes: list[int] = []
    chat.document().contentsChange.connect(lambda position, removed, added: changes.append(position))
    renders = chat.turn_renders

    chat.start_turn("And with <b>filtered</b> water?")
    start = len(earlier)
    chat.set_status("Reading the passages…")
    chat.append_token("Filtered water ")
    streamed_renders = chat.turn_renders
    for n in range(300):
        chat.append_token(f"<i>t{n}</i> ")

    assert chat.full_renders == 0  # the conversation was never laid out again
    assert streamed_renders - renders == 2  # the status line, then the first token replacing it; no more
    assert chat.turn_renders == streamed_renders  # 299 tokens appended without re-rendering anything
    assert min(changes) >= start and chat.toPlainText().startswith(earlier)
    assert chat.document().blockCount() > earlier_blocks
    assert "<i>t299</i>" in chat.toPlainText()  # streamed text is text, not markup
    assert "<b>filtered</b>" in chat.toPlainText()

    chat.finish_turn(_answer("And with filtered water?"))
    assert chat.turn_renders == streamed_renders + 1 and chat.full_renders == 0
    assert chat.toPlainText().startswith(earlier) and "t299" not in chat.toPlainText()

    built = chat.toPlainText()
    chat.show_turns(list(chat.turns))  # the same conversation laid out from scratch reads the same
    assert chat.full_renders == 1 and chat.toPlainText() == built


def test_a_markdown_answer_has_real_lists_tables_code_and_a_chip_per_marker(qtbot: QtBot) -> None:
    chat = _chat(qtbot)
    _answer_turn(chat, "How often should I descale?", ["Desc", "ale"])
    rendered = chat.toHtml()
    assert re.search(r"<ul[ >]", rendered) and rendered.count("<li") == 2
    assert "<table" in rendered and ">hard<" in rendered and ">4 months<" in rendered
    assert "descale --full" in rendered and "font-family" in rendered  # the code span is monospaced
    assert "font-weight:700" in rendered or "font-weight:600" in rendered  # **Aurora 3**
    assert "font-style:italic" in rendered
    text = chat.toPlainText()
    assert "**" not in text and "|---|" not in text and "`" not in text
    markers = len(re.findall(r"\[\d\]", ANSWER))
    cards = 2
    assert rendered.count('href="cite:0:1"') + rendered.count('href="cite:0:2"') == markers + 2 * cards
    assert "aurora3-guide.pdf, p. 12" in text and "beekeeping-notes.md, p. 1" in text
    assert "Descale every two months when your water is hard." in text  # the card quotes its passage


def test_a_chip_click_and_a_weak_sentence_still_work(qtbot: QtBot) -> None:
    from test_window import _click_link

    chat = _chat(qtbot)
    weak = "- every four months with soft water [2]"
    answer = _answer()
    answer.sentences = [SentenceCheck("every four months with soft water [2]", [2], 0.3, False, "no passage says so")]
    chat.start_turn(answer.question)
    chat.finish_turn(answer)
    assert weak[2:] in ANSWER
    assert 'href="weak:0:0"' in chat.toHtml()
    assert chat._tips["weak:0:0"] == "Not stated by your files: no passage says so"
    with qtbot.waitSignal(chat.citation_clicked) as clicked:
        _click_link(chat, "cite:0:2")
    assert clicked.args == [0, 2]


def test_markdown_knows_no_links_images_or_markup() -> None:
    text = '![x](file:///etc/passwd) [a link](http://example.invalid) <img src="x.png"> [1]\n\n```\ncode [1]\n```'
    rendered = markdown_html(text, theme.LIGHT, lambda s: s.replace("[1]", "<CHIP>"))
    assert "<img" not in rendered and "<a " not in rendered and "href" not in rendered
    assert "![x](file:///etc/passwd)" in rendered and "[a link](http://example.invalid)" in rendered
    assert "&lt;img" in rendered and rendered.count("<CHIP>") == 1  # prose is decorated, code is not
    assert "code [1]" in rendered


@pytest.mark.parametrize("scheme", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_the_colours_of_each_theme_are_readable(scheme: theme.Colors) -> None:
    pairs = {
        "chip": (scheme.chip_fg, scheme.chip_bg),
        "card text": (scheme.text, scheme.card_bg),
        "card muted": (scheme.muted, scheme.card_bg),
        "muted": (scheme.muted, scheme.base),
        "error": (scheme.error, scheme.base),
        "draft": (scheme.draft_fg, scheme.draft_bg),
        "code": (scheme.text, scheme.code_bg),
        "highlighted source text": (scheme.text, scheme.highlight),
        "accent button": (scheme.accent_fg, scheme.accent),
    }
    poor = {name: round(theme.contrast(*pair), 2) for name, pair in pairs.items() if theme.contrast(*pair) < 4.5}
    assert not poor, f"below WCAG AA (4.5:1): {poor}"
    palette = theme.palette_for(scheme)
    assert theme.palette_is_dark(palette) == scheme.dark
    for text_role, background in (
        (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window),
        (QPalette.ColorRole.Text, QPalette.ColorRole.Base),
        (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Button),
        (QPalette.ColorRole.HighlightedText, QPalette.ColorRole.Highlight),
    ):
        assert theme.contrast(palette.color(text_role), palette.color(background)) >= 4.5


@pytest.fixture
def restored_look(qapp: QApplication) -> Iterator[QApplication]:
    """The application's style and palette put back after a test that changes the theme."""
    style, palette = qapp.style().name(), qapp.palette()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)


def test_a_forced_dark_theme_recolours_the_chat_and_the_source_highlight(
    qtbot: QtBot, restored_look: QApplication, tmp_path: Path
) -> None:
    assert theme.apply_theme(restored_look, "light") is theme.LIGHT
    chat = _chat(qtbot)
    _answer_turn(chat, "How often should I descale?", ["Descale"])
    assert theme.LIGHT.chip_bg in chat.toHtml()

    assert theme.apply_theme(restored_look, "dark") is theme.DARK
    assert restored_look.style().name().lower() == "fusion" and theme.colors() is theme.DARK
    qtbot.waitUntil(lambda: theme.DARK.chip_bg in chat.toHtml())  # drawn again in the new colours
    assert theme.LIGHT.chip_bg not in chat.toHtml() and chat.full_renders == 1

    viewer = SourceViewer()
    qtbot.addWidget(viewer)
    page = "Descale every two months when your water is hard."
    viewer.show_chunk(_chunk("/gone/notes.md", 1, page), page)
    selection = viewer.text_view.extraSelections()[0]
    background = selection.format.background().color()
    assert background.name() == theme.DARK.highlight
    assert theme.contrast(viewer.text_view.palette().color(QPalette.ColorRole.Text), background) >= 4.5

    make_pdf(tmp_path / "guide.pdf", [page])  # a PDF page stays black on white paper in the dark
    viewer.show_chunk(_chunk(str(tmp_path / "guide.pdf"), 1, page), None)
    assert viewer.stack.currentWidget() is viewer.page_area and viewer.highlighted_text
    assert viewer.page_label.pixmap().toImage().pixelColor(1, 1).name() == "#ffffff"

    assert theme.apply_theme(restored_look, "sepia") is (theme.DARK if theme.system_is_dark() else theme.LIGHT)


def test_a_contradicted_sentence_is_struck_in_the_error_colour_and_opens_its_source_sentence(qtbot: QtBot) -> None:
    from test_window import _click_link

    from rag.citations import Evidence

    chat = _chat(qtbot)
    wrong = "Keep the security lines before upgrading."
    against = Evidence(2, 0, 58, "With soft water, four months between descalings is enough.", 0.8)
    answer = _answer(text=f"Descale every two months with hard water [1]. {wrong}")
    answer.sentences = [
        SentenceCheck("Descale every two months with hard water [1].", [1], 0.9, True, "", verdict="supported"),
        SentenceCheck(
            wrong, [], 0.8, False, "[2] notes: the source says remove, not keep", [], [2], "contradicted", against
        ),
    ]
    chat.start_turn(answer.question)
    chat.finish_turn(answer)
    html_text = chat.toHtml()
    assert 'href="contra:0:1"' in html_text and "line-through" in html_text
    assert theme.colors().error.lower() in html_text.lower()
    assert "(contradicted by the source)" in chat.toPlainText()  # said in words, for screen readers too
    assert "remove, not keep" in chat._tips["contra:0:1"] and against.text in chat._tips["contra:0:1"]
    with qtbot.waitSignal(chat.contradiction_clicked) as clicked:
        _click_link(chat, "contra:0:1")
    assert clicked.args == [0, 1]


def test_a_refusal_keeps_the_passages_as_the_closest_ones_each_openable(qtbot: QtBot) -> None:
    from test_window import _click_link

    chat = _chat(qtbot)
    answer = _answer(text="Your files don't say.")
    answer.cited, answer.refused = [], True
    chat.start_turn(answer.question)
    chat.show_evidence([Preview(n, chunk, chunk.text) for n, chunk in answer.sources.items()])
    chat.finish_turn(answer)
    text = chat.toPlainText()
    assert "Your files don't say." in text and "Closest passages" in text
    assert "aurora3-guide.pdf" in text and "four months between descalings" in text
    with qtbot.waitSignal(chat.citation_clicked) as clicked:
        _click_link(chat, "cite:0:2")
    assert clicked.args == [0, 2]


def test_verdicts_mark_the_complete_sentences_while_the_rest_still_streams(qtbot: QtBot) -> None:
    from test_window import _click_link

    from rag.citations import Checking, Evidence

    chat = _chat(qtbot)
    supported = "Descale every two months with hard water [1]."
    wrong = "Keep the security lines before upgrading."
    against = Evidence(2, 0, 58, "With soft water, four months between descalings is enough.", 0.8)
    checked = _answer(text=f"{supported} {wrong}")
    checked.cited = [1]
    checked.sentences = [
        SentenceCheck(supported, [1], 0.9, True, "", verdict="supported"),
        SentenceCheck(wrong, [], 0.8, False, "[2] notes: the source says remove", [], [2], "contradicted", against),
    ]
    chat.start_turn(checked.question)
    draft = f"{supported} {wrong} Then run"
    chat.append_token(draft)
    chat.show_checking(Checking(checked, covered=draft.index("Then"), waiting=1))
    chat.append_token(" the full cycle.")
    text = chat.toPlainText()
    assert "(contradicted by the source)" in text and 'href="contra:0:1"' in chat.toHtml()
    assert text.rstrip().endswith("Then run the full cycle.")  # the streaming tail, after the checked part
    assert text.count("Keep the security lines") == 1  # the checked sentences are not shown twice
    assert "against their sources" not in text  # the judge reads nothing while the model writes

    chat.show_checking(Checking(checked, covered=len(draft), waiting=1, written=True))
    assert "Reading 1 sentence(s) against their sources" in chat.toPlainText()
    with qtbot.waitSignal(chat.citation_clicked) as clicked:  # a chip opens its source before the end
        _click_link(chat, "cite:0:1")
    assert clicked.args == [0, 1]
    assert chat.turns[0].shown_answer is checked
