"""ganforge: generative adversarial networks in PyTorch.

    import ganforge
    cfg = ganforge.load_config("toy-ring", {"train.steps": 2000})
    run = ganforge.train(cfg, "runs/ring")
    samples = ganforge.sample(run, n=1000)
    print(ganforge.evaluate(run)["metrics"])
"""

from ganforge.api import evaluate, load_run, sample, train
from ganforge.config import Config, load_config
from ganforge.langevin import LangevinByD

__all__ = ["Config", "LangevinByD", "evaluate", "load_config", "load_run", "sample", "train"]
__version__ = "0.1.0"
