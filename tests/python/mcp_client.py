"""Drives Tracehound's MCP server with the official Python `mcp` client.

Usage: mcp_client.py PLAN_JSON
  PLAN_JSON  {"transport": "http", "url": "http://127.0.0.1:4320/mcp", "key": "th_..." | null,
              "calls": [{"tool": "lookup", "arguments": {"id": "..."}}, ...]}
          or {"transport": "stdio", "command": "/path/tracehound", "args": ["mcp", "--api-url", URL],
              "env": {"TRACEHOUND_API_KEY": "..."}, "calls": [...]}
  A call with "follow_pages": true is made again with the offset each answer names as its next
  page, as an agent would, until the last; every page's text is kept.
Prints one JSON object: {"tools": [{"name", "description", "required"}], "results": [{"tool", "is_error",
"texts"}], "http_statuses": [...]}, or {"error": "...", "http_statuses": [...]} when the connection or the
handshake is refused; http_statuses lists what the server answered over HTTP.
"""

import asyncio
import json
import os
import re
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


# How a paged answer names its next page.
NEXT_PAGE = re.compile(r"offset=(\d+) returns the next page")


def schema_of(tool):
    # mcp 2 names it `input_schema`; 1.x named it `inputSchema`.
    return getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", None)


async def drive(session, calls):
    await session.initialize()
    listed = await session.list_tools()
    tools = [
        {
            "name": tool.name,
            "description": tool.description or "",
            "required": list((schema_of(tool) or {}).get("required", [])),
        }
        for tool in listed.tools
    ]
    results = []
    for call in calls:
        arguments = dict(call.get("arguments") or {})
        texts, is_error = [], False
        for _ in range(1000):
            answer = await session.call_tool(call["tool"], arguments)
            page = [block.text for block in answer.content if getattr(block, "type", None) == "text"]
            texts.extend(page)
            is_error = is_error or bool(getattr(answer, "is_error", None) or getattr(answer, "isError", None))
            following = NEXT_PAGE.search(page[0].split("\n", 1)[0]) if call.get("follow_pages") and page else None
            if following is None:
                break
            arguments["offset"] = int(following.group(1))
        results.append({"tool": call["tool"], "is_error": is_error, "texts": texts})
    return {"tools": tools, "results": results}


# HTTP statuses the server answered, in order: the client turns a refusal into a bare
# "error response", so the test reads the status here.
STATUSES = []


async def record_status(response):
    STATUSES.append(response.status_code)


async def over_http(plan):
    headers = {"Authorization": f"Bearer {plan['key']}"} if plan.get("key") else None
    async with create_mcp_http_client(headers=headers) as http:
        http.event_hooks["response"].append(record_status)
        async with streamable_http_client(plan["url"], http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                return await drive(session, plan["calls"])


async def over_stdio(plan):
    env = dict(os.environ)
    env.update(plan.get("env") or {})
    server = StdioServerParameters(command=plan["command"], args=plan["args"], env=env)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            return await drive(session, plan["calls"])


def main():
    plan = json.loads(sys.argv[1])
    run = over_http if plan["transport"] == "http" else over_stdio
    try:
        answer = asyncio.run(asyncio.wait_for(run(plan), timeout=120))
    except BaseException as error:  # noqa: BLE001 - the test reads why the client gave up
        while isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]
        answer = {"error": f"{type(error).__name__}: {error}"}
    answer["http_statuses"] = STATUSES
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
