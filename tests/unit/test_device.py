"""A GPU requested where torch sees none: the job says so and runs on CPU, or stops when told to."""

import logging

import pytest
import torch

from entangle.device import REQUIRE_GPU, DeviceError, resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(REQUIRE_GPU, raising=False)


def test_cpu_and_default_devices_pass_through(no_gpu):
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) == "cpu"


def test_missing_gpu_falls_back_to_cpu_and_says_so_in_the_log_and_on_the_console(no_gpu, caplog, capfd):
    with caplog.at_level(logging.WARNING):
        assert resolve_device("cuda") == "cpu"
    console = capfd.readouterr().err
    for text in (caplog.text, console):
        assert "asks for a GPU (device 'cuda'" in text and "sees no CUDA GPU" in text
        assert "running on CPU" in text and f"{REQUIRE_GPU}=1 to stop" in text
    assert console.startswith("WARNING (")


def test_missing_gpu_stops_before_any_work_when_required(no_gpu, monkeypatch):
    monkeypatch.setenv(REQUIRE_GPU, "1")
    with pytest.raises(DeviceError, match=r"needs a GPU \(device 'cuda'.*sees no CUDA GPU.*ENTANGLE_REQUIRE_GPU is set"
                                          r".*Run it on a GPU node"):
        resolve_device("cuda")
    monkeypatch.setenv(REQUIRE_GPU, "0")  # "0" means not required
    assert resolve_device("cuda") == "cpu"


def test_a_visible_gpu_is_used_and_a_missing_index_is_named(monkeypatch, capfd):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.delenv(REQUIRE_GPU, raising=False)
    assert resolve_device("cuda") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    assert resolve_device("cuda:3") == "cpu"
    assert "sees 1 CUDA GPU(s), no device 3" in capfd.readouterr().err
