import pytest
import torch.hub
import torchvision.models._api


def _refuse(*args, **kwargs):
    raise AssertionError(f"the model zoo tried to download weights: {args} {kwargs}")


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Any attempt to fetch weights fails the test instead of touching the network."""
    monkeypatch.setattr(torch.hub, "download_url_to_file", _refuse)
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", _refuse)
