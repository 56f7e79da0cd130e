"""The getting-started chapter's model: a seconds-long training problem that exercises the whole pipeline.

Rings versus discs: 2-class 16×16 images with noise and random radius. The
getting-started notebook trains `ToyCNN` on it with `companion.core.fit`, and the
core tests use it to check determinism, checkpoint resume and DDP.

Run outside Jupyter::

    python -m companion.getting_started --epochs 3 --device auto
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from companion.core.device import select_device
from companion.core.seed import seed_everything
from companion.core.train import TrainResult, fit


def make_toy_dataset(n: int, size: int = 16, noise: float = 0.6, seed: int = 0) -> TensorDataset:
    """``n`` images of a filled disc (label 0) or a ring (label 1), balanced.

    Returns
    -------
    TensorDataset
        images float32 [n, 1, size, size], labels int64 [n].
    """
    if n < 2 or size < 8:
        raise ValueError(f"need n >= 2 and size >= 8 (got n={n}, size={size})")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    images = np.empty((n, 1, size, size), np.float32)
    for i, label in enumerate(labels):
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        radius = rng.uniform(size * 0.18, size * 0.32)
        r = np.hypot(yy - cy, xx - cx)
        shape = r < radius
        if label == 1:
            shape &= r > radius * 0.55
        images[i, 0] = shape + rng.normal(0.0, noise, (size, size))
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))


class ToyCNN(nn.Module):
    """Two conv blocks and a linear head; about 5k parameters."""

    def __init__(self, width: int = 8, dropout: float = 0.1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def classification_step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    images, labels = batch
    logits = model(images)
    loss = nn.functional.cross_entropy(logits, labels)
    accuracy = (logits.argmax(1) == labels).float().mean()
    return {"loss": loss, "accuracy": accuracy}


@torch.no_grad()
def predict_scores(model: nn.Module, data: TensorDataset, device: torch.device) -> np.ndarray:
    """Probability of class 1 (ring) for every image."""
    model.eval()
    images = data.tensors[0].to(device)
    return torch.softmax(model(images).float(), 1)[:, 1].cpu().numpy()


def run_toy(
    epochs: int = 3,
    n_train: int = 512,
    n_test: int = 256,
    batch_size: int = 32,
    lr: float = 1e-2,
    seed: int = 0,
    device: str = "auto",
    checkpoint_path=None,
    progress: bool | None = None,
) -> tuple[ToyCNN, TrainResult, dict]:
    """Train `ToyCNN` and return the model, its history and test metrics."""
    seed_everything(seed)
    dev = select_device(device)
    train = make_toy_dataset(n_train, seed=seed)
    test = make_toy_dataset(n_test, seed=seed + 10_000)
    model = ToyCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def evaluate(m):
        scores = predict_scores(m, test, dev)
        labels = test.tensors[1].numpy()
        return {"test_accuracy": float(((scores > 0.5) == labels).mean())}

    result = fit(
        model, classification_step, train, optimizer=optimizer, epochs=epochs, batch_size=batch_size,
        seed=seed, device=dev, evaluate=evaluate, checkpoint_path=checkpoint_path, progress=progress,
        description="toy",
    )
    scores = predict_scores(model, test, dev)
    labels = test.tensors[1].numpy()
    metrics = {
        "test_accuracy": float(((scores > 0.5) == labels).mean()),
        "final_train_loss": result.history[-1]["train_loss"],
    }
    return model, result, {"scores": scores, "labels": labels, **metrics}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)
    _, result, out = run_toy(epochs=args.epochs, seed=args.seed, device=args.device, checkpoint_path=args.checkpoint)
    print(json.dumps({"history": result.history, "test_accuracy": out["test_accuracy"],
                      "samples_per_second": result.samples_per_second, "device": result.device}, indent=1))


if __name__ == "__main__":
    main()
