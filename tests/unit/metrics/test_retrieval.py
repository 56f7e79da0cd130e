"""companion.metrics.retrieval: Recall@K against a sort-based reference, ties, validation."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.metrics.retrieval import first_relevant_rank, image_text_recall, recall_at_k, relevant_fraction_at_k


def argsort_recall(sim, relevant, k):
    """Reference by sorting each row; only valid without ties."""
    order = np.argsort(-np.asarray(sim), axis=1, kind="stable")[:, :k]
    hits = [bool(set(order[q].tolist()) & ({r} if isinstance(r, int) else set(r))) for q, r in enumerate(relevant)]
    return float(np.mean(hits))


def test_hand_worked_example():
    sim = np.array([[0.9, 0.1, 0.5, 0.3],
                    [0.2, 0.3, 0.8, 0.1],
                    [0.1, 0.2, 0.3, 0.4]])
    # ranks of the relevant items: query 0 -> item 0 at 1; query 1 -> item 1 at 2; query 2 -> item 0 at 4
    assert first_relevant_rank(sim, [0, 1, 0]).tolist() == [1, 2, 4]
    assert recall_at_k(sim, [0, 1, 0], ks=(1, 2, 3, 4)) == {1: 1 / 3, 2: 2 / 3, 3: 2 / 3, 4: 1.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sorting_reference_without_ties(seed):
    rng = np.random.default_rng(seed)
    sim = rng.normal(size=(50, 40))
    relevant = [int(r) if q % 2 else {int(a) for a in rng.choice(40, size=3, replace=False)}
                for q, r in enumerate(rng.integers(0, 40, size=50))]
    got = recall_at_k(sim, relevant, ks=(1, 3, 5, 10, 40))
    for k, value in got.items():
        assert value == pytest.approx(argsort_recall(sim, relevant, k))
    assert got[40] == 1.0


def test_ties_are_pessimistic():
    # The relevant item 2 ties with items 0 and 1: pessimistic rank 3, whatever the item order.
    sim = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert first_relevant_rank(sim, [2]).tolist() == [3]
    assert first_relevant_rank(sim, [0]).tolist() == [3]
    assert recall_at_k(sim, [0], ks=(1, 2, 3)) == {1: 0.0, 2: 0.0, 3: 1.0}
    # A constant-score model is worthless and must not score by item order.
    flat = np.zeros((10, 10))
    assert recall_at_k(flat, list(range(10)), ks=(1, 9, 10)) == {1: 0.0, 9: 0.0, 10: 1.0}
    # Two tied relevant items do not push each other down.
    assert first_relevant_rank(np.array([[0.7, 0.7, 0.2]]), [{0, 1}]).tolist() == [1]


def test_invariant_to_item_permutation_with_ties():
    rng = np.random.default_rng(3)
    sim = rng.integers(0, 4, size=(30, 12)).astype(float)  # many ties
    relevant = rng.integers(0, 12, size=30).tolist()
    perm = rng.permutation(12)
    inverse = np.argsort(perm)
    permuted = [int(inverse[r]) for r in relevant]
    assert recall_at_k(sim, relevant, ks=(1, 3, 6)) == recall_at_k(sim[:, perm], permuted, ks=(1, 3, 6))


def test_any_hit_differs_from_fraction_of_relevant():
    # Five relevant items, one of them at the top: a full hit here, 1/5 in torchmetrics' RetrievalRecall.
    sim = np.array([[0.9, 0.1, 0.2, 0.3, 0.4, 0.8, 0.7]])
    relevant = [{0, 1, 2, 3, 4}]
    assert recall_at_k(sim, relevant, ks=(1,)) == {1: 1.0}
    top1 = set(np.argsort(-sim[0])[:1].tolist())
    assert len(top1 & relevant[0]) / len(relevant[0]) == pytest.approx(0.2)


def test_torch_and_numpy_agree_and_infinities_allowed():
    rng = np.random.default_rng(4)
    sim = rng.normal(size=(20, 15)).astype(np.float32)
    np.fill_diagonal(sim, -np.inf)  # masking self-matches is a legitimate use of -inf
    relevant = [(q + 1) % 15 for q in range(20)]
    a = recall_at_k(sim, relevant)
    b = recall_at_k(torch.from_numpy(sim).requires_grad_(True), torch.tensor(relevant))
    assert a == b and list(a) == [1, 5, 10]


@given(st.integers(0, 10_000), st.integers(1, 12), st.integers(1, 20))
@settings(max_examples=40, deadline=None)
def test_monotone_in_k(seed, n_queries, n_items):
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 5, size=(n_queries, n_items)).astype(float)
    relevant = rng.integers(0, n_items, size=n_queries).tolist()
    ks = list(range(1, n_items + 2))
    values = list(recall_at_k(sim, relevant, ks=ks).values())
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a <= b for a, b in zip(values, values[1:]))
    assert values[-2] == 1.0  # K = n_items retrieves everything


@pytest.mark.parametrize("sim, relevant, ks, match", [
    (np.zeros((2, 3)), [0], (1,), "2 queries"),
    (np.zeros(3), [0], (1,), "2-D"),
    (np.zeros((0, 3)), [], (1,), "at least one"),
    (np.array([[0.1, np.nan]]), [0], (1,), "NaN"),
    (np.zeros((1, 3)), [0], (0,), ">= 1"),
    (np.zeros((1, 3)), [0], (), "empty"),
    (np.zeros((1, 3)), [0], (1.5,), "integer"),
    (np.zeros((1, 3)), [set()], (1,), "empty"),
    (np.zeros((1, 3)), [3], (1,), "outside"),
    (np.zeros((1, 3)), [-1], (1,), "outside"),
    (np.zeros((1, 3)), [1.0], (1,), "integers"),
    (np.zeros((1, 3)), [{0, "a"}], (1,), "integers"),
    (np.array([["a", "b"]]), [0], (1,), "real numbers"),
])
def test_bad_input(sim, relevant, ks, match):
    with pytest.raises(ValueError, match=match):
        recall_at_k(sim, relevant, ks=ks)


def test_relevant_fraction_convention():
    sim = np.array([[0.9, 0.1, 0.2, 0.3, 0.4, 0.8, 0.7],
                    [0.1, 0.9, 0.8, 0.2, 0.3, 0.4, 0.5]])
    relevant = [{0, 1, 2, 3, 4}, {1, 2}]
    # query 0: top1 {0} -> 1/5, top3 {0,5,6} -> 1/5; query 1: top1 {1} -> 1/2, top3 {1,2,6} -> 2/2
    got = relevant_fraction_at_k(sim, relevant, ks=(1, 3, 7))
    assert got == pytest.approx({1: (0.2 + 0.5) / 2, 3: (0.2 + 1.0) / 2, 7: 1.0})
    assert recall_at_k(sim, relevant, ks=(1, 3)) == {1: 1.0, 3: 1.0}
    # Pessimistic ties: relevant item 0 tied with irrelevant item 1 is pushed below it.
    assert relevant_fraction_at_k(np.array([[0.5, 0.5, 0.1]]), [{0, 2}], ks=(1, 2)) == {1: 0.0, 2: 0.5}


@given(st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_fraction_equals_recall_for_one_relevant_item_and_never_exceeds_it(seed):
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 4, size=(6, 9)).astype(float)
    single = rng.integers(0, 9, size=6).tolist()
    assert relevant_fraction_at_k(sim, single, ks=(1, 3, 9)) == recall_at_k(sim, single, ks=(1, 3, 9))
    multi = [set(rng.choice(9, size=int(rng.integers(1, 5)), replace=False).tolist()) for _ in range(6)]
    frac, anyhit = relevant_fraction_at_k(sim, multi, ks=(1, 3)), recall_at_k(sim, multi, ks=(1, 3))
    assert all(frac[k] <= anyhit[k] + 1e-12 for k in (1, 3))


def test_query_blocks_give_the_same_answer():
    # More queries than one processing block (1024): the blocked loop must cover every row once.
    rng = np.random.default_rng(8)
    sim = rng.normal(size=(2500, 8))
    relevant = rng.integers(0, 8, size=2500).tolist()
    ranks = first_relevant_rank(sim, relevant)
    expected = [1 + int((np.delete(sim[q], r) >= sim[q, r]).sum()) for q, r in enumerate(relevant)]
    assert ranks.tolist() == expected


# --------------------------------------------------------------------------- direction

def test_image_to_text_and_text_to_image_are_different_numbers():
    """A swapped direction (sim instead of sim.T) must change the answer, not pass silently.

    Image 1 is closer to its own text than to text 0 (i2t R@1 = 1), but text 1 is closer to
    image 0 than to its own image (t2i R@1 = 1/2).
    """
    sim = np.array([[0.9, 0.8],
                    [0.1, 0.2]])
    assert recall_at_k(sim, [0, 1], ks=1) == {1: 1.0}       # rows = images: image -> text
    assert recall_at_k(sim.T, [0, 1], ks=1) == {1: 0.5}     # rows = texts: text -> image
    both = image_text_recall(sim, [0, 1], ks=(1, 2))
    assert both == {"i2t": {1: 1.0, 2: 1.0}, "t2i": {1: 0.5, 2: 1.0}}
    swapped = image_text_recall(sim.T, [0, 1], ks=(1, 2))  # the transposed input swaps the two
    assert swapped == {"i2t": both["t2i"], "t2i": both["i2t"]}


def test_several_texts_per_image_fix_the_direction():
    # 2 images x 4 captions (captions 0, 1 describe image 0; 2, 3 image 1)
    sim = np.array([[0.9, 0.1, 0.8, 0.2],
                    [0.3, 0.4, 0.7, 0.6]])
    text_image = [0, 0, 1, 1]
    out = image_text_recall(sim, text_image, ks=1)
    # image 0: best caption 0 (its own) -> hit; image 1: best caption 2 (its own) -> hit
    assert out["i2t"] == {1: 1.0}
    # caption 0 -> image 0 (hit), 1 -> image 1 (miss), 2 -> image 0 (miss), 3 -> image 1 (hit)
    assert out["t2i"] == {1: 0.5}
    assert recall_at_k(sim.T, text_image, ks=1) == out["t2i"]
    with pytest.raises(ValueError, match=r"text_image has 4 entries but similarity has 2 text columns"):
        image_text_recall(sim.T, text_image)                # given the wrong way round
    with pytest.raises(ValueError, match="image 1"):
        image_text_recall(sim, [0, 0, 0, 0])                # image 1 has no caption
    with pytest.raises(ValueError, match=r"text_image\[2\] = 5"):
        image_text_recall(sim, [0, 0, 5, 1])
