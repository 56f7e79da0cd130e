"""What the thread count does to a CPU training: the reason the runner pins it (``--threads``, default 1)."""

import pytest
import torch

from companion.core import pin_threads
from companion.getting_started import run_toy


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _train_at(threads):
    assert pin_threads(threads) == threads == torch.get_num_threads()
    model, result, _ = run_toy(epochs=2, n_train=128, n_test=64, seed=3, device="cpu", progress=False)
    return _weights(model), result.history


def test_same_thread_count_is_bit_identical_other_counts_differ_in_the_last_bits(restore_threads):
    """Measured (torch 2.x, x86 CPU): for a fixed seed, two runs at the same thread count give
    bit-identical weights and history, at 1 thread and at 2. Between 1 and 2 threads the weights
    are *not* identical. Checked on one batch: the forward pass and the loss are identical, and so
    are the gradients of every layer but the first convolution, whose weight and bias gradients
    (sums over the batch and the 16x16 positions) differ by ~1e-9: its backward kernel splits that
    sum over threads, and float addition is not associative. After two epochs the weights differ
    by at most ~1e-7 (longer trainings amplify it). Hence
    baselines hold for one thread count only: the runner exports OMP_NUM_THREADS/MKL_NUM_THREADS
    (``--threads``, default 1), the registry records ``threads`` and the baseline check refuses
    a record made with another count than its baseline.
    """
    w1a, h1a = _train_at(1)
    w1b, h1b = _train_at(1)
    w2a, h2a = _train_at(2)
    w2b, h2b = _train_at(2)
    assert torch.equal(w1a, w1b) and h1a == h1b
    assert torch.equal(w2a, w2b) and h2a == h2b
    diff = (w1a - w2a).abs().max().item()
    assert not torch.equal(w1a, w2a), "1 and 2 threads now agree bit for bit: update this test and its docstring"
    assert 0 < diff < 1e-5, diff
    assert h1a != h2a  # the logged losses differ too, in the last digits
    assert [round(r["train_loss"], 5) for r in h1a] == [round(r["train_loss"], 5) for r in h2a]


def test_pin_threads_reads_the_runner_variable(monkeypatch, restore_threads):
    monkeypatch.setenv("COMPANION_THREADS", "2")
    assert pin_threads() == 2 == torch.get_num_threads()
    monkeypatch.delenv("COMPANION_THREADS")
    assert pin_threads() == 1 == torch.get_num_threads()
    monkeypatch.setenv("COMPANION_THREADS", "0")
    with pytest.raises(ValueError, match="COMPANION_THREADS='0'"):
        pin_threads()
    with pytest.raises(ValueError, match="positive integer"):
        pin_threads(-1)
