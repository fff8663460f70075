"""Credentials: which names hold one, and how they are masked in any text sqllake shows.

Error messages, the command line's log file, EXPLAIN and SHOW output all pass through
:func:`mask`, which replaces with ``***``:

- the password of a URL's user info: ``postgresql://user:secret@host/db`` (also the bare
  ``user:secret@host`` some messages quote without a scheme);
- the value of a ``key=value`` pair whose key names a credential: query parameters
  (``?password=...``, a presigned URL's ``X-Amz-Signature=...``), libpq's DSN form
  (``password='...'``), connection strings (``AccountKey=...;``);
- the value of a quoted ``'key': 'value'`` or ``'key' = 'value'`` pair whose key names a
  credential (Python's dict repr, SQL property lists);
- a ``Bearer`` token;
- values known to be secret, wherever they appear: those of the storage clients'
  credential variables (:data:`CREDENTIAL_VARIABLES`: ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SESSION_TOKEN``...) and those given to :func:`remember` (the catalog URI's
  password and the credentials among the catalog's properties). Values shorter than
  :data:`MIN_KNOWN` are only masked where their context marks them: searching for them
  everywhere would mask ordinary words.

A name holds a credential when its words (split at ``.``, ``-``, ``_`` and case
changes) include a secret word (``secret``, ``password``, ``token``, ``credential``,
``signature``...), a word ending in one (``sslpassword``), or a secret pair (``access
key``, ``account key``, ``connection string``...). That covers PyIceberg's
``s3.secret-access-key``, ``s3.session-token``, ``s3.access-key-id``,
``gcs.oauth2.token``, ``adls.account-key``, ``adls.sas-token``, ``client.secret`` and
``credential``. Access key ids are masked whole: they are half of a credential, and a
prefix would only help a guess.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_KNOWN = 6

SECRET_WORDS = frozenset(
    {
        "secret",
        "password",
        "passwd",
        "pwd",
        "token",
        "credential",
        "credentials",
        "signature",
        "sig",
        "apikey",
    }
)
# Run-together words: ``sslpassword``, ``accesstoken``, ``clientsecret``.
SECRET_ENDINGS = ("password", "passwd", "secret", "token", "credential", "credentials")
SECRET_PAIRS = frozenset(
    {
        ("access", "key"),
        ("account", "key"),
        ("private", "key"),
        ("api", "key"),
        ("connection", "string"),
    }
)

_CASE_CHANGE = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a property, parameter or variable called ``name`` holds a credential."""
    words = _WORD_SEPARATORS.split(_CASE_CHANGE.sub(r"\1 \2", name).lower())
    if any(w in SECRET_WORDS or w.endswith(SECRET_ENDINGS) for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


def mask_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """Properties to show: credentials' values masked whole, others as :func:`mask` has them."""
    return {k: MASK if is_secret_key(k) else mask(v) for k, v in properties.items()}


# Values registered as secret, searched for in every masked text. Replaced, never
# mutated, so a reader on another thread always sees a whole set.
_remembered: frozenset[str] = frozenset()


def remember(values: Iterable[str | None]) -> None:
    """Mask these values wherever they appear from now on (in this process)."""
    global _remembered
    found = {v for v in values if v and len(v) >= MIN_KNOWN}
    if not found <= _remembered:
        _remembered = _remembered | found


def remember_properties(properties: Mapping[str, str]) -> None:
    """Remember the values of the credentials among ``properties`` (a catalog's)."""
    remember(v for k, v in properties.items() if is_secret_key(k))


def remember_uri(uri: str | None) -> None:
    """Remember the password of a URI (a catalog's), decoded and as written."""
    if not uri or "://" not in uri:
        return
    try:
        password = urlsplit(uri).password
    except ValueError:  # an unparsable port: the patterns still mask the user info
        return
    if password:
        remember([password, unquote(password)])


# Credentials the storage clients read from the environment. (A PyIceberg catalog's
# own, from ``PYICEBERG_CATALOG__*`` or ``.pyiceberg.yaml``, are remembered when the
# catalog opens.)
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_CLIENT_SECRET",
)


def _known_values() -> list[str]:
    variables = (os.environ.get(name) for name in CREDENTIAL_VARIABLES)
    return [*_remembered, *(v for v in variables if v and len(v) >= MIN_KNOWN)]


Span = tuple[int, int]

# The value group of each pattern is the secret (quotes excluded); with a key group, only
# when the key names a credential.
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:(?P<value>[^\s/'\"]*)@")
_BARE_USERINFO = re.compile(r"(?<![^\s'\"(=,])[^\s:/@'\"]+:(?P<value>[^\s/'\"@]+)@(?=[\w\[])")
_KEY_VALUE = re.compile(
    r"(?<![\w.-])(?P<key>[A-Za-z][\w.-]*)\s*=\s*"
    r"(?:'(?P<single>(?:[^'\\]|\\.|'')*)'|\"(?P<double>(?:[^\"\\]|\\.)*)\"|(?P<value>[^\s&;,'\")]+))"
)
_QUOTED_PAIR = re.compile(
    r"(?P<q>['\"])(?P<key>[^'\"\s]+)(?P=q)\s*[:=]\s*"
    r"(?:'(?P<single>(?:[^'\\]|\\.|'')*)'|\"(?P<double>(?:[^\"\\]|\\.)*)\")"
)
_BEARER = re.compile(r"\bBearer\s+(?P<value>[A-Za-z0-9._~+/=-]+)")


def _pattern_spans(pattern: re.Pattern[str]) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for found in pattern.finditer(text):
            key = found.groupdict().get("key")
            if key is not None and not is_secret_key(key):
                continue
            for group in ("value", "single", "double"):
                if group in pattern.groupindex and found.group(group) is not None:
                    yield found.span(group)
                    break

    return find


def _known_spans(text: str) -> Iterator[Span]:
    # Case-insensitively: some messages upper-case what they quote.
    folded = text.casefold()
    haystack = folded if len(folded) == len(text) else text
    for value in _known_values():
        needle = value.casefold() if haystack is folded else value
        start = haystack.find(needle)
        while start != -1:
            yield start, start + len(needle)
            start = haystack.find(needle, start + len(needle))


_PATTERNS = tuple(
    _pattern_spans(p) for p in (_URL_USERINFO, _BARE_USERINFO, _KEY_VALUE, _QUOTED_PAIR, _BEARER)
)
# Text without these cannot match a pattern (most text shown: numbers, names).
_MAY_MATCH = re.compile(r"[@=:]|Bearer")


def secret_spans(text: str) -> list[Span]:
    """Where ``text`` holds credentials: sorted, non-overlapping, non-empty spans."""
    found = list(_known_spans(text))
    if _MAY_MATCH.search(text):
        found += [span for find in _PATTERNS for span in find(text)]
    spans = sorted(span for span in found if span[1] > span[0])
    merged: list[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_at(text: str, offset: int) -> tuple[str, int]:
    """``text`` masked, and where ``offset`` of the original lands in it (a position
    inside a masked value lands on the mask's start), so a caret still points right."""
    pieces: list[str] = []
    last = 0
    moved = offset
    for start, end in secret_spans(text):
        pieces += [text[last:start], MASK]
        last = end
        if end <= offset:
            moved -= (end - start) - len(MASK)
        elif start < offset:
            moved -= offset - start
    pieces.append(text[last:])
    return "".join(pieces), moved


def mask(text: str) -> str:
    """``text`` with every credential in it replaced by ``***``."""
    return mask_at(text, 0)[0]


def scrub(exc: BaseException) -> None:
    """Mask, in place, the messages of ``exc`` and of the exceptions chained to it
    (causes, contexts, SQLAlchemy's ``orig``): a traceback printed from it then shows
    no credential either."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        args = tuple(mask(a) if isinstance(a, str) else a for a in current.args)
        if args != current.args:
            current.args = args
        chained = (current.__cause__, current.__context__, getattr(current, "orig", None))
        pending += [e for e in chained if isinstance(e, BaseException)]
