"""The audit chain's entries, their canonical encoding and hash, and its verification.

An entry's hash is SHA-256 over a canonical encoding of everything in it, the previous
entry's hash included:

    sha256(utf-8 of JSON [seq, ts_ns, actor, source, action, object, details, prev_hash])

with JSON written compactly (`,` and `:` without spaces, non-ASCII as is) and `details`
being the stored text (itself compact JSON with sorted keys).  The first entry's
prev_hash is 64 zeros.  Changing, removing, inserting or reordering anything breaks
either an entry's own hash or the link from the next one; `verify` walks the chain once
and names the first entry where that happens and what most likely happened there.  A
rewrite of the whole chain is consistent in itself: only a head exported earlier
(`wellgate audit head`, later sent to the cloud) shows it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
ANCHOR = "audit.anchor"  # the first row after a prune: carries the last pruned hash
PRUNE = "audit.prune"  # the chained record of a prune (what the anchor must match)
# How far from its position a moved entry is looked for when its own hash fails.
SEARCH_WINDOW = 1000


def canonical(details: dict[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def entry_hash(seq: int, ts_ns: int, actor: str, source: str, action: str, obj: str,
               details: str, prev_hash: str) -> str:
    payload = json.dumps([seq, ts_ns, actor, source, action, obj, details, prev_hash],
                         separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    ts_ns: int
    actor: str
    source: str
    action: str
    object: str
    details: str  # canonical JSON text, exactly as hashed
    prev_hash: str
    hash: str

    def computed_hash(self, seq: int | None = None) -> str:
        return entry_hash(self.seq if seq is None else seq, self.ts_ns, self.actor,
                          self.source, self.action, self.object, self.details,
                          self.prev_hash)

    def details_dict(self) -> dict[str, Any]:
        try:
            value = json.loads(self.details)
        except ValueError:
            return {"unreadable": self.details}
        return value if isinstance(value, dict) else {"value": value}

    @property
    def is_anchor(self) -> bool:
        return self.action == ANCHOR and self.prev_hash == ""


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str

    def text(self) -> str:
        return f"{self.seq}:{self.hash}"

    @staticmethod
    def parse(text: str) -> Head | None:
        """'SEQ:HASH' (as `audit head` prints it; surrounding text ignored)."""
        for word in text.split():
            seq, _, digest = word.strip().partition(":")
            if seq.isdigit() and len(digest) == 64 and all(c in "0123456789abcdef"
                                                            for c in digest):
                return Head(int(seq), digest)
        return None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int  # the entry named (0 = the chain as a whole)
    kind: str  # edited, removed, inserted, reordered, anchor, head
    en: str
    es: str


@dataclass(frozen=True, slots=True)
class Verdict:
    count: int  # entries checked (an anchor not counted)
    head: Head | None
    anchor: Head | None  # where the chain starts after a prune
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _moved_from(entry: Entry, last_seq: int) -> int | None:
    """The position whose hash this entry's content gives, if it is not its own."""
    lo = max(1, entry.seq - SEARCH_WINDOW)
    hi = min(last_seq + SEARCH_WINDOW, entry.seq + SEARCH_WINDOW)
    for s in range(lo, hi + 1):
        if s != entry.seq and entry.computed_hash(s) == entry.hash:
            return s
    return None


def _classify(entry: Entry, expected_seq: int, last_seq: int) -> ChainProblem:
    if entry.seq != expected_seq:
        first, last = expected_seq, entry.seq - 1
        span = f"{first}" if first == last else f"{first}–{last}"
        return ChainProblem(first, "removed", f"entry {span} was removed (the chain goes from "
                            f"{first - 1} to {entry.seq})", f"se eliminó la entrada {span} "
                            f"(la cadena pasa de {first - 1} a {entry.seq})")
    if entry.computed_hash() != entry.hash:
        origin = _moved_from(entry, last_seq)
        if origin is not None and origin > entry.seq:
            return ChainProblem(entry.seq, "reordered",
                                f"entry {origin} was moved to position {entry.seq} "
                                "(entries reordered)",
                                f"la entrada {origin} se movió a la posición {entry.seq} "
                                "(entradas reordenadas)")
        if origin is not None:
            return ChainProblem(origin, "inserted",
                                f"entry {origin} was inserted: what was entry {origin} is now "
                                f"at {entry.seq}",
                                f"se insertó la entrada {origin}: la que era la entrada "
                                f"{origin} está ahora en {entry.seq}")
        return ChainProblem(entry.seq, "edited",
                            f"entry {entry.seq} was edited (its content does not match its "
                            "hash)", f"se editó la entrada {entry.seq} (su contenido no "
                            "coincide con su hash)")
    prev = entry.seq - 1
    return ChainProblem(prev, "edited",
                        f"entry {prev} was rewritten (its hash changed; entry {entry.seq} "
                        "still links to the original)",
                        f"se reescribió la entrada {prev} (cambió su hash; la entrada "
                        f"{entry.seq} aún enlaza con la original)")


def verify_entries(entries: Iterable[Entry], last_seq: int) -> Verdict:
    """Walk `entries` in seq order; the first problem found ends the walk."""
    expected_seq, expected_prev = 1, GENESIS
    count = 0
    head: Head | None = None
    anchor: Head | None = None
    anchor_recorded = False
    for i, e in enumerate(entries):
        if i == 0 and e.is_anchor:
            anchor = Head(e.seq, e.hash)
            expected_seq, expected_prev = e.seq + 1, e.hash
            head = anchor
            continue
        if e.seq != expected_seq or e.prev_hash != expected_prev \
                or e.computed_hash() != e.hash:
            if i == 0 and e.seq != 1:
                return Verdict(count, head, anchor, ChainProblem(
                    1, "removed", f"entries 1–{e.seq - 1} were removed (the chain starts at "
                    f"{e.seq} without an anchor)", f"se eliminaron las entradas 1–"
                    f"{e.seq - 1} (la cadena empieza en {e.seq} sin ancla)"))
            return Verdict(count, head, anchor, _classify(e, expected_seq, last_seq))
        if anchor is not None and e.action == PRUNE:
            d = e.details_dict()
            if d.get("through_seq") == anchor.seq:
                if d.get("through_hash") != anchor.hash:
                    return Verdict(count, head, anchor, _anchor_problem(anchor))
                anchor_recorded = True
        count += 1
        head = Head(e.seq, e.hash)
        expected_seq, expected_prev = e.seq + 1, e.hash
    if anchor is not None and not anchor_recorded:
        return Verdict(count, head, anchor, _anchor_problem(anchor))
    return Verdict(count, head, anchor, None)


def _anchor_problem(anchor: Head) -> ChainProblem:
    return ChainProblem(anchor.seq, "anchor",
                        f"the chain starts at an anchor (entry {anchor.seq}) that no prune "
                        "record in the chain confirms: earlier entries were removed",
                        f"la cadena empieza en un ancla (entrada {anchor.seq}) que ningún "
                        "registro de depuración confirma: se eliminaron entradas anteriores")


def check_head(exported: Head, lookup: Callable[[int], Entry | None], verdict: Verdict
               ) -> ChainProblem | None:
    """Compare an earlier exported head with the chain (after `verify_entries`)."""
    last = verdict.head.seq if verdict.head is not None else 0
    if exported.seq > last:
        return ChainProblem(last + 1, "removed",
                            f"entries {last + 1}–{exported.seq} were removed: the exported "
                            f"head {exported.seq} is past the end of the chain ({last})",
                            f"se eliminaron las entradas {last + 1}–{exported.seq}: la cabeza "
                            f"exportada {exported.seq} está después del final ({last})")
    if verdict.anchor is not None and exported.seq < verdict.anchor.seq:
        return None  # pruned by retention: nothing left to compare with
    found = lookup(exported.seq)
    if found is None or found.hash != exported.hash:
        return ChainProblem(exported.seq, "head",
                            f"entry {exported.seq} differs from the exported head: the log "
                            f"was rewritten at or before entry {exported.seq}",
                            f"la entrada {exported.seq} difiere de la cabeza exportada: el "
                            f"registro se reescribió en la entrada {exported.seq} o antes")
    return None
