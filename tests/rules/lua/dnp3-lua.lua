-- The script the suricata-verify test `dnp3-lua` runs (its copy in the shared corpus lacks
-- it): match a DNP3 request once it is whole. Written for icsight's Lua rule API, which is
-- Suricata's.
local dnp3 = require("suricata.dnp3")

function init(args)
   return {}
end

function match(args)
   local tx = dnp3.get_tx()
   if tx == nil or not tx.is_request then
      return 0
   end
   local req = tx.request
   if req ~= nil and req.done and req.complete then
      return 1
   end
   return 0
end
