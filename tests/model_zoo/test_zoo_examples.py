import pytest
import torch

from model_zoo import build_example, output_scale_ok
from model_zoo.examples import EXAMPLES, MultiInputOutput, list_models


def leaves(output):
    return list(output.values()) if isinstance(output, dict) else [output]


# torch.export's note about nn.LSTM/nn.GRU's internal weight list; harmless here.
@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights")
@pytest.mark.parametrize("name", list_models())
def test_example_builds_with_seeded_inputs_and_exports(name):
    cls = EXAMPLES[name]
    args = cls.sample_inputs(seed=1)
    assert isinstance(args, tuple) and all(isinstance(a, torch.Tensor) for a in args)
    assert all(torch.equal(a, b) for a, b in zip(args, cls.sample_inputs(seed=1)))
    assert not all(torch.equal(a, b) for a, b in zip(args, cls.sample_inputs(seed=2)))

    model = build_example(name)
    with torch.no_grad():
        expected = model(*args)
        exported = torch.export.export(model, args).module()(*args)
    assert output_scale_ok(expected, min_std=1e-2)
    for want, got in zip(leaves(expected), leaves(exported)):
        torch.testing.assert_close(got, want)


def test_batch_size_is_a_parameter():
    (tokens,) = EXAMPLES["LSTMTagger"].sample_inputs(batch=3)
    assert tokens.shape == (3, 12) and tokens.dtype == torch.int64


def test_multi_input_output_takes_a_keyword_tensor():
    model = build_example("MultiInputOutput")
    args, kwargs = MultiInputOutput.sample_inputs(), MultiInputOutput.sample_kwargs()
    with torch.no_grad():
        plain, scaled = model(*args), model(*args, **kwargs)
    assert set(plain) == {"mixed", "pooled", "max"}
    torch.testing.assert_close(scaled["mixed"], plain["mixed"] * kwargs["scale"])


def test_conv_transpose_decoder_restores_the_length():
    model = build_example("ConvTransposeDecoder")
    (waveform,) = model.sample_inputs()
    assert model(waveform).shape == waveform.shape
