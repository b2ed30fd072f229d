import pytest
import torch
import torchvision.models as tvm

from model_zoo import (
    DownloadRefusedError,
    FileContentError,
    SegmentationOut,
    UnknownModelError,
    WeightsFileError,
    build_torchvision,
    output_scale_ok,
)
from model_zoo.torchvision_zoo import default_input_shape, list_models, sample_inputs, task_of


def run(model, name, seed=1234):
    with torch.no_grad():
        return model(*sample_inputs(name, seed=seed))


def test_the_download_guard_works():
    with pytest.raises(AssertionError, match="tried to download"):
        tvm.get_model("squeezenet1_1", weights="DEFAULT")


def test_lists_every_task_but_quantized_models():
    names = list_models()
    assert {"resnet18", "vit_b_16", "deeplabv3_mobilenet_v3_large", "r3d_18",
            "ssdlite320_mobilenet_v3_large", "raft_small"} <= set(names)
    assert not any(n.startswith("quantized_") for n in names)
    assert [task_of(n) for n in ("resnet18", "fcn_resnet50", "mc3_18", "fcos_resnet50_fpn",
                                 "raft_small")] == [
        "classification", "segmentation", "video", "detection", "optical_flow"]


def test_detectors_take_a_batch_tensor_and_return_boxes_scores_labels():
    model = build_torchvision("ssdlite320_mobilenet_v3_large", meaningful=False)
    boxes, scores, labels = run(model, "ssdlite320_mobilenet_v3_large")
    assert boxes.shape[1:] == (4,) and scores.shape == labels.shape == boxes.shape[:1]
    raw = build_torchvision("ssdlite320_mobilenet_v3_large", meaningful=False, raw=True)
    assert isinstance(run(raw, "ssdlite320_mobilenet_v3_large")[0], dict)  # takes a list too


def test_raft_takes_two_frames_and_returns_the_final_flow():
    image1, image2 = sample_inputs("raft_small")
    assert image1.shape == (1, 3, 128, 128) and not torch.equal(image1, image2)
    model = build_torchvision("raft_small", num_flow_updates=2)
    flow = run(model, "raft_small")
    assert flow.shape == (1, 2, 128, 128) and flow.std() > 1e-3


@pytest.mark.parametrize(
    "name, shape",
    [
        ("resnet18", (1, 3, 224, 224)),
        ("deeplabv3_mobilenet_v3_large", (1, 3, 224, 224)),
        ("inception_v3", (1, 3, 299, 299)),
        ("r3d_18", (1, 3, 8, 112, 112)),
        ("mvit_v2_s", (1, 3, 16, 224, 224)),
    ],
)
def test_default_input_shape(name, shape):
    assert default_input_shape(name) == shape
    (x,) = sample_inputs(name, batch=2)
    assert x.shape == (2, *shape[1:])


def test_unknown_and_unsupported_names():
    for name in ("resnet19", "quantized_resnet18"):
        with pytest.raises(UnknownModelError, match=name):
            build_torchvision(name)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weights": "DEFAULT"},
        {"weights": tvm.ResNet18_Weights.IMAGENET1K_V1},
        {"weights_backbone": "DEFAULT"},
        {"pretrained": True},
    ],
)
def test_download_requests_are_refused(kwargs):
    with pytest.raises(DownloadRefusedError, match="weights_path"):
        build_torchvision("resnet18", **kwargs)


def test_same_seed_same_model_other_seed_other_model():
    a = run(build_torchvision("squeezenet1_1", seed=0), "squeezenet1_1")
    b = run(build_torchvision("squeezenet1_1", seed=0), "squeezenet1_1")
    c = run(build_torchvision("squeezenet1_1", seed=1), "squeezenet1_1")
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_num_classes_and_builder_kwargs_pass_through():
    model = build_torchvision("squeezenet1_1", num_classes=10, dropout=0.2, meaningful=False)
    assert run(model, "squeezenet1_1").shape == (1, 10)


def test_weights_path_round_trip(tmp_path):
    trained = build_torchvision("squeezenet1_1", seed=5)
    path = tmp_path / "squeezenet.pt"
    torch.save(trained.state_dict(), path)
    loaded = build_torchvision("squeezenet1_1", seed=0, weights_path=path)
    assert torch.equal(run(trained, "squeezenet1_1"), run(loaded, "squeezenet1_1"))


def test_missing_weights_file_is_a_typed_file_not_found(tmp_path):
    path = tmp_path / "missing.pth"
    with pytest.raises(WeightsFileError, match="missing.pth") as info:
        build_torchvision("squeezenet1_1", weights_path=path)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.filename == str(path)


def test_weights_of_another_model_are_rejected(tmp_path):
    path = tmp_path / "other.pt"
    other = build_torchvision("squeezenet1_1", num_classes=10, meaningful=False)
    torch.save(other.state_dict(), path)
    with pytest.raises(FileContentError, match="does not fit SqueezeNet"):
        build_torchvision("squeezenet1_1", weights_path=path)


def test_segmentation_builds_offline_and_is_wrapped():
    model = build_torchvision("lraspp_mobilenet_v3_large")
    assert isinstance(model, SegmentationOut)
    out = run(model, "lraspp_mobilenet_v3_large")
    assert out.shape == (1, 21, 224, 224)
    assert output_scale_ok(out, min_std=1e-2)


def test_segmentation_raw_returns_the_dict():
    model = build_torchvision("lraspp_mobilenet_v3_large", raw=True, meaningful=False)
    assert set(run(model, "lraspp_mobilenet_v3_large")) == {"out"}


@pytest.mark.slow
@pytest.mark.parametrize("name", tvm.list_models(module=tvm.video))
def test_video_models_build_offline_and_keep_their_scale(name):
    model = build_torchvision(name)
    out, other = run(model, name), run(model, name, seed=4321)
    assert out.shape == (1, 400)
    assert out.std() > 1e-2 and (out - other).abs().max() > 1e-2


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "fcn_resnet50",
        "deeplabv3_resnet50",
        "inception_v3",
        "googlenet",
        "swin_t",
        "maxvit_t",
        "regnet_y_400mf",
    ],
)
def test_more_models_build_offline_and_keep_their_scale(name):
    model = build_torchvision(name)
    out, other = run(model, name), run(model, name, seed=4321)
    assert out.std() > 1e-2 and (out - other).abs().max() > 1e-2
