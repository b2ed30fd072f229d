import pytest
import torch

from model_zoo import SelectOutput, UnknownModelError, WeightsFileError, build_torchaudio
from model_zoo.torchaudio_zoo import default_input_shape, list_models, sample_inputs


def run(model, name, seed=1234):
    with torch.no_grad():
        return model(*sample_inputs(name, seed=seed))


def test_lists_the_offline_models():
    assert {"wav2letter", "conv_tasnet_base", "deepspeech", "wav2vec2_base"} <= set(list_models())
    assert default_input_shape("wav2vec2_base") == (1, 16000)
    with pytest.raises(UnknownModelError, match="tacotron"):
        build_torchaudio("tacotron")


def test_models_with_lengths_take_them_as_a_second_input():
    features, lengths = sample_inputs("conformer", batch=2)
    assert features.shape == (2, 200, 80) and lengths.tolist() == [200, 200]
    out = run(build_torchaudio("conformer", meaningful=False), "conformer")
    assert out.shape == (1, 200, 80)


@pytest.mark.parametrize(("name", "shape"), [("spectrogram", (1, 201, 81)),
                                             ("mel_spectrogram", (1, 64, 81)),
                                             ("mfcc", (1, 40, 81))])
def test_audio_front_ends(name, shape):
    out = run(build_torchaudio(name), name)
    assert out.shape == shape and torch.isfinite(out).all()


def test_wav2letter_builds_and_keeps_its_scale():
    model = build_torchaudio("wav2letter")
    out, other = run(model, "wav2letter"), run(model, "wav2letter", seed=4321)
    assert out.shape == (1, 40, 51)
    assert out.std() > 1e-2 and (out - other).abs().max() > 1e-2


def test_tuple_outputs_are_wrapped_unless_raw():
    raw = build_torchaudio("wav2vec2_base", raw=True, meaningful=False)
    features, lengths = run(raw, "wav2vec2_base")
    assert features.shape == (1, 49, 768) and lengths is None
    wrapped = build_torchaudio("wav2vec2_base", meaningful=False)
    assert isinstance(wrapped, SelectOutput)
    assert torch.equal(run(wrapped, "wav2vec2_base"), features)


def test_builder_kwargs_and_weights_path(tmp_path):
    model = build_torchaudio("deepspeech", n_hidden=64, seed=3)
    path = tmp_path / "deepspeech.pt"
    torch.save(model.state_dict(), path)
    loaded = build_torchaudio("deepspeech", n_hidden=64, weights_path=path)
    out = run(model, "deepspeech")
    assert out.shape == (1, 200, 40)
    assert torch.equal(out, run(loaded, "deepspeech"))
    with pytest.raises(WeightsFileError):
        build_torchaudio("deepspeech", weights_path=tmp_path / "absent.pt")


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_model_builds_offline_and_keeps_its_scale(name):
    model = build_torchaudio(name)
    out, other = run(model, name), run(model, name, seed=4321)
    assert out.std() > 1e-2 and (out - other).abs().max() > 1e-2
