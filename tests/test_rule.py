"""The grouping rule (core/matching/rule.py), which groups, compare and query all ask."""
import pytest

from simgui.core.matching.rule import DEFAULT_THRESHOLDS, GROUP_KINDS, Kind, other_shots, pair_kind, thresholds_at

pytestmark = pytest.mark.unit


def test_patches_that_line_up_make_a_pair_near_whatever_the_cosine_and_a_close_cosine_alone_similar():
    t = DEFAULT_THRESHOLDS
    assert pair_kind(0.60, t.near_agreement, t) is Kind.NEAR
    assert pair_kind(0.99, t.near_agreement - 0.01, t) is Kind.SIMILAR
    assert pair_kind(t.similar - 0.01, 0.0, t) is Kind.DIFFERENT
    assert Kind.DIFFERENT not in GROUP_KINDS and str(Kind.NEAR) == "near"  # as the CLI and the API print it


def test_the_slider_never_calls_two_photos_the_same_on_less_agreement_than_the_default():
    for looseness in range(0, 101, 10):
        t = thresholds_at(looseness)
        assert t.near_agreement >= DEFAULT_THRESHOLDS.near_agreement
        assert pair_kind(0.95, DEFAULT_THRESHOLDS.near_agreement - 0.001, t) is not Kind.NEAR
    assert thresholds_at(0).similar > thresholds_at(100).similar  # strict asks a closer cosine for "similar"


def test_shutter_times_tell_two_shots_apart_but_not_a_copy_or_a_clock_set_right():
    assert other_shots("2024-05-06T07:08:09.12", "2024-05-06T07:08:09.57")  # a burst: one second, two shots
    assert other_shots("2024-05-06T07:08:09", "2024-05-06T07:08:11")  # a tripod series
    assert not other_shots("2024-05-06T07:08:09.12", "2024-05-06T07:08:09.120")  # the same moment
    assert not other_shots("2024-05-06T07:08:09.12", "2024-05-06T07:08:09")  # a copy that kept the second only
    assert not other_shots("2024-05-06T07:08:09.12", "2024-05-06T09:08:09.12")  # a clock set two hours on
    assert not other_shots("2024-05-06T07:08:09", "2024-05-06T07:23:09")  # ... or a quarter of an hour
    assert other_shots("2024-05-06T07:08:09.1", "2024-05-06T07:23:09.4")  # a quarter of an hour, two shots
    assert not other_shots(None, "2024-05-06T07:08:09") and not other_shots(None, None)  # a messenger's copy
