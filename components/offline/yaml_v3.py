"""YAML read as the Pulumi CLI reads a stack file: gopkg.in/yaml.v3 v3.0.1 rules, not PyYAML's.

The CLI decodes Pulumi.<stack>.yaml with `yaml.Unmarshal` from gopkg.in/yaml.v3 (pulumi/pulumi
sdk/go/common/encoding/marshal.go, `yamlMarshaler.Unmarshal`; sdk/go.mod pins v3.0.1) into
`any`. Read at go-yaml/yaml v3.0.1 (commit f6f7691), that means:

- resolve.go `resolve()`: only true/True/TRUE, false/False/FALSE are booleans; yes/no/on/off
  stay strings (YAML 1.2). "", ~, null/Null/NULL are null. Plain scalars starting with a
  digit or a sign go through `strconv.ParseInt(s, 0, 64)` after removing every `_`: 0x1F is
  31, 0o17 and the YAML 1.1 spelling 017 are octal 15, 0b101 is 5; then ParseUint; then a
  float if `yamlStyleFloat` matches (so 08, not octal, is the float 8). `.5` and `.inf`/.nan
  are floats. `parseTimestamp` turns unquoted 2024-01-02 (and three more layouts) into a
  time.Time, which decode.go `scalar()` stores as is when decoding into `any`.
- decode.go `mapping()`: a key whose node kind and text repeat another key of the same
  mapping is an error, "line N: mapping key "k" already defined at line M". `<<` merges
  (explicit keys win, then the first merged mapping). Quoted and block scalars are strings.

Pulumi then turns every value into its config value (sdk/go/common/resource/config/object.go
`unmarshalObject` and `MarshalString`): a time.Time becomes `t.String()` (Go's
"2006-01-02 15:04:05.999999999 -0700 MST"), numbers and booleans are JSON-encoded by Go's
encoding/json (an integral float prints without a fraction, NaN and Inf fail), objects and
lists become JSON. This module gives back those values, and a `Note` wherever the result is
probably not what the user meant, for the stack file reader to word.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

Segment = str | int
PLAIN = "?plain"  # the tag this loader gives an untagged plain scalar: resolved here, not by PyYAML
_TAG_PREFIX = "tag:yaml.org,2002:"
_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# What other YAML tools (PyYAML, YAML 1.1) read as booleans and yaml.v3 keeps as text.
YAML11_BOOLS = frozenset(
    ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]
)
# strconv.ParseInt(s, 0, 64) after yaml.v3 removed the underscores.
_GO_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
# resolve.go allowedTimestampFormats: 2006-1-2T15:4:5.999999999Z07:00 (also with a lower-case
# t), "2006-1-2 15:4:5.999999999" and 2006-1-2.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[+-]\d{2}:\d{2})"
    r"| (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?)?"
)
INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
# decode.go refuses "excessive aliasing"; a plain cap on decoded nodes is enough here.
MAX_NODES = 100_000


class YamlError(Exception):
    """The CLI would refuse this document; `line` is 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Note:
    """A value YAML read differently from how it is written: `kind` is null, number, bool11
    or timestamp; `text` is the source text and `value` what the CLI passes on."""

    line: int
    path: tuple[Segment, ...]
    kind: str
    text: str
    value: Any


class _Resolver(BaseResolver):
    """Leave plain scalars unresolved (tag PLAIN) so yaml.v3's rules, not YAML 1.1's, apply."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)


def compose(text: str) -> yaml.Node | None:
    """The first document's node tree; marks give lines. Raises yaml.YAMLError."""
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None
        node = loader.get_node()
        if loader.check_node():
            raise YamlError(
                loader.get_node().start_mark.line + 1,
                "a second YAML document (---) follows; the Pulumi CLI reads only the first "
                "and ignores the rest: remove it",
            )
        return node
    finally:
        loader.dispose()


def go_float_text(value: float) -> str:
    """A float as Go's encoding/json writes it (encode.go floatEncoder): fixed notation for
    1e-6 <= |f| < 1e21, else the exponent form with e-07 cleaned up to e-7."""
    magnitude = abs(value)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    text = repr(value)
    return re.sub(r"e-0(\d)$", r"e-\1", text)


def cli_number(value: float) -> int | float:
    """The number the program gets back from the CLI's JSON: json.loads(go_float_text(f))."""
    text = go_float_text(value)
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def go_time_string(match: re.Match[str]) -> str:
    """time.Time.String() of a timestamp yaml.v3 parsed: "2024-01-02 00:00:00 +0000 UTC". An
    offset other than Z gets Go's fixed zone named by its offset (on a machine whose local zone
    has that offset Go prints the zone's name instead). ValueError: time.Parse refuses it."""
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    t_form = match.group(4) is not None
    clock = (4, 5, 6) if t_form else (9, 10, 11)
    hour, minute, second = (int(match.group(i) or 0) for i in clock)
    moment = datetime(year, month, day, hour, minute, second)
    fraction = ((match.group(7) if t_form else match.group(12)) or ".")[1:10].rstrip("0")
    zone = match.group(8) if t_form else "Z"
    offset = "+0000 UTC"
    if zone != "Z":
        if int(zone[1:3]) > 23 or int(zone[4:6]) > 59:
            raise ValueError(zone)
        name = f"{zone[0]}{zone[1:3]}{zone[4:6]}"
        offset = f"{name} {name}"
    return f"{moment:%Y-%m-%d %H:%M:%S}{'.' + fraction if fraction else ''} {offset}"


def _int_value(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint (no sign), as resolve() tries them."""
    if not _GO_INT.fullmatch(text):
        return None
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        number = int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    else:
        number = int(digits, 8 if digits.startswith("0") else 10)
    number = -number if text.startswith("-") else number
    if INT64[0] <= number <= INT64[1]:
        return number
    if text[0] not in "+-" and number <= UINT64_MAX:
        return number
    return None


def resolve_plain(text: str, tag: str = "") -> tuple[str, Any]:
    """resolve.go resolve(tag, in) for a scalar yaml.v3 does not take as a string: (its tag,
    its value). A Go timestamp is returned as its time.Time.String()."""
    if text in _NULLS:
        return "null", None
    if text in _BOOLS:
        return "bool", _BOOLS[text]
    if text in _SPECIAL_FLOATS:
        return "float", _SPECIAL_FLOATS[text]
    hint = text[:1]
    if hint == "." and _DOT_FLOAT.fullmatch(text):
        return "float", float(text)
    if hint.isdigit() or hint in "+-":
        timestamp = _TIMESTAMP.fullmatch(text) if tag in ("", "timestamp") else None
        if timestamp:
            try:
                return "timestamp", go_time_string(timestamp)
            except ValueError:
                pass  # time.Parse refuses it (month 13...): resolve() goes on
        plain = text.replace("_", "")
        number = _int_value(plain)
        if number is not None:
            return "int", number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = float(plain)
            if not math.isinf(value):  # ParseFloat's range error: the text stays a string
                return "float", value
    return "str", text


def _scalar(node: yaml.ScalarNode) -> tuple[str, Any]:
    """(kind, value) of one scalar, with yaml.v3's explicit-tag rules (resolve's defer)."""
    tag = node.tag
    if tag == PLAIN:
        return resolve_plain(node.value)
    short = tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else None
    if short == "str":
        return "str", node.value  # quoted, block scalar or !!str: indicatedString()
    if short == "binary":
        try:
            data = base64.b64decode("".join(node.value.split()), validate=True)
            return "str", data.decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise YamlError(
                node.start_mark.line + 1, "!!binary value contains invalid base64 data"
            ) from None
    if short not in ("null", "bool", "int", "float", "timestamp"):
        return "str", node.value  # a tag yaml.v3 cannot resolve: decoded as the text
    kind, value = resolve_plain(node.value, short)
    if kind == short:
        return kind, value
    if short == "float" and kind == "int":
        return "float", float(value)
    raise YamlError(
        node.start_mark.line + 1, f"cannot decode !!{kind} `{node.value}` as a !!{short}"
    )


def go_key(value: Any) -> str:
    """A non-string mapping key as Pulumi names it (fmt.Sprintf("%v", k) in unmarshalObject)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return go_float_text(value)
    return "<nil>" if value is None else str(value)


class Decoder:
    """Turns a composed node tree into the values the CLI passes on, collecting Notes."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self._count = 0
        self._active: set[int] = set()

    def value(self, node: yaml.Node, path: tuple[Segment, ...]) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise YamlError(node.start_mark.line + 1, "document contains excessive aliasing")
        if id(node) in self._active:
            raise YamlError(node.start_mark.line + 1, "an anchor's value contains itself")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar_value(node, path)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _scalar_value(self, node: yaml.ScalarNode, path: tuple[Segment, ...]) -> Any:
        line = node.start_mark.line + 1
        if _SURROGATE.search(node.value):  # scannerc.go refuses a \uD800-\uDFFF escape
            raise YamlError(line, "found invalid Unicode character escape code")
        kind, value = _scalar(node)
        plain = node.tag == PLAIN

        def note(what: str, passed: Any) -> None:
            self.notes.append(Note(line, path, what, node.value, passed))

        if kind == "float":
            if math.isnan(value) or math.isinf(value):
                raise YamlError(
                    line,
                    f"{node.value} is not a number the Pulumi CLI can pass on (Go's JSON has no "
                    "NaN or infinity, so it refuses the file); quote it or write a number",
                )
            value = cli_number(value)
        if kind == "null":
            note("null", None)
        elif kind in ("int", "float") and plain and str(value) != node.value:
            note("number", value)
        elif kind == "timestamp":
            note("timestamp", value)
        elif kind == "str" and plain and node.value in YAML11_BOOLS:
            note("bool11", value)
        return value

    def mapping(self, node: yaml.MappingNode, path: tuple[Segment, ...]) -> dict[str, Any]:
        seen: dict[tuple[type, str], int] = {}
        result: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(line, "a mapping key must be a plain name, not a list or object")
            if key_node.value == "<<" and key_node.tag in (PLAIN, "!", f"{_TAG_PREFIX}merge"):
                merges.append(value_node)
                continue
            ident = (type(key_node), key_node.value)
            if ident in seen:
                raise YamlError(
                    line,
                    f'mapping key "{key_node.value}" already defined at line {seen[ident]}; the '
                    "Pulumi CLI refuses the file (it does not keep the last one): keep one",
                )
            seen[ident] = line
            _, key = _scalar(key_node)
            name = key if isinstance(key, str) else go_key(key)
            if name in result:
                raise YamlError(line, f'mapping key "{key_node.value}" repeats "{name}"')
            result[name] = self.value(value_node, (*path, name))
        for merge in merges:
            self._merge(result, merge, path)
        return result

    def _merge(self, result: dict[str, Any], merge: yaml.Node, path: tuple[Segment, ...]) -> None:
        """decode.go merge(): keys already present win; a list merges its mappings in order."""
        items = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                raise YamlError(
                    merge.start_mark.line + 1,
                    "map merge requires map or sequence of maps as the value",
                )
            for key, value in self.mapping(item, path).items():
                result.setdefault(key, value)


def load(text: str) -> tuple[Any, list[Note]]:
    """The first document as the CLI decodes it, and the notes. Raises YamlError or
    yaml.YAMLError (syntax)."""
    node = compose(text.removeprefix("\ufeff"))  # readFileStripUTF8BOM (workspace/loaders.go)
    decoder = Decoder()
    return (None if node is None else decoder.value(node, ())), decoder.notes
