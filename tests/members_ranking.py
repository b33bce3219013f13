"""The top stories as schema 6 ranked them: one grouped count over the members. The oracle
tests/test_top.py checks the counts per story and day against, and the baseline
benchmarks/top.py times them against."""

MEMBERS_RANKING = (
    "SELECT story_id, n, sources, langs, prev FROM (SELECT story_id, SUM(CASE WHEN published >= ? THEN 1 END) AS n, "
    "COUNT(DISTINCT CASE WHEN published >= ? THEN source END) AS sources, "
    "COUNT(DISTINCT CASE WHEN published >= ? THEN lang END) AS langs, SUM(CASE WHEN published < ? THEN 1 ELSE 0 END) AS prev "
    "FROM members WHERE published >= ? AND published < ? GROUP BY story_id "
    "HAVING SUM(CASE WHEN published >= ? THEN 1 END) > 0{}) t "
    "ORDER BY sources DESC, langs DESC, n DESC, n - prev DESC, story_id LIMIT ?")


def from_members(store, since: str, end: str, before: str, lang: str | None, limit: int) -> list[tuple[str, tuple]]:
    """(story id, (articles, sources, languages, articles before)) of the stories with articles in
    [since, end), ranked as `Stories.top_stories` ranks them; ``lang``: only those with an article in it there."""
    by_lang = " AND SUM(CASE WHEN published >= ? AND lang = ? THEN 1 ELSE 0 END) > 0" if lang else ""
    rows = store._rows(MEMBERS_RANKING.format(by_lang), [since] * 4 + [before, end, since] + ([since, lang] if lang else []) + [limit])
    return [(r[0], tuple(int(x) for x in r[1:])) for r in rows]
