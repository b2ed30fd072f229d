"""`edgebatch`: run recipes, sweeps and suites (a Hydra app over the recipes/ tree).

    edgebatch +recipe=resnet18_nhwc_drq               one job
    edgebatch +recipe=resnet18_nhwc_drq quant=fp16    command-line overrides win
    edgebatch -m +recipe=resnet18 quant=none,fp16,drq,int8
    edgebatch +suite=nightly [promote=true]
    edgebatch -v ...                                  also TensorFlow's/LiteRT's own log lines
    edgebatch --dry-run -m ... | +suite=nightly       list the jobs, run none

Exit status: 0 all jobs ok; 1 a job failed (a suite with fail_on=regression: a
regression); 2 the config is invalid (one line on stderr names the bad key; in a sweep,
a job whose config is invalid).
"""

from __future__ import annotations

import os
import re
import sys

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from edgebatch.batch import outcome
from edgebatch.errors import RecipeError, first_line
from edgebatch.recipe import PRIMARY_CONFIG, recipes_dir


def _task(cfg: DictConfig) -> dict:
    """One Hydra job. Runs wherever the launcher puts it (this process, a joblib worker,
    a submitit job), so it returns only a small summary."""
    hydra_cfg = HydraConfig.get()
    if cfg.dry_run:  # one job (a sweep's plan is printed before launching, by BatchSummary)
        from edgebatch.batch.plan import format_plan, planned

        job = planned(0, cfg, list(hydra_cfg.overrides.task))
        print(format_plan([job]), flush=True)
        return {"name": job.name, "status": "planned", "stage": None}

    from edgebatch.batch import runner
    from edgebatch.batch.callbacks import summary_line

    result = runner.run(cfg, hydra_cfg.runtime.output_dir, recipe=hydra_cfg.runtime.choices.get("recipe"))
    status = outcome.job_status(result)
    if hydra_cfg.mode == RunMode.RUN and status == outcome.EXIT_CONFIG_ERROR:
        print(f"edgebatch: error: {result.error.message}", file=sys.stderr, flush=True)
        outcome.report(status)
    elif hydra_cfg.mode == RunMode.RUN:
        print(summary_line(result), flush=True)
        report = (result.report or {}).get("html")
        if report:
            print(f"report: {report}", flush=True)
        outcome.report(status)
    return {"name": result.name, "status": result.status, "stage": result.stage}


VERBOSE_FLAGS = ("-v", "--verbose")
DRY_RUN_FLAGS = ("--dry-run",)


def main() -> int:
    """Console entry point; returns the exit status."""
    outcome.reset()
    if any(flag in sys.argv[1:] for flag in VERBOSE_FLAGS):  # Hydra has no such flag
        sys.argv = _with_override(sys.argv, VERBOSE_FLAGS, "runner.verbose=true")
    if any(flag in sys.argv[1:] for flag in DRY_RUN_FLAGS):
        sys.argv = _with_override(sys.argv, DRY_RUN_FLAGS, "dry_run=true")
    app = hydra.main(
        config_path=str(recipes_dir()), config_name=PRIMARY_CONFIG, version_base="1.3"
    )(_task)
    user_wants_traceback = bool(os.environ.get("HYDRA_FULL_ERROR"))
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let composition errors reach us, unprinted
    try:
        app()
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as error:  # a bad config
        if user_wants_traceback:
            raise
        print(f"edgebatch: error: {config_error_line(error)}", file=sys.stderr)
        return outcome.EXIT_CONFIG_ERROR
    finally:
        if not user_wants_traceback:
            os.environ.pop("HYDRA_FULL_ERROR", None)
    return outcome.exit_code()


def _with_override(argv: list[str], flags: tuple[str, ...], override: str) -> list[str]:
    """argv without `flags`, plus `override` next to the other overrides (Hydra's parser
    wants them in one run)."""
    rest = [arg for arg in argv[1:] if arg not in flags]
    at = next((i for i, arg in enumerate(rest) if "=" in arg and not arg.startswith("-")), len(rest))
    return [argv[0], *rest[:at], override, *rest[at:]]


def config_error_line(error: BaseException) -> str:
    """One line for a composition error: the full key of the bad field, what is wrong,
    and the config file or override it came from."""
    if isinstance(error, yaml.MarkedYAMLError):
        return f"malformed YAML {_yaml_error_line(error)}"
    chain = []
    seen = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    recipe_error = next((exc for exc in chain if isinstance(exc, RecipeError)), None)
    if recipe_error is not None:  # raised by one of our resolvers: its message names the key
        return str(recipe_error)
    top = str(chain[0])
    if re.search(r"You must specify 'model'|Missing mandatory value: model\b", top):
        return ("no model chosen: pick a recipe, e.g. `edgebatch +recipe=resnet18` "
                f"(recipes in {recipes_dir() / 'recipe'}), or a model, e.g. model=torchvision/resnet18")
    source = re.match(r"In '([^']+)'", top)
    for exc in chain:
        if isinstance(exc, OmegaConfBaseException) and getattr(exc, "full_key", None):
            where = f"in {source.group(1)}.yaml" if source else first_line(chain[0])
            return f"{exc.full_key}: {first_line(exc)} ({where})"
    top = top.split("Config search path:")[0]
    return " ".join(top.split()) or repr(chain[0])


def _yaml_error_line(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"in {mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    what = "; ".join(part for part in (error.context, error.problem) if part)
    return f"{where}: {what}"


if __name__ == "__main__":
    sys.exit(main())
