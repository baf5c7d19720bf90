"""The warm runtime's pure parts: plain-data wire format and which names the Python judge proxies."""

from __future__ import annotations

import math
import socket
from collections import Counter, OrderedDict, defaultdict

import pytest

from codegen_cli.evaluate.languages.python import judge_plan
from codegen_cli.evaluate.problems import PACKAGED_DIR, load_problems
from codegen_cli.evaluate.runtime.wire import (
    MAX_DEPTH,
    Closed,
    Expired,
    PlainDataError,
    dumps,
    from_wire,
    loads,
    recv_frame,
    send_frame,
    to_wire,
)

PLAIN = [None, True, False, 0, -7, 2**53, -(2**200), 3.5, -0.0, math.inf, -math.inf, "", "é\U0001F600", [1, [2]],
         (1, (2, "x")), {1, 2}, frozenset({"a"}), {"k": [1], 2: (3,), (1, 2): None}, [], (), {}, set()]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip_exactly(value):
    back = from_wire(loads(dumps({"v": to_wire(value)}))["v"])
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_round_trips():
    assert math.isnan(from_wire(loads(dumps({"v": to_wire(math.nan)}))["v"]))


class Always(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("value", [Always("x"), object(), print, iter([1]), [1, Always("y")], {"k": object()}])
def test_anything_else_is_refused_by_name(value):
    with pytest.raises(PlainDataError, match="is not plain data"):
        to_wire(value)
    with pytest.raises(PlainDataError):
        to_wire(value, strict=False)


def test_lenient_side_sends_plain_values_of_common_library_types():
    assert to_wire(Counter("aab"), strict=False) == {"d": [["a", 2], ["b", 1]]}
    assert from_wire(to_wire(OrderedDict(x=1), strict=False)) == {"x": 1}
    assert type(from_wire(to_wire(defaultdict(int, y=2), strict=False))) is dict
    np = pytest.importorskip("numpy")
    assert from_wire(to_wire([np.int64(3), np.float64(0.5), np.bool_(True)], strict=False)) == [3, 0.5, True]
    with pytest.raises(PlainDataError):
        to_wire(np.array([1, 2]), strict=False)  # an array compares elementwise: never plain


def test_a_container_holding_itself_is_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(PlainDataError, match="deep"):
        to_wire(loop)


@pytest.mark.parametrize("data", [{"x": 1}, {"i": 5}, {"t": 1}, {"d": [[1]]}, {"s": [[1]]}, {"d": [[[1], 2]]},
                                  {"i": "zz"}, {"x": "1e9"}, {"t": [], "s": []}])
def test_malformed_wire_data_is_refused(data):
    with pytest.raises(PlainDataError):
        from_wire(data)


def test_deep_wire_data_is_refused():
    data: list = []
    for _ in range(MAX_DEPTH + 5):
        data = [data]
    with pytest.raises(PlainDataError):
        from_wire(data)


def test_frames_round_trip_and_report_eof_limits_and_deadlines():
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, {"big": "x" * 100_000})
        assert len(recv_frame(b)["big"]) == 100_000
        with pytest.raises(Expired):
            recv_frame(b, deadline=0.0)
        a.sendall(b"\x00\x00\x00\x02[]")
        with pytest.raises(PlainDataError, match="JSON object"):
            recv_frame(b)
        send_frame(a, {"n": 1})
        with pytest.raises(PlainDataError, match="over"):
            recv_frame(b, limit=4)
        a.close()
        b.recv(100)  # the refused frame's body
        with pytest.raises(Closed):
            recv_frame(b)


def _plan(task: str, benchmark: str = "humaneval-x") -> dict:
    source = None if benchmark == "humaneval" else PACKAGED_DIR
    (problem,) = load_problems(source, benchmark=benchmark, languages=["python"], tasks=[task])
    return judge_plan(problem.prompt, problem.test, problem.extra.get("entry_point"))


def test_the_function_under_test_is_proxied_and_the_prompts_helpers_are_trusted():
    plan = _plan("38")
    assert plan["names"] == ["decode_cyclic"] and "def encode_cyclic" in plan["trusted"] and plan["check"] is None
    assert _plan("32")["names"] == ["find_zero"]  # poly stays the prompt's own
    assert _plan("115")["names"] == ["max_fill"]  # a stub whose body starts with `import math`
    human_eval = _plan("HumanEval/38", "humaneval")
    assert human_eval["names"] == ["decode_cyclic"] and human_eval["check"] == "decode_cyclic"


def test_every_packaged_and_human_eval_problem_proxies_exactly_its_entry_point():
    for source, benchmark in ((PACKAGED_DIR, "humaneval-x"), (None, "humaneval")):
        for problem in load_problems(source, benchmark=benchmark, languages=["python"]):
            plan = judge_plan(problem.prompt, problem.test, problem.extra.get("entry_point"))
            assert len(plan["names"]) == 1, (problem.task_id, plan["names"])


def test_a_name_only_the_sample_defines_is_proxied():
    plan = judge_plan("def f(x):\n    '''doc'''\n", "def check(c):\n    assert helper(2) == c(1)\ncheck(f)\n", None)
    assert plan["names"] == ["f", "helper"]
