"""A cited answer as Markdown, HTML or PDF: question, answer with its markers, and each source
quoted with file path and page. PDF is written with reportlab, so no browser or display is needed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.citations import CitedAnswer
from usererrors import InvalidValue

FORMATS = (".md", ".html", ".pdf")
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _reflow(text: str) -> str:
    """Join the hard line breaks of extracted PDF text; keep blank-line paragraph breaks."""
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def _listed_sources(answer: CitedAnswer) -> list[int]:
    """Cited sources first (in citation order), then the other passages the model was given."""
    return answer.cited + [n for n in sorted(answer.sources) if n not in answer.cited]


def _sources_title(answer: CitedAnswer) -> str:
    """A refusal's passages are the closest ones found, not its sources."""
    return "Closest passages" if answer.refused else "Sources"


def _marked(
    answer: CitedAnswer, text: str, contradicted: str, not_stated: str, escape: Callable[[str], str] = str
) -> str:
    """`text` (escaped by `escape`) with each contradicted and each not-stated sentence put in its
    format's template: ``{text}`` is the sentence, ``{note}`` why it is flagged (escaped for HTML)."""
    marked = escape(text)
    for check in answer.sentences:
        sentence = escape(check.text)
        if check.flagged and sentence in marked:
            template = contradicted if check.verdict == "contradicted" else not_stated
            note = html.escape(check.note(), quote=True)
            marked = marked.replace(sentence, template.format(text=sentence, note=note), 1)
    return marked


_MD = ("~~{text}~~", "_{text}_")
_HTML = (
    "<del class='contradicted' title='{note}'>{text}</del>",
    "<span class='not-stated' title='{note}'>{text}</span>",
)
_PDF = ("<strike><font color='#b00020'>{text}</font></strike>", "<i>{text}</i>")


def to_markdown(answers: Sequence[CitedAnswer]) -> str:
    """Markdown with each source as a blockquote; contradicted sentences struck through, sentences no
    source states in italics, and a line for each saying why."""
    parts = []
    for answer in answers:
        parts += [f"## {answer.question}", "", _marked(answer, answer.text, *_MD), ""]
        if answer.withheld:
            draft = _marked(answer, answer.withheld, *_MD)
            parts += ["**Draft, withheld: most of it is not what your files say.**", "", f"> {draft}", ""]
        parts += [f"- {note}" for note in answer.notes] + ([""] if answer.notes else [])
        if answer.sources:
            parts += [f"### {_sources_title(answer)}", ""]
        for n in _listed_sources(answer):
            chunk = answer.sources[n]
            label = "" if n in answer.cited else " (not cited)"
            parts.append(f"**[{n}]** `{chunk.path}`, {chunk.where}{label}")
            parts += [""] + ["> " + line for line in chunk.text.splitlines()] + [""]
    return "\n".join(parts).rstrip() + "\n"


def to_html(answers: Sequence[CitedAnswer]) -> str:
    """A standalone HTML page; citation markers link to their quoted source."""
    body = []
    for index, answer in enumerate(answers):
        text = _marked(answer, answer.text, *_HTML, html.escape)
        text = re.sub(r"\[(\d+)\]", rf'<a href="#s{index}-\1">[\1]</a>', text)
        body += [f"<h2>{html.escape(answer.question)}</h2>", f"<p>{text}</p>"]
        if answer.withheld:
            body.append(
                "<p><b>Draft, withheld: most of it is not what your files say.</b></p>"
                f"<blockquote class='draft'>{_marked(answer, answer.withheld, *_HTML, html.escape)}</blockquote>"
            )
        if answer.notes:
            body.append("<ul class='verdicts'>" + "".join(f"<li>{html.escape(n)}</li>" for n in answer.notes) + "</ul>")
        if answer.sources:
            body.append(f"<h3>{_sources_title(answer)}</h3><ol class='sources'>")
        for n in _listed_sources(answer):
            chunk = answer.sources[n]
            quote = html.escape(_reflow(chunk.text)).replace("\n", "<br>")
            body.append(
                f"<li id='s{index}-{n}' value='{n}'><b>{html.escape(chunk.path)}</b>, {html.escape(chunk.where)}"
                f"<blockquote>{quote}</blockquote></li>"
            )
        if answer.sources:
            body.append("</ol>")
    style = (
        "body{font-family:sans-serif;max-width:50em;margin:2em auto;line-height:1.5}"
        "blockquote{border-left:3px solid #999;margin:.5em 0;padding-left:1em;color:#333}"
        "del.contradicted{color:#b00020}span.not-stated{text-decoration:underline dotted}"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Footnotes answer</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def to_pdf(answers: Sequence[CitedAnswer], path: Path) -> None:
    """A PDF with the same content as the HTML export."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    font = _register_font()
    for name in ("BodyText", "Heading2", "Heading3"):
        styles[name].fontName = font
    quote = ParagraphStyle("Quote", parent=styles["BodyText"], leftIndent=18, textColor="#333333", fontSize=9)
    flow = []
    for answer in answers:
        flow += [
            Paragraph(html.escape(answer.question), styles["Heading2"]),
            Paragraph(_marked(answer, answer.text, *_PDF, html.escape), styles["BodyText"]),
            Spacer(1, 8),
        ]
        if answer.withheld:
            flow.append(Paragraph("<b>Draft, withheld: most of it is not what your files say.</b>", styles["BodyText"]))
            flow.append(Paragraph(_marked(answer, answer.withheld, *_PDF, html.escape), quote))
        for note in answer.notes:
            flow.append(Paragraph(html.escape(note), quote))
        if answer.sources:
            flow.append(Paragraph(_sources_title(answer), styles["Heading3"]))
        for n in _listed_sources(answer):
            chunk = answer.sources[n]
            flow.append(
                Paragraph(f"<b>[{n}]</b> {html.escape(chunk.path)}, {html.escape(chunk.where)}", styles["BodyText"])
            )
            flow.append(Paragraph(html.escape(_reflow(chunk.text)).replace("\n", "<br/>"), quote))
            flow.append(Spacer(1, 6))
    SimpleDocTemplate(str(path), pagesize=A4, title="Footnotes answer").build(flow)


def _register_font() -> str:
    """DejaVu Sans when the system has it (wide Unicode coverage), else Helvetica."""
    if not _DEJAVU.exists():
        return "Helvetica"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(_DEJAVU)))
    return "DejaVuSans"


def export(answers: Sequence[CitedAnswer], path: Path) -> Path:
    """Write answers to `path`, the format chosen by its extension (.md, .html, .pdf)."""
    suffix = path.suffix.lower()
    if suffix == ".md":
        path.write_text(to_markdown(answers), encoding="utf-8")
    elif suffix in (".html", ".htm"):
        path.write_text(to_html(answers), encoding="utf-8")
    elif suffix == ".pdf":
        to_pdf(answers, path)
    else:
        raise InvalidValue(f"cannot export to '{suffix}'", f"use one of {', '.join(FORMATS)}")
    return path
