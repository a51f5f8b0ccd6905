"""Zero-shot classification of images among their own dataset's classes: pure functions over arrays."""

from __future__ import annotations

import numpy as np

METRICS = ("accuracy", "probability")
METRIC_DEFINITIONS = {
    "accuracy": "top-1 zero-shot accuracy of the concept's images among their dataset's classes",
    "probability": "mean softmax probability of the true class, logits = logit_scale * cosine similarity",
}


def zero_shot_scores(
    image_features: np.ndarray,
    image_concepts: np.ndarray,
    class_vectors: np.ndarray,
    dataset_of_concept: np.ndarray,
    metric: str,
    logit_scale: float,
) -> np.ndarray:
    """Per concept, the mean over its images of the metric (NaN for a concept without images).

    ``image_features``: raw image features, one row per image; ``image_concepts``: the concept of each
    image; ``class_vectors``: one unit text vector per concept (the zero-shot classifier's rows);
    ``dataset_of_concept``: each concept's dataset. Each image is classified among the concepts of its
    own dataset. Works in float64; a tie for the top logit goes to the class listed first.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    features = np.asarray(image_features, dtype=np.float64)
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    classes = np.asarray(class_vectors, dtype=np.float64)
    image_concepts = np.asarray(image_concepts, dtype=np.int64)
    per_image = np.empty(len(image_concepts), dtype=np.float64)
    image_dataset = dataset_of_concept[image_concepts]
    for dataset in np.unique(image_dataset):
        members = np.flatnonzero(dataset_of_concept == dataset)  # the dataset's concepts, in catalog order
        images = np.flatnonzero(image_dataset == dataset)
        logits = logit_scale * (features[images] @ classes[members].T)
        truth = np.searchsorted(members, image_concepts[images])
        if metric == "accuracy":
            per_image[images] = logits.argmax(axis=1) == truth
        else:
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            per_image[images] = probabilities[np.arange(len(images)), truth]
    counts = np.bincount(image_concepts, minlength=len(dataset_of_concept))
    sums = np.bincount(image_concepts, weights=per_image, minlength=len(dataset_of_concept))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts
