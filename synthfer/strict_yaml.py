"""YAML that refuses duplicate keys (seed lists and config files).

PyYAML, like the YAML spec's lenient readers, keeps the *last* of two equal keys in one mapping: a
``seeds.yaml`` with ``AU1:`` written twice silently loses the first list, a config with ``select:``
twice loses the first section. :func:`load_yaml` reads like ``yaml.safe_load`` but raises
:class:`DuplicateKeyError` naming the key, its place and both line numbers. Merge keys (``<<:``)
keep their YAML meaning (a later explicit key may override a merged one).

Imports only PyYAML: it runs at Snakefile parse time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DuplicateKeyError(yaml.YAMLError, ValueError):
    """A mapping holds the same key twice; the message names the key and both lines."""

    def __init__(self, key: Any, where: str, first_line: int, second_line: int, source: str = "<yaml>"):
        self.key, self.where, self.first_line, self.second_line = key, where, first_line, second_line
        place = f" in {where}" if where else " at the top level"
        super().__init__(
            f"{source}: key {key!r}{place} is written twice (lines {first_line} and {second_line}); "
            "the second would silently replace the first. Fix: merge the two into one entry."
        )


def _loader(source: str):
    class StrictLoader(yaml.SafeLoader):
        """SafeLoader whose mappings refuse a key that is already present."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.get(key)
                    except TypeError:  # an unhashable key: SafeLoader reports it itself
                        continue
                    line = key_node.start_mark.line + 1
                    if first is not None:
                        raise DuplicateKeyError(key, _where(self, node), first, line, source)
                    seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _where(loader, node) -> str:
    """The dotted path of ``node`` from the document root (``aus``, ``select.thresholds``…)."""
    path: list[str] = []

    def find(current, target) -> bool:
        if current is target:
            return True
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                path.append(str(k.value) if isinstance(k, yaml.ScalarNode) else "?")
                if find(v, target):
                    return True
                path.pop()
        elif isinstance(current, yaml.SequenceNode):
            for i, v in enumerate(current.value):
                path.append(f"[{i}]")
                if find(v, target):
                    return True
                path.pop()
        return False

    root = getattr(loader, "_strict_root", None)
    if root is None or not find(root, node):
        return ""
    return ".".join(path).replace(".[", "[")


def load_yaml(text: str, source: str = "<yaml>") -> Any:
    """``yaml.safe_load(text)`` that raises :class:`DuplicateKeyError` for a key written twice in one mapping."""
    loader = _loader(source)(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        loader._strict_root = root
        return loader.construct_document(root)
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path) -> Any:
    """:func:`load_yaml` of a file; the error names ``path``."""
    path = Path(path)
    return load_yaml(path.read_text(encoding="utf-8"), source=str(path))
