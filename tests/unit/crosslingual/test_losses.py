import pytest
import torch

from companion.crosslingual.losses import (eta_for_features, hardest_negatives, m3l_loss, patr_loss,
                                           random_negatives, same_caption)


def _batch():
    t = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    ip = torch.tensor([[1.0, 0.0], [1.0, 2.0]])    # d = 1, 1
    ineg = torch.tensor([[0.0, 2.0], [3.0, 1.0]])  # d = 4, 4
    tneg = torch.tensor([[1.0, 1.0], [0.0, 0.0]])  # d = 2, 2
    return t, ip, ineg, tneg


def test_m3l_matches_hand_computed_equation_1():
    t, ip, ineg, tneg = _batch()
    # per row: 0.5 * 1^4 / 4^4 + 1.0 * 1^4 / 2^4 = 0.5/256 + 1/16
    expected = 0.5 / 256 + 1 / 16
    assert m3l_loss(t, ip, ineg, tneg).item() == pytest.approx(expected, rel=1e-5)
    # rho = 1, alpha1 = alpha2 = 1: 1/4 + 1/2
    assert m3l_loss(t, ip, ineg, tneg, rho=1.0, alpha1=1.0, alpha2=1.0).item() == pytest.approx(0.75, rel=1e-5)


def test_m3l_is_scale_invariant():
    t, ip, ineg, tneg = _batch()
    a = m3l_loss(t, ip, ineg, tneg)
    b = m3l_loss(30 * t, 30 * ip, 30 * ineg, 30 * tneg)
    assert a.item() == pytest.approx(b.item(), rel=1e-4)


def test_patr_matches_hand_computed_equation_2():
    t, ip, ineg, _ = _batch()
    # d_pos = 1, d_neg = 4: eta = 10 -> 1 + 6 = 7; eta = 3 -> 1 + 0 = 1
    assert patr_loss(t, ip, ineg, eta=10.0).item() == pytest.approx(7.0)
    assert patr_loss(t, ip, ineg, eta=3.0).item() == pytest.approx(1.0)


def test_losses_reject_shape_mismatch_and_bad_rho():
    t, ip, ineg, tneg = _batch()
    with pytest.raises(ValueError, match="same shape"):
        patr_loss(t, ip[:, :1], ineg)
    with pytest.raises(ValueError, match="rho"):
        m3l_loss(t, ip, ineg, tneg, rho=0)


def test_hardest_negative_is_closest_other_image():
    text = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.2, 0.0]])
    image = torch.tensor([[0.1, 0.0], [5.0, 5.1], [3.0, 3.0]])
    neg = hardest_negatives(text, image)
    # anchor 0: own image 0 excluded; image 2 (d=18) vs image 1 (d=51) -> 2
    # anchor 1: images 0 (d~49) and 2 (d=8) -> 2; anchor 2: image 0 (d=0.01) -> 0
    assert neg.tolist() == [2, 2, 0]
    assert neg.dtype == torch.long


def test_hardest_negatives_skip_rows_sharing_the_image():
    # rows 0 and 1 are two captions of image 7: they must not be each other's negatives
    text = torch.tensor([[0.0, 0.0], [0.0, 0.1], [4.0, 4.0]])
    image = torch.tensor([[0.0, 0.05], [0.0, 0.05], [4.0, 4.0]])
    ids = torch.tensor([7, 7, 9])
    assert hardest_negatives(text, image).tolist()[:2] == [1, 0]  # without ids: the twin is "closest"
    assert hardest_negatives(text, image, ids).tolist() == [2, 2, 0]


def test_same_caption_marks_identical_rows_only():
    caps = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1e-7]])
    twins = same_caption(caps)
    assert twins.tolist() == [[True, False, True, False], [False, True, False, False],
                              [True, False, True, False], [False, False, False, True]]


def test_negatives_skip_a_word_for_word_caption_of_another_image():
    # rows 0 and 1 show different images but carry the same sentence: mapped alike, the text negative of
    # row 0 would be row 0's own output (d(t, t-) = 0, M3L unbounded)
    captions = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    mapped = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 3.0]])
    image = torch.tensor([[0.0, 0.1], [0.1, 0.0], [3.0, 3.0]])
    ids = torch.tensor([0, 1, 2])
    assert hardest_negatives(mapped, image, ids).tolist()[:2] == [1, 0]
    twins = same_caption(captions)
    assert hardest_negatives(mapped, image, ids, exclude=twins).tolist() == [2, 2, 0]
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        assert random_negatives(ids, g, exclude=twins).tolist()[:2] == [2, 2]
    with pytest.raises(ValueError, match="exclude"):
        hardest_negatives(mapped, image, ids, exclude=twins[:2])


def test_hardest_negatives_errors():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="no negative"):
        hardest_negatives(x, x, torch.tensor([1, 1, 1]))
    with pytest.raises(ValueError, match="image_ids"):
        hardest_negatives(x, x, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"\[B, D\]"):
        hardest_negatives(x, torch.zeros(3, 3))


def test_random_negatives_never_pick_the_same_image():
    ids = torch.tensor([0, 0, 1, 2, 2, 3])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        neg = random_negatives(ids, g)
        assert (ids[neg] != ids).all()


def test_eta_scales_with_features():
    x = torch.randn(200, 16, generator=torch.Generator().manual_seed(0))
    e1 = eta_for_features(x)
    assert eta_for_features(3 * x) == pytest.approx(9 * e1, rel=1e-4)
    # mean squared distance of iid N(0,1) vectors in 16-d is 2 * 16 = 32
    assert 25 < e1 < 40
    assert eta_for_features(x, factor=0.5) == pytest.approx(0.5 * e1)
