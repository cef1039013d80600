"""trainer.processes: one process without a launcher (accelerate untouched); round-robin shares cover every unit once."""

from __future__ import annotations

import pytest

from trainer.processes import Processes, launched_world_size, processes


def test_without_a_launcher_one_process_does_everything(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    procs = processes("cpu")
    assert (procs.index, procs.count, procs.device, procs.state) == (0, 1, "cpu", None)
    assert procs.is_main and procs.mine(list("abcde")) == list("abcde")
    procs.wait()  # no barrier to wait for
    monkeypatch.setenv("WORLD_SIZE", "not-a-number")
    assert launched_world_size() == 1


@pytest.mark.parametrize("count", [2, 3, 7])
def test_shares_are_disjoint_and_cover_every_unit(count):
    units = list(range(10))
    shares = [Processes(i, count, "cpu").mine(units) for i in range(count)]
    assert sorted(u for share in shares for u in share) == units
    assert shares[0][:2] == [0, count]  # round robin: length-sorted work stays balanced
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
