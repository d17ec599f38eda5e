import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # Small tensors: one thread avoids thread hand-off costs that dominate on 2 shared cores.
    torch.set_num_threads(1)
    yield
