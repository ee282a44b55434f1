"""The extractive generator: quoted sentences in document order, each with its citation."""

from __future__ import annotations

import pytest

from assistant.citations import LexicalJudge, check_answer
from assistant.extractive import LEAD_IN, LEAD_IN_QUOTED_IN_CHINESE, ExtractiveGenerator, lead_in
from assistant.fakes import make_passage
from assistant.terms import CorpusTerms, without_document_reference
from assistant.types import GenerationRequest, Language, Passage
from ingest.embeddings import HashingEmbeddings

EARLY = "早期萌芽阶段受限于当时的科技水平，AIGC 仅限于小范围实验。"
STAGES = "AIGC 的发展大致可以分为三个阶段：早期萌芽、沉淀积累和快速发展。"
GAN = "生成对抗网络由一个生成器和一个判别器组成。"
PAINTING = "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。"


class CountingEmbeddings(HashingEmbeddings):
    """The hashing embedder, counting how many texts it embedded."""

    def __init__(self) -> None:
        super().__init__(dim=256)
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return super().embed_documents(texts)


def request(question: str, passages: list[Passage], language: Language = "zh") -> GenerationRequest:
    return GenerationRequest(question, question, language, passages)


def answer(generator: ExtractiveGenerator, req: GenerationRequest) -> str:
    return "".join(generator.stream(req))


@pytest.fixture
def passages() -> list[Passage]:
    """Rank order differs from document order: passage 1 comes later in the document."""
    return [
        make_passage(1, "二、技术体系\n" + GAN + PAINTING, start=900),
        make_passage(2, "一、发展历程\n" + STAGES + EARLY, start=100),
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh", "根据白皮书："), ("en", "Quoted from the paper, in Chinese:")],
)
def test_the_lead_in_is_in_the_questions_language(
    language: Language, expected: str, passages: list[Passage]
) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256))
    text = answer(generator, request("生成对抗网络由什么组成？", passages, language))
    assert text.startswith(expected + "\n")


def test_an_english_question_gets_verbatim_chinese_quotes_announced_as_such(
    passages: list[Passage],
) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=1)
    text = answer(generator, request("What does a GAN consist of?", passages, "en"))
    lead, body = text.split("\n", 1)
    assert lead == LEAD_IN_QUOTED_IN_CHINESE
    quote = body.rsplit("【", 1)[0]
    assert any(quote in p.text for p in passages)  # untranslated, so checkable
    # English sentences (an English document) keep the plain lead-in.
    assert lead_in("en", ["GANs have a generator and a discriminator."]) == LEAD_IN["en"]
    assert lead_in("zh", [GAN]) == LEAD_IN["zh"]


FRAME = "本白皮书重点从 AIGC 技术、应用和治理等维度进行了阐述。"
LIBRARY = [
    FRAME,
    GAN,
    PAINTING,
    STAGES,
    EARLY,
    "AIGC 的治理需要多方参与。",
    "AIGC 改变了内容生产。",
]
TITLE = "人工智能生成内容（AIGC）白皮书"


def library_generator(**kw: object) -> ExtractiveGenerator:
    stats = CorpusTerms(LIBRARY, [TITLE])
    return ExtractiveGenerator(HashingEmbeddings(256), terms=lambda: stats, **kw)  # type: ignore[arg-type]


def test_the_questions_frame_does_not_choose_the_sentence() -> None:
    """ "白皮书" and "提到" frame the question; the sentence about the paper itself must not win
    on them, though it shares them with the question."""
    passages = [make_passage(1, FRAME + GAN + PAINTING)]
    generator = library_generator(max_sentences=1, semantic_weight=0.3)
    chosen = generator.select("白皮书中提到的生成对抗网络由什么组成？", passages)
    assert [s.text for s in chosen] == [GAN]
    terms = [t.text for t in generator.question_terms("白皮书中提到的生成对抗网络由什么组成？", [])]
    assert "白皮书" not in terms and "提到" not in terms and "对抗" in terms


@pytest.mark.parametrize(
    ("question", "meaning"),
    [
        ("白皮书中提到的生成对抗网络由什么组成？", "生成对抗网络由什么组成？"),
        ("根据白皮书，AIGC 的发展分为哪几个阶段？", "AIGC 的发展分为哪几个阶段？"),
        ("Gucci 在白皮书的哪几个 AIGC 案例中出现过？", "Gucci 哪几个 AIGC 案例中出现过？"),
        ("本报告认为内容审核应当如何加强？", "内容审核应当如何加强？"),
        (
            "What did Microsoft show in 2012, according to the white paper?",
            "What did Microsoft show in 2012?",
        ),
        ("According to the paper, when was GAN proposed?", "when was GAN proposed?"),
        (
            "What examples does the white paper give of AIGC in education?",
            "What examples does it give of AIGC in education?",
        ),
        # Content that only looks like a reference, and a question about the paper itself, stay.
        ("平台审核透明度报告由谁发布？", "平台审核透明度报告由谁发布？"),
        ("Which papers on GANs are cited?", "Which papers on GANs are cited?"),
        ("白皮书讲了什么？", "白皮书讲了什么？"),
    ],
)
def test_a_questions_reference_to_the_document_is_not_what_it_means(
    question: str, meaning: str
) -> None:
    assert without_document_reference(question) == meaning


def test_the_document_named_in_the_question_does_not_draw_its_sentences_about_itself() -> None:
    """By meaning alone, "白皮书认为…" is scored as the question without it: the sentence about
    the paper gains nothing from sharing the word "白皮书" with the question."""
    passages = [make_passage(1, FRAME + GAN + PAINTING)]
    generator = library_generator(semantic_weight=1.0)
    named = {
        s.text: s.score for s in generator.rank("白皮书认为生成对抗网络由什么组成？", passages)
    }
    plain = {s.text: s.score for s in generator.rank("生成对抗网络由什么组成？", passages)}
    assert named == pytest.approx(plain)
    sims = generator.sentence_similarities("白皮书认为生成对抗网络由什么组成？", passages)
    assert sims == pytest.approx(
        generator.sentence_similarities("生成对抗网络由什么组成？", passages)
    )


def test_a_multi_part_question_gets_a_sentence_for_each_part() -> None:
    """The second sentence covers the part still unanswered, not the covered part again."""
    again = "佳士得拍卖行拍卖的这幅画作成交后引起了广泛关注。"
    passages = [make_passage(1, GAN + PAINTING + again)]
    generator = library_generator(max_sentences=2, margin=0.3, semantic_weight=0.3)
    question = "生成对抗网络由什么组成，佳士得拍卖的画作成交价是多少？"
    ranked = [s.text for s in generator.rank(question, passages)]
    assert ranked[-1] == GAN  # scored alone, both painting sentences beat it
    chosen = [s.text for s in generator.select(question, passages)]
    assert GAN in chosen and len(chosen) == 2  # one painting sentence, then the other part


TOPIC = "医疗领域，AIGC 赋能诊疗全过程。"
DETAIL = "在辅助诊断方面，AIGC 可用于改善医学图像质量、录入电子病历等，解放医生的智力和精力。"
OTHER = "教育领域，AIGC 赋予教育材料新活力，让历史人物直接与学生对话。"


def test_a_topic_sentence_is_quoted_with_the_sentence_that_says_what_it_means() -> None:
    """The paper states a point in a short sentence and explains it in the next one: quoting
    the point alone answers "能做什么" with a slogan."""
    passages = [make_passage(1, TOPIC + DETAIL + OTHER)]
    generator = library_generator(max_sentences=2, margin=0.0, semantic_weight=0.3)
    question = "AIGC 在医疗领域能做什么？"
    ranked = [s.text for s in generator.rank(question, passages)]
    assert ranked[0] == TOPIC and ranked.index(DETAIL) > 0
    assert [s.text for s in generator.select(question, passages)] == [TOPIC, DETAIL]
    # Off: the margin keeps the topic sentence alone; a long first sentence brings nothing.
    plain = library_generator(max_sentences=2, margin=0.0, semantic_weight=0.3, topic_units=0)
    assert [s.text for s in plain.select(question, passages)] == [TOPIC]
    long_first = [make_passage(1, DETAIL + OTHER)]
    assert [s.text for s in generator.select("AIGC 如何改善医学图像质量？", long_first)] == [DETAIL]


def test_a_topic_sentence_brings_only_its_own_next_sentence() -> None:
    """Not a sentence of another passage, nor one after a gap (a heading between)."""
    generator = library_generator(max_sentences=2, margin=0.0, semantic_weight=0.3)
    question = "AIGC 在医疗领域能做什么？"
    apart = [make_passage(1, TOPIC), make_passage(2, DETAIL, start=200)]
    assert [s.text for s in generator.select(question, apart)] == [TOPIC]
    gap = "\n\n（五）AIGC+其他：推进数实融合，加快产业升级\n\n"
    headed = [make_passage(1, TOPIC + gap + DETAIL)]
    assert [s.text for s in generator.select(question, headed)] == [TOPIC]


def test_a_topic_sentences_detail_runs_on_through_its_clauses() -> None:
    """A detail that is a clause ending in "；" is one part of a longer sentence: the clauses
    after it come too (each point of "三是应用形态日趋完善。在形象方面…；在驱动方面…。")."""
    topic = "三是应用形态日趋完善。"
    clauses = [
        "在形象方面，逐步从 2D 向 3D 拓展；",
        "在驱动方面，逐步从口型向面部表情、肢体动作拓展；",
        "在功能方面，逐步从单一播报向多场景服务拓展。",
    ]
    passages = [make_passage(1, topic + "".join(clauses) + OTHER)]
    generator = library_generator(max_sentences=4, margin=0.0, semantic_weight=0.3)
    question = "应用形态日趋完善具体指什么？"
    assert [s.text for s in generator.select(question, passages)] == [topic, *clauses]
    # Within the sentence budget: the topic and what fits.
    two = library_generator(max_sentences=2, margin=0.0, semantic_weight=0.3)
    assert [s.text for s in two.select(question, passages)] == [topic, clauses[0]]
    # A detail that ends its sentence brings nothing more.
    ended = [make_passage(1, topic + clauses[2] + OTHER)]
    assert [s.text for s in generator.select(question, ended)] == [topic, clauses[2]]


def test_quotes_are_verbatim_cited_and_in_document_order(passages: list[Passage]) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=2, margin=10.0)
    text = answer(generator, request("生成对抗网络和 AIGC 的发展阶段", passages))
    body = text.removeprefix("根据白皮书：\n")
    # The passage ranked 2 starts earlier in the document, so its sentence comes first.
    first, second = body.split("】")[:2]
    assert first.endswith("【2") and second.endswith("【1")
    quotes = [q.rsplit("【", 1)[0] for q in (first, second)]
    assert quotes[0] in passages[1].text and quotes[1] in passages[0].text


def test_headings_and_fragments_are_never_quoted() -> None:
    passage = make_passage(1, "三、治理\n（一）问题\n短句。\n" + EARLY)
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=5, margin=10.0)
    chosen = generator.select("AIGC 治理问题", [passage])
    assert [s.text for s in chosen] == [EARLY]


def test_the_best_sentence_is_chosen_and_the_margin_drops_weak_ones(
    passages: list[Passage],
) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=3, margin=0.0)
    chosen = generator.select("佳士得拍卖行的人工智能画作以多少万美元成交？", passages)
    assert [s.text for s in chosen] == [PAINTING]
    assert chosen[0].passage.number == 1
    assert chosen[0].offset == 900 + passages[0].text.index(PAINTING)


def test_the_meaning_margin_applies_only_to_sentences_scored_by_meaning_alone(
    passages: list[Passage],
) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=4, margin=10.0)

    def chosen(question: str) -> int:
        return len(generator.select(question, passages, meaning_margin=0.0))

    # An English question over Chinese sentences: meaning alone, so the meaning margin.
    assert chosen("What are the stages of AIGC?") == 1
    # A number in the question is matched as a term: the mixed score and its margin.
    assert chosen("What was sold in 2018?") == 4
    assert chosen("AIGC 的发展分为哪几个阶段？") == 4
    assert len(generator.select("What are the stages of AIGC?", passages)) == 4
    # A caller's margin (a model's evidence) replaces the quoting margin for every question.
    assert len(generator.select("AIGC 的发展分为哪几个阶段？", passages, margin=0.0)) == 1


def test_the_length_budget_and_sentence_cap(passages: list[Passage]) -> None:
    capped = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=2, margin=10.0)
    assert len(capped.select("AIGC", passages)) == 2
    tight = ExtractiveGenerator(HashingEmbeddings(256), max_chars=10, max_sentences=4, margin=10.0)
    assert len(tight.select("AIGC", passages)) == 1  # the first always fits


def test_a_sentence_repeated_by_overlapping_passages_is_quoted_once() -> None:
    twice = [make_passage(1, EARLY + GAN), make_passage(2, GAN + PAINTING, start=40)]
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=3, margin=10.0)
    texts = [s.text for s in generator.select("生成对抗网络由什么组成", twice)]
    assert texts.count(GAN) == 1


def test_no_passages_give_only_the_lead_in() -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256))
    assert answer(generator, request("AIGC 是什么？", [])) == "根据白皮书：\n"


def test_sentence_vectors_are_computed_once(passages: list[Passage]) -> None:
    embeddings = CountingEmbeddings()
    generator = ExtractiveGenerator(embeddings)
    answer(generator, request("生成对抗网络由什么组成？", passages))
    first = len(embeddings.embedded)
    answer(generator, request("AIGC 分为哪几个阶段？", passages))
    assert first > 0 and len(embeddings.embedded) == first
    assert len(set(embeddings.embedded)) == len(embeddings.embedded)


def test_extractive_answers_pass_their_own_citation_check(passages: list[Passage]) -> None:
    generator = ExtractiveGenerator(HashingEmbeddings(256), max_sentences=3, margin=10.0)
    raw = answer(generator, request("AIGC 的发展阶段与生成对抗网络", passages))
    checked = check_answer(raw, passages, LexicalJudge(0.5))
    assert checked.text.startswith("根据白皮书：\n")
    assert checked.sentences and all(s.supported for s in checked.sentences)
    assert all(c.quote in passages[c.marker - 1].text for c in checked.citations)
