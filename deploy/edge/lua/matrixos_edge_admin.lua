-- The edge's admin API (nginx.conf.template, its own listener): the platform tells it where
-- running instances answer. Every call carries `Authorization: Bearer <EDGE_ADMIN_SECRET>`.
--
--   PUT    /routes/{handle}   body `ip:port` or `[ipv6]:port`          -> 204
--   DELETE /routes/{handle}                                           -> 204 (also when absent)
--   PUT    /routes            body {"<handle>": "<address>", ...}      -> 204, replaces the whole set
--   GET    /routes                                                    -> 200 the same JSON
--
-- Addresses are IP literals: the balancer connects without resolving, so the platform resolves a
-- name before it publishes (createNginxEdgeRoutes.ts). Errors are `{"error":{"code","message"}}`
-- with 400 (bad handle, address or JSON), 401, 404, 405, 507 (the shared dict is full).

local ffi = require("ffi")
local bit = require("bit")

ffi.cdef([[int inet_pton(int af, const char *src, void *dst);]])
local AF_INET, AF_INET6 = 2, 10
local scratch = ffi.new("unsigned char[16]")

local routes = ngx.shared.edge_routes
local byte, find, match, sub = string.byte, string.find, string.match, string.sub
local bor, bxor = bit.bor, bit.bxor

local _M = {}

local secret
local reserved = {}

function _M.configure(admin_secret, reserved_handles)
  if type(admin_secret) ~= "string" or #admin_secret < 16 then
    error("matrixos_edge_admin: EDGE_ADMIN_SECRET must be set, 16 characters or more")
  end
  secret = admin_secret
  for handle in reserved_handles:gmatch("%S+") do
    reserved[handle] = true
  end
end

--- Compares every byte whatever the first difference, so the time says nothing about the secret.
local function same(a, b)
  if #a ~= #b then
    return false
  end
  local diff = 0
  for i = 1, #a do
    diff = bor(diff, bxor(byte(a, i), byte(b, i)))
  end
  return diff == 0
end

--- packages/shared/src/handles/validateHandle.ts, the reserved names rendered into the config.
local function valid_handle(handle)
  return #handle >= 3
    and #handle <= 30
    and find(handle, "^[a-z][a-z0-9%-]*[a-z0-9]$") ~= nil
    and not find(handle, "--", 1, true)
    and not reserved[handle]
end

--- The address as the balancer takes it, or nil.
local function address(text)
  local family = AF_INET6
  local host, port = match(text, "^%[([%x:%.]+)%]:(%d+)$")
  if not host then
    family = AF_INET
    host, port = match(text, "^([%d%.]+):(%d+)$")
  end
  if not host or #port > 5 then
    return nil
  end
  local n = tonumber(port)
  if n < 1 or n > 65535 or ffi.C.inet_pton(family, host, scratch) ~= 1 then
    return nil
  end
  return (family == AF_INET6 and "[" .. host .. "]" or host) .. ":" .. n
end

--- What the caller sent, safe inside a JSON string.
local function shown(text)
  return (string.gsub(sub(text, 1, 64), "[^%w%.:%[%]%-_ ]", "?"))
end

local function reply(status, code, message)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print('{"error":{"code":"', code, '","message":"', message, '"}}')
  return ngx.exit(ngx.HTTP_OK)
end

local function done()
  return ngx.exit(ngx.HTTP_NO_CONTENT)
end

local function body()
  ngx.req.read_body()
  return ngx.req.get_body_data()
end

--- A flat JSON object of strings without escapes (handles and addresses never need one).
local function parse_routes(text)
  local pos = 1
  local function space()
    pos = find(text, "[^ \t\r\n]", pos) or #text + 1
  end
  local function char()
    space()
    local c = sub(text, pos, pos)
    pos = pos + 1
    return c
  end
  local function str()
    space()
    local _, last, value = find(text, '^"([^"\\]*)"', pos)
    if not last then
      return nil
    end
    pos = last + 1
    return value
  end
  if char() ~= "{" then
    return nil, "expected a JSON object"
  end
  local out = {}
  space()
  if sub(text, pos, pos) == "}" then
    pos = pos + 1
  else
    while true do
      local handle = str()
      if not handle or char() ~= ":" then
        return nil, "expected a handle, then :"
      end
      local to = str()
      if not to then
        return nil, "expected the address of " .. shown(handle) .. " as a string"
      end
      if out[handle] then
        return nil, shown(handle) .. " is given twice"
      end
      out[handle] = to
      local c = char()
      if c == "}" then
        break
      elseif c ~= "," then
        return nil, "expected , or }"
      end
    end
  end
  space()
  if pos <= #text then
    return nil, "unexpected text after the object"
  end
  return out
end

local function list()
  local handles = routes:get_keys(0)
  table.sort(handles)
  local parts = {}
  for _, handle in ipairs(handles) do
    local to = routes:get(handle)
    if to then
      parts[#parts + 1] = '"' .. handle .. '":"' .. to .. '"'
    end
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print("{", table.concat(parts, ","), "}")
  return ngx.exit(ngx.HTTP_OK)
end

--- Every new route is set before any old one goes: a handle in both sets is never without one.
local function replace()
  local text = body()
  if not text then
    return reply(400, "bad_body", "expected a JSON object of handle to address")
  end
  local given, err = parse_routes(text)
  if not given then
    return reply(400, "bad_body", err)
  end
  local wanted = {}
  for handle, to in pairs(given) do
    if not valid_handle(handle) then
      return reply(400, "bad_handle", "not a handle: " .. shown(handle))
    end
    wanted[handle] = address(to)
    if not wanted[handle] then
      return reply(400, "bad_address", "not ip:port or [ipv6]:port: " .. shown(to))
    end
  end
  for handle, to in pairs(wanted) do
    local ok, why = routes:safe_set(handle, to)
    if not ok then
      return reply(507, "full", "the route table is full: " .. tostring(why))
    end
  end
  for _, handle in ipairs(routes:get_keys(0)) do
    if not wanted[handle] then
      routes:delete(handle)
    end
  end
  return done()
end

function _M.handle()
  local presented = match(ngx.var.http_authorization or "", "^[Bb]earer +(.+)$")
  if not presented or not same(presented, secret) then
    ngx.header["WWW-Authenticate"] = 'Bearer realm="matrixos-edge"'
    return reply(401, "unauthorized", "send the edge's admin secret as Authorization: Bearer")
  end
  local method, uri = ngx.req.get_method(), ngx.var.uri
  if uri == "/routes" then
    if method == "GET" then
      return list()
    elseif method == "PUT" then
      return replace()
    end
    return reply(405, "method_not_allowed", "GET or PUT /routes")
  end
  local handle = match(uri, "^/routes/([^/]+)$")
  if not handle then
    return reply(404, "not_found", "/routes or /routes/{handle}")
  end
  if not valid_handle(handle) then
    return reply(400, "bad_handle", "not a handle")
  end
  if method == "DELETE" then
    routes:delete(handle)
    return done()
  elseif method ~= "PUT" then
    return reply(405, "method_not_allowed", "PUT or DELETE /routes/{handle}")
  end
  local to = address(match(body() or "", "^%s*(.-)%s*$"))
  if not to then
    return reply(400, "bad_address", "expected ip:port or [ipv6]:port")
  end
  local ok, why = routes:safe_set(handle, to)
  if not ok then
    return reply(507, "full", "the route table is full: " .. tostring(why))
  end
  return done()
end

return _M
