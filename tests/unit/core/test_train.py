"""The training loop: determinism, interrupt-and-resume, checkpoints, devices."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from companion.core import autocast, fit, load_checkpoint, save_checkpoint, select_device
from companion.getting_started import ToyCNN, classification_step, make_toy_dataset, run_toy


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


def test_same_seed_same_numbers_different_seed_different():
    m1, r1, o1 = run_toy(epochs=2, n_train=128, n_test=64, seed=3, device="cpu", progress=False)
    m2, r2, o2 = run_toy(epochs=2, n_train=128, n_test=64, seed=3, device="cpu", progress=False)
    m3, r3, _ = run_toy(epochs=2, n_train=128, n_test=64, seed=4, device="cpu", progress=False)
    assert r1.history == r2.history
    assert torch.equal(_weights(m1), _weights(m2))
    assert (o1["scores"] == o2["scores"]).all()
    assert r1.history != r3.history


class _Interrupt(Exception):
    pass


def _interrupting_step(fail_at_step):
    """`classification_step` that raises `_Interrupt` on call number ``fail_at_step`` (None: never)."""
    calls = {"n": 0}

    def step(m, batch):
        calls["n"] += 1
        if fail_at_step is not None and calls["n"] == fail_at_step:
            raise _Interrupt()
        return classification_step(m, batch)

    return step


def _train(epochs, checkpoint, fail_at_step=None, seed=0):
    torch.manual_seed(seed)
    data = make_toy_dataset(96, seed=seed)
    model = ToyCNN(dropout=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    step = _interrupting_step(fail_at_step)
    result = fit(model, step, data, optimizer=optimizer, scheduler=scheduler, epochs=epochs, batch_size=16,
                 seed=seed, device="cpu", checkpoint_path=checkpoint, progress=False)
    return model, result


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    straight, straight_result = _train(4, tmp_path / "straight.pt")
    # 96 samples / 16 = 6 steps per epoch: step 15 is in the middle of epoch 3.
    with pytest.raises(_Interrupt):
        _train(4, tmp_path / "resumed.pt", fail_at_step=15)
    assert load_checkpoint(tmp_path / "resumed.pt")["epoch"] == 2
    resumed, resumed_result = _train(4, tmp_path / "resumed.pt")
    assert resumed_result.resumed_from_epoch == 2
    assert torch.equal(_weights(straight), _weights(resumed))
    assert resumed_result.history == straight_result.history


def test_resume_with_another_seed_is_refused(tmp_path):
    _train(1, tmp_path / "c.pt", seed=0)
    with pytest.raises(ValueError, match="seed 0"):
        _train(2, tmp_path / "c.pt", seed=1)


def test_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    path = save_checkpoint(tmp_path / "ok.pt", {"a": torch.ones(3)})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="ok.pt"):
        load_checkpoint(path)
    assert not list(tmp_path.glob("*.tmp"))


def test_fit_rejects_empty_data_and_nonfinite_loss():
    model = ToyCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    empty = torch.utils.data.TensorDataset(torch.zeros(0, 1, 16, 16), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        fit(model, classification_step, empty, optimizer=opt, epochs=1, batch_size=4, device="cpu")
    data = make_toy_dataset(8)
    with pytest.raises(FloatingPointError, match="epoch 1"):
        fit(model, lambda m, b: m(b[0]).sum() * float("nan"), data, optimizer=opt, epochs=1, batch_size=4,
            device="cpu", progress=False)


def test_device_and_precision_selection():
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            select_device("cuda")
    with pytest.raises(ValueError, match="precision"):
        autocast("cpu", "fp16")
    with autocast("cpu", "bf16"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast("cpu"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


@pytest.mark.slow
def test_ddp_on_two_gloo_processes_matches_one_process_with_the_combined_batch(tmp_path):
    script = Path(__file__).with_name("ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(tmp_path / "ddp.pt")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = torch.load(tmp_path / "ddp.pt")
    assert ddp["world_size"] == 2
    assert torch.equal(ddp["weights_rank0"], ddp["weights_rank1"]), "ranks diverged"
    # One process, same seed, twice the per-rank batch: DDP averages the two
    # ranks' mean gradients, which is the mean gradient over the combined batch.
    sys.path.insert(0, str(script.parent))
    from ddp_worker import train

    single = train(batch_size=2 * ddp["batch_size"])
    assert torch.allclose(ddp["weights_rank0"], single, atol=1e-5)


def _frozen_first_layer_run(epochs, checkpoint, fail_at_step=None, first_layer_seed=0):
    """`_train` with the first convolution frozen and checkpoints of the trainable part only."""
    torch.manual_seed(0)
    data = make_toy_dataset(96, seed=0)
    model = ToyCNN(dropout=0.3)
    torch.manual_seed(first_layer_seed + 100)
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    torch.nn.init.normal_(first.weight, std=0.3)
    first.requires_grad_(False)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
    step = _interrupting_step(fail_at_step)
    result = fit(model, step, data, optimizer=optimizer, epochs=epochs, batch_size=16, seed=0, device="cpu",
                 checkpoint_path=checkpoint, progress=False, checkpoint_trainable_only=True)
    return model, result, first


def test_trainable_only_checkpoint_leaves_frozen_weights_out_and_resumes_exactly(tmp_path):
    straight, straight_result, first = _frozen_first_layer_run(3, tmp_path / "straight.pt")
    frozen_names = {n for n, p in straight.named_parameters() if not p.requires_grad}
    assert frozen_names
    saved = load_checkpoint(tmp_path / "straight.pt")
    assert frozen_names.isdisjoint(saved["model"]) and sorted(saved["frozen"]["names"]) == sorted(frozen_names)
    trainable = {n for n, p in straight.named_parameters() if p.requires_grad}
    assert trainable <= set(saved["model"])
    with pytest.raises(_Interrupt):
        _frozen_first_layer_run(3, tmp_path / "resumed.pt", fail_at_step=9)  # 6 steps per epoch: in epoch 2
    assert load_checkpoint(tmp_path / "resumed.pt")["epoch"] == 1
    resumed, resumed_result, _ = _frozen_first_layer_run(3, tmp_path / "resumed.pt")
    assert resumed_result.resumed_from_epoch == 1
    assert torch.equal(_weights(straight), _weights(resumed))
    assert resumed_result.history == straight_result.history


def test_trainable_only_checkpoint_refuses_other_frozen_weights_or_another_frozen_set(tmp_path):
    _frozen_first_layer_run(1, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="other frozen weights"):
        _frozen_first_layer_run(2, tmp_path / "c.pt", first_layer_seed=1)
    # the same file read by a run that freezes nothing is refused too (the file lacks weights it would need)
    model = ToyCNN(dropout=0.3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match="frozen"):
        fit(model, classification_step, make_toy_dataset(96, seed=0), optimizer=opt, epochs=2, batch_size=16,
            device="cpu", checkpoint_path=tmp_path / "c.pt", progress=False)


def test_a_progress_bar_does_not_change_the_trained_model():
    """tqdm draws from torch's generator when a bar is built; fit builds it before the per-epoch reseed."""
    from torch.utils.data import TensorDataset

    from companion.core.train import fit

    def trained(progress):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
        data = TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        fit(model, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]), data, optimizer=optimizer, epochs=2,
            batch_size=8, device="cpu", progress=progress)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(trained(True), trained(False))
