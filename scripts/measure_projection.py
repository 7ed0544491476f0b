"""Time and score the hidden-layer map: `python scripts/measure_projection.py [--recipe R] [--epochs N]
[--train-limit N] [--sample N]`.

Trains the recipe, then maps its hidden layer for the test images at each epoch the way the Map tab does (the
first epoch fresh, each later one started from the previous epoch's map), and prints per epoch: wall and CPU
seconds, the k-nearest-neighbour label agreement in the map, and the same in the layer itself and in its PCA map.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from core import datasets, projection, recipes
from core.model_io import Model
from core.training import EpochEvent, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="keras-dense512")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--sample", type=int, default=0, help="test images mapped (0: all 10,000)")
    args = parser.parse_args()
    dataset = datasets.load("mnist")
    config = recipes.config(args.recipe, epochs=args.epochs, train_limit=args.train_limit)
    trainer = Trainer(config, dataset)
    models = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model.from_trainer(trainer, dataset)
            model.network = event.network
            models.append((event.epoch, event.test_accuracy, model))
    indices = projection.sample_indices(len(dataset.test_labels), args.sample)
    labels = dataset.test_labels[indices]
    previous = None
    print("epoch  test acc  wall s  cpu s  agreement: t-SNE  layer  PCA")
    for epoch, accuracy, model in models:
        wall, cpu = time.perf_counter(), time.process_time()
        layer_map = projection.map_model(model, dataset.test_images, dataset.test_labels, 0, "tsne", indices,
                                         previous=previous)  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        activations = projection.layer_activations(model, dataset.test_images[indices], 0)[1]
        in_layer = projection.knn_agreement(activations, labels)
        pca = projection.knn_agreement(projection.project(activations, "pca"), labels)
        print(f"{epoch:5d}  {100 * accuracy:7.2f}%  {wall:6.1f}  {cpu:5.1f}  "
              f"{100 * layer_map.agreement:14.1f}%  {100 * in_layer:4.1f}%  {100 * pca:4.1f}%", flush=True)  # fmt: skip
        previous = layer_map
    print(f"one map: {layer_map.nbytes:,} bytes; {np.ptp(layer_map.coords, axis=0)} wide")


if __name__ == "__main__":
    main()
