"""No operator text is written outside the catalogs (bot/texts/, and the English of engine and
storage in engine/texts.py and storage/texts.py), so a Spanish operator never gets an English
sentence.

Read from the source (ast): errors are raised with catalog keys, bot/ hands platforms no
literal sentence, and every key the code names exists in both languages. What must stay a
literal is listed below with the reason.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot import texts
from bot.texts import CATALOGS
from engine import texts as engine_texts
from storage import texts as storage_texts

ROOT = Path(__file__).resolve().parents[3]

# Terminal tools for whoever runs the server: English throughout (their help, tables and
# prompts too); operators in chat never see them.
ENGLISH_TOOLS = {"bot/cli/main.py", "bot/cli/common.py", "bot/cli/sessions.py", "bot/demo.py"}

# Calls whose first argument (after `lang` for a bare `t(lang, key)`) is a catalog key.
KEYED = {"InvalidInput", "CommandError", "Denied", "phrase", "t", "say"}
# Calls with a key that must be a literal, so that this test can check it.
LITERAL_KEY = {"InvalidInput", "CommandError", "Denied", "phrase"}
# Whatever reaches an operator's chat: the Reply capability, the adapters' senders, pushes.
SENDS = {
    "text",
    "send",
    "progress",
    "update",
    "image",
    "file",
    "send_long",
    "send_media",
    "send_file",
    "_send",
    "respond",
    "post",
    "answer",
    "print_block",
    "ConfirmPrompt",
    "Proposal",
    "Outgoing",
}
# Values that carry a reason to operators, in engine/ and storage/ too: a `Text`, never a
# literal (storage's errors reach operators through the dispatcher's "Could not do it: ...").
REASONS = {"InvalidPhone", "RejectedRow", "NotFound", "AlreadyExists", "LastOwner"}
PACKAGES = ("bot", "engine", "storage")
# Arguments of those calls that are no text: file names and styling.
NOT_TEXT = {"filename", "file_name", "name", "style", "title", "channel", "chat", "parse_mode"}
# Functions whose returned string is put into operator texts.
TEXT_PROPERTIES = {"private_hint"}

# (file, the literal or the call's source) -> why it stays.
ALLOWED = {
    ("bot/push/chart.py", "IN"): "legend of the digest chart in its 3x5 bitmap font (digits and "
    "I, N, O, U, T only); the caption next to it says the colours in the operator's language",
    ("bot/push/chart.py", "OUT"): "as IN",
    ("bot/commands/conversations.py", "f'{until:%Y-%m-%d %H:%M} UTC'"): "a time and its zone",
    ("bot/commands/sessions.py", "f'{s.state_changed_at:%Y-%m-%d %H:%M} UTC'"): "as above",
    ("bot/commands/dispatcher.py", "en"): "CommandError.text('en'): the audit log's English",
    (
        "bot/console.py",
        "f'{prompt.text}\\n\\n/yes = {prompt.confirm_label} · /no = {prompt.cancel_label}'",
    ): "the console's /yes and /no commands as typed; the labels come from the catalog",
    ("engine/errors.py", "key"): "InvalidInput passes its own key on; each raise is checked",
    ("engine/phones.py", "key"): "a value of _PARSE_REASONS: key-like constants are checked",
    ("engine/remote.py", "fields['key']"): "a worker's InvalidInput passed on to the bot: its"
    " key was checked where the worker raised it",
    ("engine/phones.py", "_POSSIBLE_REASONS[possible]"): "as above, _POSSIBLE_REASONS",
}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str
    literal: str  # the text as written (an f-string as source), for ALLOWED

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _modules(package: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("bot/texts/") or rel in ("engine/texts.py", "storage/texts.py"):
            continue
        if rel in ENGLISH_TOOLS or "/migrations/" in rel:  # migrations speak to the sysadmin
            continue
        if "/simulator/" in rel:  # the fake WhatsApp Web: its words are WhatsApp's, not ours
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _words(node: ast.expr) -> bool:
    """A string literal (or an f-string's literal parts) with a letter in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(char.isalpha() for char in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(part, ast.Constant) and any(char.isalpha() for char in str(part.value))
            for part in node.values
        )
    return False


def _pieces(node: ast.expr) -> Iterator[ast.expr]:
    """The expressions a string may come from: both sides of `a if c else b`, `a or b`, `a + b`."""
    if isinstance(node, ast.IfExp):
        yield from _pieces(node.body)
        yield from _pieces(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _pieces(value)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _pieces(node.left)
        yield from _pieces(node.right)
    else:
        yield node


def _shown(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ast.unparse(node)


def _key_argument(call: ast.Call, name: str) -> ast.expr | None:
    index = 1 if name == "t" and isinstance(call.func, ast.Name) else 0
    return call.args[index] if len(call.args) > index else None


def _scan(rel: str, tree: ast.Module) -> Iterator[Finding]:
    """Keys that are no catalog's anywhere; in bot/, sentences handed to platforms too."""
    in_bot = rel.startswith("bot/")
    for node in ast.walk(tree):
        if in_bot and isinstance(node, ast.FunctionDef) and node.name in TEXT_PROPERTIES:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    for value in _pieces(inner.value):
                        if _words(value):
                            shown = _shown(value)
                            yield Finding(rel, inner.lineno, f"returns {shown!r}", shown)
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in KEYED:
            key = _key_argument(node, name)
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                missing = [lang for lang, catalog in CATALOGS.items() if key.value not in catalog]
                if missing:
                    what = f"{name}({key.value!r}): no such key in {'/'.join(missing)}"
                    yield Finding(rel, node.lineno, what, key.value)
            elif key is not None and name in LITERAL_KEY:
                shown = _shown(key)
                yield Finding(rel, node.lineno, f"{name}({shown}): not a literal key", shown)
            for param in node.keywords:
                for value in _pieces(param.value):
                    if _words(value):
                        shown = _shown(value)
                        what = f"{name}(..., {param.arg}={shown!r})"
                        yield Finding(rel, node.lineno, what, shown)
        elif (in_bot and name in SENDS) or name in REASONS:
            arguments = list(node.args[1:] if name == "file" else node.args)
            arguments += [k.value for k in node.keywords if k.arg not in NOT_TEXT]
            for value in (piece for argument in arguments for piece in _pieces(argument)):
                if _words(value):
                    shown = _shown(value)
                    yield Finding(rel, node.lineno, f"{name}({shown!r})", shown)


def test_no_operator_text_is_written_outside_the_catalogs() -> None:
    found = [
        str(finding)
        for package in PACKAGES
        for rel, tree in _modules(package)
        for finding in _scan(rel, tree)
        if (rel, finding.literal) not in ALLOWED
    ]
    assert found == []


def test_what_is_allowed_is_still_there() -> None:
    """An allowance whose literal is gone must go too, or it would hide the next one."""
    present = {
        (rel, finding.literal)
        for package in PACKAGES
        for rel, tree in _modules(package)
        for finding in _scan(rel, tree)
    }
    assert sorted(set(ALLOWED) - present) == []


def test_the_scan_finds_what_it_looks_for() -> None:
    source = """
async def handler(ctx, reply, value):
    raise InvalidInput(f"{value!r} is not valid")
    raise CommandError("no.such.key")
    raise InvalidInput("phone.empty")
    await reply.text("Done!")
    await ctx.send(f"{value} saved", filename="x.txt")
    await reply.file("report.csv", b"", "Here it is")
    await ctx.say("reply.sent", what="the message")
    await reply.text(t(ctx.lang, "confirm.cancelled"))
    await reply.text(ctx.t("output.as_file") if value else "Nothing")
    raise InvalidPhone(value, "too short")

def private_hint(self):
    return "@" + value if value else "the bot"
"""
    found = sorted(f.what for f in _scan("bot/probe.py", ast.parse(source)))
    assert found == sorted(
        [
            "returns 'the bot'",
            "InvalidInput(f'{value!r} is not valid'): not a literal key",
            "CommandError('no.such.key'): no such key in es/en",
            "text('Done!')",
            "send(\"f'{value} saved'\")",
            "file('Here it is')",
            "say(..., what='the message')",
            "text('Nothing')",
            "InvalidPhone('too short')",
        ]
    )


def _engine_key_constants() -> dict[str, list[str]]:
    """Every string constant in engine/ shaped like a key of the engine area, and where."""
    prefixes = {key.split(".")[0] for key in engine_texts.EN}
    used: dict[str, list[str]] = {}
    for rel, tree in _modules("engine"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if _KEY_RE.match(value) and value.split(".")[0] in prefixes:
                    used.setdefault(value, []).append(f"{rel}:{node.lineno}")
    return used


def test_every_key_the_engine_uses_is_in_both_catalogs_and_every_text_is_used() -> None:
    used = _engine_key_constants()
    missing = {
        key: places
        for key, places in used.items()
        if any(key not in catalog for catalog in CATALOGS.values())
    }
    assert missing == {}
    assert sorted(set(engine_texts.EN) - set(used)) == [], "texts nothing says"


def test_no_key_is_defined_in_two_places() -> None:
    """The catalogs are merged: a key in two areas would silently hide one of them."""
    for language in ("EN", "ES"):
        sources = [getattr(area, language) for area in texts._AREAS]
        counts = Counter(key for catalog in sources for key in catalog)
        assert sorted(key for key, count in counts.items() if count > 1) == []


def test_every_module_of_the_texts_is_an_area() -> None:
    """A catalog module left out of the merge would be texts nobody can look up."""
    modules = {path.stem for path in (ROOT / "bot" / "texts").glob("*.py")} - {"__init__"}
    assert sorted(modules) == sorted(area.__name__.rsplit(".", 1)[1] for area in texts._AREAS)


def test_every_storage_text_is_in_both_catalogs_and_used() -> None:
    used = {
        node.value
        for _rel, tree in _modules("storage")
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if node.value in storage_texts.EN or node.value.startswith("record.")
    }
    assert sorted(k for k in used if any(k not in c for c in CATALOGS.values())) == []
    assert sorted(set(storage_texts.EN) - used) == [], "texts nothing says"


def test_engine_keys_do_not_share_a_prefix_with_the_bot() -> None:
    """Where a key is defined shows in its first word: engine texts need no bot code to read."""
    engine_prefixes = {key.split(".")[0] for key in engine_texts.EN}
    bot_keys = set(CATALOGS["en"]) - set(engine_texts.EN)
    assert sorted({key for key in bot_keys if key.split(".")[0] in engine_prefixes}) == []
