"""How an Embedding is kept as bytes (``encode_embedding``, ``decode_embedding``, int8 rows) and its
views pooled from its rows (``pooled``), which the embed stage, the store and the batch shards
share. Apart from ``model`` so that numpy loads only where vectors are made or read: listing
stories needs none."""
from __future__ import annotations

import numpy as np

from .model import EMBEDDING_FIELDS, Embedding  # noqa: F401 (what encode_embedding returns, in order)


def to_int8(a: np.ndarray) -> bytes:
    """Vectors as int8 with one float16 scale per row: half of float16's bytes, cosines within ~0.002."""
    a = np.atleast_2d(np.asarray(a, np.float32))
    scale = np.maximum(np.abs(a).max(1), 1e-12) / 127
    q = np.rint(a / scale[:, None]).astype(np.int8)
    return scale.astype(np.float16).tobytes() + q.tobytes()


def from_int8(b: bytes, dim: int) -> np.ndarray:
    """What ``to_int8`` wrote, as float32 rows."""
    b = bytes(b)
    n = len(b) // (dim + 2)
    scale = np.frombuffer(b, np.float16, n).astype(np.float32)
    return np.frombuffer(b, np.int8, offset=2 * n).astype(np.float32).reshape(n, dim) * scale[:, None]


def pooled(sentences: np.ndarray, title: np.ndarray, owners, lead_rows: int) -> Embedding:
    """The article's views from its rows: ``doc`` the mean of paragraph means (a long article's
    parts keep their weight), ``lead`` the mean of the first ``lead_rows`` rows."""
    owners = np.asarray(owners)
    return Embedding(doc=pooled_doc(sentences, owners), title=title, lead=_unit(sentences[:lead_rows].mean(0)),
                     sentences=sentences, owners=owners, lead_rows=lead_rows)


def pooled_doc(sentences: np.ndarray, owners: np.ndarray) -> np.ndarray:
    return _unit(np.mean([_unit(sentences[owners == p].mean(0)) for p in np.unique(owners)], axis=0))


def encode_embedding(e: Embedding) -> tuple:
    """An Embedding as bytes (the values of ``EMBEDDING_FIELDS``): its int8 rows, the title unless
    it is the first row, and each row's paragraph; ``doc`` and ``lead`` are pooled from them when
    decoded (an embedding without ``owners`` keeps its own)."""
    first = to_int8(e.sentences[0]) if len(e.sentences) else None
    title = None if (b := to_int8(e.title)) == first else b
    if e.owners is None:
        doc, lead, owners = to_int8(e.doc), None if (b := to_int8(e.lead)) == first else b, None
    else:  # paragraph ranks: pooling needs only which rows share a paragraph
        doc, lead, owners = None, None, np.unique(e.owners, return_inverse=True)[1].astype("<u2").tobytes()
    return e.doc.shape[0], doc, title, lead, to_int8(e.sentences), "i8", owners, e.lead_rows


def _rows(b: bytes, dim: int, codec: str | None = "i8") -> np.ndarray:
    """What ``to_int8`` wrote (``codec`` "i8"), or the float16 rows of a store written before it (None)."""
    if codec is None:
        return np.frombuffer(bytes(b), np.float16).astype(np.float32).reshape(-1, dim)
    return from_int8(b, dim)


def decode_embedding(dim, doc, title, lead, sentences, codec, owners, lead_rows, doc_only=False):
    """What ``encode_embedding`` wrote as an Embedding (pooled as when it was made: the trip
    changes nothing, see ``embed.as_stored``), or its ``doc`` alone."""
    rows = _rows(sentences, dim, codec)
    if owners is not None:
        ranks = np.frombuffer(bytes(owners), "<u2")
        if doc_only:
            return pooled_doc(rows, ranks)
        return pooled(rows, rows[0] if title is None else _rows(title, dim, codec)[0], ranks, lead_rows)
    doc = _rows(doc, dim, codec)[0]
    if doc_only:
        return doc
    title, lead = (rows[0] if b is None else _rows(b, dim, codec)[0] for b in (title, lead))
    return Embedding(doc, title, lead, rows)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)
