"""The CycleGAN history pool: fills, swaps with probability 1/2, is seedable and resumable."""

from collections import Counter

import pytest
import torch
from safetensors.torch import load, save

from ganforge.families.image_pool import ImagePool


def tagged(values):
    """A batch whose image i is constant = values[i], so images can be told apart."""
    v = torch.as_tensor(values, dtype=torch.float32)
    return v.view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()


def tags(batch):
    return [int(x) for x in batch[:, 0, 0, 0]]


def test_returns_new_images_while_filling():
    pool = ImagePool(size=5, generator=0)
    assert tags(pool.query(tagged([0, 1, 2]))) == [0, 1, 2]
    assert len(pool) == 3
    out = tags(pool.query(tagged([3, 4, 5, 6])))
    assert out[:2] == [3, 4]  # the last two free places are filled by these
    assert len(pool) == 5
    assert sorted(tags(pool.state_dict()["images"]) + out[2:]) == [0, 1, 2, 3, 4, 5, 6]


def test_full_pool_swaps_half_the_time_and_conserves_images():
    pool = ImagePool(size=10, generator=123)
    pool.query(tagged(range(10)))
    returned = []
    swapped = 0
    for start in range(10, 2010, 4):
        batch = list(range(start, start + 4))
        out = tags(pool.query(tagged(batch)))
        swapped += sum(o != b for o, b in zip(out, batch))
        returned += out
    n = 2000
    # Binomial(2000, 1/2): sd = 22.4, so +-90 is 4 sd.
    assert abs(swapped - n / 2) < 90
    # Every image ever queried is now either in the pool or was returned once, never both.
    everything = returned + tags(pool.state_dict()["images"])
    assert sorted(everything) == list(range(2010))
    # Swapped-out images are stored ones, i.e. older than the batch they came back in.
    for i, o in enumerate(returned):
        assert o <= 10 + i


def test_swapped_slot_is_uniform():
    pool = ImagePool(size=4, generator=7)
    pool.query(tagged([0, 1, 2, 3]))
    slots = Counter()
    for k in range(4, 2004):
        before = tags(pool.state_dict()["images"])
        out = tags(pool.query(tagged([k])))[0]
        if out != k:
            slots[before.index(out)] += 1
    total = sum(slots.values())
    for slot in range(4):  # each ~ total / 4 = 250, sd ~ 19
        assert abs(slots[slot] - total / 4) < 80


def test_size_zero_passes_through_detached():
    pool = ImagePool(size=0)
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    y = pool.query(x)
    assert torch.equal(y, x) and not y.requires_grad
    assert len(pool) == 0


def test_output_is_detached_and_independent_of_input_storage():
    pool = ImagePool(size=2, generator=0)
    x = torch.randn(2, 1, 3, 3, requires_grad=True)
    y = pool.query(x * 1)
    assert not y.requires_grad
    stored = pool.state_dict()["images"].clone()
    y.add_(1.0)  # the caller changing what it got back leaves the pool alone
    assert torch.equal(pool.state_dict()["images"], stored)


def run(pool, batches):
    return [pool.query(b) for b in batches]


def test_seeded_pools_agree_and_seeds_differ():
    batches = [torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(i))
               for i in range(30)]
    a = run(ImagePool(8, generator=5), batches)
    b = run(ImagePool(8, generator=torch.Generator().manual_seed(5)), batches)
    c = run(ImagePool(8, generator=6), batches)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))
    torch.manual_seed(1)
    d = run(ImagePool(8), batches)
    torch.manual_seed(1)
    e = run(ImagePool(8), batches)
    assert all(torch.equal(x, y) for x, y in zip(d, e))


@pytest.mark.parametrize("split", [0, 1, 2, 12])
def test_state_round_trip_resumes_exactly(split):
    batches = [torch.randn(3, 2, 2, 2, generator=torch.Generator().manual_seed(i))
               for i in range(25)]
    straight = run(ImagePool(6, generator=11), batches)
    first = ImagePool(6, generator=11)
    run(first, batches[:split])
    state = load(save(first.state_dict()))  # through safetensors, as a checkpoint does
    second = ImagePool(6, generator=999)
    second.load_state_dict(state)
    resumed = run(second, batches[split:])
    assert all(torch.equal(x, y) for x, y in zip(straight[split:], resumed))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        ImagePool(size=-1)
    with pytest.raises(ValueError, match="has size 4, this one 3"):
        ImagePool(size=3).load_state_dict(ImagePool(size=4).state_dict())
    pool = ImagePool(size=3)
    pool.query(torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="shape"):
        pool.query(torch.zeros(1, 3, 2, 2))
