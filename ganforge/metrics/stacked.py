"""Stacked-MNIST mode metrics as VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018)
count them: the bundled digits classifier reads each of a sample's three channels, the triple
(d_R, d_G, d_B) names one of 1,000 modes, and over (by the protocol) 26,000 samples

    stacked_modes = the number of modes with at least one sample (of 1,000)
    stacked_kl    = KL(q || u) = sum_m q_m log(1000 q_m), q the samples' mode histogram
    stacked_kl_channels = sum_c KL(q_c || u_10), q_c the digit histogram of channel c: the
                    part of stacked_kl owed to each channel's digits alone (the rest,
                    KL(q || q_R q_G q_B), to digits that go together across channels).

Registered in METRICS under those names (`ganforge eval RUN --metrics stacked_modes,stacked_kl`,
the default for runs on data.name=stacked).
"""

from __future__ import annotations

from .evaluation import METRICS, Evaluation
from .features import get_extractor, stacked_digit_labels
from .modes import stacked_mode_stats

#: samples per evaluation in VEEGAN's and PacGAN's tables
PROTOCOL_SAMPLES = 26_000


def stacked_stats(ev: Evaluation) -> dict[str, float]:
    """{"modes", "mode_kl", "channel_kl"} of the generated samples, computed once per
    evaluation."""
    fake = ev.fake
    if fake.ndim != 4 or fake.shape[1] != 3:
        raise ValueError(f"stacked_modes and stacked_kl read three digits per image, (N, 3, H, "
                         f"W); these samples are {tuple(fake.shape)}: train on data.name=stacked")
    return ev._once("stacked", lambda: stacked_mode_stats(
        stacked_digit_labels(fake, ev.batch_size, ev.device, ev.progress)))


def _protocol(ev: Evaluation) -> dict:
    return {"num_modes": 1000, "samples": len(ev.fake), "protocol_samples": PROTOCOL_SAMPLES,
            "classifier": get_extractor("digits", ev.device).protocol(),
            "rule": "each channel labelled by the digits classifier's arg-max; a mode is "
                    "captured by >= 1 sample; KL of the mode histogram to uniform"}


@METRICS.register("stacked_modes")
def _stacked_modes(ev: Evaluation) -> tuple[dict, dict]:
    return {"stacked_modes": stacked_stats(ev)["modes"]}, _protocol(ev)


@METRICS.register("stacked_kl")
def _stacked_kl(ev: Evaluation) -> tuple[dict, dict]:
    return {"stacked_kl": stacked_stats(ev)["mode_kl"]}, _protocol(ev)


@METRICS.register("stacked_kl_channels")
def _stacked_kl_channels(ev: Evaluation) -> tuple[dict, dict]:
    return {"stacked_kl_channels": stacked_stats(ev)["channel_kl"]}, _protocol(ev)
