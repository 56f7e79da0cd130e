import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from companion.eapm.figures import ZERO_AP_NOTE, ablation_ap_plot, ap_by_aspect_plot  # noqa: E402


def _texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_ablation_plot_draws_mean_bars_and_seed_dots_in_ap_x100():
    fig = ablation_ap_plot({"RetinaNet, baseline": [0.10, 0.12, 0.14], "RetinaNet, mu = 1.5": [0.2, 0.2, 0.2]})
    ax = fig.axes[0]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx([12.0, 20.0])  # mean AP x100 of each setting
    dots = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections if c.get_offsets().shape[0] == 3])
    assert sorted(dots) == pytest.approx([10, 12, 14, 20, 20, 20])
    rows = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert rows["RetinaNet, baseline"] > rows["RetinaNet, mu = 1.5"], "settings read top to bottom in order"
    assert ZERO_AP_NOTE not in _texts(fig)
    plt.close(fig)


def test_plots_say_so_when_every_ap_is_zero():
    fig = ablation_ap_plot({"FCOS, baseline": [0.0, 0.0], "FCOS, mu = 1": [0.0, 0.0]})
    assert ZERO_AP_NOTE in _texts(fig)
    plt.close(fig)
    fig = ap_by_aspect_plot({"RetinaNet": {"AP_ar1to2": 0.0, "AP_ar4tomax": float("nan")}})
    assert ZERO_AP_NOTE in _texts(fig)
    plt.close(fig)
    fig = ap_by_aspect_plot({"RetinaNet": {"AP_ar1to2": 0.01, "AP_ar4tomax": 0.0}})
    assert ZERO_AP_NOTE not in _texts(fig)
    plt.close(fig)


def test_ablation_plot_refuses_no_settings():
    with pytest.raises(ValueError, match="at least one setting"):
        ablation_ap_plot({})
