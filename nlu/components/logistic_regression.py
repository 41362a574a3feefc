"""Rasa's LogisticRegressionClassifier with its weights laid out for fast parsing.

sklearn scores a message as ``X @ coef_.T`` with ``X`` sparse. scipy multiplies a
sparse matrix by a dense one through a C-contiguous buffer, and ``coef_.T`` of the
usual C-ordered ``coef_`` is not contiguous, so every parse copied the whole
(features x intents) matrix: about a fifth of a parse. Storing ``coef_`` in
Fortran order makes ``coef_.T`` C-contiguous; the numbers are unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, Text

import numpy as np

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.training_data import TrainingData

from labels import coarse_training  # nlu/labels.py (the Rasa server runs with nlu/ on its path)


def _fortran_weights(component: LogisticRegressionClassifier) -> None:
    if hasattr(component.clf, "coef_"):
        component.clf.coef_ = np.asfortranarray(component.clf.coef_)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class FastLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's, ~3 ms less per parse; above labels.PER_TOPIC_MAX topics it learns one `faq`
    class, each topic still weighing as one class (labels.coarse_training)."""

    def train(self, training_data: TrainingData) -> Resource:
        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:  # as Rasa's: nothing to learn
            return self._resource
        coarse = coarse_training(y)
        if coarse is None:
            self.clf.fit(X, y)
        else:
            labels, weights = coarse
            self.clf.set_params(class_weight=None)  # the weights already balance the classes
            self.clf.fit(X, labels, sample_weight=np.asarray(weights))
        self.persist()
        _fortran_weights(self)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FastLogisticRegressionClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        _fortran_weights(component)
        return component
