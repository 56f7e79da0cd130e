"""Small configurations and batches the model and training tests share."""

import torch

from companion.radiology.train import TrainConfig


def _tiny_config(seed):
    return TrainConfig(vision_trunk="densenet-small", text_layers=1, n_prompts=2, embed_dim=16, image_size=32,
                       max_length=12, seed=seed, lr=1e-3)


def _batch(tokenizer):
    g = torch.Generator().manual_seed(0)
    tok = tokenizer(["heart enlarged", "lungs clear", "effusion left", "granuloma right"], padding="max_length",
                    max_length=12, return_tensors="pt")
    return {"image": torch.rand(4, 3, 32, 32, generator=g), "input_ids": tok["input_ids"],
            "attention_mask": tok["attention_mask"]}
