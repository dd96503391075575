"""Seeded mutation fuzzing of every reader on every fixture under ``tests/fixtures``.

Not a test module (pytest collects ``test_*.py`` only): ``tests/test_fuzz.py`` runs it for
about a minute, ``make fuzz`` for ten (``FUZZ_SECONDS``), or run it by hand::

    .venv/bin/python tests/fuzz.py --seconds 600 --workers 2 --seed 1

Each mutant is one fixture with one mutation (:data:`OPERATIONS`: byte flips, a stray ``"``, NUL
or Windows-1252 byte, a field over 128 KiB, up to 30,000 extra delimiters in a line, truncation,
duplicated, deleted and swapped lines, the whole file re-encoded (UTF-16 LE/BE with and without
BOM, UTF-8 with BOM, Windows-1252, CR or CRLF line ends), dates moved to the years 1, 1677, 1678,
2262, 2263 or 9999, numbers made huge or infinite, deep JSON, an unknown XML encoding, a corrupt
zip, a file of ``""``, one raw byte added or lost in a UTF-16 file, a JSON escape that is no
character (a lone surrogate) or a NUL inside a string). It is read by the reader of
the fixture's format (and, one mutant in four, by format sniffing) in a worker process, and its
outcome must be one of:

- a balanced :class:`~soleus_analysis.core.recording.Recording` (``rows_read == rows_kept +
  sum(rows_dropped.values())``) that loses no row silently (the rule below);
- an :class:`~soleus_analysis.core.errors.InputError` naming the mutant's file;

within :data:`TIME_BOUND_S` seconds. Anything else is counted: another exception (a crash), a
hang (the worker is killed), an unbalanced account, or a silent loss.

Silent-loss rule (``docs/formats.md``, "Hostile input rules"): a mutant read by the fixture's
own format must report ``rows_read`` at least the original's ``rows_read`` less the lines the
mutation touched or removed (``damage``), less the extra lines of records that span several
lines in the mutant (quoted line breaks, counted with the csv module); a re-encoded mutant
(no damage) must give exactly the original's row account. For JSON and XML mutants that still
parse (checked with :mod:`json` and :mod:`defusedxml`), ``rows_read`` must equal the entries
of the list, or the top-level ``Record``/``Workout`` elements, the parser finds. Zip
archives and workbooks (no lines to count) and fixtures refused as they are (a Cronometer
export without times) are held to the outcome rules only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
#: A mutant whose reading takes longer than this is a hang (its worker is killed).
TIME_BOUND_S = 20.0
#: Examples kept of each kind of failure.
KEEP_EXAMPLES = 5

#: the operations the golden readers' mutants were drawn from (``tests/golden_readers.py``),
#: in their order: a new operation goes in :data:`OPERATIONS` only, so those mutants stay
GOLDEN_OPERATIONS: tuple[str, ...] = (
    "flip_byte",
    "flip_bytes",
    "insert_quote",
    "insert_nul",
    "insert_cp1252",
    "insert_random",
    "huge_field",
    "extra_delimiters",
    "truncate",
    "duplicate_line",
    "delete_line",
    "swap_lines",
    "reencode",
    "date_out_of_range",
    "huge_number",
    "deep_json",
    "xml_encoding",
    "corrupt_zip",
    "only_quotes",
    "blank_line",
    "odd_byte",
)
#: every operation a fuzz run draws from
OPERATIONS: tuple[str, ...] = (*GOLDEN_OPERATIONS, "json_escape")
ENCODINGS = ("utf-16-le", "utf-16-be", "utf-16-le-bom", "utf-16-be-bom", "utf-8-bom", "cp1252")


@dataclass(frozen=True)
class Fixture:
    """One fixture and its original reading (the baseline of the silent-loss rule)."""

    path: str
    format: str
    rows_read: int
    rows_kept: int
    kind: str  # "csv", "json", "xml" or "zip" (an .xlsx workbook or a zip export)
    refused: bool = False  # read as it is, an InputError (an export refused on purpose)


@dataclass(frozen=True)
class Mutant:
    """The bytes of one mutant and what its mutation did."""

    data: bytes
    op: str
    damage: int  # lines of the original touched or removed; -1: exact account expected


@dataclass
class Report:
    """Counts of a fuzzing run."""

    mutants: int = 0
    balanced: int = 0
    input_errors: int = 0
    other: int = 0
    hangs: int = 0
    unbalanced: int = 0
    silent_losses: int = 0
    seconds: float = 0.0
    by_op: Counter = field(default_factory=Counter)
    #: format of the fixture (the reader fuzzed) -> outcome -> mutants
    by_reader: dict[str, Counter] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        """Mutants whose outcome breaks the rules (crash, hang, unbalanced, silent loss)."""
        return self.other + self.hangs + self.unbalanced + self.silent_losses

    def count(self, reader: str, kind: str) -> None:
        """Count one mutant of ``reader``'s fixtures whose outcome was ``kind``."""
        self.by_reader.setdefault(reader, Counter())[kind] += 1

    def table(self) -> str:
        """Mutants per reader and per outcome, as a Markdown table."""
        kinds = ("balanced", "input_error", "other", "hangs", "unbalanced", "silent_loss")
        head = "| reader | mutants | " + " | ".join(kinds) + " |"
        lines = [head, "|" + "---|" * (len(kinds) + 2)]
        for reader in sorted(self.by_reader):
            c = self.by_reader[reader]
            cells = " | ".join(str(c[k]) for k in kinds)
            lines.append(f"| {reader} | {sum(c.values())} | {cells} |")
        return "\n".join(lines)

    def note(self, kind: str, text: str) -> None:
        """Keep ``text`` as an example of ``kind`` (the first :data:`KEEP_EXAMPLES`)."""
        ex = self.examples.setdefault(kind, [])
        if len(ex) < KEEP_EXAMPLES:
            ex.append(text)

    def summary(self) -> str:
        """The counts, and the first examples of every kind of failure."""
        lines = [
            f"mutants: {self.mutants} in {self.seconds:.0f} s",
            f"balanced recordings: {self.balanced}",
            f"InputErrors: {self.input_errors}",
            f"other exceptions: {self.other}",
            f"hangs: {self.hangs}",
            f"unbalanced accounts: {self.unbalanced}",
            f"silent losses: {self.silent_losses}",
        ]
        for kind, ex in self.examples.items():
            lines.append(f"first {kind}:")
            lines.extend(f"  {e}" for e in ex)
        return "\n".join(lines)


# ------------------------------------------------------------------------------ the fixtures
def fixture_paths(root: Path = FIXTURES) -> list[Path]:
    """Every fixture file (licence notes excepted), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md",))


def _kind(path: Path, data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    head = data[:64].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").replace(b"\x00", b"")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"[", b"{")):
        return "json"
    return "csv"


def read_provenance(path: str, fmt: str | None):
    """Read ``path`` with the reader of ``fmt`` (sniffed when None); return its provenance."""
    import soleus_analysis as sa

    if fmt == "lab_ogtt" or (fmt is None and sa.detect_format(path) == "lab_ogtt"):
        return sa.read_lab(path).provenance
    opts = {"units": "mg/dL"}
    return sa.read_cgm(path, format=fmt, only_accepted_options=True, **opts).provenance


def baseline(paths: list[Path]) -> list[Fixture]:
    """Each fixture's format and row account, read as it is."""
    import soleus_analysis as sa

    out = []
    for p in paths:
        fmt = sa.detect_format(p)
        kind = _kind(p, p.read_bytes())
        try:
            prov = read_provenance(str(p), fmt)
        except sa.InputError:  # refused on purpose (a Cronometer export without times)
            out.append(Fixture(str(p), fmt, 0, 0, kind, refused=True))
            continue
        out.append(Fixture(str(p), fmt, prov.rows_read, prov.rows_kept, kind))
    return out


# ------------------------------------------------------------------------------ mutations
def _line_starts(data: bytes) -> np.ndarray:
    return np.concatenate([[0], np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1])


def _line_of(starts: np.ndarray, pos: int) -> int:
    return int(np.searchsorted(starts, pos, side="right") - 1)


def _delimiter(data: bytes) -> bytes:
    head = data[:4096]
    return max((b",", b";", b"\t"), key=head.count)


def _reencode(data: bytes, rng: np.random.Generator) -> bytes:
    from soleus_analysis.io.encoding import decode

    text = decode(data, "mutant").text
    ends = rng.choice(["\n", "\r\n", "\r"])
    text = text.replace("\n", str(ends))
    enc = str(rng.choice(ENCODINGS))
    if enc == "cp1252":
        try:
            return text.encode("cp1252")
        except UnicodeEncodeError:
            enc = "utf-8-bom"
    if enc == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    base = enc.replace("-bom", "")
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[base] if enc.endswith("bom") else b""
    return bom + text.encode(base)


def _replace_token(
    data: bytes, pattern: bytes, choices: list[bytes], rng: np.random.Generator, op: str
) -> Mutant:
    """``data`` with one match of ``pattern`` (chosen at random) replaced by one of ``choices``."""
    hits = [m.span() for m in re.finditer(pattern, data)]
    if not hits:
        return Mutant(data, op, 0)
    a, b = hits[int(rng.integers(0, len(hits)))]
    return Mutant(data[:a] + choices[int(rng.integers(0, len(choices)))] + data[b:], op, 1)


#: operations that make a whole new file (not edits of the fixture's text)
WHOLE_FILE_OPS = frozenset({"reencode", "corrupt_zip", "only_quotes", "deep_json", "odd_byte"})


def _utf16(data: bytes) -> str | None:
    """The codec of a UTF-16 fixture (by its BOM), else None."""
    if data.startswith(b"\xff\xfe"):
        return "utf-16-le"
    if data.startswith(b"\xfe\xff"):
        return "utf-16-be"
    return None


def mutate(data: bytes, rng: np.random.Generator, kind: str, op: str | None = None) -> Mutant:
    """One mutant of ``data`` (a fixture of ``kind``: csv/json/xml) by ``op`` (random if None).

    A UTF-16 fixture (iPro2) is edited as text: the edit is made to its UTF-8 form and the
    result written back in the fixture's UTF-16 (bytes that are not UTF-8 become U+FFFD), as
    a tool editing the file would. One byte inserted into raw UTF-16 shifts every later code
    unit, which destroys the rest of the file rather than one line, and no reader could say
    which rows were meant; whole-file operations act on the raw bytes.
    """
    op = op or str(rng.choice(OPERATIONS))
    codec = _utf16(data)
    if codec is not None and op not in WHOLE_FILE_OPS:
        text = data[2:].decode(codec)
        m = _mutate(text.encode("utf-8"), rng, kind, op)
        back = m.data.decode("utf-8", errors="replace")
        return Mutant(data[:2] + back.encode(codec, errors="surrogatepass"), m.op, m.damage)
    return _mutate(data, rng, kind, op)


def _mutate(data: bytes, rng: np.random.Generator, kind: str, op: str) -> Mutant:
    n = len(data)
    starts = _line_starts(data)
    nlines = len(starts)
    pos = int(rng.integers(0, max(n, 1)))
    line = _line_of(starts, pos)

    def insert(chunk: bytes, at: int = pos) -> bytes:
        return data[:at] + chunk + data[at:]

    def whole_line(i: int) -> tuple[int, int]:
        a = int(starts[i])
        b = int(starts[i + 1]) if i + 1 < nlines else n
        return a, b

    if op == "flip_byte":
        b = data[pos] ^ (1 << int(rng.integers(0, 8))) if n else 0
        out = data[:pos] + bytes([b]) + data[pos + 1 :]
        return Mutant(out, op, 2 if n and data[pos] in (10, 13) or b in (10, 13) else 1)
    if op == "flip_bytes":
        out = bytearray(data)
        k = int(rng.integers(2, 9))
        touched = set()
        for p in rng.integers(0, max(n, 1), size=k):
            out[int(p)] = int(rng.integers(0, 256))
            touched |= {_line_of(starts, int(p)), _line_of(starts, int(p)) + 1}
        return Mutant(bytes(out), op, len(touched))
    if op == "insert_quote":
        return Mutant(insert(b'"'), op, 1)
    if op == "insert_nul":
        return Mutant(insert(b"\x00"), op, 1)
    if op == "insert_cp1252":
        at = int(rng.integers(min(n, 65536), n + 1)) if n > 65536 else pos
        return Mutant(insert(bytes([int(rng.choice([0xE9, 0x96, 0x80, 0xA0]))]), at), op, 1)
    if op == "insert_random":
        return Mutant(insert(rng.bytes(int(rng.integers(1, 17)))), op, 1)
    if op == "huge_field":
        filler = bytes(rng.choice([b"x", b"9", b" "])) * int(rng.integers(131_073, 300_000))
        return Mutant(insert(filler), op, 1)
    if op == "extra_delimiters":
        target = int(rng.integers(0, min(nlines, 30)))  # often the header or a first data row
        a, b = whole_line(target)
        at = int(rng.integers(a, max(a, b - 1) + 1))
        k = int(rng.choice([1, 2, 10, 1000, 30_000]))
        return Mutant(insert(_delimiter(data) * k, at), op, 1)
    if op == "truncate":
        return Mutant(data[:pos], op, nlines - line)
    if op == "duplicate_line":
        a, b = whole_line(line)
        chunk = data[a:b] if data[a:b].endswith(b"\n") else data[a:b] + b"\n"
        return Mutant(data[:a] + chunk * int(rng.integers(2, 5)) + data[b:], op, 1)
    if op == "delete_line":
        a, b = whole_line(line)
        return Mutant(data[:a] + data[b:], op, 1)
    if op == "swap_lines" and nlines > 3:
        i = int(rng.integers(0, nlines - 2))
        a, b = whole_line(i)
        c, d = whole_line(i + 1)
        if not data[c:d].endswith(b"\n"):
            return Mutant(data, op, 0)
        return Mutant(data[:a] + data[c:d] + data[a:b] + data[d:], op, 2)
    if op == "reencode":
        if kind == "zip":  # binary: no text to re-encode
            return Mutant(data, op, 0)
        return Mutant(_reencode(data, rng), op, -1)
    if op == "date_out_of_range":
        years = [b"0001", b"1677", b"1678", b"2262", b"2263", b"9999"]
        return _replace_token(data, rb"(?<!\d)(?:19|20)\d\d(?!\d)", years, rng, op)
    if op == "huge_number":
        big = [b"1e400", b"-1e400", b"99999999999999999999", b"1e30", b"inf", b"nan"]
        return _replace_token(data, rb"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", big, rng, op)
    if op == "deep_json":
        depth = int(rng.choice([1000, 100_000]))
        if kind == "json":
            return Mutant(b"[" * depth + b"]" * depth, op, nlines)
        return Mutant(insert(b"[" * depth), op, 1)
    if op == "xml_encoding":
        name = bytes(rng.choice([b"x-unknown-42", b"UTF-7", b"ebcdic-cp-us", b"utf-16"]))
        decl = b'<?xml version="1.0" encoding="' + name + b'"?>'
        if kind == "xml" and data.startswith(b"<?xml"):
            end = data.find(b"?>") + 2
            return Mutant(decl + data[end:], op, 1)
        return Mutant(decl + b"\n" + data, op, 1)
    if op == "corrupt_zip":
        head = b"PK\x03\x04" + rng.bytes(int(rng.integers(0, 200)))
        return Mutant(head + data[: int(rng.integers(0, max(n, 1)))], op, nlines)
    if op == "only_quotes":
        return Mutant(b'""' * int(rng.integers(1, 4)) + b"\n" * int(rng.integers(0, 3)), op, nlines)
    if op == "blank_line":
        return Mutant(insert(b"\n"), op, 1)
    if op == "json_escape":  # valid JSON text that is no character, or a NUL, in a string
        quotes = [m.end() for m in re.finditer(rb'"(?=[^"\s,:\]\}])', data)]
        at = int(rng.choice(quotes)) if quotes else pos
        esc = bytes(rng.choice([b"\\ud800", b"\\udfff", b"\\udc00\\ud800", b"\\u0000", b"\\uffff"]))
        return Mutant(insert(esc, at), op, 1)
    if op == "odd_byte":  # one raw byte added or lost: UTF-16 read out of step from there
        if rng.random() < 0.5 and n:
            return Mutant(data[:pos] + data[pos + 1 :], op, 2)
        return Mutant(insert(bytes([int(rng.integers(0, 256))])), op, 2)
    return Mutant(data, op, 0)


# ------------------------------------------------------------------------------ the rules
def _records_extra_lines(data: bytes) -> int:
    """Extra lines of records that span several lines (quoted line breaks), by the csv module."""
    from soleus_analysis.core.errors import InputError
    from soleus_analysis.io.encoding import decode

    try:
        text = decode(data, "mutant").text
    except InputError:
        return 0
    if '"' not in text:
        return 0
    reader = csv.reader(io.StringIO(text), delimiter=max((",", ";", "\t"), key=text[:4096].count))
    extra, prev = 0, 0
    try:
        for _ in reader:
            extra += max(0, reader.line_num - prev - 1)
            prev = reader.line_num
    except csv.Error:
        pass
    return extra


def expected_rows(fix: Fixture, mutant: Mutant) -> tuple[int | None, bool]:
    """(rows the reader must at least report, whether exactly) for a mutant read by the
    fixture's own format; None when the rule asks nothing (structured data that no longer
    parses is an InputError's business; a fixture refused as it is, or a zip or workbook, whose
    bytes have no lines to count)."""
    if fix.refused or fix.kind == "zip":
        return None, False
    if fix.kind == "json":
        try:
            data = json.loads(mutant.data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None, False
        if isinstance(data, dict) and isinstance(data.get("result"), list):
            data = data["result"]
        return (len(data), True) if isinstance(data, list) else (None, False)
    if fix.kind == "xml":
        from defusedxml import ElementTree

        try:
            root = ElementTree.fromstring(mutant.data)
        except Exception:
            return None, False
        return sum(1 for el in root if el.tag in ("Record", "Workout")), True
    if mutant.damage < 0:
        return fix.rows_read, True
    return fix.rows_read - mutant.damage - _records_extra_lines(mutant.data), False


def outcome(fix: Fixture, mutant: Mutant, path: str, sniff: bool) -> tuple[str, str]:
    """Read one mutant; return (kind of outcome, detail)."""
    from soleus_analysis.core.errors import InputError

    try:
        prov = read_provenance(path, None if sniff else fix.format)
    except InputError as exc:
        if exc.path is None or os.path.basename(exc.path) != os.path.basename(path):
            return "other", f"InputError not naming the file: {exc}"
        return "input_error", str(exc)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "soleus_analysis" in f.filename] or frames
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}"
        return "other", f"{type(exc).__name__}: {str(exc)[:200]} [{where}]"
    if not prov.balanced:
        return "unbalanced", prov.summary()
    if sniff and prov.format != fix.format:
        return "balanced", ""
    want, exact = expected_rows(fix, mutant)
    if want is not None and (prov.rows_read != want if exact else prov.rows_read < want):
        return "silent_loss", f"rows_read {prov.rows_read}, expected {'' if exact else '>= '}{want}"
    if (
        mutant.damage < 0
        and fix.kind == "csv"
        and not fix.refused
        and prov.rows_kept != fix.rows_kept
    ):
        return "silent_loss", f"re-encoded: rows_kept {prov.rows_kept} != {fix.rows_kept}"
    return "balanced", ""


# ------------------------------------------------------------------------------ workers
def _worker(conn, fixtures: list[Fixture], folder: str, ops: tuple[str, ...] | None) -> None:
    import warnings

    warnings.simplefilter("ignore")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    originals = [Path(f.path).read_bytes() for f in fixtures]
    while True:
        job = conn.recv()
        if job is None:
            return
        idx, seed = job
        fix = fixtures[idx]
        rng = np.random.default_rng(seed)
        op = str(rng.choice(ops)) if ops else None
        mutant = mutate(originals[idx], rng, fix.kind, op)
        sniff = bool(rng.random() < 0.25)
        path = os.path.join(folder, f"mutant_{seed}{Path(fix.path).suffix}")
        Path(path).write_bytes(mutant.data)
        try:
            kind, detail = outcome(fix, mutant, path, sniff)
        finally:
            os.unlink(path)
        conn.send((kind, mutant.op, detail))


def run(
    seconds: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    max_mutants: int | None = None,
    paths: list[Path] | None = None,
    verbose: bool = False,
    ops: tuple[str, ...] | None = None,
) -> Report:
    """Fuzz for ``seconds`` (or ``max_mutants``) on ``workers`` processes; return the counts.

    Mutant ``k`` of the run is fixture ``k mod F`` mutated with seed ``seed * 10**9 + k``, so a
    run is reproduced by its seed (and a reported mutant by its seed alone). ``ops`` limits the
    mutations to some of :data:`OPERATIONS`.
    """
    fixtures = baseline(paths or fixture_paths())
    report = Report()
    ctx = mp.get_context("spawn")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soleus-fuzz-") as folder:

        def start():
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, fixtures, folder, ops), daemon=True)
            proc.start()
            return [proc, parent, None, 0.0]  # process, pipe, job, started

        pool = [start() for _ in range(workers)]
        k = 0

        def more() -> bool:
            if max_mutants is not None:
                return k < max_mutants
            return time.monotonic() - t0 < seconds

        while True:
            for w in pool:
                if w[2] is None and more():
                    w[2] = (k % len(fixtures), seed * 10**9 + k)
                    w[3] = time.monotonic()
                    w[1].send(w[2])
                    k += 1
            busy = [w for w in pool if w[2] is not None]
            if not busy:
                break
            ready = mp.connection.wait([w[1] for w in busy], timeout=0.5)
            for w in busy:
                fix = fixtures[w[2][0]]
                where = f"{Path(fix.path).relative_to(FIXTURES)} seed {w[2][1]}"
                if w[1] in ready:
                    kind, op, detail = w[1].recv()
                    report.mutants += 1
                    report.by_op[op] += 1
                    report.count(fix.format, kind)
                    if kind == "balanced":
                        report.balanced += 1
                    elif kind == "input_error":
                        report.input_errors += 1
                    else:
                        attr = {"silent_loss": "silent_losses"}.get(kind, kind)
                        setattr(report, attr, getattr(report, attr) + 1)
                        report.note(kind, f"{where} ({op}): {detail}")
                        if verbose:
                            print(f"{kind}: {where} ({op}): {detail}", flush=True)
                    w[2] = None
                elif time.monotonic() - w[3] > TIME_BOUND_S:
                    w[0].kill()
                    w[0].join()
                    report.mutants += 1
                    report.hangs += 1
                    report.count(fix.format, "hangs")
                    report.note("hangs", f"{where}: over {TIME_BOUND_S:.0f} s")
                    w[:] = start()
        for w in pool:
            w[1].send(None)
            w[0].join(timeout=5)
            if w[0].is_alive():
                w[0].kill()
    report.seconds = time.monotonic() - t0
    return report


def replay(
    seed: int, paths: list[Path] | None = None, ops: tuple[str, ...] | None = None
) -> tuple[Fixture, Mutant, bool]:
    """The fixture, mutant and sniffing choice of a reported seed (as :func:`run` made them)."""
    fixtures = baseline(paths or fixture_paths())
    fix = fixtures[(seed % 10**9) % len(fixtures)]
    rng = np.random.default_rng(seed)
    op = str(rng.choice(ops)) if ops else None
    mutant = mutate(Path(fix.path).read_bytes(), rng, fix.kind, op)
    return fix, mutant, bool(rng.random() < 0.25)


def main(argv: list[str] | None = None) -> int:
    """Command line: fuzz for ``--seconds`` (default ``$FUZZ_SECONDS`` or 600) and print counts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 600)))
    ap.add_argument("--workers", type=int, default=int(os.environ.get("FUZZ_WORKERS", 2)))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 1)))
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--ops", help="comma-separated operations (default: all)")
    ap.add_argument(
        "--fixtures", help="glob of fixtures under tests/fixtures (default: all), e.g. 'ipro2/*'"
    )
    args = ap.parse_args(argv)
    ops = tuple(args.ops.split(",")) if args.ops else None
    paths = sorted(FIXTURES.glob(args.fixtures)) if args.fixtures else None
    if paths is not None and not paths:
        ap.error(f"no fixture matches {args.fixtures!r}")
    report = run(args.seconds, args.workers, args.seed, paths=paths, verbose=args.verbose, ops=ops)
    print(report.summary())
    print(report.table())
    print("by operation: " + ", ".join(f"{op} {n}" for op, n in sorted(report.by_op.items())))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
