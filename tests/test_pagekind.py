"""Navigation pages (contents, indexes, reference lists) told from content, marked in the catalogue,
migrated in old libraries without re-embedding, and kept out of the answer context."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import FAQ_PDF, faq_file, make_pdf

from indexer.embedder import Embedder
from indexer.indexer import Indexer
from indexer.loaders import load
from indexer.pagekind import BIBLIOGRAPHY, CONTENT, INDEX, LISTS, PAGEKIND_VERSION, TOC, classify_chunk, classify_page
from indexer.store import CATALOGUE, SCHEMA_VERSION, Store
from indexer.types import Chunk, Hit
from rag.retriever import RetrievalSettings, Retriever

DOT_LEADER_TOC = """Table of Contents
Preface . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . ix
1 Getting started . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 1
1.1 Unpacking the router . . . . . . . . . . . . . . . . . . . . . . . . . 2
1.2 Connecting the cables . . . . . . . . . . . . . . . . . . . . . . . . 4
1.3 First login ............................................... 7
2 Wireless settings . . . . . . . . . . . . . . . . . . . . . . . . . . . . 11
2.1 Choosing a channel . . . . . . . . . . . . . . . . . . . . . . . . . . 12
2.2 Guest networks . . . . . . . . . . . . . . . . . . . . . . . . . . . . 15
3 Troubleshooting . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 19
3.1 Resetting to factory settings . . . . . . . . . . . . . . . . . . . . 21
Index . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 33
"""

# The layout pdfminer gives the Debian FAQ: leaders at the line ends, the page numbers in a column below.
SPLIT_COLUMN_TOC = """1.4 Does Debian just do GNU/Linux? . . . . . . . . . . . . . . . . . . . . . . . . . . . . . .
1.5 What is the difference between Debian GNU/Linux and other Linux distributions? Why
should I choose Debian over some other distribution? . . . . . . . . . . . . . . . . . . . .
1.6 How does the Debian project fit in or compare with the Free Software Foundation's GNU
project? . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . .
1.7 How does one pronounce Debian and what does this word mean? . . . . . . . . . . . . .
2 Getting and installing Debian GNU/Linux
2.1 What is the latest version of Debian? . . . . . . . . . . . . . . . . . . . . . . . . . . . . . .
2
2
3
3
5
5
"""

NUMBERED_TOC = """Contents
1 Introduction 1
1.1 Why version control 2
1.2 Installing the tools 5
2 Basic workflow 9
2.1 Creating a repository 9
2.2 Recording changes 12
2.3 Viewing the history 17
3 Branching 23
3.1 Branches in a nutshell 23
3.2 Basic merging 28
"""

# A contents page continued without its heading and without dot leaders.
HEADLESS_TOC = """4 Remote repositories 41
4.1 Cloning an existing repository 41
4.2 Fetching and pulling 44
4.3 Pushing to your remotes 47
4.4 Inspecting a remote 49
5 Git tools 53
5.1 Revision selection 53
5.2 Interactive staging 58
5.3 Stashing and cleaning 61
"""

BOOK_INDEX = """Index
A
access point, 14, 22–25
address reservation, 31
admin password, 7, 58
changing, 59
antenna placement, 18
B
bandwidth limits, 44–46
bridge mode, 52; 60
bridge mode, see also repeater mode
C
channel width, 20
client isolation, 16, 38
D
DHCP server, 30–32
DNS, 33, 35
"""

HEADLESS_INDEX = """firmware update, 61–63
flash memory, 12
frequency band, 19, 20
gateway address, 28
guest network, 15–17, 40
hidden network, 21
hostname, 29, 34
IP address, 27–31
"""

REFERENCE_LIST = """References
[1] A. Vaswani, N. Shazeer, N. Parmar et al. Attention is all you need. In Advances in Neural
Information Processing Systems 30, pages 5998–6008, 2017.
[2] J. Devlin, M.-W. Chang, K. Lee, and K. Toutanova. BERT: pre-training of deep bidirectional
transformers for language understanding. In Proc. NAACL-HLT, pp. 4171–4186, 2019.
[3] S. Robertson and H. Zaragoza. The probabilistic relevance framework: BM25 and beyond.
Foundations and Trends in Information Retrieval, 3(4):333–389, 2009.
[4] G. V. Cormack, C. L. A. Clarke, and S. Buettcher. Reciprocal rank fusion outperforms Condorcet
and individual rank learning methods. In Proc. SIGIR, pp. 758–759, 2009.
[5] N. Reimers and I. Gurevych. Sentence-BERT: sentence embeddings using Siamese BERT-networks.
In Proc. EMNLP, 2019. doi:10.18653/v1/D19-1410.
"""

APA_BIBLIOGRAPHY = """Robertson, S., & Zaragoza, H. (2009). The probabilistic relevance framework: BM25 and beyond.
Foundations and Trends in Information Retrieval, 3(4), 333–389.
Karpukhin, V., Oguz, B., Min, S., et al. (2020). Dense passage retrieval for open-domain question
answering. In Proceedings of EMNLP (pp. 6769–6781).
Lewis, P., Perez, E., Piktus, A., et al. (2020). Retrieval-augmented generation for knowledge-intensive
NLP tasks. Advances in Neural Information Processing Systems, 33, 9459–9474.
Manning, C. D., Raghavan, P., & Schütze, H. (2008). Introduction to information retrieval.
Cambridge University Press.
Johnson, J., Douze, M., & Jégou, H. (2019). Billion-scale similarity search with GPUs. IEEE
Transactions on Big Data, 7(3), 535–547.
"""

LIST_OF_FIGURES = """List of Figures
Figure 1.1 The front panel . . . . . . . . . . . . . . . . . . . . . . . . . . 3
Figure 1.2 The back panel and its ports . . . . . . . . . . . . . . . . . 4
Figure 2.1 The wireless settings screen . . . . . . . . . . . . . . . . . 12
Figure 3.1 The reset button . . . . . . . . . . . . . . . . . . . . . . . . . 21
"""

PROSE = """3 Troubleshooting
If the router does not respond, unplug it for 30 seconds and plug it back in. The power light
turns green after about 90 seconds. When the wireless light blinks orange, the radio is starting;
wait 2 minutes before connecting. The admin page is at 192.168.1.1, port 8080, and the default
password is printed on the label under the device, next to the serial number.
To reset to factory settings, hold the reset button for 10 seconds with a paper clip until every
light flashes 3 times. The router restarts with the settings it had when it left the factory in 2021.
Firmware 2.4 fixed the guest network dropping clients after 24 hours; see chapter 5 for updates.
"""

CODE = """Listing 4.2: retrying a request with exponential back-off
def backoff(attempt: int) -> float:
    delay = min(2 ** attempt, 60)
    return delay * random.uniform(0.5, 1.5)

retries = 0
for attempt in range(1, 6):
    time.sleep(backoff(attempt))
    retries += 1
    if retries > 5:
        timeout = 30
MAX_CONNECTIONS = 64
PORT = 8080
"""

DATA_TABLE = """Table 2: Aurora espresso machines compared
Model Year Power (W) Boiler (ml) Weight (kg)
Aurora 1 2015 1200 300 4.2
Aurora 2 2018 1350 350 4.8
Aurora 3 2021 1450 400 5.1
Aurora Mini 2022 1000 250 3.2
Aurora Pro 2023 1700 600 7.5
Recommended grind size for each basket
Single basket 7
Double basket 14
Triple basket 21
Ristretto basket 16
"""

FAQ_QUESTIONS = """Frequently asked questions
1. How do I reset the router to its factory settings?
2. Why does the wireless light blink orange?
3. Can I use the router with a cable modem from another brand?
4. How many devices can connect at the same time?
5. What is the range of the 5 GHz network?
6. Why is my connection slower in the evening?
7. How do I update the firmware?
8. Where do I find the default password?
"""

CONFIG_LISTING = """Server settings in /etc/footnotes.conf
Max retries 5
Connect timeout 30
Read timeout 60
Worker threads 128
Cache size 4096
Listen port 8080
"""


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (DOT_LEADER_TOC, TOC),
        (SPLIT_COLUMN_TOC, TOC),
        (NUMBERED_TOC, TOC),
        (HEADLESS_TOC, TOC),
        (BOOK_INDEX, INDEX),
        (HEADLESS_INDEX, INDEX),
        (REFERENCE_LIST, BIBLIOGRAPHY),
        (APA_BIBLIOGRAPHY, BIBLIOGRAPHY),
        (LIST_OF_FIGURES, LISTS),
        (PROSE, CONTENT),
        (CODE, CONTENT),
        (DATA_TABLE, CONTENT),
        (FAQ_QUESTIONS, CONTENT),
        (CONFIG_LISTING, CONTENT),
        ("", CONTENT),
        ("Contents\n1 Introduction 1", CONTENT),  # a heading and one entry are not enough
    ],
)
def test_pages_are_classified_by_their_shape(text: str, kind: str) -> None:
    assert classify_page(text) == kind


def test_a_heading_alone_does_not_make_a_navigation_page() -> None:
    assert classify_page("References\n" + PROSE) == CONTENT
    assert classify_page("Index\n" + PROSE) == CONTENT
    assert classify_page("Contents\n" + FAQ_QUESTIONS) == CONTENT


def test_prose_on_a_mixed_page_stays_content() -> None:
    page = DOT_LEADER_TOC + PROSE
    assert classify_page(page) == TOC
    assert classify_chunk(PROSE, TOC) == CONTENT
    assert classify_chunk("1.2 Connecting the cables . . . . . . . . 4\n1.3 First login . . . . . . 7\n2", TOC) == TOC
    assert classify_chunk(DOT_LEADER_TOC, CONTENT) == TOC  # a contents block inside a content page


def test_the_debian_faq_contents_pages_are_toc_and_the_rest_content() -> None:
    document = load(faq_file(FAQ_PDF))
    kinds = {page.number: classify_page(page.text) for page in document.pages}
    assert {n for n, kind in kinds.items() if kind == TOC} == {3, 4, 5, 6}
    assert {n for n, kind in kinds.items() if kind == INDEX} == {73}  # "Index" of packages: "apt-doc, 36, 37"
    assert kinds[9] == CONTENT and kinds[2] == CONTENT  # chapter 1, and the copyright page
    assert sum(kind == CONTENT for kind in kinds.values()) == len(kinds) - 5


# -- catalogue, migration and retrieval -----------------------------------------------------------

MANUAL_PAGES = [
    "Contents\n"
    + "\n".join(
        f"{title} . . . . . . . . . . . . . . . . . . . . . . . . . . . . {page}"
        for title, page in [
            ("1 Unpacking the lighthouse lamp", 2),
            ("2 Mounting the brass lantern", 2),
            ("3 Cleaning the Fresnel lens", 3),
            ("4 Replacing the halogen bulb", 3),
            ("5 Winding the clockwork rotation motor", 4),
            ("6 Storing the lamp for winter", 4),
        ]
    ),
    "1 Unpacking the lighthouse lamp\nLift the lamp out by its base, never by the lens. Keep the foam corners for"
    " storage.\n2 Mounting the brass lantern\nBolt the lantern to the gallery rail with the four M8 bolts supplied.",
    "3 Cleaning the Fresnel lens\nWipe the Fresnel lens with a soft cotton cloth and distilled water, working from"
    " the centre outwards; never use alcohol, which clouds the prisms.\n4 Replacing the halogen bulb\nLet the bulb"
    " cool for twenty minutes and hold the new one with gloves.",
    "5 Winding the clockwork rotation motor\nTurn the crank forty times each evening; the weight then runs the"
    " motor for twelve hours.\n6 Storing the lamp for winter\nDry every part and store the lamp in its crate.",
]


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.texts = 0

    def token_spans_factory(self) -> Callable[[str], list[tuple[int, int]]]:
        return self.inner.token_spans_factory()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture
def manual(tmp_path: Path, embedder: Embedder) -> tuple[Store, CountingEmbedder, Path]:
    pdf = make_pdf(tmp_path / "lamp-manual.pdf", MANUAL_PAGES)
    store = Store(tmp_path / "lib")
    counting = CountingEmbedder(embedder)
    report = Indexer(store, counting).run([pdf])  # type: ignore[arg-type]
    assert report.indexed == [str(pdf)]
    return store, counting, pdf


def _kinds(store: Store, pdf: Path) -> dict[int, set[str]]:
    record = store.document(str(pdf))
    assert record is not None
    by_page: dict[int, set[str]] = {}
    for chunk in store.chunks_of(record.id):
        by_page.setdefault(chunk.page, set()).add(chunk.kind)
    return by_page


def test_the_contents_page_is_marked_and_never_retrieved_for_an_answer(
    manual: tuple[Store, CountingEmbedder, Path],
) -> None:
    store, counting, pdf = manual
    assert _kinds(store, pdf) == {1: {TOC}, 2: {CONTENT}, 3: {CONTENT}, 4: {CONTENT}}
    assert store.document(str(pdf)).pagekind_version == PAGEKIND_VERSION
    question = "How do I clean the Fresnel lens of the lighthouse lamp?"
    assert store.search_keyword(question, 1)[0].chunk.page == 1  # BM25 alone loves the contents page
    retriever = Retriever(store, counting.embed, RetrievalSettings(top_k=5))
    for mode in ("hybrid", "keyword", "dense"):
        hits = Retriever(store, counting.embed, RetrievalSettings(top_k=5, mode=mode)).retrieve(question)
        assert hits and hits[0].chunk.page == 3, mode
        assert all(h.chunk.kind == CONTENT and h.chunk.page != 1 for h in hits), mode
    shown = retriever.retrieve(question, include_noncontent=True)  # footnotes search: demoted, labelled
    assert [h.chunk.kind for h in shown][-1] == TOC and shown[-1].chunk.page == 1
    assert all(h.chunk.kind == CONTENT for h in shown[:-1]) and shown[0].chunk.page == 3
    assert store.check() == []


def test_resident_navigation_passages_are_dropped_too(manual: tuple[Store, CountingEmbedder, Path]) -> None:
    store, counting, _ = manual
    toc = store.search_keyword("Fresnel lens", 1, kinds={TOC})[0]
    assert toc.chunk.kind == TOC
    hits = Retriever(store, counting.embed).retrieve("winding the motor", resident=[toc])
    assert hits and all(h.chunk.kind == CONTENT for h in hits)


def test_a_library_of_only_navigation_pages_still_answers(tmp_path: Path, embedder: Embedder) -> None:
    pdf = make_pdf(tmp_path / "contents.pdf", MANUAL_PAGES[:1])
    store = Store(tmp_path / "lib")
    Indexer(store, embedder).run([pdf])
    hits = Retriever(store, embedder.embed).retrieve("Fresnel lens")
    assert hits and hits[0].chunk.kind == TOC


def test_an_unclassified_library_is_marked_on_reindex_without_embedding(
    manual: tuple[Store, CountingEmbedder, Path], tmp_path: Path
) -> None:
    store, counting, pdf = manual
    store.save_vectors()
    store.close()
    with sqlite3.connect(tmp_path / "lib" / CATALOGUE) as raw:  # as a library indexed before page kinds
        raw.execute("UPDATE chunks SET kind = 'content'")
        raw.execute("UPDATE documents SET pagekind_version = 0")
    store = Store(tmp_path / "lib")
    assert _kinds(store, pdf)[1] == {CONTENT}
    generation, embedded = store.generation, counting.texts
    report = Indexer(store, counting).run([pdf])  # type: ignore[arg-type]
    assert report.chunks_embedded == 0 and counting.texts == embedded
    assert report.unchanged == [str(pdf)] and report.reclassified == [str(pdf)]
    assert _kinds(store, pdf) == {1: {TOC}, 2: {CONTENT}, 3: {CONTENT}, 4: {CONTENT}}
    assert store.generation == generation  # vectors untouched: the saved FAISS file stays valid
    again = Indexer(store, counting).run([pdf])  # type: ignore[arg-type]
    assert again.reclassified == [] and counting.texts == embedded
    assert store.check() == []


def test_a_schema_1_catalogue_is_migrated_then_classified(
    manual: tuple[Store, CountingEmbedder, Path], tmp_path: Path
) -> None:
    store, counting, pdf = manual
    store.save_vectors()
    store.close()
    with sqlite3.connect(tmp_path / "lib" / CATALOGUE) as raw:  # the catalogue as schema 1 wrote it
        raw.execute("ALTER TABLE chunks DROP COLUMN kind")
        raw.execute("ALTER TABLE documents DROP COLUMN pagekind_version")
        raw.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store = Store(tmp_path / "lib")
    assert store._meta("schema_version") == str(SCHEMA_VERSION)
    assert store.document(str(pdf)).pagekind_version == 0 and _kinds(store, pdf)[1] == {CONTENT}
    assert store.check() == []
    embedded = counting.texts
    report = Indexer(store, counting).run([pdf])  # type: ignore[arg-type]
    assert report.chunks_embedded == 0 and counting.texts == embedded and report.reclassified == [str(pdf)]
    assert _kinds(store, pdf)[1] == {TOC}
    assert store.check() == []


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path / "lib").close()
    with sqlite3.connect(tmp_path / "lib" / CATALOGUE) as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    from indexer.store import StoreError

    with pytest.raises(StoreError, match="schema"):
        Store(tmp_path / "lib")


def test_merging_keeps_kinds_apart() -> None:
    def hit(chunk_id: int, start: int, kind: str) -> Hit:
        return Hit(
            Chunk(doc_id=1, page=1, char_start=start, char_end=start + 10, text="x" * 10, id=chunk_id, kind=kind), 1.0
        )

    retriever = Retriever(store=None, embed=None)  # type: ignore[arg-type]
    merged = retriever._merge_adjacent([hit(1, 0, TOC), hit(2, 5, CONTENT)])
    assert [h.chunk.kind for h in merged] == [TOC, CONTENT]
