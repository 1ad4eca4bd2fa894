"""'Was this page helpful?': plain form and script, origin-checked, rate-limited,
counted exactly, comments stored and shown as plain text."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection

from articles.feedback import VOTES_PER_HOUR, record_vote
from articles.models import FeedbackComment, GuideFeedback
from tests.factories import make_article, make_draft
from tests.helpers import JSON, SAME_SITE, counts, new_address, send_comment, vote

pytestmark = pytest.mark.django_db


def test_every_guide_asks_with_a_plain_form(client):
    article = make_article()
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Was this page helpful?" in html
    assert f'method="post" action="/en/feedback/{article.slug}/"' in html
    assert 'name="helpful" value="yes"' in html and 'name="helpful" value="no"' in html
    assert "js/feedback.js" in html and " defer>" in html


def test_a_vote_without_javascript_counts_and_thanks(client):
    article = make_article()
    response = vote(client, article, "yes")
    assert response.status_code == HTTPStatus.OK
    assert "Thank you for your feedback" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert counts(article) == (1, 0)


def test_no_asks_for_an_optional_comment_stored_as_plain_text(client, admin_client):
    article = make_article()
    response = vote(client, article, "no")
    assert 'name="comment"' in response.content.decode()
    hostile = "<script>alert(1)</script> The fees are missing & wrong"
    sent = send_comment(client, article, hostile)
    assert sent.status_code == HTTPStatus.OK
    assert FeedbackComment.objects.get().text == hostile
    change = admin_client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; The fees are missing &amp; wrong" in change
    assert "<script>alert(1)</script>" not in change
    assert hostile not in client.get(article.get_absolute_url()).content.decode()


def test_comments_are_length_limited(client):
    article = make_article()
    response = send_comment(client, article, "x" * 501)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "at most 500 characters" in response.content.decode()
    assert not FeedbackComment.objects.exists()


def test_with_javascript_the_answer_is_json(client):
    article = make_article()
    response = vote(client, article, "no", headers=JSON)
    assert response.json() == {
        "thanks": True,
        "ask_comment": True,
        "comment_url": f"/en/feedback/{article.slug}/comment/",
    }
    comment = send_comment(client, article, "More detail", headers=JSON)
    assert comment.json() == {"thanks": True}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "null"},
    ],
)
def test_requests_from_other_sites_are_refused(client, headers):
    article = make_article()
    response = vote(client, article, "yes", headers=headers)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not GuideFeedback.objects.exists()


def test_a_same_site_referer_is_accepted_when_origin_is_missing(client):
    article = make_article()
    response = vote(client, article, "yes", headers={"Referer": "http://testserver/x/"})
    assert response.status_code == HTTPStatus.OK


def test_bad_input_is_a_clear_4xx(client):
    article = make_article()
    assert vote(client, article, "maybe").status_code == HTTPStatus.BAD_REQUEST
    assert client.get(f"/en/feedback/{article.slug}/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert vote(client, make_draft(), "yes").status_code == HTTPStatus.NOT_FOUND
    assert (
        client.post(
            "/en/feedback/no-such-guide/", {"helpful": "yes"}, headers=SAME_SITE
        ).status_code
        == 404
    )


def test_one_vote_per_visitor_and_guide(client):
    article, address = make_article(), new_address()
    assert vote(client, article, "yes", address=address).status_code == HTTPStatus.OK
    again = vote(client, article, "no", address=address)
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "already told us" in again.content.decode()
    assert vote(client, article, "no").status_code == HTTPStatus.OK
    assert counts(article) == (1, 1)


def test_one_visitor_cannot_skew_many_guides(client):
    guides, address = [make_article() for _ in range(VOTES_PER_HOUR + 2)], new_address()
    statuses = [vote(client, guide, "no", address=address).status_code for guide in guides]
    assert statuses.count(HTTPStatus.OK) == VOTES_PER_HOUR
    assert statuses[-1] == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_are_all_counted():
    article = make_article()
    voters, errors = 12, []

    def cast():
        try:
            record_vote(article, helpful=True)
        except Exception as error:  # any failure, reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast) for _ in range(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert counts(article) == (voters, 0)


def test_editors_see_helpfulness_and_can_find_the_least_helpful(client, admin_client):
    poor, good = make_article(title="Poor guide"), make_article(title="Good guide")
    for n in range(6):
        address = new_address()
        vote(client, poor, "no" if n else "yes", address=address)
        vote(client, good, "yes", address=address)
    listed = admin_client.get("/admin/articles/article/").content.decode()
    assert "17% of 6" in listed and "100% of 6" in listed
    least = admin_client.get("/admin/articles/article/?helpfulness=least").content.decode()
    assert "Poor guide" in least and "Good guide" not in least
