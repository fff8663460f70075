"""The one lexer: literals, quoted names, dollar strings and comments, tolerant of text
still being typed; the splitter and completion read text the same way through it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sqllake.cli.complete import tokens
from sqllake.sql import split
from sqllake.sql.lexer import Token, lex, literal_end, semicolons


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in lex(text) if t.kind != "blank"]


def test_tokens_cover_the_text_in_order() -> None:
    text = "SELECT \"a\"\"b\", 'it''s', $t$x;y$t$, 1.5 -- done\n/* c */ FROM s.t;"
    found = list(lex(text))
    assert "".join(t.text for t in found) == text
    assert all(text[t.start : t.end] == t.text for t in found)
    assert kinds(text) == [
        ("word", "SELECT"),
        ("quoted", '"a""b"'),
        ("other", ","),
        ("string", "'it''s'"),
        ("other", ","),
        ("string", "$t$x;y$t$"),
        ("other", ","),
        ("number", "1.5"),
        ("comment", "-- done"),
        ("comment", "/* c */"),
        ("word", "FROM"),
        ("word", "s"),
        ("other", "."),
        ("word", "t"),
        ("other", ";"),
    ]


def test_escape_strings_take_backslashes_but_words_ending_in_e_do_not() -> None:
    assert kinds("E'a\\'b'") == [("word", "E"), ("string", "'a\\'b'")]
    assert kinds("some'a\\' b") == [("word", "some"), ("string", "'a\\'"), ("word", "b")]


def test_unterminated_literals_run_to_the_end() -> None:
    assert kinds("SELECT 'ab") == [("word", "SELECT"), ("string", "'ab")]
    assert kinds('FROM "Ev') == [("word", "FROM"), ("quoted", '"Ev')]
    assert kinds("x /* open") == [("word", "x"), ("comment", "/* open")]


@given(st.text(alphabet="ab;'\"$-/*\n E\\t_", max_size=40))
def test_splitter_and_completion_agree_on_statement_ends(text: str) -> None:
    # Every statement the splitter finds ends at a ";" token of the lexer, or at the end.
    ends = {t.start for t in lex(text) if t.text == ";"}
    for statement in split(text):
        after = statement.start + len(statement.text)
        rest = text[after:]
        semicolon = after + len(rest) - len(rest.lstrip())
        assert semicolon in ends or not rest.strip()
    assert all(isinstance(t, Token) for t in tokens(text))
    # The one-pass expression and literal_end delimit every literal and comment alike.
    for token in lex(text):
        if token.kind in ("string", "quoted", "comment"):
            assert literal_end(text, token.start) == token.end, token
        else:
            assert literal_end(text, token.start) is None, token
    assert list(semicolons(text)) == sorted(ends)
