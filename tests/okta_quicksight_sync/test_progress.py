"""The progress reporter: lines every N items or T seconds, rate and time left, on a clock the test moves."""

import logging

import pytest

from okta_quicksight_sync.progress import Progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_line_every_n_items_with_rate_and_time_left():
    clock, lines = Clock(), []
    p = Progress("registering users", total=10_000, every_items=1000, every_s=3600, emit=lines.append, clock=clock)
    for _ in range(2500):
        clock.now += 0.1  # 10 items a second
        p.step()
    assert lines == [
        "registering users: 1,000 of 10,000 (10%), 10.0/s, about 15m00s left",
        "registering users: 2,000 of 10,000 (20%), 10.0/s, about 13m20s left",
    ]
    p.finish()
    assert lines[-1] == "registering users: 2,500 done in 4m10s (10.0/s)"


def test_a_line_every_t_seconds_when_items_are_slow_and_no_total():
    clock, lines = Clock(), []
    p = Progress("reading Okta group members", every_items=1000, every_s=30, emit=lines.append, clock=clock)
    for _ in range(7):
        clock.now += 10
        p.step(5)
    # after 30 s (15 items) and 60 s (30 items); no total, so no estimate
    assert lines == ["reading Okta group members: 15, 0.5/s", "reading Okta group members: 30, 0.5/s"]


def test_estimate_in_hours_and_nothing_before_time_passes():
    clock, lines = Clock(), []
    p = Progress("handing over assets", total=100_000, every_items=1, emit=lines.append, clock=clock)
    assert p.rate == 0.0 and p.left_s is None
    p.step()  # no time has passed yet: a count, no rate, no estimate
    assert lines == ["handing over assets: 1 of 100,000 (0%), 0.0/s"]
    clock.now += 2
    p.step()
    assert p.left_s == pytest.approx(99_998)
    assert lines[-1] == "handing over assets: 2 of 100,000 (0%), 1.0/s, about 27h46m left"


def test_default_lines_go_to_the_info_log(caplog):
    clock = Clock()
    with caplog.at_level(logging.INFO, logger="okta_quicksight_sync.progress"):
        p = Progress("reading QuickSight users", total=4, every_items=2, clock=clock)
        for _ in range(4):
            clock.now += 1
            p.step()
        p.finish()
    assert [r.getMessage() for r in caplog.records] == [
        "reading QuickSight users: 2 of 4 (50%), 1.0/s, about 2s left",
        "reading QuickSight users: 4 of 4 (100%), 1.0/s, about 0s left",
        "reading QuickSight users: 4 done in 4s (1.0/s)",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_bad_intervals_are_refused():
    with pytest.raises(ValueError, match="progress of 'x': every_items must be >= 1 and every_s > 0, got 0 and 30"):
        Progress("x", every_items=0)
