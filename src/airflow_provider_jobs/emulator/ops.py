"""The emulator's operations, in one table that drives the facade, the control API and the client.

Each row of :class:`EmulatorApi` is an :class:`Operation`: the state method that carries it out
(its signature and docstring are the Python API), its control route under ``/_emulator`` (path
parameters in braces, the others in the JSON body of a ``POST``, else in the query string) and
how its result reads as JSON. :class:`~airflow_provider_jobs.emulator.emulator.Emulator` runs
the rows in process, :mod:`~airflow_provider_jobs.emulator.control` serves them and
:class:`~airflow_provider_jobs.emulator.client.EmulatorClient` sends them, so the three cannot
drift apart. A new operation is a method on its service state plus one row here.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

from pydantic import TypeAdapter

from airflow_provider_jobs.emulator.apify_state import ApifyState
from airflow_provider_jobs.emulator.apify_storage import ApifyStorage
from airflow_provider_jobs.emulator.apify_tasks import ApifyTasks
from airflow_provider_jobs.emulator.faults import FaultRegistry
from airflow_provider_jobs.emulator.journal import Journal, JournalEntry
from airflow_provider_jobs.emulator.refs import record_key
from airflow_provider_jobs.emulator.state import EmulatorState
from airflow_provider_jobs.emulator.template_state import TemplateState

P = ParamSpec("P")
R = TypeVar("R")
Reply = Callable[[Any, dict[str, Any], Any], Any]
"""Build the control API's JSON reply from ``(emulator, arguments, result)``."""
OPERATIONS: list[Operation[..., Any]] = []


@functools.lru_cache(maxsize=None)
def _adapter(hint: Any) -> TypeAdapter[Any]:
    """Return the pydantic adapter of ``hint`` without its ``None``, for values that are given."""
    others = tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
    if len(others) < len(typing.get_args(hint)):
        hint = others[0] if len(others) == 1 else typing.Union[others]
    return TypeAdapter(hint)


class Operation(Generic[P, R]):
    """One operation: a method of the emulator with the signature of ``impl`` (minus ``self``).

    :param impl: the state method that carries the operation out.
    :param verb: HTTP method of its control route.
    :param path: path of its control route under ``/_emulator``.
    :param on: the attribute of the emulator that holds the state ``impl`` runs on (the
        emulator itself when empty).
    :param key: the result travels as ``{key: result}``.
    :param reply: builds the JSON reply instead (the client then reads ``key``, if any).
    :param fixed: body fields that pick this operation among those sharing its route.
    :param body: the argument that is the whole JSON body (it may also be given as its fields).
    """

    def __init__(
        self,
        impl: Callable[Concatenate[Any, P], R],
        verb: str,
        path: str,
        *,
        on: str = "",
        key: str | None = None,
        reply: Reply | None = None,
        fixed: Mapping[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        self.impl, self.verb, self.path, self.on = impl, verb, path, on
        self.key, self.reply, self.fixed, self.body = key, reply, dict(fixed or {}), body
        self.name = impl.__name__
        self.__doc__ = impl.__doc__
        self.params = list(inspect.signature(impl).parameters.values())[1:]
        self.signature = inspect.Signature(self.params)
        self._run: Callable[..., Any] = impl  # called with bound arguments (typing stops here)
        self.path_params: list[str] = re.findall(r"\{(\w+)\}", path)
        OPERATIONS.append(self)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, emulator: None, owner: type) -> Operation[P, R]: ...
    @overload
    def __get__(self, emulator: EmulatorApi, owner: type) -> Callable[P, R]: ...
    def __get__(self, emulator: EmulatorApi | None, owner: type) -> Operation[P, R] | Callable[P, R]:
        if emulator is None:
            return self

        def perform(*args: P.args, **kwargs: P.kwargs) -> R:
            return emulator._invoke(self, self.bind(*args, **kwargs))

        perform.__name__, perform.__doc__ = self.name, self.__doc__
        return perform

    @functools.cached_property
    def hints(self) -> dict[str, Any]:
        """Return the resolved type hints of ``impl``."""
        return typing.get_type_hints(self.impl)

    def bind(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return the arguments of a call by name, defaults filled in and ``**fields`` spread."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        for param in self.params:
            if param.kind is param.VAR_KEYWORD:
                values.update(values.pop(param.name))
        return values

    def call_on(self, emulator: object, args: dict[str, Any]) -> Any:
        """Carry the operation out on an in-process emulator."""
        return self._run(getattr(emulator, self.on) if self.on else emulator, **args)

    # -- the client side ----------------------------------------------------------------------
    def request(self, args: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        """Return ``(path, query, JSON body)`` of the control request for bound ``args``."""
        segments = {name: quote(record_key(args.pop(name)), safe="") for name in self.path_params}
        if self.body is not None:
            value = args.pop(self.body)
            hint = self.hints[self.body]
            payload = _adapter(hint).dump_python(
                value if value is not None else _adapter(hint).validate_python(args), mode="json"
            )
        else:
            payload = dict(self.fixed)
            for name, value in args.items():
                if value is not None:
                    payload[name] = _adapter(self.hints[name]).dump_python(value, mode="json")
        path = self.path.format(**segments)
        return (path, {}, payload) if self.verb == "POST" else (path, payload, None)

    def result(self, data: Any) -> Any:
        """Rebuild the typed result from the control API's JSON reply."""
        returns = self.hints["return"]
        if returns is type(None):
            return None
        return _adapter(returns).validate_python(data[self.key] if self.key else data)

    # -- the server side ----------------------------------------------------------------------
    def parse(self, params: Mapping[str, str], query: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """Return the typed arguments of a control request.

        :raises KeyError: a required field is missing.
        :raises ValueError: an unknown field, or a value of the wrong type.
        """
        given = {k: v for k, v in (body if self.verb == "POST" else query).items() if k not in self.fixed}
        if self.body is not None:
            given = {self.body: given}
        unknown = set(given).difference(p.name for p in self.params).union(set(given) & set(self.path_params))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        given.update(params)
        for param in self.params:
            if param.default is param.empty and param.kind is not param.VAR_KEYWORD and param.name not in given:
                raise KeyError(param.name)
        typed = {
            name: None if v is None else _adapter(self.hints[name]).validate_python(v) for name, v in given.items()
        }
        return self.bind(**typed)

    def to_json(self, emulator: object, args: dict[str, Any], result: Any) -> Any:
        """Return the control API's JSON reply for a result."""
        if self.reply is not None:
            return self.reply(emulator, args, result)
        value = _adapter(self.hints["return"]).dump_python(result, mode="json")
        return {self.key: value} if self.key else value


def _cleared(emulator: Any, args: dict[str, Any], result: None) -> dict[str, bool]:
    return {"cleared": True}


def _token_added(api: str, key: str) -> Reply:
    return lambda emulator, args, result: {"api": api, "token": args["token"], key: result}


def _fault_status(emulator: Any, args: dict[str, Any], hits: int) -> dict[str, Any]:
    active = any(rule["id"] == args["fault_id"] for rule in emulator.faults)
    return {"id": args["fault_id"], "hits": hits, "active": active}


class EmulatorApi:
    """Seeding, inspection, journal and faults of an emulator, in process or over the control API.

    Every operation's documentation is its state method's (see the table below). Durations in
    timelines are emulated seconds, multiplied by the time scale to get real seconds. Unknown
    ids and names raise :class:`~airflow_provider_jobs.emulator.errors.UnknownRecordError`.
    """

    def _invoke(self, op: Operation[..., Any], args: dict[str, Any]) -> Any:
        """Carry out ``op`` with its bound arguments."""
        raise NotImplementedError

    # fmt: off
    # -- housekeeping -------------------------------------------------------------------------
    state = Operation(EmulatorState.state, "GET", "/state")
    reset = Operation(EmulatorState.reset, "POST", "/reset", reply=lambda emulator, args, _: emulator.state())
    set_time_scale = Operation(EmulatorState.set_time_scale, "POST", "/time-scale",
                               reply=lambda emulator, args, _: {"time_scale": emulator.time_scale})
    add_apify_token = Operation(ApifyState.add_token, "POST", "/tokens", on="apify", key="username",
                                fixed={"api": "apify"}, reply=_token_added("apify", "username"))
    add_template_token = Operation(TemplateState.add_token, "POST", "/tokens", on="templates", key="namespace",
                                   fixed={"api": "templates"}, reply=_token_added("templates", "namespace"))
    # -- Apify --------------------------------------------------------------------------------
    seed_actor = Operation(ApifyState.seed_actor, "POST", "/actors", on="apify")
    actors = Operation(ApifyState.actors_seeded, "GET", "/actors", on="apify")
    create_run = Operation(ApifyState.create_run, "POST", "/actors/{actor}/runs", on="apify", key="id")
    runs_of = Operation(ApifyState.runs_of, "GET", "/actors/{actor}/runs", on="apify")
    create_build = Operation(ApifyState.create_build, "POST", "/actors/{actor}/builds", on="apify", key="id")
    builds_of = Operation(ApifyState.builds_of, "GET", "/actors/{actor}/builds", on="apify")
    get_run = Operation(ApifyState.get_run, "GET", "/runs/{run_id}", on="apify")
    abort_run = Operation(ApifyState.abort_run, "POST", "/runs/{run_id}/abort", on="apify")
    get_build = Operation(ApifyState.get_build, "GET", "/builds/{build_id}", on="apify")
    abort_build = Operation(ApifyState.abort_build, "POST", "/builds/{build_id}/abort", on="apify")
    create_dataset = Operation(ApifyStorage.create_dataset, "POST", "/datasets", on="apify_storage", key="id")
    push_items = Operation(ApifyStorage.push_items, "POST", "/datasets/{dataset_id}/items", on="apify_storage",
                           key="total")
    dataset_items = Operation(ApifyStorage.dataset_items, "GET", "/datasets/{dataset_id}/items",
                              on="apify_storage")
    put_record = Operation(ApifyStorage.put_record, "POST", "/key-value-stores/{store_id}/records/{record_key}",
                           on="apify_storage", reply=lambda emulator, args, _: {"stored": True})
    get_record = Operation(ApifyStorage.get_record, "GET", "/key-value-stores/{store_id}/records/{record_key}",
                           on="apify_storage")
    seed_task = Operation(ApifyTasks.seed_task, "POST", "/tasks", on="apify_tasks")
    get_task = Operation(ApifyTasks.get_task, "GET", "/tasks/{task_id}", on="apify_tasks")
    set_account_limits = Operation(ApifyTasks.set_account_limits, "POST", "/account-limits", on="apify_tasks",
                                   reply=lambda emulator, args, _: {"limits": args})
    run_start_options = Operation(ApifyTasks.run_start_options, "GET", "/runs/{run_id}/start-options",
                                  on="apify_tasks")
    log_of = Operation(ApifyStorage.log_of, "GET", "/logs/{job_id}", on="apify_storage", key="log")
    # -- templates ----------------------------------------------------------------------------
    seed_template = Operation(TemplateState.seed_template, "POST", "/templates", on="templates")
    template_builds = Operation(TemplateState.template_builds, "GET", "/template-builds", on="templates")
    create_template_build = Operation(TemplateState.create_template_build, "POST", "/template-builds",
                                      on="templates", key="id")
    get_template_build = Operation(TemplateState.get_template_build, "GET", "/template-builds/{build_id}",
                                   on="templates")
    cancel_template_build = Operation(TemplateState.cancel_template_build, "POST",
                                      "/template-builds/{build_id}/cancel", on="templates")
    # -- journal and faults -------------------------------------------------------------------
    requests = Operation(Journal.select, "GET", "/journal", on="journal_store")
    clear_journal = Operation(Journal.clear, "DELETE", "/journal", on="journal_store", reply=_cleared)
    _active_faults = Operation(FaultRegistry.active, "GET", "/faults", on="fault_registry")
    add_fault = Operation(FaultRegistry.add, "POST", "/faults", on="fault_registry", body="fault")
    clear_faults = Operation(FaultRegistry.clear, "DELETE", "/faults", on="fault_registry", reply=_cleared)
    fault_hits = Operation(FaultRegistry.hits, "GET", "/faults/{fault_id}", on="fault_registry", key="hits",
                           reply=_fault_status)
    remove_fault = Operation(FaultRegistry.remove, "DELETE", "/faults/{fault_id}", on="fault_registry",
                             key="removed")
    # fmt: on

    @property
    def time_scale(self) -> float:
        """Return real seconds per emulated second."""
        return float(self.state()["time_scale"])

    @property
    def apify_token(self) -> str:
        """Return the first (default) Apify token."""
        return str(self.state()["apify_tokens"][0])

    @property
    def templates_token(self) -> str:
        """Return the first (default) templates API key."""
        return str(self.state()["template_tokens"][0])

    @property
    def journal(self) -> list[JournalEntry]:
        """Return every journaled request, oldest first."""
        return self.requests()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Return the active fault rules with their ``remaining`` and ``hits`` counts."""
        return self._active_faults()
