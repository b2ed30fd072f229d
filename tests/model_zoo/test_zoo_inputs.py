import numpy as np
import pytest
import torch

from model_zoo import FileContentError, InputsFileError, load_inputs, make_input, make_inputs


def test_make_input_is_reproducible_and_seed_dependent():
    a = make_input((2, 3), seed=7)
    assert torch.equal(a, make_input((2, 3), seed=7))
    assert not torch.equal(a, make_input((2, 3), seed=8))
    assert a.dtype == torch.float32 and a.shape == (2, 3)


def test_make_input_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    make_input((4,), seed=1)
    assert torch.equal(state, torch.random.get_rng_state())


def test_uniform_respects_bounds_and_dtype():
    x = make_input((1000,), dtype="float64", distribution="uniform", low=-2, high=3, seed=0)
    assert x.dtype == torch.float64
    assert -2 <= x.min() and x.max() < 3


def test_randint_respects_bounds_and_dtype():
    x = make_input((1000,), dtype=torch.int64, distribution="randint", low=5, high=9, seed=0)
    assert x.dtype == torch.int64
    assert set(x.unique().tolist()) == {5, 6, 7, 8}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"distribution": "randint"}, "needs `high`"),
        ({"distribution": "normal", "low": 0}, "not 'normal'"),
        ({"dtype": "int32"}, "floating dtype"),
        ({"distribution": "laplace"}, "unknown distribution"),
        ({"dtype": "float33"}, "unknown dtype"),
    ],
)
def test_bad_specs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_input((2,), **kwargs)


def test_make_inputs_draws_in_order_from_one_generator():
    specs = [
        {"shape": (2, 3)},
        {"shape": (4,), "dtype": "int32", "distribution": "randint", "high": 10},
    ]
    a, b = make_inputs(specs, seed=3)
    assert torch.equal(a, make_input((2, 3), seed=3))
    assert b.dtype == torch.int32 and b.shape == (4,)
    assert all(torch.equal(x, y) for x, y in zip((a, b), make_inputs(specs, seed=3)))


@pytest.mark.parametrize(
    "save", [lambda p, a, b: np.savez(p, a, b), lambda p, a, b: np.savez(p, x=a, y=b)]
)
def test_npz_round_trip_keeps_order(tmp_path, save):
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)
    path = tmp_path / "inputs.npz"
    save(path, a, b)
    loaded = load_inputs(path)
    assert [t.dtype for t in loaded] == [torch.float32, torch.int64]
    assert np.array_equal(loaded[0].numpy(), a) and np.array_equal(loaded[1].numpy(), b)


@pytest.mark.parametrize(
    "wrap", [lambda ts: ts[0], tuple, list, lambda ts: {"x": ts[0], "y": ts[1]}]
)
def test_pt_round_trip(tmp_path, wrap):
    tensors = (make_input((2, 2), seed=0), make_input((3,), seed=1))
    path = tmp_path / "inputs.pt"
    torch.save(wrap(tensors), path)
    loaded = load_inputs(path)
    expected = tensors[:1] if isinstance(wrap(tensors), torch.Tensor) else tensors
    assert len(loaded) == len(expected)
    assert all(torch.equal(x, y) for x, y in zip(loaded, expected))


def test_missing_inputs_file_is_a_typed_file_not_found(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(InputsFileError, match="nope.npz") as info:
        load_inputs(path)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.filename == str(path)


@pytest.mark.parametrize(
    "name, content",
    [("inputs.csv", b"1,2"), ("inputs.npz", b"not a zip"), ("inputs.pt", b"garbage")],
)
def test_unreadable_inputs_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileContentError, match=name):
        load_inputs(path)


def test_pt_file_without_tensors_is_rejected(tmp_path):
    path = tmp_path / "inputs.pt"
    torch.save([1, 2], path)
    with pytest.raises(FileContentError, match="list"):
        load_inputs(path)
