"""Delta debugging: a 1-minimal failing part, found in few checks."""

from edgebatch.debug.minimize import minimize


def counting(fails):
    calls = []

    def check(items):
        calls.append(items)
        return fails(items)

    return check, calls


def test_one_failing_item_is_found_by_halving():
    check, calls = counting(lambda items: 7 in items)
    assert minimize(range(64), check) == [7]
    assert len(calls) <= 2 * 6  # at most both halves, log2(64) times


def test_failures_that_need_two_items_keep_both():
    check, _ = counting(lambda items: 13 in items and 40 in items)
    assert minimize(range(60), check) == [13, 40]


def test_max_chunk_caps_the_first_chunks():
    check, calls = counting(lambda items: 3 in items)
    assert minimize(range(20), check, max_chunk=4) == [3]
    assert max(len(c) for c in calls) <= 4
