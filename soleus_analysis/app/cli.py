"""The ``soleus`` command.

Every subcommand's ``--help`` shows an example. Bad usage or bad input exits with code 2 and a
one-line message naming the file and row; ``--debug`` shows the traceback instead.

The analysis is imported inside each command, not at the top: ``soleus --help`` and a usage
error then answer without loading pandas, scipy and matplotlib (seconds on a small machine).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..core.errors import InputError, UsageError, command_line_words, describe
from ..core.outputs import spreadsheet_safe, write_atomic, write_set, write_table
from ..core.rules import BASELINE_RULES, Rules

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main", "spreadsheet_safe", "write_table"]


class _Ctx:
    """Per-invocation state: tracebacks, file names shown or not, the labels of input files."""

    debug: bool = False
    show_file_names: bool = False
    #: --time-column and the other plain-table options of this invocation
    columns: dict[str, str] = {}
    labels: dict[str, str] = {}

    @classmethod
    def reset(cls) -> None:
        cls.debug, cls.show_file_names, cls.labels, cls.columns = False, False, {}, {}

    @classmethod
    def label(cls, mapping: dict[str, str]) -> None:
        """Remember how messages name these input files (path as given -> label)."""
        cls.labels.update(mapping)

    @classmethod
    def name(cls, path: str | os.PathLike) -> str:
        """A file as the terminal shows it: its label unless file names are asked for."""
        if cls.show_file_names:
            return str(path)
        return cls.labels.get(str(path), "input file")

    @classmethod
    def line(cls, exc: BaseException) -> str:
        return describe(exc, cls.labels, cls.show_file_names)


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``soleus inspect | head``): stop without a word."""
    try:  # later flushes of stdout must not raise again at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(141)  # as if killed by SIGPIPE (128 + 13), the shell's convention


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input, usage and environment errors: one line and exit code 2; bugs: exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("soleus: interrupted", err=True)
            sys.exit(130)
        except (InputError, UsageError, OSError) as exc:
            if _Ctx.debug:
                raise
            click.echo(f"soleus: error: {_Ctx.line(exc)}", err=True)
            sys.exit(2)
        except Exception as exc:  # an internal error: one line unless --debug
            if _Ctx.debug:
                raise
            click.echo(
                f"soleus: internal error: {type(exc).__name__}: {_Ctx.line(exc)} "
                "(run with --debug for details)",
                err=True,
            )
            sys.exit(1)

    return wrapper


def _on_sigterm(signum: int, frame: Any) -> None:
    """Turn SIGTERM into SystemExit so temporary output files are removed on the way out."""
    raise SystemExit(128 + signum)


def _show_names(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _Ctx.show_file_names = True


_SHOW_NAMES_HELP = (
    "Print input file names in messages, tables and PDFs (default: a label such as "
    "'CGM export 1' and a short SHA-256, since file names often carry the person's name)."
)


def _privacy_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--show-file-names",
        is_flag=True,
        expose_value=False,
        callback=_show_names,
        help=_SHOW_NAMES_HELP,
    )(fn)


class _OneLineGroup(click.Group):
    """click's usage errors on one line (``soleus: error: ... (see 'soleus CMD --help')``)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else "soleus"
            hint = f" (see '{where} --help')" if isinstance(exc, click.UsageError) else ""
            msg = " ".join(exc.format_message().split())
            click.echo(f"soleus: error: {msg}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("soleus: aborted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(
    cls=_OneLineGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n\n\b\n  soleus inspect clarity_export.csv\n"
    "  soleus report --cgm clarity_export.csv --events my_spu_log.csv -o report.pdf\n"
    "  soleus reproduce --protocol hamilton2022 --json result.json",
)
@click.version_option(__version__, prog_name="soleus")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.option("--show-file-names", is_flag=True, help=_SHOW_NAMES_HELP)
def main(debug: bool, show_file_names: bool) -> None:
    """Do soleus pushups blunt your post-meal glucose spike? Read CGM exports and logs,
    measure every meal's response, compare SPU with sitting, and write PDF reports."""
    _Ctx.reset()
    _Ctx.debug, _Ctx.show_file_names = debug, show_file_names
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. embedded): leave signals alone
        pass


def _reader_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options for reading files whose format leaves something open; each reader takes only the
    options that apply to it."""
    for opt in reversed(
        [
            click.option(
                "--units",
                type=click.Choice(["mg/dL", "mmol/L"]),
                default=None,
                help="Glucose units, for plain CSV/Parquet files whose header does not say.",
            ),
            click.option(
                "--date-order",
                type=click.Choice(["dmy", "mdy"]),
                default=None,
                help="Day-first or month-first dates, when a LibreView export or a log cannot tell.",
            ),
            click.option(
                "--include-scans",
                is_flag=True,
                default=None,
                help="LibreView: add scanned readings (record type 1) to the historic ones.",
            ),
            click.option(
                "--utc-offset",
                type=int,
                default=None,
                help="Nightscout: minutes to add to UTC when the file does not say.",
            ),
            click.option(
                "--tz",
                default=None,
                metavar="ZONE",
                help="Your time zone (IANA name, e.g. Europe/Paris): orders readings across "
                "daylight-saving changes in exports with only local times, and gives UTC-only "
                "records their local time.",
            ),
        ]
    ):
        fn = opt(fn)
    return _column_options(fn)


#: options of plain CSV/Parquet tables, passed to the readers that take them
COLUMN_OPTIONS = ("time_column", "glucose_column", "subject_column", "time_format")


def _column_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--time-column, --glucose-column, --subject-column, --time-format: for plain tables whose
    columns the reader cannot name by itself. Collected here and added by :func:`_read_opts`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _Ctx.columns = {k: kwargs.pop(k) for k in COLUMN_OPTIONS if kwargs.get(k) is not None}
        for k in COLUMN_OPTIONS:
            kwargs.pop(k, None)
        return fn(*args, **kwargs)

    for name, what in reversed(
        [
            ("--time-column", "Plain CSV/Parquet: the column holding the times."),
            ("--glucose-column", "Plain CSV/Parquet: the column holding the glucose values."),
            ("--subject-column", "Plain CSV/Parquet: the column holding people's ids."),
            (
                "--time-format",
                "Plain CSV/Parquet: strftime format of the times, e.g. %d.%m.%Y %H:%M.",
            ),
        ]
    ):
        wrapper = click.option(name, default=None, metavar="NAME", help=what)(wrapper)
    return wrapper


def _read_opts(units, date_order, include_scans, utc_offset, tz=None) -> dict[str, Any]:
    if tz is not None:
        from ..core.clock import check_time_zone

        try:
            tz = check_time_zone(tz)
        except InputError as exc:
            raise click.BadParameter(str(exc), param_hint="--tz") from None
    opts = {
        "units": units,
        "date_order": date_order,
        "include_scans": include_scans,
        "utc_offset": utc_offset,
        "tz": tz,
        **_Ctx.columns,
    }
    return {k: v for k, v in opts.items() if v is not None}


@main.command(
    epilog="Example:\n\n\b\n  soleus inspect clarity_export.csv libreview.csv --json inspect.json"
)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", default=None, help="Force a format (default: sniffed from content)."
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False), help="Also write the account as JSON."
)
@_reader_options
@_privacy_option
@_friendly
def inspect(
    files: tuple[str, ...],
    fmt: str | None,
    json_out: str | None,
    units: str | None,
    date_order: str | None,
    include_scans: bool | None,
    utc_offset: int | None,
    tz: str | None,
) -> None:
    """Show each file's detected format, span, people, readings, events, and what was dropped."""
    from ..core.outputs import check_target
    from ..io import read_cgm

    if json_out:
        check_target(json_out, "--json")

    _Ctx.label({f: "file" if len(files) == 1 else f"file {i + 1}" for i, f in enumerate(files)})
    out = []
    for f in files:
        rec = read_cgm(
            f,
            format=fmt,
            only_accepted_options=True,
            **_read_opts(units, date_order, include_scans, utc_offset, tz),
        )
        p = rec.provenance
        p.label = _Ctx.labels[f]
        r = rec.readings
        subjects = rec.subjects
        click.echo(click.style(p.display(_Ctx.show_file_names), bold=True))
        click.echo(f"  format      {p.format}" + (f" ({p.units})" if p.units else ""))
        if len(subjects) > 1:
            shown = ", ".join(subjects[:8]) + (", ..." if len(subjects) > 8 else "")
            click.echo(f"  people      {len(subjects)} ({shown}); analyse them with soleus cohort")
        else:
            click.echo("  people      1")
        if len(r):
            click.echo(f"  span        {r['time'].min()} .. {r['time'].max()}")
        click.echo(
            f"  readings    {len(r)}"
            + (f" ({int(r['censored'].notna().sum())} censored)" if len(r) else "")
        )
        kinds = rec.events["kind"].value_counts().to_dict()
        click.echo(
            f"  events      {len(rec.events)}"
            + (
                " (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"
                if kinds
                else ""
            )
        )
        click.echo(f"  rows        read {p.rows_read}, kept {p.rows_kept}")
        for reason, n in sorted(p.rows_dropped.items()):
            click.echo(f"  dropped     {n:>6}  {command_line_words(reason)}")
        for w in p.warnings[:10]:
            click.echo(f"  warning     {command_line_words(w)}")
        if len(p.warnings) > 10:
            click.echo(f"  warning     ... and {len(p.warnings) - 10} more")
        out.append(
            p.to_dict(_Ctx.show_file_names)
            | {"n_people": len(subjects), "n_readings": len(r), "n_events": len(rec.events)}
        )
    if json_out:
        write_atomic(json_out, json.dumps(out, indent=2, default=str).encode(), "--json")


def _rules_epilog() -> str:
    """The rule options and their defaults, from the one set of defaults (:class:`Rules`)."""
    d = Rules()
    s0, s1 = d.spu_span
    return (
        "\n\b\nRules (defaults in brackets; every rule: --rules FILE, a JSON object of rule names):\n"
        f"  --window {d.window[0]:g},{d.window[1]:g}       minutes after the meal over which the "
        "response is measured\n"
        f"  --baseline {d.baseline}   premeal (mean of {d.premeal_span[0]:g}..{d.premeal_span[1]:g} "
        "min) | t0 | p40_24h | a number in mg/dL\n"
        f"  --spu-span {s0:g},{'END' if s1 is None else f'{s1:g}'}   minutes around the meal in "
        "which SPU bouts count (END = window end)\n"
        f"  --min-coverage {d.min_coverage:g}   fraction of expected readings a window needs\n"
    )


_RULES_EPILOG = _rules_epilog()


def _parse_pair(value: str | None, name: str) -> tuple[float, float | None] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        lo = float(parts[0])
        hi = None if parts[1].upper() in {"END", ""} else float(parts[1])
    except ValueError:
        raise click.BadParameter(
            f"expected two numbers like -15,120 (got {value!r})", param_hint=name
        ) from None
    return lo, hi


def _rule_changes(
    window: str | None, baseline: str | None, spu_span: str | None, min_coverage: float | None
) -> dict:
    """The rules the options change, by name (checked by :class:`Rules` itself)."""
    rules: dict = {}
    if window:
        w = _parse_pair(window, "--window")
        if w[1] is None or w[1] <= w[0]:
            raise click.BadParameter("window needs start < end, e.g. 0,120", param_hint="--window")
        rules["window"] = (w[0], w[1])
    if baseline:
        try:
            rules["baseline"] = float(baseline)
        except ValueError:
            if baseline not in BASELINE_RULES:
                raise click.BadParameter(
                    f"expected {', '.join(BASELINE_RULES)} or a number in mg/dL",
                    param_hint="--baseline",
                ) from None
            rules["baseline"] = baseline
    if spu_span:
        rules["spu_span"] = _parse_pair(spu_span, "--spu-span")
    if min_coverage is not None:
        rules["min_coverage"] = min_coverage
    return rules


_RULE_OPTION_NAMES = ("window", "baseline", "spu_span", "min_coverage", "rules_file")


def _rule_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The rule options; the command receives ``rules``: a :class:`Rules` when ``--rules`` gave
    a file (changed by the other options), else the dict of changes (for a study's own rules)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = {k: kwargs.pop(k) for k in _RULE_OPTION_NAMES}
        changes = _rule_changes(
            opts["window"], opts["baseline"], opts["spu_span"], opts["min_coverage"]
        )
        if opts["rules_file"]:
            kwargs["rules"] = Rules.from_file(opts["rules_file"]).replace(**changes)
        else:
            kwargs["rules"] = changes
        return fn(*args, **kwargs)

    for opt in reversed(
        [
            click.option("--window", help="Response window in minutes after the meal, e.g. 0,120."),
            click.option("--baseline", help="premeal | t0 | p40_24h | NUMBER (mg/dL)."),
            click.option(
                "--spu-span", help="Minutes around the meal where SPU counts, e.g. -15,END."
            ),
            click.option(
                "--min-coverage",
                type=click.FloatRange(0, 1),
                help="Fraction of readings a window needs.",
            ),
            click.option(
                "--rules",
                "rules_file",
                type=click.Path(dir_okay=False),
                help="A JSON file of analysis rules (any rule by name; the options above change it).",
            ),
        ]
    ):
        wrapper = opt(wrapper)
    return wrapper


def _person_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--cgm, --events, --subject and --seed: one person's files, shared by analyze and report."""
    for opt in reversed(
        [
            click.option(
                "--cgm",
                multiple=True,
                required=True,
                type=click.Path(dir_okay=False),
                help="CGM export(s) of one person (overlapping exports are merged).",
            ),
            click.option(
                "--events",
                multiple=True,
                type=click.Path(dir_okay=False),
                help="Meal/activity log(s): activity log, Cronometer, MyFitnessPal, a schedule.",
            ),
            click.option(
                "--subject",
                default=None,
                help="Id for the person in outputs (default: 'person 1'; never a name from the "
                "export). In a file holding several people, the one to analyse.",
            ),
            click.option(
                "--seed",
                default=0,
                show_default=True,
                help="Seed of the randomisation test and bootstrap.",
            ),
        ]
    ):
        fn = opt(fn)
    return fn


def _load_person(
    cgm: tuple[str, ...], events: tuple[str, ...], subject: str | None, **options: Any
):
    from ..io import file_labels, read_person

    _Ctx.label(file_labels(cgm, events))
    return read_person(cgm, events, subject, only_accepted_options=True, **options)


#: the files of an ``analyze`` result set; a file a run does not write is removed
ANALYZE_FILES = (
    "meals.csv",
    "meals.parquet",
    "metrics.csv",
    "effect.csv",
    "bayes.csv",
    "share.csv",
    "rules.json",
)


@main.command(
    epilog="Example:\n\n\b\n  soleus analyze --cgm clarity.csv --events spu_log.csv --out results/\n"
    + _RULES_EPILOG
)
@_friendly
@_person_options
@_reader_options
@click.option(
    "--out",
    "out_dir",
    default="soleus_results",
    show_default=True,
    type=click.Path(file_okay=False),
)
@_rule_options
@_privacy_option
def analyze(
    cgm,
    events,
    subject,
    seed,
    units,
    date_order,
    include_scans,
    utc_offset,
    tz,
    out_dir,
    rules,
) -> None:
    """Per-meal table (CSV and Parquet), CGM metrics and the SPU comparison for one person.

    The tables are written as a set: ``manifest.json`` (each file's SHA-256) is written last,
    so a reader can tell a complete set from one a run is still writing.
    """
    from ..core.outputs import check_target
    from ..pipeline import analyze_person

    for name in ANALYZE_FILES:
        check_target(Path(out_dir) / name, "--out")

    rules = Rules.coerce(None, **rules) if isinstance(rules, dict) else rules
    rec = _load_person(
        cgm, events, subject, **_read_opts(units, date_order, include_scans, utc_offset, tz)
    )
    a = analyze_person(rec, rules, seed=seed)
    from ..core.outputs import MANIFEST, table_bytes

    files = {name: a.meals for name in ("meals.csv", "meals.parquet")}
    files["metrics.csv"] = a.metrics
    if a.effect is not None:
        files["effect.csv"] = a.effect
    if a.bayes is not None:
        files["bayes.csv"] = a.bayes
    content = {name: table_bytes(frame, Path(name).suffix) for name, frame in files.items()}
    if a.bayes is not None:
        from ..io.shared_summary import shared_summary_bytes

        content["share.csv"] = shared_summary_bytes(a.bayes)
    content["rules.json"] = _rules_json(a.rules)
    write_set(out_dir, content, stale=ANALYZE_FILES)
    click.echo(f"{a.subject}: {_glucose_line(a.metrics)}")
    n_ok = int(a.meals["excluded_reason"].isna().sum()) if len(a.meals) else 0
    click.echo(f"meals: {len(a.meals)} found, {n_ok} included")
    click.echo(a.verdict)
    if a.bayes is not None:
        click.echo(a.bayes["statement"].iloc[0])
    click.echo(f"rules: {a.rules.describe()}")
    click.echo(
        f"written: {Path(out_dir) / 'meals.csv'}, " + ", ".join([*list(content)[1:], MANIFEST])
    )


def _rules_json(rules: Rules) -> bytes:
    """The rules an output was made with, as the ``rules.json`` written beside it."""
    return (
        json.dumps({**rules.to_dict(), "statement": rules.describe()}, indent=2) + "\n"
    ).encode()


def _glucose_line(metrics: pd.DataFrame) -> str:
    """One line of the glucose summary, or why there is none."""
    m = metrics.iloc[0] if len(metrics) else None
    if m is None or not m["n_readings"] > 0:
        return "no glucose readings"
    return (
        f"{m['days']:.1f} days, mean {m['mean_mgdl']:.0f} mg/dL, GMI {m['gmi_pct']:.1f}%, "
        f"TIR {m['tir_pct']:.1f}%, CV {m['cv_pct']:.1f}%"
    )


@main.command(
    epilog="Examples:\n\n\b\n  soleus report --cgm clarity.csv -o report.pdf\n"
    "  soleus report --cgm libre.csv --events cronometer.csv --events spu_log.csv -o report.pdf --paper letter\n"
    + _RULES_EPILOG
)
@_friendly
@_person_options
@_reader_options
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="PDF to write."
)
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@_rule_options
@_privacy_option
def report(
    cgm,
    events,
    subject,
    seed,
    units,
    date_order,
    include_scans,
    utc_offset,
    tz,
    output,
    paper,
    rules,
) -> None:
    """Write the self-tracker PDF report: AGP summary, the SPU experiment, meal table."""
    from ..core.outputs import check_target
    from ..pipeline import analyze_person

    check_target(output, "-o/--output")
    rules = Rules.coerce(None, **rules) if isinstance(rules, dict) else rules
    rec = _load_person(
        cgm, events, subject, **_read_opts(units, date_order, include_scans, utc_offset, tz)
    )
    a = analyze_person(rec, rules, seed=seed)
    from ..report import write_person_report  # matplotlib: imported once there is a report to draw

    write_person_report(a, output, paper=paper, units=units, show_file_names=_Ctx.show_file_names)
    click.echo(f"wrote {output}")
    click.echo(a.verdict)


for _param in report.params:  # on this command --units also sets the report's units
    if _param.name == "units":
        _param.help = (
            "Glucose units of the report: every number, axis and range label (default: the "
            "export's own units; mg/dL when mixed or unknown). Also the units of plain "
            "CSV/Parquet files whose header does not say."
        )


@main.command(
    epilog="Examples:\n\n\b\n  soleus cohort data/hamilton2022 -o cohort.pdf\n"
    "  soleus cohort manifest.csv -o cohort.pdf --scheduler tcp://127.0.0.1:8786\n\n"
    "A manifest CSV has columns subject,cgm,events (several files separated by ';', paths relative to it).\n"
    "A folder either holds manifest.csv or one sub-folder per person. One CGM file holding several\n"
    "people (e.g. a research dataset with an id column) is a cohort too.\n" + _RULES_EPILOG
)
@_friendly
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="PDF to write."
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Also write tables here.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address; default: local processes.")
@click.option("--workers", default=None, type=int, help="Local processes (default: all cores).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@_reader_options
@_rule_options
@_privacy_option
def cohort(
    source,
    output,
    out_dir,
    scheduler,
    workers,
    paper,
    seed,
    no_progress,
    units,
    date_order,
    include_scans,
    utc_offset,
    tz,
    rules,
) -> None:
    """Analyse many people (a folder or a manifest) and write the cohort PDF report."""
    from ..core.outputs import check_target, table_bytes
    from .runner import run_cohort

    _Ctx.label({str(source): "the cohort source"})
    check_target(output, "-o/--output")
    if out_dir:
        for name in ("meals.csv", "people.csv", "pooled.csv"):
            check_target(Path(out_dir) / name, "--out")
    res = run_cohort(
        source,
        rules,
        scheduler=scheduler,
        workers=workers,
        progress=not no_progress,
        seed=seed,
        show_file_names=_Ctx.show_file_names,
        read_options=_read_opts(units, date_order, include_scans, utc_offset, tz),
    )
    from ..report import write_cohort_report  # matplotlib: imported once there is a report to draw
    from ..report.text import pooled_sentence

    write_cohort_report(res, output, paper=paper, show_file_names=_Ctx.show_file_names)
    if out_dir:
        tables = {"meals.csv": res.meals, "people.csv": res.people, "pooled.csv": res.pooled}
        content = {n: table_bytes(t, ".csv") for n, t in tables.items()}
        content["rules.json"] = _rules_json(res.rules)
        write_set(out_dir, content)
    for _, p in res.pooled.iterrows():
        click.echo(pooled_sentence(p))
    click.echo(f"rules: {res.rules.describe()}")
    for _, f in res.failed.iterrows():
        click.echo(f"skipped {f['subject']}: {f['error']}", err=True)
    n_people = len(res.people)
    click.echo(
        f"wrote {output} ({n_people} {'person' if n_people == 1 else 'people'}, "
        f"{len(res.failed)} skipped)"
    )


@main.command(
    epilog="Example:\n\n\b\n  soleus pool alice/share.csv bob/share.csv carol/share.csv --out pooled/\n\n"
    "Each share.csv is what `soleus analyze` writes: a pseudonym and one person's N-of-1 summary,\n"
    "no names, dates or glucose values."
)
@_friendly
@click.argument("summaries", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    default="soleus_pooled",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for pooled.csv (the population) and people.csv (each person, shrunken).",
)
def pool(summaries, out_dir) -> None:
    """Pool several people's own SPU experiments (their share.csv files): does SPU work, for
    whom, and how much do people differ?"""
    from ..core.outputs import check_target, table_bytes
    from ..io.shared_summary import read_shared_summaries
    from ..stats.bayes import pooled_n_of_1

    for name in ("pooled.csv", "people.csv"):
        check_target(Path(out_dir) / name, "--out")
    table, sources = read_shared_summaries(summaries)
    for prov in sources:
        for w in prov.warnings:
            click.echo(f"{_Ctx.name(prov.path)}: {w}", err=True)
    pop, people = pooled_n_of_1(table)
    content = {"pooled.csv": table_bytes(pop, ".csv"), "people.csv": table_bytes(people, ".csv")}
    write_set(out_dir, content)
    click.echo(pop["statement"].iloc[0])
    click.echo(f"prior: {pop['prior'].iloc[0]}")
    click.echo(f"written: {Path(out_dir) / 'pooled.csv'}, people.csv")


#: power the planner sizes an experiment for, and the largest experiment it considers (meals)
PLAN_POWER = 0.8
PLAN_MAX_MEALS = 300


@main.command(
    epilog="Examples:\n\n\b\n  soleus plan --meals 42 --start 2026-12-01 --seed 1 -o schedule.csv --ics schedule.ics\n"
    "  soleus plan --meals 42 --from my_clarity_export.csv --events my_log.csv -o schedule.csv\n\n"
    "Tick the 'done' column of each row you carried out (x), then pass the file back as a log:\n"
    "soleus report --cgm export.csv --events schedule.csv -o report.pdf"
)
@click.option(
    "--meals",
    "n_meals",
    required=True,
    type=click.IntRange(2, 10000),
    help="Meals in the experiment.",
)
@click.option("--start", default=None, help="First day, YYYY-MM-DD (default: tomorrow).")
@click.option("--seed", default=0, show_default=True, help="Seed of the randomisation.")
@click.option(
    "--spu-minutes", default=30.0, show_default=True, help="Planned SPU minutes per SPU meal."
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Schedule CSV to write."
)
@click.option(
    "--ics", default=None, type=click.Path(dir_okay=False), help="Also write a calendar file."
)
@click.option(
    "--from",
    "from_cgm",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Your CGM export(s), for power from your own variability.",
)
@click.option(
    "--events",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Meal log(s) that go with --from.",
)
@click.option(
    "--reduction",
    default=30.0,
    show_default=True,
    help="Reduction (%) the power calculation targets.",
)
@_friendly
def plan(n_meals, start, seed, spu_minutes, output, ics, from_cgm, events, reduction) -> None:
    """Draw a randomised schedule of which meals get soleus pushups (balanced by time of day)."""
    from ..core.outputs import check_target
    from .plan import balance_table, make_schedule, to_ics

    check_target(output, "-o/--output")
    if ics:
        check_target(ics, "--ics")

    try:
        sched = make_schedule(n_meals, start=start, seed=seed, spu_minutes=spu_minutes)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    write_atomic(output, spreadsheet_safe(sched).to_csv(index=False).encode(), "-o/--output")
    if ics:
        write_atomic(ics, to_ics(sched).encode(), "--ics")
    bal = balance_table(sched)
    click.echo(
        f"wrote {output}: {n_meals} meals, "
        + ", ".join(
            f"{slot} {int(r.get('spu', 0))} SPU / {int(r.get('control', 0))} control"
            for slot, r in bal.iterrows()
        )
    )
    if from_cgm:
        from .. import compare
        from ..pipeline import person_meals

        rec = _load_person(from_cgm, events, None)
        meals, _, _ = person_meals(rec)
        _experiment_status(meals)
        grid = list(range(10, PLAN_MAX_MEALS + 1, 10))
        pw = compare.power_n_of_1(reduction, grid, from_data=meals, seed=seed)
        need = compare.n_needed(pw, PLAN_POWER)
        cv = float(pw["residual_cv"].iloc[0])
        click.echo(
            f"power to detect a {reduction:g}% reduction, from your own meal-to-meal variability "
            f"(CV {100 * cv:.0f}% between comparable meals, {len(meals)} meals read):"
        )
        for _, r in pw.loc[pw["meals"].isin([20, 40, 60, 80, 120, 160])].iterrows():
            click.echo(f"  {int(r['meals']):>4} meals: {100 * r['power']:.0f}%")
        if need is None:
            click.echo(
                f"meals needed for {100 * PLAN_POWER:.0f}% power: more than {PLAN_MAX_MEALS} "
                f"(a {reduction:g}% reduction is small next to this variability)"
            )
        else:
            click.echo(
                f"meals needed for {100 * PLAN_POWER:.0f}% power: {need} "
                f"({need // 2} with soleus pushups, {need - need // 2} without)"
                + (f"; this schedule has {n_meals}" if n_meals < need else "")
            )


def _experiment_status(meals: pd.DataFrame) -> None:
    """Where a running experiment stands: the Bayesian N-of-1 and the stopping rule, in words."""
    from ..pipeline import person_posterior

    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    n_spu = int((ok["condition"] == "spu").sum()) if len(ok) else 0
    n_con = int((ok["condition"] == "control").sum()) if len(ok) else 0
    if n_spu < 2 or n_con < 2:
        click.echo(
            f"experiment so far: {n_spu} SPU and {n_con} control meals; at least 2 of each "
            "are needed before the chance that SPU works for you can be stated"
        )
        return
    row = person_posterior(meals).iloc[0]
    click.echo(f"experiment so far ({int(row['n_meals'])} meals): {row['statement']}")


def _protocol_options(
    protocols: tuple[str, ...], *, min_people: int, seed_of: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--protocol, --n and --seed of the commands that simulate a study."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(
            [
                click.option(
                    "--protocol",
                    type=click.Choice(list(protocols)),
                    default=protocols[0],
                    show_default=True,
                    help="Study protocol to simulate.",
                ),
                click.option(
                    "--n",
                    "n",
                    default=None,
                    type=click.IntRange(min_people, 10000),
                    help="People (default: the protocol's).",
                ),
                click.option("--seed", default=0, show_default=True, help=f"Seed of {seed_of}."),
            ]
        ):
            fn = opt(fn)
        return fn

    return decorate


@main.command(
    epilog="Example:\n\n\b\n  soleus reproduce --protocol hamilton2022 --seed 1 --json result.json\n\n"
    "The data are SIMULATED (soleus_analysis.simulate): the simulated files are analysed blind and\n"
    "the estimate is shown next to the simulator's truth: the population value of its generating\n"
    "model (not this sample's), which a 95% interval should cover 95% of the time."
)
@_protocol_options(
    ("hamilton2022", "elek2025"), min_people=2, seed_of="the simulation and bootstrap"
)
@click.option(
    "--n-boot",
    default=4000,
    show_default=True,
    type=click.IntRange(100),
    help="Bootstrap resamples.",
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False), help="Also write the results as JSON."
)
@click.option(
    "--keep-files",
    default=None,
    type=click.Path(file_okay=False),
    help="Keep the simulated files in this folder (default: a temporary folder, removed).",
)
@_friendly
def reproduce(protocol, n, seed, n_boot, json_out, keep_files) -> None:
    """Simulate a published SPU study, write its files, analyse them blind, compare with the truth."""
    import math

    from ..core.outputs import check_target
    from ..validation.reproduce import reproduction_table, run_reproduction

    if json_out:
        check_target(json_out, "--json")

    res = run_reproduction(protocol, n=n, seed=seed, workdir=keep_files, n_boot=n_boot)
    click.echo(
        f"{res['protocol']}: {res['n_participants']} simulated people (SYNTHETIC data), seed {seed}"
    )
    click.echo(f"{'measure':<36}{'estimate':>10}  {'95% CI':<17}{'truth':>8}{'published':>11}")
    click.echo("(truth: the simulator's population value, computed from its generating model)")

    def num(v: float) -> str:
        return "-" if not math.isfinite(v) else f"{v:.1f}"

    for _, r in reproduction_table(res).iterrows():
        unit = ("%" if r["unit"] == "%" else " mg/dL") if math.isfinite(r["estimate"]) else ""
        ci = f"{num(r['ci95_low'])} to {num(r['ci95_high'])}"
        click.echo(
            f"{r['measure']:<36}{num(r['estimate']) + unit:>10}  {ci:<17}"
            f"{num(r['truth']):>8}{num(r['published']):>11}"
            + (f"  ({r['note']})" if r["note"] else "")
        )
    if res["files"]:
        click.echo(f"files kept in {res['files']}")
    if json_out:
        write_atomic(json_out, json.dumps(res, indent=2).encode(), "--json")


@main.command(
    epilog="Example:\n\n\b\n  soleus simulate --protocol freeliving --seed 3 -o synthetic_tracker/\n\n"
    "Every file written is SYNTHETIC and says so in its name (synthetic_...) or contents."
)
@_protocol_options(
    ("hamilton2022", "elek2025", "freeliving"), min_people=1, seed_of="the simulation"
)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder to write."
)
@_friendly
def simulate(protocol, n, seed, output) -> None:
    """Write a simulated study as real export files (CGM, activity logs, lab table) plus a manifest."""
    from ..simulate import simulate_study, write_study

    study = simulate_study(protocol, n=n, seed=seed)
    manifest = write_study(study, output)
    click.echo(f"wrote {len(manifest)} simulated people (synthetic data) of {protocol} to {output}")
    click.echo(str(Path(output) / "manifest.csv"))


if __name__ == "__main__":  # pragma: no cover
    main()
