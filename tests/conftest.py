import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # Small tensors: one thread avoids thread hand-off costs that dominate on 2 shared cores.
    torch.set_num_threads(1)
    yield


#: a two-style corpus whose truth is known: style 0 and style 1 say the same things in the same
#: frames, and differ only in the adjective (ADJECTIVES[0][i] <-> ADJECTIVES[1][i])
NOUNS = ("food", "service", "staff", "pizza", "coffee", "room", "bread", "music")
ADJECTIVES = (("bad", "awful", "rude", "cold"), ("good", "great", "friendly", "warm"))
FRAMES = ("the {} was {} .", "the {} is {} !", "our {} was {} today .")


def style_sentence(frame: int, noun: int, adjective: int, style: int) -> str:
    return FRAMES[frame].format(NOUNS[noun], ADJECTIVES[style][adjective])


def held_out(frame: int, noun: int, adjective: int) -> bool:
    """The test sentences: one adjective per noun in the first frame, never trained on."""
    return frame == 0 and adjective == noun % 4


@pytest.fixture(scope="session")
def style_corpus(tmp_path_factory):
    """A folder in the text-styles layout (sentiment.train/test.0/.1, reference.0/.1)."""
    folder = tmp_path_factory.mktemp("styles")
    combos = [(f, n, a) for f in range(len(FRAMES)) for n in range(len(NOUNS)) for a in range(4)]
    for s in (0, 1):
        train = [style_sentence(*c, s) for c in combos if not held_out(*c)]
        test = [style_sentence(*c, s) for c in combos if held_out(*c)]
        refs = [f"{style_sentence(*c, s)}\t{style_sentence(*c, 1 - s)}" for c in combos
                if held_out(*c)]
        (folder / f"sentiment.train.{s}").write_text("\n".join(train) + "\n")
        (folder / f"sentiment.test.{s}").write_text("\n".join(test) + "\n")
        (folder / f"reference.{s}").write_text("\n".join(refs) + "\n")
    return folder
