"""bench.compare's report: B against A round by round (paired), not the difference of medians."""

from bench.compare import Loads, report


def test_the_report_pairs_the_rounds_and_counts_where_b_was_faster():
    a = Loads(wall=[500, 400, 600], main=[300] * 3, chromium=[800] * 3, server=[100] * 3)
    b = Loads(wall=[380, 430, 620], main=[280] * 3, chromium=[760] * 3, server=[90] * 3)
    header, columns, row = report("HEAD", {"contacts": (a, b)}).splitlines()
    assert header.startswith("A = HEAD, B = this working tree") and "3 rounds" in header
    # The medians differ by -70, but round by round B was slower twice: +30 and +20 (median +20).
    assert row.split()[:5] == ["contacts", "500", "430", "+20", "1/3"]
    assert row.split()[5:] == ["300/280", "800/760", "100/90"]
