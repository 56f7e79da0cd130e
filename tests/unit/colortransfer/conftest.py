import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # The tiny tensors here gain nothing from threads, and on a loaded 2-core machine two
    # torch threads spin-wait on each other (tens of times slower). Restored afterwards.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
