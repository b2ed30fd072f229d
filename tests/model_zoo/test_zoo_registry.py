import pytest
import torch

from model_zoo import UnknownModelError, build, list_entries, make_input
from model_zoo.examples import TinyCNN


def test_entries_cover_every_zoo():
    entries = list_entries()
    assert {"torchvision/resnet18", "torchaudio/wav2letter", "examples/TinyCNN"} <= set(entries)
    assert len(entries) == len(set(entries))


def test_build_returns_the_module_and_seeded_inputs():
    model, inputs = build("examples/TinyCNN")
    assert isinstance(model, TinyCNN) and not model.training
    assert all(torch.equal(a, b) for a, b in zip(inputs, TinyCNN.sample_inputs(seed=1234)))
    _, other = build("examples/TinyCNN", input_seed=5)
    assert not torch.equal(inputs[0], other[0])


def test_build_passes_kwargs_to_the_builder():
    a, _ = build("examples/TinyCNN", seed=1)
    b, _ = build("examples/TinyCNN", seed=2, num_classes=3)
    assert b.fc.out_features == 3
    assert not torch.equal(a.conv.weight, b.conv.weight)


def test_torchvision_entry_uses_the_validation_input():
    model, (x,) = build("torchvision/resnet18", meaningful=False)
    assert torch.equal(x, make_input((1, 3, 224, 224), seed=1234))
    assert model(x).shape == (1, 1000)


@pytest.mark.parametrize("entry", ["resnet18", "keras/resnet18", "torchvision/", "examples/Nope"])
def test_bad_entries(entry):
    with pytest.raises(UnknownModelError):
        build(entry)
