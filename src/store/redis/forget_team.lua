-- Forgets a team (undoing a refused join, or closing it): each given member's mark goes if it still names this
-- team, and the team's hash goes, so a later join hydrates it afresh from the database.
-- KEYS: [1] the team's hash, [1 + i] member i's mark. ARGV: [1] team id.
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[1])
return 1
