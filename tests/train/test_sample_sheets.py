"""When the loop draws its sample sheets (RUN/samples/step_XXXXXXX.png, the EMA generator on
fixed noise): the first log step, every train.sample_every steps, the last step."""

from ganforge.config import load_config
from ganforge.train.loop import train


def test_the_first_sheet_comes_at_the_first_log_step_not_the_first_sample_every(tmp_path):
    cfg = load_config("toy-ring", {
        "model.g_width": 16, "model.d_width": 16, "model.depth": 1, "data.batch_size": 32,
        "train.steps": 12, "train.log_every": 3, "train.sample_every": 10,
        "train.checkpoint_every": 1000, "train.progress": False, "train.sample_count": 16})
    run = train(cfg, tmp_path / "run")
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step_0000003.png", "step_0000010.png", "step_0000012.png"]
