"""The fallback chain: order, retries with backoff and Retry-After, the paid unknown-outcome rule,
the content-rejection stop, the job deadline and the circuit breaker."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from llm2pic.backends.base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressEvent, no_progress
from llm2pic.errors import (ConfigurationError, ContentRejectedError, ProtocolError, QuotaError, ReferenceUnsupported,
                            TransientError)
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.hf_inference import HFInferenceBackend
from llm2pic.backends.openai import OpenAIBackend
from llm2pic.config.backends import HFInferenceBackendConfig, OpenAIBackendConfig
from llm2pic.config.chain import ChainSection
from llm2pic.config.load import ConfigError, load_config_data

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
B64_PNG = "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class Clock:
    """A fake monotonic clock; sleeping advances it and records the pause."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Scripted(Backend):
    """A backend that plays a list of outcomes: an exception to raise, or None for an image."""

    def __init__(self, name: str, *outcomes, paid: bool = False, events=()) -> None:
        self.name = name
        self.paid = paid
        self.outcomes = list(outcomes)
        self.events = list(events)
        self.calls = 0

    async def generate(self, request, progress=no_progress):
        self.calls += 1
        for event in self.events:
            progress(event)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "slow":
            await asyncio.sleep(5)
        return [GeneratedImage(PNG, "image/png", self.name)]

    async def probe(self):
        return BackendReport(self.name, True, "ok")


def chain(*backends, clock: Clock | None = None, **settings) -> BackendChain:
    clock = clock or Clock()
    return BackendChain(backends, ChainSection(**settings), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5)


REQUEST = GenerationRequest("a fox")


# --- the two scenarios of the issue, with real backends on respx ------------------------------


async def test_quota_then_transient_then_success_and_the_third_is_never_called():
    clock = Clock()
    events: list[ProgressEvent] = []
    first = OpenAIBackendConfig(name="openai", api_key="sk-first-000000")
    second = HFInferenceBackendConfig(name="hf", token="hf_second00000000")
    third = OpenAIBackendConfig(name="relay", base_url="https://relay.example.com/v1", api_key="third-key")
    async with httpx.AsyncClient() as client:
        backends = [OpenAIBackend(first, client, environ={}), HFInferenceBackend(second, client, environ={}),
                    OpenAIBackend(third, client, environ={})]
        with respx.mock(assert_all_called=False) as router:
            quota = router.post("https://api.openai.com/v1/images/generations").respond(429, json={"error": {
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})
            busy_then_ok = router.post(
                "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell").mock(
                side_effect=[httpx.Response(503, json={"error": "Service Unavailable"}),
                             httpx.Response(200, content=PNG, headers={"content-type": "image/png"})])
            never = router.post("https://relay.example.com/v1/images/generations").respond(
                200, json={"data": [{"b64_json": B64_PNG}]})
            the_chain = BackendChain(backends, ChainSection(), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5)
            images = await the_chain.generate(REQUEST, events.append)
    assert images[0].backend == "hf"
    assert (quota.call_count, busy_then_ok.call_count, never.call_count) == (1, 2, 0)
    assert clock.sleeps == [1.0]
    assert [(e.kind, e.backend) for e in events] == [("backend", "openai"), ("backend", "hf"), ("retry", "hf"),
                                                     ("backend", "hf")]
    status = {s.name: s for s in the_chain.status()}
    assert not status["openai"].available and status["openai"].open_reason.startswith("quota")
    assert status["hf"].available and status["hf"].consecutive_failures == 0


async def test_content_rejection_stops_the_chain():
    first = OpenAIBackendConfig(name="openai", api_key="sk-first-000000")
    second = HFInferenceBackendConfig(name="hf", token="hf_second00000000")
    async with httpx.AsyncClient() as client:
        backends = [OpenAIBackend(first, client, environ={}), HFInferenceBackend(second, client, environ={})]
        with respx.mock(assert_all_called=False) as router:
            refused = router.post("https://api.openai.com/v1/images/generations").respond(400, json={"error": {
                "message": "Your request was rejected by the safety system. safety_violations=[sexual].",
                "type": "image_generation_user_error", "param": None, "code": "moderation_blocked"}})
            other = router.post(url__regex=r"https://router\.huggingface\.co/.*").respond(200, content=PNG)
            the_chain = chain(*backends)
            with pytest.raises(ContentRejectedError) as caught:
                await the_chain.generate(REQUEST)
    assert refused.call_count == 1 and other.call_count == 0
    assert caught.value.user_message == "这个画不了，换个内容试试吧。"
    assert all(s.available and s.consecutive_failures == 0 for s in the_chain.status())


async def test_unknown_outcome_on_a_paid_backend_is_not_resent_and_the_user_is_told():
    events: list[ProgressEvent] = []
    paid = OpenAIBackendConfig(name="openai", api_key="sk-first-000000")
    other_paid = OpenAIBackendConfig(name="relay", base_url="https://relay.example.com/v1", api_key="k-2")
    free = Scripted("free-space")
    async with httpx.AsyncClient() as client:
        backends = [OpenAIBackend(paid, client, environ={}), OpenAIBackend(other_paid, client, environ={}), free]
        with respx.mock(assert_all_called=False) as router:
            dropped = router.post("https://api.openai.com/v1/images/generations").mock(
                side_effect=httpx.ReadError("connection reset by peer"))
            relay = router.post("https://relay.example.com/v1/images/generations").respond(
                200, json={"data": [{"b64_json": B64_PNG}]})
            images = await chain(*backends).generate(REQUEST, events.append)
    assert dropped.call_count == 1 and relay.call_count == 0  # no resend, no second paid provider
    assert free.calls == 1 and images[0].backend == "free-space"
    assert any(e.kind == "log" and "扣费" in e.message for e in events)


async def test_unknown_outcome_on_a_paid_backend_ends_with_a_message_about_charges():
    clock = Clock()
    paid = Scripted("paid", TransientError("read timeout", outcome_unknown=True), paid=True)
    broken = Scripted("free", ProtocolError("garbage"))
    with pytest.raises(TransientError) as caught:
        await chain(paid, broken, clock=clock).generate(REQUEST)
    assert paid.calls == 1 and clock.sleeps == []
    assert caught.value.outcome_unknown and "扣费" in caught.value.user_message


async def test_unknown_outcome_on_a_free_backend_is_retried():
    free = Scripted("free", TransientError("reset", outcome_unknown=True), None)
    images = await chain(free).generate(REQUEST)
    assert free.calls == 2 and images


# --- retries ----------------------------------------------------------------------------------


async def test_retry_after_is_honoured():
    clock = Clock()
    config = OpenAIBackendConfig(name="openai", api_key="sk-first-000000")
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            route = router.post("https://api.openai.com/v1/images/generations").mock(side_effect=[
                httpx.Response(429, headers={"retry-after": "3"}, json={"error": {
                    "message": "Rate limit reached for gpt-image-1", "type": "requests",
                    "code": "rate_limit_exceeded"}}),
                httpx.Response(429, headers={"retry-after-ms": "1500"}, json={"error": {
                    "message": "Rate limit reached", "code": "rate_limit_exceeded"}}),
                httpx.Response(200, json={"data": [{"b64_json": B64_PNG}]})])
            images = await chain(OpenAIBackend(config, client, environ={}), clock=clock).generate(REQUEST)
    assert route.call_count == 3 and clock.sleeps == [3.0, 1.5] and images


async def test_retry_after_longer_than_allowed_moves_on_and_pauses_the_backend():
    clock = Clock()
    limited = Scripted("limited", TransientError("429", retry_after=900))
    spare = Scripted("spare")
    the_chain = chain(limited, spare, clock=clock, max_retry_after=120)
    await the_chain.generate(REQUEST)
    assert limited.calls == 1 and spare.calls == 1 and clock.sleeps == []
    status = the_chain.status()[0]
    assert not status.available and status.cooldown_remaining == 900 and status.open_reason.startswith("rate")


async def test_exponential_backoff_then_the_next_backend():
    clock = Clock()
    flaky = Scripted("flaky", *[TransientError("503")] * 5)
    spare = Scripted("spare")
    await chain(flaky, spare, clock=clock, max_attempts=4, backoff_initial=1, backoff_max=3).generate(REQUEST)
    assert flaky.calls == 4 and clock.sleeps == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("error", [QuotaError("out"), ConfigurationError("401"), ProtocolError("bad json")])
async def test_fatal_errors_move_on_at_once(error):
    clock = Clock()
    first, second = Scripted("first", error), Scripted("second")
    images = await chain(first, second, clock=clock).generate(REQUEST)
    assert first.calls == 1 and clock.sleeps == [] and images[0].backend == "second"


async def test_all_quota_gives_a_quota_error_with_the_earliest_retry():
    with pytest.raises(QuotaError) as caught:
        await chain(Scripted("a", QuotaError("a", retry_after=600)),
                    Scripted("b", QuotaError("b", retry_after=120))).generate(REQUEST)
    assert caught.value.retry_after == 120


async def test_last_error_when_everything_failed():
    with pytest.raises(ConfigurationError):
        await chain(Scripted("a", ProtocolError("x")), Scripted("b", ConfigurationError("y"))).generate(REQUEST)


async def test_no_backend_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        await BackendChain([]).generate(REQUEST)


# --- deadline ---------------------------------------------------------------------------------


async def test_backoff_that_does_not_fit_the_deadline_is_not_slept():
    clock = Clock()
    flaky, spare = Scripted("flaky", TransientError("503", retry_after=50)), Scripted("spare")
    await chain(flaky, spare, clock=clock).generate(REQUEST, deadline=30)
    assert flaky.calls == 1 and clock.sleeps == [] and spare.calls == 1


async def test_a_backend_slower_than_the_deadline_is_stopped():
    slow, spare = Scripted("slow", "slow", paid=True), Scripted("spare")
    with pytest.raises(TransientError) as caught:
        await BackendChain([slow, spare]).generate(REQUEST, deadline=0.05)
    assert spare.calls == 0 and caught.value.outcome_unknown and "扣费" in caught.value.user_message


# --- circuit breaker --------------------------------------------------------------------------


async def test_breaker_opens_after_consecutive_failures_and_closes_after_the_cooldown():
    clock = Clock()
    broken = Scripted("broken", *[ProtocolError("bad answer")] * 3, None)
    spare = Scripted("spare")
    the_chain = chain(broken, spare, clock=clock, breaker_failures=2, breaker_cooldown=60)
    for _ in range(3):
        await the_chain.generate(REQUEST)
    assert broken.calls == 2 and spare.calls == 3  # third job skipped it
    status = the_chain.status()[0]
    assert not status.available and status.consecutive_failures == 2
    assert "2 consecutive failures" in status.describe() and "protocol" in status.describe()
    assert status.user_line() == "broken：暂停中，约 1 分钟后恢复（连续失败）"
    clock.now += 61
    await the_chain.generate(REQUEST)  # half-open: tried again, fails again, opens again
    assert broken.calls == 3 and not the_chain.status()[0].available
    clock.now += 61
    images = await the_chain.generate(REQUEST)
    assert images[0].backend == "broken" and the_chain.status()[0].consecutive_failures == 0
    assert the_chain.status()[0].user_line() == "broken：正常"


async def test_quota_with_retry_after_skips_the_backend_until_then():
    clock = Clock()
    metered = Scripted("metered", QuotaError("quota", retry_after=1800))
    spare = Scripted("spare")
    the_chain = chain(metered, spare, clock=clock)
    await the_chain.generate(REQUEST)
    await the_chain.generate(REQUEST)
    assert metered.calls == 1 and "约 30 分钟后恢复（额度用完）" in the_chain.status()[0].user_line()


async def test_every_backend_paused_gives_a_transient_error_with_the_wait():
    clock = Clock()
    the_chain = chain(Scripted("a", QuotaError("q", retry_after=300)), clock=clock)
    with pytest.raises(QuotaError):
        await the_chain.generate(REQUEST)
    with pytest.raises(TransientError) as caught:
        await the_chain.generate(REQUEST)
    assert caught.value.retry_after == 300 and "约 5 分钟后再试" in caught.value.user_message
    clock.now += 300  # the pause the server asked for is over
    assert (await the_chain.generate(REQUEST))[0].backend == "a"


async def test_content_rejection_does_not_count_as_a_failure():
    clock = Clock()
    picky = Scripted("picky", *[ContentRejectedError("nsfw")] * 3)
    the_chain = chain(picky, clock=clock, breaker_failures=1)
    for _ in range(3):
        with pytest.raises(ContentRejectedError):
            await the_chain.generate(REQUEST)
    assert picky.calls == 3 and the_chain.status()[0].available


# --- progress and the old entry point ---------------------------------------------------------


async def test_queue_position_from_a_backend_reaches_the_caller():
    events: list[ProgressEvent] = []
    queued = ProgressEvent("queued", backend="space", rank=3, queue_size=7, eta=40.0)
    await chain(Scripted("space", events=[queued])).generate(REQUEST, events.append)
    assert events == [ProgressEvent("backend", backend="space", message="space 正在画图"), queued]


# --- [chain] config ---------------------------------------------------------------------------


def test_chain_section_loads_and_validates():
    loaded = load_config_data({"chain": {"max_attempts": 5, "breaker_cooldown": 30, "deadline": 120, "retries": 2}})
    assert loaded.config.chain.max_attempts == 5 and loaded.config.chain.deadline == 120
    assert any("chain.retries" in warning for warning in loaded.warnings)
    with pytest.raises(ConfigError, match="chain"):
        load_config_data({"chain": {"backoff_initial": 10, "backoff_max": 2}})


@pytest.mark.parametrize("crash", [RecursionError("maximum recursion depth exceeded"), KeyError("output"),
                                   TypeError("'NoneType' object is not iterable"), ValueError("invalid literal"),
                                   UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")])
async def test_an_unexpected_exception_is_that_backends_failure_and_the_next_one_draws(crash, caplog):
    broken = Scripted("broken", crash)
    healthy = Scripted("healthy")
    running = chain(broken, healthy)
    images = await running.generate(REQUEST)
    assert images[0].backend == "healthy"
    assert running.status()[0].consecutive_failures == 1
    assert "Traceback" in caplog.text and type(crash).__name__ in caplog.text


async def test_a_timeout_that_escapes_a_backend_is_its_failure_not_the_jobs_deadline():
    """asyncio.TimeoutError from inside a backend (an internal wait_for its edge did not map) is not the
    job's deadline: the next backend still draws; on a paid backend the outcome is unknown, never resent."""
    leaking = Scripted("leaking", asyncio.TimeoutError())
    healthy = Scripted("healthy")
    images = await chain(leaking, healthy, max_attempts=1).generate(REQUEST)
    assert images[0].backend == "healthy" and leaking.calls == 1
    paid = Scripted("paid", asyncio.TimeoutError(), paid=True)
    with pytest.raises(TransientError) as caught:
        await chain(paid, Scripted("paid2", paid=True), max_attempts=3).generate(REQUEST)
    assert paid.calls == 1 and caught.value.outcome_unknown


async def test_a_crash_log_is_redacted(caplog):
    await chain(Scripted("broken", KeyError("sk-canary1234567890abcdef")), Scripted("ok")).generate(REQUEST)
    assert "sk-canary1234567890abcdef" not in caplog.text


async def test_a_crash_on_a_paid_backend_is_never_resent_nor_passed_to_another_paid_one():
    paid = Scripted("paid", TypeError("boom"), paid=True)
    other_paid = Scripted("paid2", paid=True)
    with pytest.raises(TransientError) as caught:
        await chain(paid, other_paid, max_attempts=3).generate(REQUEST)
    assert paid.calls == 1 and other_paid.calls == 0 and caught.value.outcome_unknown


@pytest.mark.parametrize("wait", [float("inf"), float("nan"), 1e308, -5.0])
def test_every_wait_and_its_chat_sentence_stay_bounded(wait):
    for error in (QuotaError("x", retry_after=wait), TransientError("x", retry_after=wait)):
        assert error.retry_after is None or 0 <= error.retry_after <= 24 * 3600
        assert error.user_message


@pytest.mark.parametrize("header", ["1e999", "inf", "nan", "-1", "99999999999999999999", "²", "Fri, 31 Dec 99999"])
async def test_retry_after_headers_from_a_server_are_bounded(header):
    from llm2pic.backends.http import error_for_status
    raw = header.encode("utf-8")
    response = httpx.Response(429, headers=[(b"retry-after", raw), (b"retry-after-ms", raw)])
    error = error_for_status(response, "POST /x")
    assert error.retry_after is None or 0 <= error.retry_after <= 24 * 3600
    images = await chain(Scripted("a", error), Scripted("b"), max_retry_after=60).generate(REQUEST)
    assert images and error.user_message


# --- reference images and several images ------------------------------------------------------


class Drawer(Backend):
    """A backend that records every request and returns up to `per_call` images (each tagged with
    its seed); `outcomes` may script an exception for a given call (1-based)."""

    def __init__(self, name: str, *, takes: bool = True, per_call: int = 1, paid: bool = False,
                 fail: dict | None = None) -> None:
        self.name, self.takes, self.per_call, self.paid = name, takes, per_call, paid
        self.fail = fail or {}
        self.requests: list[GenerationRequest] = []

    async def takes_references(self) -> bool:
        return self.takes

    async def generate(self, request, progress=no_progress):
        self.requests.append(request)
        outcome = self.fail.get(len(self.requests))
        if isinstance(outcome, BaseException):
            raise outcome
        base = request.seed if request.seed is not None else 7
        return [GeneratedImage(PNG + bytes([len(self.requests), index]), "image/png", self.name, seed=base + index)
                for index in range(min(self.per_call, request.count))]

    async def probe(self):
        return BackendReport(self.name, True, "ok")


REFERENCE = GenerationRequest("make it snow", reference_images=(PNG,))


async def test_backends_that_cannot_take_references_are_skipped_with_a_note():
    events: list[ProgressEvent] = []
    text_only, editor = Drawer("text-only", takes=False), Drawer("editor")
    running = chain(text_only, editor, breaker_failures=1)
    images = await running.generate(REFERENCE, events.append)
    assert images[0].backend == "editor" and text_only.requests == []
    assert editor.requests[0].reference_images == (PNG,)
    assert ProgressEvent("log", backend="text-only", message="text-only 不支持参考图，跳过") in events
    # Not a failure: the skipped backend's breaker is untouched, and a job without references uses it.
    assert running.status()[0].consecutive_failures == 0 and running.status()[0].available
    assert (await running.generate(GenerationRequest("a fox")))[0].backend == "text-only"


async def test_when_no_backend_takes_references_the_job_ends_with_one_polite_sentence():
    first, second = Drawer("a", takes=False), Drawer("b", takes=False)
    with pytest.raises(ReferenceUnsupported) as caught:
        await chain(first, second).generate(REFERENCE)
    assert first.requests == second.requests == []
    message = caught.value.user_message
    assert message.count("。") == 1 and "参考图" in message and isinstance(caught.value, ConfigurationError)


async def test_a_backend_that_finds_out_while_working_is_skipped_too():
    unsure = Drawer("unsure", fail={1: ReferenceUnsupported("workflow has no LoadImage", backend="unsure")})
    editor = Drawer("editor")
    running = chain(unsure, editor)
    assert (await running.generate(REFERENCE))[0].backend == "editor"
    assert running.status()[0].consecutive_failures == 0


async def test_a_failing_reference_backend_is_reported_as_itself_not_as_no_reference_backend():
    text_only, editor = Drawer("text-only", takes=False), Drawer("editor", fail={1: QuotaError("used up")})
    with pytest.raises(QuotaError):
        await chain(text_only, editor).generate(REFERENCE)


async def test_hint_references_are_dropped_for_a_backend_that_cannot_take_them():
    text_only = Drawer("text-only", takes=False)
    selfie = GenerationRequest("selfie", reference_images=(PNG,), references_required=False)
    images = await chain(text_only).generate(selfie)
    assert len(images) == 1 and text_only.requests[0].reference_images == ()


async def test_a_batch_backend_is_asked_once_for_several_images():
    events: list[ProgressEvent] = []
    batch = Drawer("batch", per_call=4)
    images = await chain(batch).generate(GenerationRequest("cats", count=3), events.append)
    assert len(images) == 3 and len(batch.requests) == 1 and batch.requests[0].count == 3
    assert not [event for event in events if "已画好" in event.message]


async def test_a_one_at_a_time_backend_is_asked_again_with_new_seeds():
    events: list[ProgressEvent] = []
    single = Drawer("single")
    images = await chain(single).generate(GenerationRequest("cats", count=3, seed=40), events.append)
    assert [r.seed for r in single.requests] == [40, 41, 42] and [r.count for r in single.requests] == [3, 2, 1]
    assert [image.seed for image in images] == [40, 41, 42] and len({image.data for image in images}) == 3
    assert [e.message for e in events if "已画好" in e.message] == ["已画好 1/3 张", "已画好 2/3 张"]
    unseeded = Drawer("unseeded")
    await chain(unseeded).generate(GenerationRequest("cats", count=3))
    seeds = [r.seed for r in unseeded.requests]
    assert seeds[0] is None and len(set(seeds[1:])) == 2 and all(0 <= s < 2**31 for s in seeds[1:])


async def test_a_partial_batch_continues_after_the_batchs_seeds():
    # Two of four come back (seeds 100, 101): the next request starts at 102, not at 101 again.
    halves = Drawer("halves", per_call=2)
    images = await chain(halves).generate(GenerationRequest("cats", count=4, seed=100))
    assert [r.seed for r in halves.requests] == [100, 102] and [i.seed for i in images] == [100, 101, 102, 103]


async def test_a_later_failure_returns_what_was_delivered_and_counts_against_the_backend(caplog):
    events: list[ProgressEvent] = []
    flaky = Drawer("flaky", fail={2: ProtocolError("garbage")})
    backup = Drawer("backup")
    running = chain(flaky, backup)
    images = await running.generate(GenerationRequest("cats", count=3), events.append)
    assert len(images) == 1 and images[0].backend == "flaky" and backup.requests == []
    assert running.status()[0].consecutive_failures == 1
    assert "image 2 of 3 failed" in caplog.text
    assert any("只画好了 1/3 张" in event.message for event in events)


async def test_a_lost_answer_for_a_later_paid_image_is_never_resent():
    lost = TransientError("read timeout", outcome_unknown=True)
    paid = Drawer("paid", paid=True, fail={2: lost})
    images = await chain(paid, max_attempts=3).generate(GenerationRequest("cats", count=3))
    assert len(images) == 1 and len(paid.requests) == 2


async def test_a_transient_failure_of_a_later_free_image_is_retried_within_the_attempts():
    free = Drawer("free", fail={2: TransientError("busy")})
    images = await chain(free, max_attempts=3).generate(GenerationRequest("cats", count=2, seed=5))
    assert len(images) == 2 and [r.seed for r in free.requests] == [5, 6, 6]


async def test_the_deadline_ends_several_images_with_those_delivered():
    clock = Clock()

    class Slow(Drawer):
        async def generate(self, request, progress=no_progress):
            clock.now += 40
            return await super().generate(request, progress)

    slow = Slow("slow")
    images = await chain(slow, clock=clock, deadline=100).generate(GenerationRequest("cats", count=5))
    assert len(images) == 3 and len(slow.requests) == 3


async def test_a_backend_answering_no_image_is_a_failure_and_the_next_draws():
    class Empty(Drawer):
        async def generate(self, request, progress=no_progress):
            return []

    images = await chain(Empty("empty"), Drawer("next")).generate(REQUEST)
    assert images[0].backend == "next"
