import torch

import edgebatch


class OneBadOp(torch.nn.Module):
    def forward(self, x):
        y = torch.relu(x) + 1
        return torch.special.bessel_j0(y) * 2


def test_find_culprits_names_the_unsupported_op_with_a_repro(capsys):
    culprits = list(edgebatch.debug.find_culprits(OneBadOp(), (torch.randn(2, 3),)))
    assert [c.kind for c in culprits] == ["unsupported"]
    culprit = culprits[0]
    assert culprit.op == "aten.special_bessel_j0.default"
    assert "test_culprits.py" in culprit.source
    culprit.print_code()
    repro = capsys.readouterr().out
    assert "torch.ops.aten.special_bessel_j0.default(x0)" in repro
    namespace: dict = {}
    exec(repro.replace("edgebatch.convert(", "model = ("), namespace)  # the repro builds


def test_find_culprits_is_empty_for_a_convertible_model():
    module = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval()
    assert list(edgebatch.debug.find_culprits(module, (torch.randn(1, 4),))) == []


def test_find_culprits_reports_unexportable_models():
    class Branchy(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    culprits = list(edgebatch.debug.find_culprits(Branchy(), (torch.randn(3),)))
    assert len(culprits) == 1 and culprits[0].kind == "export"
