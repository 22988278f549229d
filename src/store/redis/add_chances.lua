-- Adds draw chances to a hydrated customer scope only: an unhydrated one reads every grant from the database
-- when it is rebuilt, and a partial counter written now would be overwritten then.
-- KEYS: [1] the customer's hydrated marker, [2] chances granted. ARGV: [1] count.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('INCRBY', KEYS[2], ARGV[1])
