"""Everything a running app holds: settings, keys, limits, prompt configs, router, store."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from .auth import KeyRing
from .limits import RateLimiter
from .logs import JsonLog
from .prompts import PromptConfig, load_all
from .router import Router
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    import aiohttp

    from .guardrails import Guardrails
    from .metering import Meter
    from .tracing import Tracing

    from .providers.google_identity import GoogleTokenSource
    from .store.base import Store


@dataclass
class Drain:
    """Set on SIGTERM: streams still running near the end of the grace period wrap up cleanly
    (partial answer stored, final chunk and [DONE] sent) before Cloud Run's SIGKILL."""

    grace_s: float
    started: float | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _event: asyncio.Event | None = None
    # tasks waiting on a model (chat.before_cutoff): cancelled at the cutoff, by one timer
    _watched: set[asyncio.Task[Any]] = field(default_factory=set)
    _cut: set[asyncio.Task[Any]] = field(default_factory=set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def begin(self) -> None:
        """Safe to call from a signal handler: the event is set through the loop's self-pipe."""
        if self.started is None:
            self.started = time.monotonic()
            if self._loop is not None and self._event is not None:
                self._loop.call_soon_threadsafe(self._event.set)
                self._loop.call_soon_threadsafe(self._arm_cutoff)

    def _arm_cutoff(self) -> None:
        cutoff = self.cutoff()
        assert cutoff is not None and self._loop is not None
        self._loop.call_later(max(0.0, cutoff - time.monotonic()), self._cut_watched)

    def _cut_watched(self) -> None:
        for task in list(self._watched):
            self._cut.add(task)
            task.cancel()
        self._watched.clear()

    def watch(self, task: asyncio.Task[Any]) -> None:
        """Cancels `task` at the drain's cutoff (at once if it has passed) unless `unwatch`ed first."""
        cutoff = self.cutoff()
        if cutoff is not None and time.monotonic() >= cutoff:
            self._cut.add(task)
            task.cancel()
            return
        self._watched.add(task)

    def unwatch(self, task: asyncio.Task[Any]) -> bool:
        """Stops watching `task`; True when the cutoff cancelled it."""
        self._watched.discard(task)
        if task in self._cut:
            self._cut.discard(task)
            return True
        return False

    async def reached(self) -> None:
        """Returns at the cutoff of a drain (never, without one)."""
        if self._event is None:
            await asyncio.Future()  # not bound: wait forever (until cancelled)
        else:
            await self._event.wait()
        cutoff = self.cutoff()
        assert cutoff is not None
        await asyncio.sleep(max(0.0, cutoff - time.monotonic()))

    @property
    def active(self) -> bool:
        return self.started is not None

    def cutoff(self) -> float | None:
        """Monotonic time by which streams must end: grace minus a margin for the last writes."""
        if self.started is None:
            return None
        return self.started + max(0.2, self.grace_s - 1.5)


@dataclass
class Runtime:
    settings: Settings
    log: JsonLog
    keys: KeyRing
    limiter: RateLimiter
    anon_limiter: RateLimiter
    prompts: dict[str, PromptConfig]
    router: Router
    store: Store
    session: aiohttp.ClientSession
    drain: Drain
    allowed_models: dict[str, frozenset[str]] = field(default_factory=dict)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Model Armor screening (chatapp/guardrails.py); None when CHAT_GUARDRAILS_TEMPLATE is unset
    guardrails: Guardrails | None = None
    meter: Meter | None = None  # usage records and quotas (metering.py)
    tracing: Tracing | None = None  # OpenTelemetry (tracing.py)

    async def close(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()  # flushes what is still batched
        if self.meter is not None:
            await self.meter.close()
        for provider in {id(p): p for p in self.router.providers.values()}.values():
            await provider.close()
        await self.session.close()
        await self.store.close()


async def build_runtime(settings: Settings, log: JsonLog, store: Store | None, env: dict[str, str] | None) -> Runtime:
    """Validates what startup can validate (keys, prompt configs) before opening anything."""
    import aiohttp

    from .providers.base import Provider
    from .providers.gemini import GeminiProvider
    from .providers.openai_compat import OpenAICompatProvider

    from .metering import build_meter
    from .tracing import TracedStore, build_tracing

    keys = KeyRing.parse(settings.api_keys, settings.partner_api_keys)
    meter = build_meter(settings, env, log)
    tracing = build_tracing(settings, env, log)
    prompts = load_all(settings, env)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=30, enable_cleanup_closed=True),
    )
    providers: dict[str, Provider] = {}
    for config in prompts.values():
        for route in config.chain:
            key = f"{route.provider}|{route.base_url or ''}"
            if key in providers:
                continue
            if route.provider == "openai":
                assert route.base_url
                providers[key] = OpenAICompatProvider(
                    session, route.base_url, settings.openai_api_key, _token_source(settings)
                )
            else:
                providers[key] = GeminiProvider(
                    project=settings.vertex_project,
                    location=settings.vertex_location,
                    api_key=settings.gemini_api_key,
                    base_url=settings.gemini_base_url,
                )
    try:
        guardrails = _guardrails(env, session)
    except BaseException:
        await session.close()
        raise
    if store is None:
        from .store import make_store

        store = make_store(settings)
    from .store.guard import GuardedStore

    store = GuardedStore(store, settings.store_timeout_s)
    if tracing is not None:
        store = cast("Store", TracedStore(store, tracing))
    try:
        await store.start()
        if meter is not None:
            await meter.start()
    except BaseException:
        await session.close()
        raise
    allowed = {v: frozenset({"default", *c.model_names}) for v, c in prompts.items()}
    router = Router(providers, settings.breaker_failures, settings.breaker_cooldown_s)
    router.tracing = tracing
    return Runtime(
        settings=settings,
        log=log,
        keys=keys,
        limiter=RateLimiter(settings.rate_rpm, settings.rate_tpm),
        anon_limiter=RateLimiter(settings.anon_rpm, settings.anon_tpm),
        prompts=prompts,
        router=router,
        store=store,
        session=session,
        drain=Drain(settings.shutdown_grace_s),
        allowed_models=allowed,
        guardrails=guardrails,
        meter=meter,
        tracing=tracing,
    )


def _guardrails(env: dict[str, str] | None, session: aiohttp.ClientSession) -> Guardrails | None:
    import os

    from .guardrails import Guardrails, GuardrailSettingsError

    try:
        return Guardrails.from_env(env if env is not None else dict(os.environ), session)
    except GuardrailSettingsError as exc:
        raise SettingsError(exc.problems) from None


def _token_source(settings: Settings) -> GoogleTokenSource | None:
    from .providers.google_identity import GoogleTokenSource

    if settings.openai_auth == "google-access-token":
        return GoogleTokenSource("google-access-token")
    if settings.openai_auth == "google-id-token":
        return GoogleTokenSource("google-id-token", settings.openai_audience)
    return None


def hook_sigterm(drain: Drain) -> None:
    """Chain onto the server's SIGTERM handler (uvicorn installs its own before startup) so the
    drain starts at the signal. Only possible in the main thread; elsewhere a no-op."""
    drain.bind(asyncio.get_running_loop())
    try:
        previous = signal.getsignal(signal.SIGTERM)

        def handler(signum: int, frame: Any) -> None:
            drain.begin()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests run the server in a thread)
        pass
