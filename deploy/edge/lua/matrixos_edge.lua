-- The edge's hot path (nginx.conf.template): which address a request on `{handle}.{domain}` goes
-- to, what of it reaches the instance, and what of the instance's answer reaches the browser.
-- The rules mirror the platform's router (packages/platform/src/router/authorize.ts and
-- filterResponseHeaders.ts), which stays in charge of every request the edge hands it.

local balancer = require("ngx.balancer")

local routes = ngx.shared.edge_routes
local find, match, gmatch, lower, sub = string.find, string.match, string.gmatch, string.lower, string.sub
local concat = table.concat
local tonumber = tonumber

local _M = {}

local platform_host, platform_port

-- The platform's cookies never reach an instance (mx_instance: the pass's former name, still in
-- some browsers). The pass itself (`mx_pass`, `__Host-mx_pass`) does: its gateway verifies it.
local PLATFORM_COOKIES = {}
for _, base in ipairs({ "mx_access", "mx_refresh", "mx_instance" }) do
  PLATFORM_COOKIES[base] = true
  PLATFORM_COOKIES["__Host-" .. base] = true
end

-- Names an instance may not set, whatever their case or prefix (allowInstanceCookie, plus the
-- pass: an instance must not mint or shadow its own).
local FORBIDDEN_SET_COOKIE = { mx_access = true, mx_refresh = true, mx_instance = true, mx_pass = true }

-- Headers a client's Connection header names are for that hop only: not the options (close,
-- keep-alive, upgrade), and never Host, which says whose request it is.
local NOT_A_HEADER = { close = true, ["keep-alive"] = true, upgrade = true, host = true }

--- `ip:port` or `[ipv6]:port` → host as set_current_peer takes it, port.
local function split(address)
  local host, port = match(address, "^(.+):(%d+)$")
  return host, tonumber(port)
end

function _M.configure(platform)
  platform_host, platform_port = split(platform)
  if not platform_host then
    error("matrixos_edge: the platform's address must be ip:port or [ipv6]:port, not " .. platform)
  end
end

local function trim(s)
  return match(s, "^%s*(.-)%s*$")
end

local function strip_platform_cookies()
  local cookie = ngx.var.http_cookie
  if not cookie or not find(cookie, "mx_", 1, true) then
    return
  end
  local kept, n, dropped = {}, 0, false
  for part in gmatch(cookie, "[^;]+") do
    local eq = find(part, "=", 1, true)
    local name = trim(eq and sub(part, 1, eq - 1) or part)
    if PLATFORM_COOKIES[name] then
      dropped = true
    else
      local pair = trim(part)
      if pair ~= "" then
        n = n + 1
        kept[n] = pair
      end
    end
  end
  if dropped then
    ngx.req.set_header("Cookie", n > 0 and concat(kept, "; ") or nil)
  end
end

local function drop_connection_named()
  local connection = ngx.var.http_connection
  if not connection then
    return
  end
  for token in gmatch(connection, "[^,%s]+") do
    local name = lower(token)
    if not NOT_A_HEADER[name] then
      ngx.req.clear_header(name)
    end
  end
end

--- access phase, `location /` on an instance's host.
function _M.direct()
  local to = routes:get(ngx.var.edge_handle)
  if not to then
    return ngx.exec("@platform")
  end
  local ctx = ngx.ctx
  ctx.host, ctx.port = split(to)
  strip_platform_cookies()
  drop_connection_named()
end

--- balancer phase: the route's address first; if that connection fails (the instance is gone,
--- stopped behind the platform's back), the platform, which forgets the address and wakes it.
function _M.balance()
  local ctx = ngx.ctx
  local ok, err
  if balancer.get_last_failure() == nil then
    balancer.set_more_tries(1)
    ok, err = balancer.set_current_peer(ctx.host, ctx.port)
    if ok then
      return
    end
    ngx.log(ngx.ERR, "route of ", ngx.var.edge_handle, " is unusable (", err, "): to the platform")
  else
    ngx.log(ngx.WARN, "instance ", ngx.var.edge_handle, " did not answer at ", ctx.host, ":", ctx.port,
      ": to the platform")
  end
  ok, err = balancer.set_current_peer(platform_host, platform_port)
  if not ok then
    ngx.log(ngx.ERR, "cannot reach the platform: ", err)
    return ngx.exit(502)
  end
end

--- Whether an instance's Set-Cookie may reach the browser (filterResponseHeaders.ts).
local function allowed(set_cookie)
  local semi = find(set_cookie, ";", 1, true)
  local pair = semi and sub(set_cookie, 1, semi - 1) or set_cookie
  local eq = find(pair, "=", 1, true)
  local name = lower(trim(eq and sub(pair, 1, eq - 1) or ""))
  name = match(name, "^__host%-(.*)$") or match(name, "^__secure%-(.*)$") or name
  if FORBIDDEN_SET_COOKIE[name] then
    return false
  end
  if semi then
    for attribute in gmatch(sub(set_cookie, semi + 1), "[^;]+") do
      local key = match(attribute, "^%s*([^=]-)%s*=") or trim(attribute)
      if lower(key) == "domain" then
        return false
      end
    end
  end
  return true
end

--- header filter, `location /` on an instance's host (Clear-Site-Data goes by proxy_hide_header).
function _M.filter_response()
  local cookies = ngx.header["Set-Cookie"]
  if not cookies then
    return
  end
  if type(cookies) == "string" then
    cookies = { cookies }
  end
  local kept, n = {}, 0
  for _, c in ipairs(cookies) do
    if allowed(c) then
      n = n + 1
      kept[n] = c
    end
  end
  if n ~= #cookies then
    ngx.header["Set-Cookie"] = n > 0 and kept or nil
  end
end

return _M
