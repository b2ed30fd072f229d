import pytest
import torch
from torch import nn

from model_zoo import build_torchvision, make_input, make_numerically_meaningful, output_scale_ok
from model_zoo.init import seeded
from model_zoo.torchvision_zoo import sample_inputs


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.norm = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 5)
        nn.init.zeros_(self.fc.weight)  # like vit_b_16's head
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3))
        return self.fc(self.norm(x))


def calibration(seed):
    return (make_input((4, 3, 8, 8), seed=seed),)


def meaningful_head(seed=0):
    return make_numerically_meaningful(seeded(Head, 0), calibration, seed=seed)


def test_zero_head_is_redrawn_and_output_keeps_scale():
    raw = seeded(Head, 0).eval()
    x = make_input((1, 3, 8, 8), seed=99)
    assert not output_scale_ok(raw(x))
    model = meaningful_head()
    assert output_scale_ok(model(x), min_std=0.1)
    assert not model.training and not any(m.training for m in model.modules())


def test_constant_biases_and_norm_scales_are_redrawn():
    model = meaningful_head()
    for name in ("fc.bias", "bn.weight", "bn.bias", "norm.weight", "norm.bias"):
        assert model.get_parameter(name).std() > 0, name


def test_batchnorm_statistics_are_recalibrated_and_momentum_restored():
    model = meaningful_head()
    assert model.bn.momentum == 0.1
    assert int(model.bn.num_batches_tracked) == 4
    assert not torch.allclose(model.bn.running_var, torch.ones(4))


def test_is_deterministic_per_seed():
    a, b, c = (meaningful_head(seed).state_dict() for seed in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_layers_are_rescaled_to_unit_output_std():
    model = make_numerically_meaningful(
        seeded(nn.Linear, 0, 16, 16), lambda s: (make_input((64, 16), seed=s),)
    )
    out = model(make_input((64, 16), seed=0))
    assert out.std().item() == pytest.approx(1.0, rel=1e-4)


def test_layers_with_derived_weights_are_left_alone():
    layer = nn.utils.parametrizations.weight_norm(seeded(nn.Linear, 0, 8, 8))
    before = layer.weight.clone()
    make_numerically_meaningful(layer, lambda s: (make_input((4, 8), seed=s),))
    assert torch.equal(before, layer.weight)


def test_seeded_construction_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = seeded(nn.Linear, 3, 4, 4), seeded(nn.Linear, 3, 4, 4)
    assert torch.equal(a.weight, b.weight)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "output, ok",
    [
        (torch.randn(10), True),
        (torch.zeros(10), False),
        (torch.full((10,), 3.0), False),
        (torch.full((10,), 1e-9) + torch.randn(10) * 1e-9, False),
        (torch.tensor([1.0, float("nan")]), False),
        (torch.tensor([0.5]), True),
        ((torch.randn(3), {"a": torch.randn(3)}), True),
        ((torch.randn(3), {"a": torch.zeros(3)}), False),
        (torch.arange(5), False),  # no floating tensor to judge
    ],
)
def test_output_scale_ok(output, ok):
    assert output_scale_ok(output) is ok


MODELS = [
    "resnet18",
    "mobilenet_v3_small",
    pytest.param("mobilenet_v2", marks=pytest.mark.slow),
    pytest.param("efficientnet_b0", marks=pytest.mark.slow),
    pytest.param("squeezenet1_1", marks=pytest.mark.slow),
    pytest.param("shufflenet_v2_x1_0", marks=pytest.mark.slow),
    pytest.param("convnext_tiny", marks=pytest.mark.slow),
    pytest.param("vit_b_16", marks=pytest.mark.slow),
    pytest.param("deeplabv3_mobilenet_v3_large", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name", MODELS)
def test_zoo_models_keep_their_scale(name):
    model = build_torchvision(name)
    (x,) = sample_inputs(name, seed=1234)
    (other,) = sample_inputs(name, seed=4321)
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        out, out_other = model(x), model(other)
    assert not out.isnan().any()
    assert out.std() > 1e-2, f"{name}: std {out.std():.3e}"
    assert (out - out_other).abs().max() > 1e-2 * out.abs().max()


def test_untrained_mobilenet_collapses_without_the_helper():
    model = build_torchvision("mobilenet_v3_small", meaningful=False)
    with torch.no_grad():
        assert not output_scale_ok(model(*sample_inputs("mobilenet_v3_small")))
