"""The Redis index of live sessions behind the admin view's pages, and the scripts that keep it.

Per session a small hash ``rt:ix:of:<session>`` (state, liveness flag, trust, connected since,
user id, email); per sort key and scope (``realtime.admin_query``) a sorted set
``rt:ix:<sort>:<scope>`` of the sessions that hold a socket (``rt:live``); per user id and
email a set ``rt:ix:user:<who>``. Every write that changes one of these moves the session
between its sorted sets inside one script, so a page is one ``ZRANGE`` (O(log N + page)) and a
count one ``ZCARD``, never a walk over N hashes.

Workers register in one sorted set ``rt:beats`` scored by when their registration lapses
(Redis's own clock): the reap finds the dead in one ``ZRANGEBYSCORE`` and forgets their sockets
inside one script, one round trip whatever the number of workers and sockets.

The scripts name the sorted sets they derive from the prefix (not as declared keys): one Redis
(or a Sentinel pair), not a Cluster, which would shard the index by scope.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from realtime.admin_query import COUNT_SCOPES, SORT_KEYS, AdminQuery, IndexEntry, LivePage, page_of

IndexWrite = list[str | float]
"""The arguments of one queued index write (kept to run it again)."""

FIELDS = ("state", "liveness", "trust", "connected_since", "user_id", "email")
"""The index hash's fields, in the order the scripts read them."""

_PRELUDE = """
local P = ARGV[1]
local function scopes(state, flag)
  local states = {'*'}
  if state and state ~= '' then states[2] = state end
  local flags = {'*'}
  if flag and flag ~= '' then flags[2] = 'flagged'; flags[3] = flag end
  local out = {}
  for _, s in ipairs(states) do
    for _, f in ipairs(flags) do out[#out + 1] = s .. '|' .. f end
  end
  return out
end
local function entry(session)
  return redis.call('HMGET', P .. 'ix:of:' .. session,
    'state', 'liveness', 'trust', 'connected_since', 'user_id', 'email')
end
local function place(session, v, add)
  local keys = {tonumber(v[3]) or 100, tonumber(v[4]) or 0}
  for _, scope in ipairs(scopes(v[1], v[2])) do
    for i, sort in ipairs({'trust', 'connected_since'}) do
      local z = P .. 'ix:' .. sort .. ':' .. scope
      if add then redis.call('ZADD', z, keys[i], session) else redis.call('ZREM', z, session) end
    end
  end
  for i = 5, 6 do
    if v[i] and v[i] ~= '' then
      local u = P .. 'ix:user:' .. v[i]
      if add then redis.call('SADD', u, session) else redis.call('SREM', u, session) end
    end
  end
end
local function unlist(session)
  if redis.call('SREM', P .. 'live', session) == 1 then place(session, entry(session), false) end
end
local function forget_socket(session, sid, wsids, member)
  redis.call('SREM', P .. 'sids:' .. session, sid)
  redis.call('SREM', wsids, member)
  if redis.call('SCARD', P .. 'sids:' .. session) == 0 then unlist(session) end
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end
"""

_UPDATE = (
    _PRELUDE
    + """
-- ARGV: prefix, session, ttl, connected since if none yet ('' none), list (1/0), field, value...
local session = ARGV[2]
local ix = P .. 'ix:of:' .. session
if redis.call('SISMEMBER', P .. 'live', session) == 1 then place(session, entry(session), false) end
if #ARGV >= 7 then redis.call('HSET', ix, unpack(ARGV, 6)) end
if ARGV[4] ~= '' then redis.call('HSETNX', ix, 'connected_since', ARGV[4]) end
redis.call('EXPIRE', ix, ARGV[3])
if ARGV[5] == '1' then redis.call('SADD', P .. 'live', session) end
if redis.call('SISMEMBER', P .. 'live', session) == 1 then place(session, entry(session), true) end
return 0
"""
)
"""Change a session's index fields (and list it, at a socket's registration) in one step."""

_DISCONNECT = (
    _PRELUDE
    + """
-- ARGV: prefix, session, sid, worker's socket set, its member
forget_socket(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 0
"""
)
"""Forget a socket and, if it was the session's last, the session's place in the live set and
the index, in one step: a socket connecting on another worker in between cannot be dropped."""

_FORGET = (
    _PRELUDE
    + """
-- ARGV: prefix, session
unlist(ARGV[2])
redis.call('DEL', P .. 'ix:of:' .. ARGV[2])
return 0
"""
)

_BEAT = (
    _PRELUDE
    + """
-- ARGV: prefix, worker, ttl (s), renew only (1: a lapsed or lost registration is not renewed)
local lapses = redis.call('ZSCORE', P .. 'beats', ARGV[2])
local t = now()
if ARGV[4] == '1' and (not lapses or tonumber(lapses) < t) then return 0 end
redis.call('ZADD', P .. 'beats', t + tonumber(ARGV[3]), ARGV[2])
return 1
"""
)
"""Renew (or make) a worker's registration, lapsing ``ttl`` s from now on Redis's clock."""

_REAP = (
    _PRELUDE
    + """
-- ARGV: prefix, this worker (never reaped by itself)
local reaped = 0
for _, worker in ipairs(redis.call('ZRANGEBYSCORE', P .. 'beats', '-inf', now())) do
  if worker ~= ARGV[2] then
    local wsids = P .. 'wsids:' .. worker
    for _, member in ipairs(redis.call('SMEMBERS', wsids)) do
      local at = string.find(member, ' ', 1, true)
      forget_socket(string.sub(member, 1, at - 1), string.sub(member, at + 1), wsids, member)
      reaped = reaped + 1
    end
    redis.call('DEL', wsids)
    redis.call('ZREM', P .. 'beats', worker)
  end
end
return reaped
"""
)
"""Forget every socket of the workers whose registration lapsed; how many."""


def _encoded(fields: dict[str, Any]) -> list[str]:
    pairs = ((name, "" if value is None else value) for name, value in fields.items())
    return [str(x) for pair in pairs for x in pair]


class RedisIndex:
    """The scripts and queries of the index, on one client."""

    def __init__(self, client: aioredis.Redis, prefix: str, ttl_seconds: int) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._update = client.register_script(_UPDATE)
        self._disconnect = client.register_script(_DISCONNECT)
        self._forget = client.register_script(_FORGET)
        self._beat = client.register_script(_BEAT)
        self._reap = client.register_script(_REAP)

    def update(
        self,
        pipe: Pipeline,
        session_id: str,
        *,
        since: float | None = None,
        listed: bool = False,
        **fields: Any,
    ) -> IndexWrite:
        """Queue the change of ``fields`` (``IndexEntry``'s) on ``pipe`` (run it with
        ``execute``); ``listed``: the session holds a socket now; ``since``: its connected time
        unless it has one."""
        unknown = set(fields) - set(FIELDS)
        assert not unknown, unknown
        if "email" in fields and isinstance(fields["email"], str):
            fields["email"] = fields["email"].lower()
        args: IndexWrite = [self.prefix, session_id, self.ttl_seconds]
        args += ["" if since is None else since, "1" if listed else "0", *_encoded(fields)]
        # EVALSHA, not the script object: that would ask SCRIPT EXISTS before every pipeline.
        pipe.evalsha(self._update.sha, 0, *args)
        return args

    async def execute(self, pipe: Pipeline, writes: list[IndexWrite]) -> list[Any]:
        """Run ``pipe``; index writes Redis had no script for (it restarted) are run again
        once it is loaded (they are idempotent); any other error is raised."""
        results: list[Any] = await pipe.execute(raise_on_error=False)
        missing = False
        for result in results:
            if isinstance(result, NoScriptError):
                missing = True
            elif isinstance(result, Exception):
                raise result
        if missing:
            for args in writes:
                await self._update(args=args)
        return results

    async def forget_socket(self, session_id: str, sid: str, wsids: str, member: str) -> None:
        await self._disconnect(args=[self.prefix, session_id, sid, wsids, member])

    async def forget(self, session_id: str) -> None:
        await self._forget(args=[self.prefix, session_id])

    async def beat(self, worker_id: str, ttl_seconds: float, *, renew_only: bool) -> bool:
        args: list[str | float] = [self.prefix, worker_id, ttl_seconds]
        args.append("1" if renew_only else "0")
        return bool(await self._beat(args=args))

    async def reap(self, worker_id: str) -> int:
        return int(await self._reap(args=[self.prefix, worker_id]))

    async def page(self, query: AdminQuery) -> LivePage:
        if query.user is not None:
            return page_of(await self._entries_of(query.user), query)
        key = f"{self.prefix}ix:{query.sort}:{query.scope}"
        start = query.page * query.page_size
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(key, start, start + query.page_size - 1, desc=query.descending)
            pipe.zcard(key)
            ids, total = await pipe.execute()
        return LivePage([str(x) for x in ids], int(total))

    async def _entries_of(self, who: str) -> list[IndexEntry]:
        session_ids = sorted(str(x) for x in await self.client.smembers(self._k("user", who)))
        async with self.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.hmget(self._k("of", session_id), list(FIELDS))
            found = await pipe.execute()
        return [
            _entry(session_id, values)
            for session_id, values in zip(session_ids, found, strict=True)
        ]

    async def counts(self) -> dict[str, int]:
        async with self.client.pipeline(transaction=False) as pipe:
            for scope in COUNT_SCOPES.values():
                pipe.zcard(f"{self.prefix}ix:{SORT_KEYS[0]}:{scope}")
            sizes = await pipe.execute()
        return {name: int(n) for name, n in zip(COUNT_SCOPES, sizes, strict=True)}

    def _k(self, kind: str, name: str) -> str:
        return f"{self.prefix}ix:{kind}:{name}"


def _entry(session_id: str, values: list[str | None]) -> IndexEntry:
    state, liveness, trust, since, user_id, email = values
    return IndexEntry(
        session_id,
        state=state or None,
        liveness=liveness or None,
        trust=float(trust) if trust else 100.0,
        connected_since=float(since) if since else 0.0,
        user_id=user_id or None,
        email=email or None,
    )
