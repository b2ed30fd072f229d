"""The decision: one frame per node, for the whole graph at once.

Cost = the transposes the rewrite will need: one per distinct (producer, layout)
pair where a consumer needs the producer's tensor in a layout it does not have
(shared by all consumers that need the same layout). Layouts that hold the same
bytes convert with a reshape, which costs next to nothing; constants convert for free.

Strategy: candidates per node come from its neighbours' layouts (forward from inputs,
backward from users). A backward dynamic programme estimates, per node and frame, the
cost still to come downstream (each node's share split among its inputs, so shared
futures are not counted twice); a greedy forward pass then picks the frame with the
cheapest inputs plus that estimate, and coordinate descent moves single nodes while
the exact total cost drops. The `Partitioner` interface leaves room for other
strategies (e.g. a min-cut).
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field

import torch

from edgebatch._convert.ir.nodes import is_tensor_node, shape, val
from edgebatch._convert.passes.layout.analysis import GraphFacts
from edgebatch._convert.passes.layout.perm import identity, same_memory
from edgebatch._convert.passes.layout.rules.registry import FIXED, Frame, Plan, rule_for

MAX_CANDIDATES = 8
CANDIDATE_ROUNDS = 3
MAX_SWEEPS = 8


# Producers whose consumers TF's converter fuses into them (conv + bias + BN + activation):
# a transpose right after one would split the fusion, so it costs a little more there.
# (a batch norm folds into the conv before it: after it is the better place)
_FUSING = {torch.ops.aten.convolution.default: 0.1,
           torch.ops.aten._native_batch_norm_legit_no_training.default: 0.05}


def _fusion_penalty(node: torch.fx.Node) -> float:
    if node.target is operator.getitem:
        node = node.args[0]
    return _FUSING.get(node.target, 0.0) if node.op == "call_function" else 0.0


def conversion_cost(node: torch.fx.Node, have, want) -> float:
    if have == want:
        return 0.0
    if same_memory(shape(node), have, want):
        return 0.01  # a reshape
    numel = 1
    for s in shape(node):
        numel *= s if isinstance(s, int) else 64
    return 1.0 + min(numel * 1e-8, 0.5) + _fusion_penalty(node)


@dataclass
class Decision:
    frames: dict[torch.fx.Node, Frame] = field(default_factory=dict)
    plans: dict[torch.fx.Node, Plan] = field(default_factory=dict)
    rules: dict = field(default_factory=dict)
    cost: float = 0.0


class Partitioner:
    def decide(self, facts: GraphFacts) -> Decision:
        raise NotImplementedError


class GreedyDescent(Partitioner):
    def decide(self, facts: GraphFacts) -> Decision:
        return _Search(facts).run()


class _Search:
    def __init__(self, facts: GraphFacts):
        self.facts = facts
        self.constants = facts.constants
        self.nodes = facts.decisions
        self.rules = {n: rule_for(n) for n in self.nodes}
        self._plans: dict[tuple, Plan | None] = {}
        self.candidates: dict[torch.fx.Node, list[Frame]] = {}
        self.frame: dict[torch.fx.Node, Frame] = {}
        self.needs: dict[torch.fx.Node, Counter] = {}
        self.output_needs: list[tuple[torch.fx.Node, tuple]] = []

    # --- plans and layouts ------------------------------------------------------------
    def plan(self, node, frame) -> Plan | None:
        key = (node, frame)
        if key not in self._plans:
            try:
                self._plans[key] = self.rules[node].plan(node, frame)
            except (ValueError, IndexError, TypeError, KeyError):
                self._plans[key] = None
        return self._plans[key]

    def out_layout(self, node, frames=None):
        """Layout of a (non-constant) tensor producer under the current frames."""
        frames = self.frame if frames is None else frames
        if node.op == "placeholder":
            return identity(val(node).dim())
        if node.target is operator.getitem and node.args[0] in self.rules:
            container = node.args[0]
            outs = self.plan(container, frames[container]).outs
            index = node.args[1]
            return outs[index] if index < len(outs) else None
        if node in self.rules:
            outs = self.plan(node, frames[node]).outs
            return outs[0] if outs else None
        return identity(val(node).dim()) if is_tensor_node(node) else None

    def possible_layouts(self, node) -> set:
        if node in self.constants or not is_tensor_node(node):
            return set()
        if node.target is operator.getitem and node.args[0] in self.rules:
            container, index = node.args
            layouts = set()
            for f in self.candidates[container]:
                outs = self.plan(container, f).outs
                if index < len(outs) and outs[index] is not None:
                    layouts.add(outs[index])
            return layouts
        if node in self.rules:
            return {self.plan(node, f).outs[0] for f in self.candidates[node]
                    if self.plan(node, f).outs and self.plan(node, f).outs[0] is not None}
        return {identity(val(node).dim())}

    # --- candidates --------------------------------------------------------------------
    def _add(self, node, frame):
        cands = self.candidates[node]
        if frame is None or frame in cands or len(cands) >= MAX_CANDIDATES:
            return
        if self.plan(node, frame) is not None:
            cands.append(frame)

    def build_candidates(self):
        for node in self.nodes:
            rule = self.rules[node]
            fixed = rule.fixed_frames(node)
            if fixed is not None:
                self.candidates[node] = [f for f in fixed if self.plan(node, f) is not None]
            else:
                self.candidates[node] = []
                self._add(node, rule.identity_frame(node))
            if not self.candidates[node]:  # no valid frame: torch's layout, as is
                self.rules[node] = FIXED
                self.candidates[node] = [None]
                self._plans[(node, None)] = FIXED.plan(node, None)
        free = [n for n in self.nodes if self.rules[n].fixed_frames(n) is None]
        for _ in range(CANDIDATE_ROUNDS):
            before = sum(len(self.candidates[n]) for n in free)
            for node in free:  # forward: frames in which an input needs no conversion
                rule = self.rules[node]
                for producer in node.all_input_nodes:
                    for layout in self.possible_layouts(producer):
                        self._add(node, rule.frame_from_input(node, producer, layout))
            for node in reversed(free):  # backward: frames that give users what they want
                rule = self.rules[node]
                for index, consumer_value in _consumers(node):
                    for want in self.wanted(consumer_value):
                        self._add(node, rule.frame_from_output(node, want, index))
            if sum(len(self.candidates[n]) for n in free) == before:
                break

    def wanted(self, value) -> set:
        """Layouts the users of `value` might need it in."""
        wants = set()
        for user in value.users:
            if user in self.rules:
                for f in self.candidates.get(user, []):
                    p = self.plan(user, f)
                    wants.update(layout for n, layout in p.needs if n is value)
            elif user.op == "output":
                wants.add(identity(val(value).dim()))
        return wants

    # --- cost ------------------------------------------------------------------------
    def producer_cost(self, producer) -> float:
        if producer in self.constants or not is_tensor_node(producer):
            return 0.0
        have = self.out_layout(producer)
        return sum(conversion_cost(producer, have, want)
                   for want, count in self.needs.get(producer, {}).items() if count > 0)

    def _needs_of(self, node, frame):
        return [(n, layout) for n, layout in self.plan(node, frame).needs
                if n not in self.constants]

    def _apply(self, node, frame):
        old = self.frame.get(node)
        if old is not None or node in self.frame:
            for n, layout in self._needs_of(node, old):
                self.needs[n][layout] -= 1
        self.frame[node] = frame
        for n, layout in self._needs_of(node, frame):
            self.needs.setdefault(n, Counter())[layout] += 1

    def _affected(self, node, frames) -> set:
        nodes = set()
        for f in frames:
            nodes.update(n for n, _ in self._needs_of(node, f))
        if isinstance(val(node), (tuple, list)):
            nodes.update(u for u in node.users if u.target is operator.getitem)
        else:
            nodes.add(node)
        return nodes

    def _local_cost(self, nodes) -> float:
        return sum(self.producer_cost(n) for n in nodes)

    def total_cost(self) -> float:
        producers = set(self.needs)
        return sum(self.producer_cost(n) for n in producers)

    # --- lookahead -----------------------------------------------------------------------
    def estimate_downstream(self) -> dict:
        """(node, frame) → estimated conversions needed from there to the outputs."""
        ahead: dict[tuple, float] = {}
        shares = {n: max(1, sum(1 for m in n.all_input_nodes
                                if m not in self.constants and is_tensor_node(m)))
                  for n in self.nodes}
        for node in reversed(self.nodes):
            for f in self.candidates[node]:
                plan = self.plan(node, f)
                total = 0.0
                for index, value in _consumers(node):
                    outs = plan.outs
                    have = outs[index] if index < len(outs) else None
                    if have is None or not is_tensor_node(value):
                        continue
                    for user in value.users:
                        if user.op == "output":
                            total += conversion_cost(value, have, identity(len(have)))
                            continue
                        if user not in self.rules:
                            continue
                        best = None
                        for g in self.candidates[user]:
                            cost = ahead.get((user, g), 0.0) / shares[user]
                            for n, want in self.plan(user, g).needs:
                                if n is value:
                                    cost += conversion_cost(value, have, want)
                            best = cost if best is None else min(best, cost)
                        total += best or 0.0
                ahead[(node, f)] = total
        return ahead

    # --- search --------------------------------------------------------------------------
    def run(self) -> Decision:
        self.build_candidates()
        ahead = self.estimate_downstream()
        output = self.facts.output
        if output is not None:
            for value in output.all_input_nodes:
                if is_tensor_node(value) and value not in self.constants:
                    self.needs.setdefault(value, Counter())[identity(val(value).dim())] += 1
        for node in self.nodes:  # greedy: cheapest inputs so far plus the estimate ahead
            best, best_cost = None, None
            for f in self.candidates[node]:
                cost = ahead.get((node, f), 0.0)
                for n, layout in self._needs_of(node, f):
                    if self.needs.get(n, {}).get(layout, 0) > 0:
                        continue
                    have = self.out_layout(n)
                    cost += conversion_cost(n, have, layout) if have is not None else 0.0
                if best_cost is None or cost < best_cost - 1e-9:
                    best, best_cost = f, cost
            self._apply(node, best)
        for sweep in range(MAX_SWEEPS):
            changed = False
            order = reversed(self.nodes) if sweep % 2 == 0 else self.nodes
            for node in list(order):
                if len(self.candidates[node]) < 2:
                    continue
                current = self.frame[node]
                affected = self._affected(node, self.candidates[node])
                base = self._local_cost(affected)
                best, best_cost = current, base
                for f in self.candidates[node]:
                    if f == current:
                        continue
                    self._apply(node, f)
                    cost = self._local_cost(affected)
                    if cost < best_cost - 1e-9:
                        best, best_cost = f, cost
                    self._apply(node, current)
                if best != current:
                    self._apply(node, best)
                    changed = True
            if not changed:
                break
        decision = Decision(dict(self.frame), {n: self.plan(n, f) for n, f in self.frame.items()})
        decision.rules = dict(self.rules)
        decision.cost = self.total_cost()
        return decision


def _consumers(node):
    """(output index, value node) pairs: the node itself, or its getitem children."""
    if isinstance(val(node), (tuple, list)):
        return [(u.args[1], u) for u in node.users if u.target is operator.getitem]
    return [(0, node)]
