"""Model tests; the BERT fixture (conftest) is read once per module (the slow part)."""

import pytest
import torch

from companion.radiology.models import (ChannelAttention, MixedPooling, MultiScaleDepthwise,
                                        PromptTunedTextEncoder, SpatialAttention, VisionEncoder, count_parameters)
from companion.radiology.train import TrainConfig, build_model, clip_step, make_optimizer

from .helpers import _batch, _tiny_config


def test_prompt_encoder_shapes_and_frozen_counts(backbone, tokens):
    tokenizer, bert = backbone
    enc = PromptTunedTextEncoder(bert, n_prompts=5, embed_dim=32, n_projection_layers=2, mode="prompt")
    counts = count_parameters(enc)
    bert_params = sum(p.numel() for p in bert.parameters())
    d = bert.config.hidden_size
    # trainable: prompts P*d, scaling 2*d*d, pooling d+1, K=2 projections (d*d+d+2d each), head d*32+32
    expected = 5 * d + 2 * d * d + (d + 1) + 2 * (d * d + 3 * d) + d * 32 + 32
    assert counts["trainable"] == expected
    assert counts["frozen"] == bert_params
    hidden, mask, alpha = enc.encode_tokens(*tokens)
    assert hidden.shape == (2, 16 + 5, d) and mask.shape == (2, 21)
    assert alpha.shape == (2, 5) and bool(((alpha > 0) & (alpha < 1)).all())
    assert enc(*tokens).shape == (2, 32)
    prompts = enc.prompts.detach()
    assert 0.01 < float(prompts.std()) < 0.02 and float(prompts.abs().max()) <= 0.04 + 1e-6  # truncated at 2 sigma


def test_prompts_receive_gradients_but_bert_does_not(backbone, tokens):
    enc = PromptTunedTextEncoder(backbone[1], n_prompts=3, embed_dim=16, mode="prompt")
    enc(*tokens).sum().backward()
    assert enc.prompts.grad is not None and enc.prompts.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.backbone.parameters())


def test_text_modes(backbone):
    bert = backbone[1]
    frozen = PromptTunedTextEncoder(bert, n_prompts=3, embed_dim=16, mode="frozen")
    # the paper's frozen BERT, and nothing on the text side that could learn instead of it
    assert frozen.n_prompts == 0 and count_parameters(frozen)["trainable"] == 0
    frozen.train()
    assert not frozen.training and not frozen.projections.training
    full = PromptTunedTextEncoder(bert, n_prompts=3, embed_dim=16, mode="finetune")
    assert count_parameters(full)["frozen"] == 0
    for p in bert.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="mode"):
        PromptTunedTextEncoder(bert, mode="lora")


def test_attention_modules():
    torch.manual_seed(0)
    x = torch.rand(2, 8, 5, 5)
    ca = ChannelAttention(8, reduction=4)
    assert ca.fc1.out_features == 2
    w = ca.weights(x)
    assert w.shape == (2, 8) and bool(((w > 0) & (w < 1)).all())
    assert torch.allclose(ca(x), x * w[:, :, None, None])
    sa = SpatialAttention(7)
    m = sa.weights(x)
    assert m.shape == (2, 1, 5, 5)
    # the map sees only mean and max over channels: permuting channels leaves it unchanged
    assert torch.allclose(sa.weights(x[:, torch.randperm(8)]), m, atol=1e-6)
    ms = MultiScaleDepthwise(8, channels_per_scale=4, kernel_sizes=(3, 5))
    assert ms(x).shape == (2, 8, 5, 5)


def test_mixed_pooling_limits_and_fixed_weight():
    x = torch.rand(3, 4, 6, 6)
    fixed = MixedPooling(0.999999, learnable=False)
    assert torch.allclose(fixed(x), x.mean((2, 3)), atol=1e-4)
    assert not any(p.requires_grad for p in fixed.parameters())
    learned = MixedPooling(0.3)
    assert abs(learned.weight.item() - 0.3) < 1e-6 and learned.logit.requires_grad
    with pytest.raises(ValueError):
        MixedPooling(1.0)


def test_vision_encoder_variants_shapes():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 64, 64)
    modified = VisionEncoder("modified", embed_dim=16, trunk="densenet-small")
    maps = modified.forward_maps(images)
    assert maps["embedding"].shape == (2, 16)
    assert maps["channel_weights"].shape == (2, 256)      # 4 scales x 64 = 256, as W1 in R^{256x64}
    assert maps["spatial_map"].shape == (2, 1, 2, 2)      # stride 32
    assert modified.channel_attention.fc1.out_features == 64
    plain = VisionEncoder("plain", embed_dim=16, trunk="densenet-small")
    assert plain(images).shape == (2, 16)
    assert count_parameters(plain)["total"] < count_parameters(modified)["total"]
    full = VisionEncoder("plain", embed_dim=16)
    assert full.trunk.out_channels == 1024
    with pytest.raises(FileNotFoundError):
        VisionEncoder("plain", weights="/nonexistent/densenet121.pth")


def test_architecture_trace_shapes_and_counts(backbone):
    from companion.radiology.models import architecture_trace

    model, tok = build_model(_tiny_config(0))
    batch = _batch(tok)
    rows = architecture_trace(model, batch["image"], batch["input_ids"], batch["attention_mask"])
    by = {r["module"]: r for r in rows}
    assert [r["branch"] for r in rows][-1] == "joint" and by["log_scale"]["shape"] == (4, 4)
    assert by["vision.trunk"]["shape"][:2] == (4, model.vision.trunk.out_channels)
    assert by["vision.multiscale"]["shape"][1] == 256 and by["vision.pool"]["shape"] == (4, 256)
    assert by["vision.channel_attention"]["shape"] == (4, 256) and by["vision.spatial_attention"]["shape"][:2] == (4, 1)
    order = [r["module"] for r in rows if r["branch"] == "text"]
    assert order.index("text.prompts") < order.index("text.scaling") < order.index("text.backbone")
    assert by["vision.head"]["shape"] == (4, 16) and by["text.head"]["shape"] == (4, 16)
    # prompts are prepended: BERT sees P + L positions; the frozen BERT has no trainable weight
    assert by["text.backbone"]["shape"][:2] == (4, 2 + 12) and by["text.backbone"]["trainable"] == 0
    assert by["text.prompts"]["shape"] == (2, 384) and by["text.prompts"]["trainable"] == 2 * 384
    # the plain encoder has no multi-scale / attention / mixed pooling stage
    plain, _ = build_model(TrainConfig(**{**_tiny_config(0).__dict__, "vision": "plain"}))
    modules = [r["module"] for r in architecture_trace(plain, batch["image"], batch["input_ids"], batch["attention_mask"])]
    assert "vision.multiscale" not in modules and "vision.head" in modules


def test_frozen_trunk_same_init_across_heads_and_no_trunk_gradient(backbone):
    cfg = TrainConfig(**{**_tiny_config(3).__dict__, "freeze_trunk": True})
    modified, tok = build_model(cfg)
    plain, _ = build_model(TrainConfig(**{**cfg.__dict__, "vision": "plain"}))
    frozen_text, _ = build_model(TrainConfig(**{**cfg.__dict__, "text_mode": "frozen"}))
    for other in (plain, frozen_text):  # the trunk depends on the seed only
        for (k, a), (_, b) in zip(modified.vision.trunk.state_dict().items(), other.vision.trunk.state_dict().items()):
            assert torch.equal(a, b), k
    assert not any(p.requires_grad for p in modified.vision.trunk.parameters())
    modified.train()
    assert not modified.vision.trunk.training and modified.vision.multiscale.training
    batch = _batch(tok)
    before = {k: v.clone() for k, v in modified.vision.trunk.state_dict().items()}
    opt = make_optimizer(modified, cfg)
    loss = clip_step(modified, batch)["loss"]
    loss.backward()
    opt.step()
    for k, v in modified.vision.trunk.state_dict().items():
        assert torch.equal(v, before[k]), k  # weights and BatchNorm statistics unchanged
    # features in, same embedding out as images in
    modified.eval()
    feats = modified.vision.trunk_features(batch["image"], batch_size=3)
    with torch.no_grad():
        direct = modified.vision(batch["image"])
        modified.vision.inputs_are_features = True
        via = modified.vision(feats)
        modified.vision.inputs_are_features = False
    assert torch.allclose(direct, via, atol=1e-5)


def test_trim_padding_keeps_the_text_embedding(backbone):
    from companion.radiology.data import trim_padding

    model, tok = build_model(_tiny_config(1))
    batch = _batch(tok)
    ids, mask = trim_padding(batch["input_ids"], batch["attention_mask"])
    assert ids.shape[1] == int(batch["attention_mask"].sum(1).max()) < batch["input_ids"].shape[1]
    model.eval()
    with torch.no_grad():
        full = model.encode_text(batch["input_ids"], batch["attention_mask"])
        short = model.encode_text(ids, mask)
    assert torch.allclose(full, short, atol=1e-5)


def test_frozen_text_tower_memoises_and_forgets_on_new_weights(backbone):
    model, tok = build_model(TrainConfig(**{**_tiny_config(2).__dict__, "text_mode": "frozen"}))
    batch = _batch(tok)
    first = model.encode_text(batch["input_ids"], batch["attention_mask"])
    assert len(model.text._memo) == 4
    model.to("cpu")  # no change of device: the memo stays
    assert len(model.text._memo) == 4
    again = model.encode_text(batch["input_ids"][:2], batch["attention_mask"][:2])
    assert torch.equal(first[:2], again)
    state = {k: v + 1.0 if k == "head.weight" else v for k, v in model.text.state_dict().items()}
    model.text.load_state_dict(state)
    assert len(model.text._memo) == 0  # new weights, new embeddings
    assert not torch.allclose(model.encode_text(batch["input_ids"], batch["attention_mask"]), first)


def test_weights_parameters_reach_the_model(tmp_path, backbone):
    """vision_weights / text_model are notebook parameters of every page that builds a model and go into
    TrainConfig; a missing file or an unknown text model is refused with its name."""
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[3] / "notebooks" / "radiology"
    profiles = yaml.safe_load((root / "profiles.yml").read_text())
    for name in profiles:
        assert {"vision_weights", "text_model", "freeze_trunk"} <= set(profiles[name]["all"]), name
    for twin in sorted(root.glob("0*.py")):
        text = twin.read_text()
        assert re.search(r"^vision_weights = None$", text, re.M) and re.search(r"^text_model = None$", text, re.M), twin
        for call in re.findall(r"TrainConfig\((?:[^()]|\([^()]*\))*\)", text):
            assert "vision_weights=vision_weights" in call and "text_model=text_model" in call, twin
            assert "freeze_trunk=freeze_trunk" in call, twin
    missing = tmp_path / "densenet121.pth"
    with pytest.raises(FileNotFoundError, match="densenet121.pth"):
        build_model(TrainConfig(**{**_tiny_config(0).__dict__, "vision_weights": str(missing)}))
    with pytest.raises(FileNotFoundError, match="no-such-bert"):
        build_model(TrainConfig(**{**_tiny_config(0).__dict__, "text_model": str(tmp_path / "no-such-bert")}))
    # a DenseNet121 state dict loads into the trunk (here one saved from a seeded random DenseNet121)
    from torchvision.models import DenseNet

    torch.manual_seed(0)
    net = DenseNet(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64)
    torch.save(net.state_dict(), missing)
    model, _ = build_model(TrainConfig(**{**_tiny_config(0).__dict__, "vision_trunk": "densenet121",
                                          "vision_weights": str(missing)}))
    assert torch.equal(model.vision.trunk[0].conv0.weight, net.features.conv0.weight)
    with pytest.raises(ValueError, match="densenet121.pth is not a DenseNet121 state dict"):  # small trunk
        build_model(TrainConfig(**{**_tiny_config(0).__dict__, "vision_weights": str(missing)}))
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt.pth could not be read"):
        build_model(TrainConfig(**{**_tiny_config(0).__dict__, "vision_weights": str(corrupt)}))
