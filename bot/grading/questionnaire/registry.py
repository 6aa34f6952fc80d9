"""The questionnaires shipped with the bot: every file of a directory, keyed by id and version."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bot.grading.questionnaire.model import (
    DEFAULT_QUESTIONNAIRE,
    Problem,
    Questionnaire,
    QuestionnaireError,
)
from bot.grading.questionnaire.parse import load_questionnaire


@dataclass(frozen=True, slots=True)
class Registry:
    """The shipped questionnaires, keyed by (id, version); the default comes first."""

    questionnaires: tuple[Questionnaire, ...]

    @property
    def default(self) -> Questionnaire:
        """The questionnaire used when none is chosen."""
        return self.questionnaires[0]

    def get(self, questionnaire_id: str, version: str) -> Questionnaire | None:
        """The questionnaire with this id and version, if shipped."""
        for q in self.questionnaires:
            if (q.id, q.version) == (questionnaire_id, version):
                return q
        return None

    def resolve(self, spec: str) -> Questionnaire:
        """`ID` or `ID@VERSION`; LookupError (naming the available ones) if unknown or ambiguous."""
        q_id, _at, version = spec.strip().partition("@")
        found = [
            q for q in self.questionnaires if q.id == q_id and (not version or q.version == version)
        ]
        if len(found) == 1:
            return found[0]
        problem = "is ambiguous (add @VERSION)" if found else "is not shipped"
        raise LookupError(f"questionnaire {spec!r} {problem}; available: {self.describe()}")

    def describe(self) -> str:
        """`id@version (default), ...` for messages."""
        return ", ".join(
            f"{q.id}@{q.version}{' (default)' if i == 0 else ''}"
            for i, q in enumerate(self.questionnaires)
        )


def load_registry(directory: Path) -> Registry:
    """Validate every questionnaire file of `directory`; raise QuestionnaireError for all problems.

    Nothing is loaded unless every file is valid, the (id, version) pairs are unique and the
    default file (DEFAULT_QUESTIONNAIRE) is among them.
    """
    problems: list[Problem] = []
    loaded: dict[tuple[str, str], Questionnaire] = {}
    default: Questionnaire | None = None
    for path in sorted(directory.glob("*.toml")):
        try:
            q = load_questionnaire(path)
        except QuestionnaireError as exc:
            problems.extend(exc.problems)
            continue
        if (q.id, q.version) in loaded:
            other = loaded[(q.id, q.version)].source
            problems.append(
                Problem(path.name, 1, f"id {q.id!r} version {q.version!r} is also in {other}")
            )
            continue
        loaded[(q.id, q.version)] = q
        if path.name == DEFAULT_QUESTIONNAIRE:
            default = q
    if default is None and not problems:
        problems.append(Problem(DEFAULT_QUESTIONNAIRE, 0, f"missing from {directory}"))
    if problems:
        raise QuestionnaireError(problems)
    assert default is not None
    others = sorted(
        (q for q in loaded.values() if q is not default), key=lambda q: (q.id, q.version)
    )
    return Registry((default, *others))


@functools.cache
def registry_of(directory: Path) -> Registry:
    """The registry of a directory, validated once."""
    return load_registry(directory)
