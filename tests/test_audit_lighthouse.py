"""`make audit`'s pure parts (audit/lighthouse.py): the scores and failing
audits read from a Lighthouse report, the table, SEO n/a on pages no search
engine indexes, and when the run fails. Lighthouse itself does not run here."""

from audit import lighthouse, pages


def report(performance=0.99, accessibility=1.0, best_practices=1.0, seo=0.9, url="http://127.0.0.1:1/ask/"):
    """A Lighthouse JSON report, cut down to what audit.lighthouse reads."""
    return {
        "finalDisplayedUrl": url,
        "categories": {
            "performance": {
                "score": performance,
                "auditRefs": [
                    {"id": "largest-contentful-paint", "weight": 25},
                    {"id": "bf-cache", "weight": 0},
                ],
            },
            "accessibility": {"score": accessibility, "auditRefs": [{"id": "color-contrast", "weight": 7}]},
            "best-practices": {"score": best_practices, "auditRefs": [{"id": "errors-in-console", "weight": 1}]},
            "seo": {"score": seo, "auditRefs": [{"id": "is-crawlable", "weight": 4.6}]},
        },
        "audits": {
            "largest-contentful-paint": {"score": 0.8, "title": "Largest Contentful Paint"},
            "bf-cache": {"score": 0, "title": "Page prevented back/forward cache restoration"},
            "color-contrast": {
                "score": 1,
                "title": "Background and foreground colors have a sufficient contrast ratio",
            },
            "errors-in-console": {"score": None, "title": "No browser errors logged to the console"},
            "is-crawlable": {"score": 0, "title": "Page is blocked from indexing"},
        },
    }


def result(indexable=False, **scores):
    return lighthouse.result_of(report(**scores), "visitor", "ask", "mobile", indexable, "http://127.0.0.1:1/ask/")


def test_it_reads_the_four_scores_out_of_a_hundred():
    assert lighthouse.scores_of(report(performance=0.874)) == {
        "performance": 87,
        "accessibility": 100,
        "best-practices": 100,
        "seo": 90,
    }


def test_it_lists_the_weighted_audits_that_do_not_pass():
    assert result().failing == [
        ("performance", "largest-contentful-paint", "Largest Contentful Paint"),
        ("seo", "is-crawlable", "Page is blocked from indexing"),
    ]


def test_it_prints_one_markdown_row_per_run_with_seo_only_where_a_search_engine_indexes():
    text = lighthouse.table([result(indexable=True), result(indexable=False)])

    assert text.splitlines() == [
        "| persona | page | form factor | performance | accessibility | best practices | SEO |",
        "|---|---|---|---:|---:|---:|---:|",
        "| visitor | ask | mobile | 99 | 100 | 100 | 90 |",
        "| visitor | ask | mobile | 99 | 100 | 100 | n/a |",
    ]


def test_a_low_seo_score_fails_an_indexable_page_only():
    assert lighthouse.below(result(indexable=True), 95) == ["seo"]
    assert lighthouse.below(result(indexable=False), 95) == []
    assert lighthouse.failures([result(indexable=False)], 95) == ""


def test_the_failures_name_each_low_category_and_its_failing_audits():
    low = result(indexable=False, performance=0.5)

    text = lighthouse.failures([low, result(indexable=False)], 95)

    assert text == (
        "visitor / ask / mobile: performance 50\n  - [performance] largest-contentful-paint: Largest Contentful Paint"
    )


def test_a_run_lighthouse_could_not_finish_or_that_was_redirected_fails():
    broken = lighthouse.result_of(
        {"runtimeError": {"code": "NO_FCP", "message": "The page did not paint"}}, "leader", "team", "desktop", False
    )
    logged_out = lighthouse.result_of(
        report(url="http://127.0.0.1:1/accounts/login/?next=/team/"),
        "leader",
        "team",
        "desktop",
        False,
        "http://127.0.0.1:1/team/",
    )

    assert lighthouse.table([broken]).splitlines()[-1] == "| leader | team | desktop | error | error | error | n/a |"
    assert lighthouse.below(broken, 95) == ["performance", "accessibility", "best-practices"]
    assert "Lighthouse error: The page did not paint" in lighthouse.failures([broken], 95)
    assert logged_out.error == "redirected to http://127.0.0.1:1/accounts/login/?next=/team/"
    assert lighthouse.below(logged_out, 95) == ["performance", "accessibility", "best-practices"]


def test_a_run_whose_trace_failed_fails_on_the_missing_score_alone():
    partial = report(performance=None)
    partial["runtimeError"] = {"code": "NO_NAVSTART", "message": "Please run Lighthouse again. (NO_NAVSTART)"}

    result = lighthouse.result_of(partial, "leader", "team", "mobile", False)

    assert lighthouse.below(result, 95) == ["performance"]


def test_an_error_page_is_shown_skipped_and_never_fails():
    skipped = lighthouse.Result("visitor", "not-found", "mobile", {}, [], False, skipped="HTTP 404")

    assert lighthouse.table([skipped]).splitlines()[-1] == (
        "| visitor | not-found | mobile | skipped | skipped | skipped | skipped |"
    )
    assert lighthouse.failures([skipped], 95) == ""


def test_it_knows_every_persona_of_the_pages():
    assert lighthouse.PERSONAS == pages.PERSONAS
