"""The fake Mailchimp (tests/mailchimp_server.py), driven by the official client.

These tests also pin down how ``mailchimp_marketing`` 3.0.80 reports each kind of answer, which
the sync client has to cope with:

* 200 with JSON: the parsed ``dict``;
* 204 (tags): a ``requests.Response`` (status 204, empty text);
* an error with a body (400/401/404/429/503 problem+json): ``ApiClientError`` with
  ``status_code`` and ``text`` -- the *raw JSON text*, a ``str``, because the client only parses
  ``application/json`` and problem+json does not contain that string; ``str(error)`` is ``""``;
* an error with an empty body (e.g. 500): NO exception, a ``requests.Response`` comes back;
* it never retries.
"""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import tarfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from tests import mailchimp_server
from tests.mailchimp_server import FakeMailchimp, subscriber_hash

API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST_ID = "a1b2c3d4e5"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


@pytest.fixture
def fake() -> Iterator[FakeMailchimp]:
    with FakeMailchimp(API_KEY) as server:
        yield server


@pytest.fixture
def client(fake: FakeMailchimp) -> mailchimp_marketing.Client:
    return make_client(fake.base_url, API_KEY)


def make_client(base_url: str, api_key: str) -> mailchimp_marketing.Client:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": api_key, "server": "us21"})
    client.api_client.host = base_url  # the client puts "us21" in place of "server" in the URL
    return client


def member_body(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email_address": email,
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ann", "LNAME": "Lee"},
        **extra,
    }


def problem_of(error: ApiClientError) -> dict[str, Any]:
    assert str(error) == ""  # nothing to see there: read .status_code and .text
    assert isinstance(error.text, str)
    problem = json.loads(error.text)
    assert set(problem) >= PROBLEM_KEYS
    assert problem["status"] == error.status_code
    return problem


def assert_clean(fake: FakeMailchimp) -> None:
    assert fake.rejected == []
    assert fake.wrapperless_tags == []


# ------------------------------------------------------------------------------------ members


def test_upsert_creates_then_updates_a_member(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    email = "Ann.Lee@Example.com"
    hash_ = subscriber_hash(email)
    assert hash_ == subscriber_hash("ann.lee@example.com")

    created = client.lists.set_list_member(LIST_ID, hash_, member_body(email))

    assert isinstance(created, dict)
    assert created["id"] == hash_
    assert created["email_address"] == email
    assert created["status"] == "subscribed"
    assert created["merge_fields"] == {"FNAME": "Ann", "LNAME": "Lee"}
    assert created["list_id"] == LIST_ID
    assert created["tags"] == [] and created["tags_count"] == 0

    updated = client.lists.set_list_member(
        LIST_ID,
        hash_,
        member_body(email, status="unsubscribed", merge_fields={"LNAME": "Smith"}),
    )
    assert updated["status"] == "unsubscribed"  # status_if_new only counts for new members
    assert updated["merge_fields"] == {"FNAME": "Ann", "LNAME": "Smith"}
    assert fake.members == {
        (LIST_ID, hash_): {
            "email_address": email,
            "status": "unsubscribed",
            "merge_fields": {"FNAME": "Ann", "LNAME": "Smith"},
            "tags": {},
        }
    }
    assert client.lists.get_list_member(LIST_ID, hash_)["status"] == "unsubscribed"
    assert [r[2] for r in fake.requests] == [200, 200, 200]
    assert_clean(fake)


def test_member_responses_follow_the_documented_schema(fake: FakeMailchimp) -> None:
    hash_ = subscriber_hash("ann@example.com")
    path = f"/lists/{LIST_ID}/members/{hash_}"
    answers = [
        ("PUT", path, {"json": member_body("ann@example.com")}),
        ("PATCH", path, {"json": {"merge_fields": {"FNAME": "Annie"}}}),
        ("GET", path, {}),
        ("GET", f"/lists/{LIST_ID}/members/{'0' * 32}", {}),  # the 404 problem+json
        ("POST", f"{path}/tags", {"json": {"tags": [{"name": "vip", "status": "active"}]}}),
    ]
    for method, api_path, kwargs in answers:
        response = requests.request(
            method, fake.base_url + api_path, auth=("anyone", API_KEY), timeout=10, **kwargs
        )
        errors = mailchimp_server.response_errors(
            method,
            "/3.0" + api_path,
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.content,
            port=fake.port,
        )
        # The real API sends "" for an unknown timestamp_signup although the document says
        # date-time; everything else must match the documented schema.
        assert [e for e in errors if "'' is not a 'date-time'" not in e] == []
    assert_clean(fake)


def test_get_member_that_does_not_exist_is_a_404_problem(
    client: mailchimp_marketing.Client,
) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.lists.get_list_member(LIST_ID, subscriber_hash("nobody@example.com"))
    assert raised.value.status_code == 404
    assert problem_of(raised.value)["title"] == "Resource Not Found"


def test_tags_active_and_inactive(fake: FakeMailchimp, client: mailchimp_marketing.Client) -> None:
    hash_ = subscriber_hash("ann@example.com")
    client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))

    answer = client.lists.update_list_member_tags(
        LIST_ID,
        hash_,
        {"tags": [{"name": "customer", "status": "active"}, {"name": "lead", "status": "active"}]},
    )
    assert isinstance(answer, requests.Response)  # a 204 comes back as the raw response
    assert answer.status_code == 204 and answer.text == ""

    client.lists.update_list_member_tags(
        LIST_ID, hash_, {"tags": [{"name": "lead", "status": "inactive"}]}
    )

    assert fake.members[(LIST_ID, hash_)]["tags"] == {"customer": True, "lead": False}
    member = client.lists.get_list_member(LIST_ID, hash_)
    assert [t["name"] for t in member["tags"]] == ["customer"]
    assert isinstance(member["tags"][0]["id"], int)
    assert member["tags_count"] == 1
    assert_clean(fake)


def test_tags_for_a_missing_member_are_a_404(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.lists.update_list_member_tags(
            LIST_ID, subscriber_hash("x@example.com"), {"tags": [{"name": "a", "status": "active"}]}
        )
    assert raised.value.status_code == 404
    assert problem_of(raised.value)["title"] == "Resource Not Found"
    assert_clean(fake)


def test_email_change_via_patch_moves_the_member(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    old_hash = subscriber_hash("ann@old.example.com")
    client.lists.set_list_member(LIST_ID, old_hash, member_body("ann@old.example.com"))
    client.lists.update_list_member_tags(
        LIST_ID, old_hash, {"tags": [{"name": "customer", "status": "active"}]}
    )

    moved = client.lists.update_list_member(
        LIST_ID, old_hash, {"email_address": "Ann@New.example.com"}
    )

    new_hash = subscriber_hash("ann@new.example.com")
    assert isinstance(moved, dict)
    assert moved["id"] == new_hash
    assert moved["email_address"] == "Ann@New.example.com"
    assert (LIST_ID, old_hash) not in fake.members
    assert fake.members[(LIST_ID, new_hash)]["tags"] == {"customer": True}
    assert fake.members[(LIST_ID, new_hash)]["merge_fields"] == {"FNAME": "Ann", "LNAME": "Lee"}
    with pytest.raises(ApiClientError) as raised:
        client.lists.get_list_member(LIST_ID, old_hash)
    assert raised.value.status_code == 404
    assert_clean(fake)


def test_patch_of_a_missing_member_is_a_404(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.lists.update_list_member(
            LIST_ID, subscriber_hash("x@example.com"), {"status": "unsubscribed"}
        )
    assert raised.value.status_code == 404
    assert problem_of(raised.value)["title"] == "Resource Not Found"
    assert fake.members == {}


@pytest.mark.parametrize(
    ("attribute", "title"),
    [
        ("compliance_emails", "Member In Compliance State"),
        ("forgotten_emails", "Forgotten Email Not Subscribed"),
    ],
)
def test_permanent_400s(
    fake: FakeMailchimp, client: mailchimp_marketing.Client, attribute: str, title: str
) -> None:
    getattr(fake, attribute).add("gone@example.com")

    with pytest.raises(ApiClientError) as raised:
        client.lists.set_list_member(
            LIST_ID, subscriber_hash("Gone@Example.com"), member_body("Gone@Example.com")
        )

    assert raised.value.status_code == 400
    problem = problem_of(raised.value)
    assert problem["title"] == title
    assert "Gone@Example.com" in problem["detail"]
    assert fake.members == {}
    assert fake.requests[-1][2] == 400
    assert_clean(fake)  # a legitimate answer, not a spec violation


def test_wrong_hash_is_rejected(fake: FakeMailchimp, client: mailchimp_marketing.Client) -> None:
    email = "Ann@Example.com"
    not_lowered = hashlib.md5(email.encode()).hexdigest()

    with pytest.raises(ApiClientError) as raised:
        client.lists.set_list_member(LIST_ID, not_lowered, member_body(email))

    assert raised.value.status_code == 400
    assert problem_of(raised.value)["title"] == "Invalid Resource"
    assert fake.members == {}
    assert len(fake.rejected) == 1 and "subscriber_hash" in fake.rejected[0]


# ------------------------------------------------------------------------------ spec checking


def test_a_body_breaking_the_schema_is_rejected_and_recorded(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    with pytest.raises(ApiClientError) as raised:
        client.lists.set_list_member(LIST_ID, hash_, {"email_address": "ann@example.com"})

    assert raised.value.status_code == 400
    problem = problem_of(raised.value)
    assert problem["title"] == "Invalid Resource"
    assert any("status_if_new" in e["message"] for e in problem["errors"])
    assert fake.members == {}
    assert len(fake.rejected) == 1
    assert "'status_if_new' is a required property" in fake.rejected[0]


def test_a_path_not_in_the_spec_is_rejected_and_recorded(fake: FakeMailchimp) -> None:
    answer = requests.get(
        f"{fake.base_url}/lists/{LIST_ID}/subscribers", auth=("x", API_KEY), timeout=10
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert set(answer.json()) >= PROBLEM_KEYS

    wrong_method = requests.delete(f"{fake.base_url}/batches", auth=("x", API_KEY), timeout=10)
    assert wrong_method.status_code == 400

    assert len(fake.rejected) == 2
    assert all("not an operation of the Mailchimp spec" in r for r in fake.rejected)


def test_an_operation_of_the_spec_the_fake_lacks_is_recorded(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.lists.get_list_member_notes(LIST_ID, subscriber_hash("ann@example.com"))
    assert raised.value.status_code == 501
    assert fake.rejected == [
        f"GET /3.0/lists/{LIST_ID}/members/{subscriber_hash('ann@example.com')}/notes: "
        "in the spec, but not implemented by the fake"
    ]


def test_wrapperless_tags_get_a_silent_204_and_are_recorded(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))

    answer = client.lists.update_list_member_tags(
        LIST_ID, hash_, [{"name": "customer", "status": "active"}]
    )

    assert isinstance(answer, requests.Response) and answer.status_code == 204
    assert fake.members[(LIST_ID, hash_)]["tags"] == {}  # ignored, as by the real API
    assert len(fake.wrapperless_tags) == 1 and "customer" in fake.wrapperless_tags[0]
    assert fake.rejected == []


def test_auth_any_user_name_but_the_right_key(fake: FakeMailchimp) -> None:
    url = f"{fake.base_url}/lists/{LIST_ID}/members/{subscriber_hash('a@example.com')}"
    assert requests.get(url, auth=("whoever", API_KEY), timeout=10).status_code == 404

    wrong = make_client(fake.base_url, "wrong-us21")
    with pytest.raises(ApiClientError) as raised:
        wrong.lists.get_list_member(LIST_ID, subscriber_hash("a@example.com"))
    assert raised.value.status_code == 401
    assert problem_of(raised.value)["title"] == "API Key Invalid"

    no_auth = requests.get(url, timeout=10)
    assert no_auth.status_code == 401
    assert no_auth.headers["Content-Type"] == "application/problem+json"


def test_base_url_survives_the_clients_server_substitution(fake: FakeMailchimp) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/3.0")
    assert "server" not in fake.base_url


def test_the_validator_is_built_once_and_is_fast(fake: FakeMailchimp) -> None:
    assert mailchimp_server.openapi() is mailchimp_server.openapi()
    body = json.dumps(member_body("ann@example.com")).encode()
    headers = {"Authorization": "Basic eDp5", "Content-Type": "application/json"}
    durations = []
    for _ in range(20):
        started = time.perf_counter()
        errors = mailchimp_server.spec_errors(
            "PUT",
            f"/3.0/lists/{LIST_ID}/members/{subscriber_hash('ann@example.com')}",
            port=fake.port,
            headers=headers,
            body=body,
        )
        durations.append(time.perf_counter() - started)
        assert errors == []
    assert statistics.median(durations) < 0.020


# -------------------------------------------------------------------------- faults and limits


def test_500_with_an_empty_body_does_not_raise(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    fake.fail_next(500, empty_body=True)

    answer = client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))

    assert isinstance(answer, requests.Response)  # no exception at all
    assert answer.status_code == 500 and answer.text == ""
    assert fake.members == {}  # the failed request changed nothing
    assert client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))["id"]
    assert [r[2] for r in fake.requests] == [500, 200]


def test_empty_body_errors_come_back_as_responses_from_every_call(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))
    batch = client.batches.start({"operations": []})
    calls = [
        lambda: client.lists.update_list_member_tags(
            LIST_ID, hash_, {"tags": [{"name": "a", "status": "active"}]}
        ),
        lambda: client.lists.update_list_member(LIST_ID, hash_, {"status": "unsubscribed"}),
        lambda: client.batches.start({"operations": []}),
        lambda: client.batches.status(batch["id"]),
    ]
    for status in (500, 503):
        for call in calls:
            fake.fail_next(status, empty_body=True)
            answer = call()
            assert isinstance(answer, requests.Response)
            assert answer.status_code == status and answer.text == ""
    assert fake.members[(LIST_ID, hash_)]["status"] == "subscribed"
    assert fake.members[(LIST_ID, hash_)]["tags"] == {}
    assert_clean(fake)


def test_injected_429_raises_without_retry_after(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    fake.fail_next(429, count=2, path_contains="/members/")

    for _ in range(2):
        with pytest.raises(ApiClientError) as raised:
            client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))
        assert raised.value.status_code == 429
        assert problem_of(raised.value)["title"] == "Too Many Requests"
    assert client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))["id"]

    fake.fail_next(429)
    raw = requests.get(f"{fake.base_url}/batches/nope", auth=("x", API_KEY), timeout=10)
    assert raw.status_code == 429
    assert "Retry-After" not in raw.headers
    assert raw.headers["Content-Type"] == "application/problem+json"


def test_fail_next_only_hits_matching_paths(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    hash_ = subscriber_hash("ann@example.com")
    fake.fail_next(503, path_contains="/batches")

    assert client.lists.set_list_member(LIST_ID, hash_, member_body("ann@example.com"))["id"]
    with pytest.raises(ApiClientError) as raised:
        client.batches.start({"operations": []})
    assert raised.value.status_code == 503
    assert client.batches.start({"operations": []})["status"] == "pending"


def test_more_than_ten_simultaneous_requests_get_429(fake: FakeMailchimp) -> None:
    fake.delay_s = 0.5  # keep every request in flight long enough to overlap
    hash_ = subscriber_hash("ann@example.com")
    clients = [make_client(fake.base_url, API_KEY) for _ in range(14)]
    barrier = threading.Barrier(len(clients))
    outcomes: list[int] = []
    problems: list[dict[str, Any]] = []
    lock = threading.Lock()

    def call(client: mailchimp_marketing.Client) -> None:
        barrier.wait()
        try:
            client.lists.get_list_member(LIST_ID, hash_)
        except ApiClientError as error:
            with lock:
                outcomes.append(error.status_code)
                if error.status_code == 429:
                    problems.append(json.loads(error.text))

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 14
    assert outcomes.count(429) >= 1
    assert outcomes.count(404) <= 10  # the member does not exist: the admitted ones get 404
    assert fake.max_concurrent > 10
    assert all(p["title"] == "Too Many Requests" for p in problems)
    assert_clean(fake)


# ------------------------------------------------------------------------------------ batches


def put_operation(email: str, operation_id: str) -> dict[str, Any]:
    return {
        "method": "PUT",
        "path": f"/lists/{LIST_ID}/members/{subscriber_hash(email)}",
        "operation_id": operation_id,
        "body": json.dumps(member_body(email)),
    }


def read_results(url: str) -> list[dict[str, Any]]:
    answer = requests.get(url, timeout=10)  # no auth: a pre-signed download link
    assert answer.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        files = [m for m in archive.getmembers() if m.isfile()]
        assert len(files) == 1 and files[0].name.endswith(".json")
        return json.load(archive.extractfile(files[0]))


def test_batch_with_one_failing_operation(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    fake.compliance_emails.add("blocked@example.com")
    operations = [
        put_operation("ann@example.com", "ann"),
        put_operation("blocked@example.com", "blocked"),
        {
            "method": "POST",
            "path": f"/lists/{LIST_ID}/members/{subscriber_hash('ann@example.com')}/tags",
            "operation_id": "ann-tags",
            "body": json.dumps({"tags": [{"name": "customer", "status": "active"}]}),
        },
    ]

    submitted = client.batches.start({"operations": operations})

    assert isinstance(submitted, dict)
    assert submitted["status"] == "pending"
    assert submitted["total_operations"] == 3
    assert submitted["response_body_url"] == ""
    first = client.batches.status(submitted["id"])
    assert first["status"] == "started"
    finished = client.batches.status(submitted["id"])
    assert finished["status"] == "finished"
    assert finished["finished_operations"] == 3
    assert finished["errored_operations"] == 1
    url = finished["response_body_url"]
    assert url == f"http://127.0.0.1:{fake.port}/batch-results/{submitted['id']}.tar.gz"

    results = {r["operation_id"]: r for r in read_results(url)}

    assert {k: r["status_code"] for k, r in results.items()} == {
        "ann": 200,
        "blocked": 400,
        "ann-tags": 204,
    }
    assert all(isinstance(r["response"], str) for r in results.values())
    assert json.loads(results["ann"]["response"])["email_address"] == "ann@example.com"
    problem = json.loads(results["blocked"]["response"])
    assert set(problem) >= PROBLEM_KEYS
    assert problem["title"] == "Member In Compliance State"
    assert results["ann-tags"]["response"] == ""
    assert fake.members[(LIST_ID, subscriber_hash("ann@example.com"))]["tags"] == {"customer": True}
    assert (LIST_ID, subscriber_hash("blocked@example.com")) not in fake.members
    assert [(m, p.split("/")[1]) for m, p, _ in fake.requests] == [
        ("POST", "3.0"),
        ("GET", "3.0"),
        ("GET", "3.0"),
        ("GET", "batch-results"),
    ]
    assert all(status == 200 for _, _, status in fake.requests)
    assert_clean(fake)


def test_batch_operations_are_checked_against_the_spec(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    good = put_operation("ann@example.com", "good")
    no_status = {**put_operation("bob@example.com", "no-status")}
    no_status["body"] = json.dumps({"email_address": "bob@example.com"})
    unknown = {"method": "GET", "path": "/lists/x/nothing-here", "operation_id": "unknown"}
    wrapperless = {
        "method": "POST",
        "path": f"/lists/{LIST_ID}/members/{subscriber_hash('ann@example.com')}/tags",
        "operation_id": "wrapperless",
        "body": json.dumps([{"name": "customer", "status": "active"}]),
    }

    batch = client.batches.start({"operations": [good, no_status, unknown, wrapperless]})
    client.batches.status(batch["id"])
    finished = client.batches.status(batch["id"])

    assert finished["errored_operations"] == 2
    codes = {
        r["operation_id"]: r["status_code"] for r in read_results(finished["response_body_url"])
    }
    assert codes == {"good": 200, "no-status": 400, "unknown": 400, "wrapperless": 204}
    assert len(fake.rejected) == 2
    assert "'no-status'" in fake.rejected[0] and "status_if_new" in fake.rejected[0]
    assert "'unknown'" in fake.rejected[1]
    assert len(fake.wrapperless_tags) == 1 and "'wrapperless'" in fake.wrapperless_tags[0]


def test_a_batch_body_must_be_a_json_string(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    operation = put_operation("ann@example.com", "ann")
    operation["body"] = member_body("ann@example.com")  # a dict, not its JSON text

    with pytest.raises(ApiClientError) as raised:
        client.batches.start({"operations": [operation]})

    assert raised.value.status_code == 400
    assert fake.batches == {}
    assert len(fake.rejected) == 1 and "is not of type 'string'" in fake.rejected[0]


def test_unknown_batch_and_unfinished_results(
    fake: FakeMailchimp, client: mailchimp_marketing.Client
) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.batches.status("0000000000")
    assert raised.value.status_code == 404
    assert problem_of(raised.value)["title"] == "Resource Not Found"

    batch = client.batches.start({"operations": [put_operation("ann@example.com", "ann")]})
    early = requests.get(
        f"http://127.0.0.1:{fake.port}/batch-results/{batch['id']}.tar.gz", timeout=10
    )
    assert early.status_code == 404
    assert_clean(fake)
