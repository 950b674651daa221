"""The governance policy: ``nblineage-policy.yaml``, read and checked, and the decisions its rules make.

A policy file says who is in which group, what each dataset is (owner, classification tags, the columns that carry
them, who may read it, how long it is kept, which expectation suites check it) and which flows are not allowed
(``rules``, each with an action ``audit``, ``warn`` or ``block``). The format is in README ("Policy") and
``docs/policy.md``; ``policy.schema.json`` beside this module is its JSON Schema, for editors.

:func:`load` checks everything while it reads (PyYAML's nodes keep the line of each value): one
:class:`PolicyError` ``"file:line: what is wrong"`` for an unknown key (with the key meant), a wrong type, a bad glob,
a missing suite file. :func:`find` says which file applies, :func:`current` loads it (cached until the file changes).

The rules' decisions are plain functions of the policy and of what the kernel saw (:meth:`Policy.check_read`,
:meth:`Policy.check_write`), so the kernel's guard (``kernel_ext/guard.py``) only gathers the facts. Nothing here
imports IPython.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nblineage.governance.policy_file import FILE_NAME, PolicyError, PolicyViolation, find, identity

__all__ = [
    "ACTIONS",
    "FILE_NAME",
    "KINDS",
    "DatasetPolicy",
    "Decision",
    "Expectation",
    "Glob",
    "Policy",
    "PolicyError",
    "PolicyViolation",
    "Rule",
    "current",
    "find",
    "identity",
    "load",
    "loads",
]

ACTIONS = ("audit", "warn", "block")
# rule kinds: classified data outside approved locations, failed quality, readers, PII features
KINDS = ("locations", "quality", "readers", "pii_features")
DEFAULT_TAGS = {"locations": ("pii", "confidential"), "pii_features": ("pii",)}
Quality = Callable[[str, str, str | None], "bool | None"]  # (namespace, name, version) -> passed, failed, unknown


# --- globs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Glob:
    """A name pattern: ``*`` any run of characters but ``/``, ``**`` any run at all, ``?`` one character but
    ``/``, ``[abc]`` one of a set. A namespace pattern's ``*`` matches ``/`` too (a namespace is no path)."""

    text: str
    pattern: re.Pattern[str]

    def match(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None


def glob_problem(text: str) -> str | None:
    """What is wrong with a glob, or None."""
    if not text:
        return "an empty pattern"
    if "***" in text:
        return "'***' in a pattern (use '**' for any run of characters)"
    depth = 0
    start = -1
    for index, char in enumerate(text):
        if char == "[":
            if depth:
                return f"'[' inside a character set at position {index + 1}"
            depth, start = 1, index
        elif char == "]" and depth:
            if index == start + 1 or (index == start + 2 and text[start + 1] == "!"):
                return f"an empty character set at position {start + 1}"
            depth = 0
        elif char == "]":
            return f"']' without '[' at position {index + 1}"
    if depth:
        return f"'[' at position {start + 1} is never closed"
    return None


@functools.lru_cache(maxsize=1024)
def compile_glob(text: str, path: bool = True) -> Glob:
    """The :class:`Glob` of ``text`` (checked with :func:`glob_problem` first)."""
    out = []
    index = 0
    one = "[^/]" if path else "."
    while index < len(text):
        char = text[index]
        if char == "*":
            if text.startswith("**", index):
                out.append(".*")
                index += 2
                continue
            out.append(one + "*")
        elif char == "?":
            out.append(one)
        elif char == "[":
            end = text.index("]", index)
            body = text[index + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("^", "\\^") + "]")
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return Glob(text, re.compile("".join(out), re.DOTALL))


@dataclass(frozen=True)
class Match:
    """Which datasets a rule is about: a namespace glob and a name glob."""

    namespace: Glob
    name: Glob

    def matches(self, namespace: str, name: str) -> bool:
        return self.namespace.match(namespace) and self.name.match(name)

    def __str__(self) -> str:
        return f"{self.namespace.text} {self.name.text}"


# --- the policy --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """A great-expectations suite to validate on read: its JSON file (absolute), a sample size, blocking or not."""

    suite: str
    sample_rows: int | None = None
    blocking: bool = False


@dataclass(frozen=True)
class DatasetRule:
    """One entry of ``datasets``."""

    match: Match
    line: int
    owner: str | None = None
    tags: frozenset[str] = frozenset()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    readers: frozenset[str] = frozenset()
    retention_days: int | None = None
    expectations: tuple[Expectation, ...] = ()


def column_key(name: str) -> str:
    """A column name as the policy matches it: without case and punctuation (``customerID`` is the notebook's
    ``customerid`` after ``df.columns.str.lower()``, ``Customer ID`` its ``customer_id``)."""
    return re.sub(r"[\W_]+", "", name.casefold())


@dataclass(frozen=True)
class DatasetPolicy:
    """What the policy says about one dataset: every matching ``datasets`` entry merged (tags, columns, readers
    and expectations joined; owner from the first entry naming one; the shortest retention)."""

    owner: str | None = None
    tags: frozenset[str] = frozenset()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    readers: frozenset[str] = frozenset()
    retention_days: int | None = None
    expectations: tuple[Expectation, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.owner or self.tags or self.columns or self.readers or self.expectations) or (
            self.retention_days is not None
        )

    def classification(self) -> frozenset[str]:
        """Every tag of the dataset and of its columns."""
        found = set(self.tags)
        for tags in self.columns.values():
            found |= tags
        return frozenset(found)

    def tags_reaching(self, columns: Iterable[str] | None) -> frozenset[str]:
        """The dataset's tags that reach an output holding ``columns`` (None: unknown, so all of them): its own
        tags always, a column's tags when that column is there."""
        if columns is None:
            return self.classification()
        found = set(self.tags)
        reaching = {column_key(column) for column in columns}
        for column, tags in self.columns.items():
            if column_key(column) in reaching:
                found |= tags
        return frozenset(found)


@dataclass(frozen=True)
class Rule:
    """One flow rule: its name, kind, action, the datasets it covers (empty: all) and its kind's settings."""

    name: str
    kind: str
    action: str
    line: int
    datasets: tuple[Match, ...] = ()
    tags: frozenset[str] = frozenset()
    allowed: tuple[Match, ...] = ()  # locations: where classified data may be saved
    allow_columns: tuple[Glob, ...] = ()  # pii_features: columns allowed as features
    models_only: bool = False  # locations: only model saves, not data files

    def covers(self, namespace: str, name: str) -> bool:
        return not self.datasets or any(m.matches(namespace, name) for m in self.datasets)


Ref = tuple[str, str, str | None]  # namespace, name, version


@dataclass(frozen=True)
class Decision:
    """A rule's decision about one flow: ``allow`` or the rule's action (``audit``, ``warn``, ``block``)."""

    rule: str
    kind: str
    decision: str
    datasets: tuple[Ref, ...]
    outputs: tuple[Ref, ...] = ()
    detail: str = ""

    @property
    def violated(self) -> bool:
        return self.decision != "allow"

    def message(self, user: str) -> str:
        """What a user is told: the rule, the datasets, what is wrong and how to proceed."""
        names = ", ".join(_shown(ref) for ref in self.datasets) or "(none)"
        text = f"policy rule {self.rule!r} ({self.kind}): {self.detail} [datasets: {names}"
        if self.outputs:
            text += "; output: " + ", ".join(_shown(ref) for ref in self.outputs)
        return text + f"; user: {user}]. " + _PROCEED[self.kind]


_PROCEED = {
    "locations": "Save it under a location the rule allows, drop the classified columns first, or ask the "
    "dataset's owner to change the policy.",
    "quality": "Fix the data so that its expectation suite passes (or use a version that passed), then train again.",
    "readers": "Ask the dataset's owner to add you (or one of your groups) to its readers.",
    "pii_features": "Drop the PII columns before the fit, or ask the dataset's owner to allow them in the rule.",
}


def _shown(ref: Ref) -> str:
    namespace, name, version = ref
    return f"{namespace}:{name}" + (f"@{version[:12]}" if version else "")


@dataclass(frozen=True)
class Policy:
    """A loaded policy file."""

    path: Path
    sha256: str
    groups: dict[str, frozenset[str]]
    datasets: tuple[DatasetRule, ...]
    rules: tuple[Rule, ...]
    _cache: dict[tuple[str, str], DatasetPolicy] = field(default_factory=dict, compare=False, repr=False)

    def for_dataset(self, namespace: str, name: str) -> DatasetPolicy:
        """Every ``datasets`` entry matching the dataset, merged (empty when none match)."""
        key = (namespace, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._merge(namespace, name)
            if len(self._cache) > 10_000:
                self._cache.clear()
        return found

    def _merge(self, namespace: str, name: str) -> DatasetPolicy:
        owner = retention = None
        tags: set[str] = set()
        columns: dict[str, frozenset[str]] = {}
        readers: set[str] = set()
        expectations: list[Expectation] = []
        for entry in self.datasets:
            if not entry.match.matches(namespace, name):
                continue
            owner = owner or entry.owner
            if entry.retention_days is not None:
                retention = entry.retention_days if retention is None else min(retention, entry.retention_days)
            tags |= entry.tags
            for column, column_tags in entry.columns.items():
                columns[column] = columns.get(column, frozenset()) | column_tags
            readers |= entry.readers
            expectations += [e for e in entry.expectations if e not in expectations]
        return DatasetPolicy(owner, frozenset(tags), columns, frozenset(readers), retention, tuple(expectations))

    def groups_of(self, user: str) -> frozenset[str]:
        return frozenset(group for group, members in self.groups.items() if user in members)

    def may_read(self, user: str, dataset: DatasetPolicy) -> bool:
        """Whether ``user`` is one of the dataset's readers (by name or group); anyone when it lists none."""
        return not dataset.readers or user in dataset.readers or bool(self.groups_of(user) & dataset.readers)

    # --- decisions ---------------------------------------------------------------------------------------------

    def check_read(self, user: str, source: Ref) -> list[Decision]:
        """The ``readers`` rules' decisions about ``user`` reading ``source`` (none when no rule covers it or the
        dataset lists no readers)."""
        namespace, name, _ = source
        dataset = self.for_dataset(namespace, name)
        decisions = []
        for rule in self.rules:
            if rule.kind != "readers" or not dataset.readers or not rule.covers(namespace, name):
                continue
            if self.may_read(user, dataset):
                decisions.append(Decision(rule.name, rule.kind, "allow", (source,), detail=f"{user} is a reader"))
            else:
                readers = ", ".join(sorted(dataset.readers))
                detail = f"{user} may not read this dataset (its readers: {readers})"
                decisions.append(Decision(rule.name, rule.kind, rule.action, (source,), detail=detail))
        return decisions

    def check_write(
        self,
        output: Ref,
        inputs: Iterable[Ref],
        *,
        model: bool,
        columns: Iterable[str] | None = None,
        quality: Quality | None = None,
    ) -> list[Decision]:
        """The rules' decisions about writing ``output`` (a model when ``model``) derived from ``inputs``.

        ``columns`` are the input columns that reach the output (a frame's columns followed back through the
        code's column rules; a model's features followed to their source columns); None when unknown (every column
        is then taken to reach it). ``quality(namespace, name, version)`` is the latest quality check of a version.
        """
        inputs = sorted(set(inputs), key=lambda ref: (ref[0], ref[1], ref[2] or ""))
        reaching = None if columns is None else frozenset(columns)
        decisions: list[Decision] = []
        for rule in self.rules:
            covered = [ref for ref in inputs if rule.covers(ref[0], ref[1])]
            if not covered:
                continue
            if rule.kind == "locations" and (model or not rule.models_only):
                decisions += self._locations(rule, output, covered, reaching, model)
            elif rule.kind == "quality" and model and quality is not None:
                decisions += self._quality(rule, output, covered, quality)
            elif rule.kind == "pii_features" and model:
                decisions += self._features(rule, output, covered, reaching)
        return decisions

    def _locations(
        self, rule: Rule, output: Ref, inputs: list[Ref], columns: frozenset[str] | None, model: bool
    ) -> list[Decision]:
        classified = []
        tags: set[str] = set()
        for ref in inputs:
            reached = self.for_dataset(ref[0], ref[1]).tags_reaching(columns) & rule.tags
            if reached:
                classified.append(ref)
                tags |= reached
        if not classified:
            return []
        what = "model" if model else "file"
        shown = ", ".join(sorted(tags))
        if any(m.matches(output[0], output[1]) for m in rule.allowed):
            detail = f"{shown} data saved to an approved location"
            return [Decision(rule.name, rule.kind, "allow", tuple(classified), (output,), detail)]
        places = "; ".join(str(m) for m in rule.allowed) or "none"
        detail = f"{shown} data would reach a {what} saved outside the approved locations ({places})"
        return [Decision(rule.name, rule.kind, rule.action, tuple(classified), (output,), detail)]

    def _quality(self, rule: Rule, output: Ref, inputs: list[Ref], quality: Quality) -> list[Decision]:
        failed, passed = [], []
        for ref in inputs:
            result = quality(*ref)
            if result is False:
                failed.append(ref)
            elif result is True:
                passed.append(ref)
        if failed:
            detail = "the model derives from a dataset version whose latest quality check failed"
            return [Decision(rule.name, rule.kind, rule.action, tuple(failed), (output,), detail)]
        if passed:
            detail = "the latest quality checks of the model's data passed"
            return [Decision(rule.name, rule.kind, "allow", tuple(passed), (output,), detail)]
        return []

    def _features(self, rule: Rule, output: Ref, inputs: list[Ref], columns: frozenset[str] | None) -> list[Decision]:
        found: dict[Ref, list[str]] = {}
        guarded = []
        for ref in inputs:
            dataset = self.for_dataset(ref[0], ref[1])
            tagged = sorted(c for c, tags in dataset.columns.items() if tags & rule.tags)
            if not tagged:
                continue
            guarded.append(ref)
            allowed = [c for c in tagged if any(g.match(c) for g in rule.allow_columns)]
            reaching = None if columns is None else {column_key(c) for c in columns}
            used = [c for c in tagged if c not in allowed and (reaching is None or column_key(c) in reaching)]
            if used:
                found[ref] = used
        if found:
            names = ", ".join(sorted({c for used in found.values() for c in used}))
            unknown = (
                " (the model's features are unknown, so every column is taken to reach it)" if columns is None else ""
            )
            detail = f"PII columns would be model features: {names}{unknown}"
            return [Decision(rule.name, rule.kind, rule.action, tuple(found), (output,), detail)]
        if guarded:
            detail = "no PII column is a feature of the model"
            return [Decision(rule.name, rule.kind, "allow", tuple(guarded), (output,), detail)]
        return []

    def summary(self) -> list[str]:
        """A few lines about the policy (``policy check``)."""
        kinds = ", ".join(f"{r.name} ({r.kind}, {r.action})" for r in self.rules) or "none"
        return [
            f"{self.path}: valid (sha256 {self.sha256})",
            f"{len(self.groups)} groups, {len(self.datasets)} dataset entries, {len(self.rules)} rules: {kinds}",
        ]


# --- finding and loading -------------------------------------------------------------------------------------


_loaded: dict[Path, tuple[tuple[int, int], Policy]] = {}


def current(notebook: str | None = None) -> Policy | None:
    """The policy that applies (:func:`find`), loaded once and again when the file changes; None when there is no
    policy file. A file that cannot be used raises :class:`PolicyError`: it never means "no policy"."""
    path = find(notebook)
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError as error:
        raise PolicyError(f"{path}:1: cannot read the policy file ({error.strerror or error})") from None
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _loaded.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    policy = load(path)
    _loaded[path] = (stamp, policy)
    return policy


def load(path: str | os.PathLike[str]) -> Policy:
    """Read and check a policy file; :class:`PolicyError` on the first thing wrong."""
    path = Path(path).expanduser().absolute()
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PolicyError(f"{path}:1: cannot read the policy file ({error.strerror or error})") from None
    return loads(data, path)


def loads(data: bytes | str, path: str | os.PathLike[str] = FILE_NAME) -> Policy:
    """Check the policy text ``data`` read from ``path`` (suite paths are relative to its folder)."""
    import yaml

    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PolicyError(f"{path}:1: the policy file is not UTF-8 text ({error.reason})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(error, "problem", None) or str(error)
        raise PolicyError(f"{path}:{line}: not valid YAML: {what}") from None
    return _Reader(path).policy(root, hashlib.sha256(raw).hexdigest())


# --- the checker ---------------------------------------------------------------------------------------------

_TOP = ("version", "groups", "datasets", "rules")
_DATASET = ("namespace", "name", "owner", "tags", "columns", "readers", "retention_days", "expectations")
_EXPECTATION = ("suite", "sample_rows", "blocking")
_RULE = ("name", "kind", "action", "datasets", "tags", "allowed", "allow_columns", "models_only")
_MATCH = ("namespace", "name")
_KIND_KEYS = {
    "locations": {"tags", "allowed", "models_only"},
    "quality": set(),
    "readers": set(),
    "pii_features": {"tags", "allow_columns"},
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


class _Reader:
    """Walks the YAML nodes of a policy file, checking each value where it is (line numbers from node marks)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uses: list[tuple[str, str, int, str]] = []  # (side: data/rule/reader, name, line, where) to cross-check

    def fail(self, node: Any, what: str) -> PolicyError:
        line = node.start_mark.line + 1 if node is not None else 1
        return PolicyError(f"{self.path}:{line}: {what}")

    def policy(self, root: Any, sha256: str) -> Policy:
        import yaml

        if root is None:
            raise PolicyError(f"{self.path}:1: the policy file is empty")
        top = self.mapping(root, _TOP, "the policy file")
        if "version" in top:
            version = self.integer(top["version"], "version")
            if version != 1:
                raise self.fail(top["version"], f"version must be 1 (this nblineage reads version 1), not {version}")
        groups: dict[str, frozenset[str]] = {}
        if "groups" in top:
            node = top["groups"]
            if not isinstance(node, yaml.MappingNode):
                raise self.fail(node, f"groups must be a mapping of group name to a list of users, not {_kind(node)}")
            for key, value in self.pairs(node):
                group = self.text(key, "a group name")
                groups[group] = frozenset(self.names(value, f"the members of group {group!r}"))
        datasets = tuple(self.dataset(item) for item in self.sequence(top.get("datasets"), "datasets"))
        rules = tuple(self.rule(item) for item in self.sequence(top.get("rules"), "rules"))
        seen: dict[str, Rule] = {}
        for rule in rules:
            if rule.name in seen:
                raise PolicyError(f"{self.path}:{rule.line}: a second rule named {rule.name!r} (rule names are unique)")
            seen[rule.name] = rule
        self.cross_check(groups, rules)
        return Policy(self.path, sha256, groups, datasets, rules)

    def cross_check(self, groups: dict[str, frozenset[str]], rules: tuple[Rule, ...]) -> None:
        """Typos that are valid YAML but would quietly disable a rule or lock readers out: a classification tag
        nearly (or, but for case, exactly) the one the rules look for, a rule's tag nearly one the datasets carry,
        a reader nearly a group's name. Tags no rule uses, and readers who are users, are fine."""
        sought = {tag for rule in rules if rule.kind in DEFAULT_TAGS for tag in rule.tags}
        carried = {name for side, name, _, _ in self.uses if side == "data"}
        users = {user for members in groups.values() for user in members}
        rules_first = sorted(self.uses, key=lambda use: use[0] != "rule")  # a rule's typo, not the data's
        for side, name, line, where in rules_first:
            if side == "data":
                near, what = _near(name, sought), "no rule looks for it; the rules look for"
            elif side == "rule":
                near, what = _near(name, carried), "no dataset carries it; the datasets carry"
            else:
                if name in groups or name in users:
                    continue
                near, what = _near(name, set(groups)), "it is neither a group nor a member of one; a group is"
            if near is not None:
                raise PolicyError(
                    f"{self.path}:{line}: {name!r} in {where}: {what} {near!r} (did you mean {near!r}? names are "
                    "case-sensitive)"
                )

    def noted(self, side: str, node: Any, what: str) -> list[str]:
        """``names``, each remembered with its line for ``cross_check``."""
        import yaml

        found = self.names(node, what)
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for name, item in zip(found, items, strict=True):
            self.uses.append((side, name, item.start_mark.line + 1, what))
        return found

    # --- the parts ---------------------------------------------------------------------------------------------

    def dataset(self, node: Any) -> DatasetRule:
        fields = self.mapping(node, _DATASET, "a datasets entry")
        if "name" not in fields:
            raise self.fail(node, "a datasets entry needs 'name' (a glob of the dataset names it is about)")
        columns: dict[str, frozenset[str]] = {}
        if "columns" in fields:
            import yaml

            value = fields["columns"]
            if not isinstance(value, yaml.MappingNode):
                raise self.fail(
                    value, f"columns must be a mapping of column name to a list of tags, not {_kind(value)}"
                )
            for key, tags in self.pairs(value):
                column = self.text(key, "a column name")
                columns[column] = frozenset(self.noted("data", tags, f"the tags of column {column!r}"))
        retention = None
        if "retention_days" in fields:
            retention = self.integer(fields["retention_days"], "retention_days", minimum=1)
        expectations = tuple(
            self.expectation(item) for item in self.sequence(fields.get("expectations"), "expectations")
        )
        return DatasetRule(
            match=self.match(node, fields),
            line=node.start_mark.line + 1,
            owner=self.text(fields["owner"], "owner") if "owner" in fields else None,
            tags=frozenset(self.noted("data", fields["tags"], "tags")) if "tags" in fields else frozenset(),
            columns=columns,
            readers=frozenset(self.noted("reader", fields["readers"], "readers"))
            if "readers" in fields
            else frozenset(),
            retention_days=retention,
            expectations=expectations,
        )

    def expectation(self, node: Any) -> Expectation:
        fields = self.mapping(node, _EXPECTATION, "an expectations entry")
        if "suite" not in fields:
            raise self.fail(node, "an expectations entry needs 'suite' (the path of a GX expectation suite JSON file)")
        suite = self.text(fields["suite"], "suite")
        resolved = (self.path.parent / Path(suite).expanduser()).resolve()
        if not resolved.is_file():
            raise self.fail(fields["suite"], f"the expectation suite {suite!r} is not a file (looked for {resolved})")
        sample = self.integer(fields["sample_rows"], "sample_rows", minimum=1) if "sample_rows" in fields else None
        blocking = self.boolean(fields["blocking"], "blocking") if "blocking" in fields else False
        return Expectation(str(resolved), sample, blocking)

    def rule(self, node: Any) -> Rule:
        fields = self.mapping(node, _RULE, "a rules entry")
        for required in ("name", "kind", "action"):
            if required not in fields:
                raise self.fail(node, f"a rule needs {required!r}")
        name = self.text(fields["name"], "a rule's name")
        kind = self.choice(fields["kind"], "kind", KINDS)
        action = self.choice(fields["action"], "action", ACTIONS)
        for key in ("tags", "allowed", "allow_columns", "models_only"):
            if key in fields and key not in _KIND_KEYS[kind]:
                fitting = ", ".join(k for k in KINDS if key in _KIND_KEYS[k])
                raise self.fail(fields[key], f"{key!r} does not apply to a {kind} rule (only to: {fitting})")
        matches = tuple(
            self.match(item, self.mapping(item, _MATCH, "a dataset pattern"))
            for item in self.sequence(fields.get("datasets"), "datasets")
        )
        allowed = tuple(
            self.match(item, self.mapping(item, _MATCH, "an allowed location"))
            for item in self.sequence(fields.get("allowed"), "allowed")
        )
        tags = (
            frozenset(self.noted("rule", fields["tags"], f"the tags of rule {name!r}"))
            if "tags" in fields
            else frozenset(DEFAULT_TAGS.get(kind, ()))
        )
        allow_columns = tuple(
            self.glob(item, path=False) for item in self.sequence(fields.get("allow_columns"), "allow_columns")
        )
        models_only = self.boolean(fields["models_only"], "models_only") if "models_only" in fields else False
        return Rule(name, kind, action, node.start_mark.line + 1, matches, tags, allowed, allow_columns, models_only)

    def match(self, node: Any, fields: dict[str, Any]) -> Match:
        if "name" not in fields:
            raise self.fail(node, "a dataset pattern needs 'name' (a glob)")
        namespace = self.glob(fields["namespace"], path=False) if "namespace" in fields else compile_glob("*", False)
        return Match(namespace, self.glob(fields["name"], path=True))

    # --- values ------------------------------------------------------------------------------------------------

    def mapping(self, node: Any, keys: tuple[str, ...], what: str) -> dict[str, Any]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping (key: value lines), not {_kind(node)}")
        found: dict[str, Any] = {}
        for key, value in self.pairs(node):
            name = self.text(key, "a key")
            if name not in keys:
                import difflib

                close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(key, f"unknown key {name!r} in {what} ({hint}known keys: {', '.join(keys)})")
            found[name] = value
        return found

    def pairs(self, node: Any) -> list[tuple[Any, Any]]:
        seen: set[str] = set()
        for key, _ in node.value:
            text = getattr(key, "value", None)
            if isinstance(text, str):
                if text in seen:
                    raise self.fail(key, f"the key {text!r} appears twice")
                seen.add(text)
        return list(node.value)

    def sequence(self, node: Any, what: str) -> list[Any]:
        import yaml

        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list, not {_kind(node)}")
        return list(node.value)

    def scalar(self, node: Any, what: str, tag: str, expected: str) -> Any:
        import yaml

        if not isinstance(node, yaml.ScalarNode) or node.tag != tag:
            raise self.fail(node, f"{what} must be {expected}, not {_kind(node)}")
        return yaml.SafeLoader("").construct_object(node)

    def text(self, node: Any, what: str) -> str:
        value = self.scalar(node, what, "tag:yaml.org,2002:str", "text")
        if not value.strip():
            raise self.fail(node, f"{what} must not be empty")
        return value

    def integer(self, node: Any, what: str, minimum: int | None = None) -> int:
        value = self.scalar(node, what, "tag:yaml.org,2002:int", "a whole number")
        if minimum is not None and value < minimum:
            raise self.fail(node, f"{what} must be at least {minimum}, not {value}")
        return value

    def boolean(self, node: Any, what: str) -> bool:
        return self.scalar(node, what, "tag:yaml.org,2002:bool", "true or false")

    def choice(self, node: Any, what: str, choices: tuple[str, ...]) -> str:
        value = self.text(node, what)
        if value not in choices:
            import difflib

            close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(
                node, f"{what} {value!r} is not one of {', '.join(choices)} ({hint.strip() or 'see docs/policy.md'})"
            )
        return value

    def names(self, node: Any, what: str) -> list[str]:
        """A list of names (tags, users, groups); one name alone is a list of one."""
        import yaml

        items = [node] if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" else None
        if items is None:
            items = self.sequence(node, what) if isinstance(node, yaml.SequenceNode) else None
        if items is None:
            raise self.fail(node, f"{what} must be a list of names, not {_kind(node)}")
        names = []
        for item in items:
            name = self.text(item, f"an item of {what}")
            if not _NAME.match(name):
                raise self.fail(item, f"{name!r} in {what} is not a name (letters, digits and _ . @ + - only)")
            names.append(name)
        return names

    def glob(self, node: Any, path: bool) -> Glob:
        text = self.scalar(node, "a pattern", "tag:yaml.org,2002:str", "text (a glob)")
        problem = glob_problem(text)
        if problem:
            raise self.fail(node, f"bad glob {text!r}: {problem}")
        return compile_glob(text, path)


def _near(name: str, others: set[str]) -> str | None:
    """The one of ``others`` that ``name`` nearly is (the same but for case, or a close spelling), when it is not one
    of them."""
    if not others or name in others:
        return None
    for other in sorted(others):
        if other.casefold() == name.casefold():
            return other
    import difflib

    close = difflib.get_close_matches(name, sorted(others), n=1, cutoff=0.8)
    return close[0] if close else None


def _kind(node: Any) -> str:
    """What a YAML node holds, for an error message."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    shown = {
        "tag:yaml.org,2002:int": "a number",
        "tag:yaml.org,2002:float": "a number",
        "tag:yaml.org,2002:bool": "true/false",
        "tag:yaml.org,2002:null": "nothing (null)",
        "tag:yaml.org,2002:str": "text",
    }.get(getattr(node, "tag", ""), "a value")
    value = getattr(node, "value", "")
    return f"{shown} {value!r}" if shown != "nothing (null)" and isinstance(value, str) and len(value) < 40 else shown
