"""Search spaces and the strategies that walk them, for :mod:`cairn.projects.sweeps`.

A search space maps a parameter name to one of (the ``-P name=...`` syntax of the CLI):

- ``a,b,c``: these choices;
- ``lo..hi``: the integers from lo to hi inclusive when both are integers, else the continuous
  range (random and Bayesian search only: a grid needs choices or a step);
- ``lo..hi:step``: lo, lo+step, ... up to hi;
- ``log:lo..hi``: log-uniform between lo and hi (random and Bayesian search only);
- anything else: a fixed value, the same in every trial.

Strategies: ``grid`` (every combination), ``random`` and ``bayes`` (Optuna's random sampler
and TPE, asked for one trial at a time and told each result; seeded with ``seed``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cairn.errors import CairnError

STRATEGIES = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
DEFAULT_TRIALS = 10
MAX_TRIALS = 10_000


# ------------------------------------------------------------------------- search spaces

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^(?P<lo>{_NUMBER})\.\.(?P<hi>{_NUMBER})(?::(?P<step>{_NUMBER}))?$")
INTEGER_TEXT = re.compile(r"^[-+]?\d+$")
_FORMS = (
    "use a,b,c (choices), lo..hi (a range), lo..hi:step (a stepped range), "
    "log:lo..hi (log-uniform) or a single value"
)


@dataclass(frozen=True)
class Dimension:
    """One parameter's part of the search space.

    ``kind`` is ``choice`` (``values``), ``int`` or ``float`` (``low``..``high``, with an
    optional ``step``; ``log`` for log-uniform) or ``fixed`` (``values`` holds the one value).
    Values are kept as the text that reaches the project, as typed.
    """

    name: str
    kind: str
    values: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False

    @property
    def continuous(self) -> bool:
        return self.kind == "float" and self.step is None

    def grid_values(self) -> list[str]:
        """Every value a grid visits; a continuous or log range has no such list."""
        if self.kind in ("choice", "fixed"):
            return list(self.values)
        if self.log:
            raise CairnError.invalid(
                f"Parameter {self.name!r}: {self.describe()} is log-uniform, which a grid "
                "cannot enumerate: give choices (a,b,c) or use --strategy random or bayes."
            )
        if self.continuous:
            raise CairnError.invalid(
                f"Parameter {self.name!r}: {self.describe()} is a continuous range, which a "
                f"grid cannot enumerate: give choices (a,b,c) or a step "
                f"({number_text(self.low)}..{number_text(self.high)}:step), "
                "or use --strategy random or bayes."
            )
        step = self.step or 1
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        if count > MAX_TRIALS:
            raise CairnError.invalid(
                f"Parameter {self.name!r}: {self.describe()} has {count} values; a grid "
                f"takes at most {MAX_TRIALS}. Use a larger step."
            )
        return [number_text(self.low + i * step, integer=self.kind == "int") for i in range(count)]

    def describe(self) -> str:
        """The dimension in the ``-P`` syntax (recorded as the sweep run's param)."""
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "choice":
            return ",".join(self.values)
        integer = self.kind == "int"
        text = (
            f"{number_text(self.low, integer=integer)}..{number_text(self.high, integer=integer)}"
        )
        if self.step is not None:
            text += f":{number_text(self.step, integer=integer)}"
        return f"log:{text}" if self.log else text

    def suggest(self, trial: Any) -> str:
        """Ask an Optuna trial for this dimension's value, as text for the project."""
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "choice":
            return str(trial.suggest_categorical(self.name, list(self.values)))
        if self.kind == "int":
            step = int(self.step or 1)
            high = int(self.low) + (int(self.high) - int(self.low)) // step * step
            value = trial.suggest_int(self.name, int(self.low), high, step=step, log=self.log)
            return str(value)
        if self.step is not None:
            steps = math.floor((self.high - self.low) / self.step + 1e-9)
            high = round(self.low + steps * self.step, 12)
            value = trial.suggest_float(self.name, self.low, high, step=self.step)
        else:
            value = trial.suggest_float(self.name, self.low, self.high, log=self.log)
        return number_text(value)


def number_text(value: float, *, integer: bool = False) -> str:
    """Compact text for a number: ``3``, ``0.1`` (not ``0.30000000000000004``)."""
    if integer:
        return str(round(value))
    return repr(round(float(value), 12))


def parse_dimension(name: str, text: str) -> Dimension:
    """One ``-P name=text`` of a sweep (see the module docstring for the forms)."""
    text = text.strip()
    if not text:
        raise CairnError.invalid(f"Parameter {name!r} has an empty value: {_FORMS}.")
    log = text.lower().startswith("log:")
    body = text[4:].strip() if log else text
    if log or (".." in body and "," not in body and "/" not in body and not body.startswith(".")):
        return _parse_range(name, text, body, log)
    if "," in text:
        values = tuple(v.strip() for v in text.split(","))
        if any(not v for v in values):
            raise CairnError.invalid(
                f"Parameter {name!r}: {text!r} has an empty choice; write choices as a,b,c."
            )
        return Dimension(name, "choice", tuple(dict.fromkeys(values)))
    return Dimension(name, "fixed", (text,))


def _parse_range(name: str, text: str, body: str, log: bool) -> Dimension:
    match = _RANGE.match(body.replace(" ", ""))
    if match is None:
        raise CairnError.invalid(f"Parameter {name!r}: cannot read {text!r} as a range: {_FORMS}.")
    lo_text, hi_text, step_text = match["lo"], match["hi"], match["step"]
    low, high = float(lo_text), float(hi_text)
    if low > high:
        raise CairnError.invalid(
            f"Parameter {name!r}: the range {text!r} starts above its end; write it as "
            f"{hi_text}..{lo_text}."
        )
    integer = bool(INTEGER_TEXT.match(lo_text) and INTEGER_TEXT.match(hi_text))
    step: float | None = None
    if step_text is not None:
        if log:
            raise CairnError.invalid(
                f"Parameter {name!r}: a log-uniform range takes no step; drop ':{step_text}' "
                "or the 'log:' prefix."
            )
        step = float(step_text)
        if step <= 0:
            raise CairnError.invalid(f"Parameter {name!r}: the step of {text!r} must be positive.")
        integer = integer and bool(INTEGER_TEXT.match(step_text))
    if log and low <= 0:
        raise CairnError.invalid(
            f"Parameter {name!r}: a log-uniform range needs positive bounds, got {text!r}."
        )
    return Dimension(name, "int" if integer else "float", (), low, high, step, log)


def parse_space(space: Mapping[str, Any] | Sequence[str]) -> dict[str, Dimension]:
    """A search space from ``-P`` strings (``["alpha=0.1,1", "depth=3..6"]``) or a mapping of
    names to such text, to a list of choices, to a single value or to a :class:`Dimension`."""
    if isinstance(space, Mapping):
        items = list(space.items())
    else:
        items = []
        for item in space:
            name, sep, value = str(item).partition("=")
            if not sep or not name.strip():
                raise CairnError.invalid(
                    f"Cannot read {item!r} as a parameter: write -P name=value ({_FORMS})."
                )
            items.append((name.strip(), value))
    dimensions: dict[str, Dimension] = {}
    for name, value in items:
        name = str(name)
        if name in dimensions:
            raise CairnError.invalid(
                f"Parameter {name!r} is given twice: give its values once, as a,b,c."
            )
        dimensions[name] = _dimension(name, value)
    if not dimensions:
        raise CairnError.invalid(
            "A sweep needs a search space: give at least one -P name=values (e.g. -P alpha=0.1,1)."
        )
    return dimensions


def _dimension(name: str, value: Any) -> Dimension:
    if isinstance(value, Dimension):
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            raise CairnError.invalid(f"Parameter {name!r} has an empty list of choices.")
        texts = tuple(dict.fromkeys(_text(v) for v in value))
        return (
            Dimension(name, "choice", texts) if len(texts) > 1 else Dimension(name, "fixed", texts)
        )
    if isinstance(value, str):
        return parse_dimension(name, value)
    return Dimension(name, "fixed", (_text(value),))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# ------------------------------------------------------------------------- strategies


class Strategy(Protocol):
    """Proposes the parameters of the next trial and hears how each one did."""

    planned: int

    def propose(self) -> dict[str, str] | None: ...

    def report(self, index: int, value: float | None) -> None: ...


class GridStrategy:
    """Every combination, in order (the first parameter varies slowest)."""

    def __init__(self, dimensions: dict[str, Dimension]) -> None:
        columns = [d.grid_values() for d in dimensions.values()]
        self.planned = math.prod(len(c) for c in columns)
        if self.planned > MAX_TRIALS:
            raise CairnError.invalid(
                f"This grid has {self.planned} combinations; a sweep runs at most {MAX_TRIALS} "
                "trials. Give fewer values, or use --strategy random or bayes with --trials."
            )
        names = list(dimensions)
        self._combinations: Iterator[tuple[str, ...]] = itertools.product(*columns)
        self._names = names

    def propose(self) -> dict[str, str] | None:
        combination = next(self._combinations, None)
        return None if combination is None else dict(zip(self._names, combination, strict=True))

    def report(self, index: int, value: float | None) -> None:
        pass


class OptunaStrategy:
    """Random or TPE (Bayesian) search through Optuna's ask-and-tell interface."""

    def __init__(
        self,
        dimensions: dict[str, Dimension],
        *,
        bayes: bool,
        trials: int,
        goal: str,
        seed: int | None,
    ) -> None:
        try:
            import optuna
        except ImportError:
            raise CairnError.invalid(
                "Random and Bayesian sweeps need Optuna: pip install 'cairn[sweep]' "
                "(or pip install optuna), or use --strategy grid."
            ) from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if bayes:
            # Optuna samples the first trials at random; a short sweep still gets some TPE.
            startup = max(1, min(10, trials // 2))
            sampler: Any = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        self._optuna = optuna
        self._study = optuna.create_study(direction=goal, sampler=sampler)
        self._dimensions = dimensions
        self._asked: dict[int, Any] = {}
        self.planned = trials

    def propose(self) -> dict[str, str] | None:
        if len(self._asked) >= self.planned:
            return None
        trial = self._study.ask()
        self._asked[len(self._asked)] = trial
        return {name: d.suggest(trial) for name, d in self._dimensions.items()}

    def report(self, index: int, value: float | None) -> None:
        trial = self._asked[index]
        if value is None:
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, value)


def make_strategy(
    dimensions: dict[str, Dimension],
    strategy: str,
    *,
    trials: int | None,
    goal: str,
    seed: int | None,
) -> Strategy:
    """The strategy by name, with its arguments checked."""
    if strategy not in STRATEGIES:
        raise CairnError.invalid(
            f"Unknown sweep strategy {strategy!r}: use one of {', '.join(STRATEGIES)}."
        )
    if strategy == "grid":
        if trials is not None:
            raise CairnError.invalid(
                "--trials is for random and bayes sweeps; a grid runs every combination "
                "(narrow the values instead)."
            )
        return GridStrategy(dimensions)
    count = DEFAULT_TRIALS if trials is None else trials
    if not 1 <= count <= MAX_TRIALS:
        raise CairnError.invalid(f"--trials must be between 1 and {MAX_TRIALS}, got {count}.")
    return OptunaStrategy(dimensions, bayes=strategy == "bayes", trials=count, goal=goal, seed=seed)
