"""Throughput of the cross-lingual retrieval pipeline: embedding (sentences/s, images/s) and MLP training.

    python benchmarks/crosslingual_throughput.py [--sentences 512] [--images 128] [--device auto]

Prints one line per measurement (device, load average, sizes). Sentences are
synthetic-scene captions in all eleven XTD10 languages (interleaved); images are
rendered scenes at each ``--sizes`` resolution. The MLP is timed on random
embeddings of the real shapes (mUSE 512-d -> EfficientNet-Lite0 1280-d) for one
epoch of ``--captions`` rows, batch 128, M3L with hardest negatives, through the
same `train_mapping` the book uses (bf16 autocast on CUDA).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch


def main(argv=None) -> int:
    from companion.core import select_device
    from companion.crosslingual.synthetic import random_scene, render_scene
    from companion.crosslingual.grammar import LANGUAGES, N_TEMPLATES, caption
    from companion.crosslingual.models import (PooledImageEncoder, has_avx2, image_throughput, text_encoder_available,
                                               text_throughput)
    from companion.crosslingual.train import TrainConfig, train_mapping

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sentences", type=int, default=512)
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--sizes", type=int, nargs="+", default=[96, 224])
    p.add_argument("--captions", type=int, default=16384, help="rows of one MLP training epoch")
    p.add_argument("--encoders", nargs="+", default=["muse", "e5"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--skip-embedding", action="store_true", help="time only the MLP (e.g. on a GPU machine)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    dev = select_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (platform.processor() or platform.machine())
    print(f"device {dev} ({name}), {os.cpu_count()} logical CPUs, torch threads {args.threads}, "
          f"AVX2 {'yes' if has_avx2() else 'no'}, load average {os.getloadavg()[0]:.2f}")

    rng = np.random.default_rng(0)
    if not args.skip_embedding:
        scenes = [random_scene(rng) for _ in range(args.sentences // len(LANGUAGES) + 1)]
        texts = [caption(s, lang, int(rng.integers(N_TEMPLATES))) for s in scenes for lang in LANGUAGES]
        texts = texts[:args.sentences]
        for enc in args.encoders:
            ok, why = text_encoder_available(enc)
            if not ok:
                print(f"text encoder {enc:5s}: skipped ({why})")
                continue
            rate = text_throughput(enc, texts, threads=args.threads)
            print(f"text encoder {enc:5s}: {rate:8.1f} sentences/s ({len(texts)} sentences, 11 languages)")
        cnn = PooledImageEncoder("efficientnet-lite0").to(dev)
        for size in args.sizes:
            imgs = np.stack([np.asarray(render_scene(random_scene(rng), size, rng), np.float32) / 255
                             for _ in range(args.images)])
            if dev.type == "cuda":
                t0 = time.perf_counter()
                with torch.no_grad():
                    for i in range(0, len(imgs), 64):
                        cnn(torch.from_numpy(imgs[i:i + 64]).to(dev))
                torch.cuda.synchronize()
                rate = len(imgs) / (time.perf_counter() - t0)
            else:
                rate = image_throughput(imgs, cnn)
            print(f"EfficientNet-Lite0 at {size:3d} px: {rate:8.1f} images/s ({len(imgs)} images)")

    n = args.captions
    text = rng.normal(size=(n, 512)).astype(np.float32)
    image = np.abs(rng.normal(size=(n // 4 + 1, 1280))).astype(np.float32)
    ids = np.repeat(np.arange(n // 4 + 1), 4)[:n]
    cfg = TrainConfig(loss="m3l", epochs=1, batch_size=128, seed=0)
    _, result, _ = train_mapping(text, image[ids], ids, cfg, device=str(dev), progress=False)
    print(f"MLP training (M3L, hardest negatives): {result.samples_per_second:8.0f} captions/s "
          f"({n} captions, 1 epoch, {result.device}, {result.precision}); "
          f"a 50-epoch run on 400k captions ≈ {50 * 400_000 / result.samples_per_second / 60:.1f} min")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
